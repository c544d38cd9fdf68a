"""Reads out the door: the processing time `paid → shipped` per order and per day (the KPI report's
"order processing time", source target 22 → 6 minutes, SPEC R-WH4 / R-MON3)."""

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Min

from zhongshu.core.timeutil import SHANGHAI, local_day
from zhongshu.orders.models import Order
from zhongshu.orders.states import OrderStatus


@dataclass(frozen=True)
class ProcessingTime:
    """One order: when it was paid, when it left (its first move to `shipped`), and the time between."""

    order_id: int
    paid_at: datetime
    shipped_at: datetime

    @property
    def duration(self) -> timedelta:
        return max(self.shipped_at - self.paid_at, timedelta(0))


@dataclass(frozen=True)
class ProcessingDay:
    """The orders shipped on one day (Asia/Shanghai): how many, the average and the 90th percentile of
    their `paid → shipped` time (None on a day without shipped orders)."""

    day: date
    orders: int
    average: timedelta | None
    p90: timedelta | None

    @property
    def average_minutes(self) -> float | None:
        return None if self.average is None else round(self.average.total_seconds() / 60, 1)

    @property
    def p90_minutes(self) -> float | None:
        return None if self.p90 is None else round(self.p90.total_seconds() / 60, 1)


def paid_to_shipped(start: date, end: date, shop: str | None = None) -> list[ProcessingTime]:
    """Orders first shipped from `start` to `end` (inclusive, Asia/Shanghai days) that have a paid
    time. The shipped time is the audited transition (orders/states), so an order split into several
    packages counts from its payment to the move the state machine recorded, once."""
    lower = datetime.combine(start, time.min, SHANGHAI)
    upper = datetime.combine(end + timedelta(days=1), time.min, SHANGHAI)
    qs = (
        Order.objects.filter(paid_at__isnull=False, transitions__to_status=OrderStatus.SHIPPED)
        .annotate(shipped_at=Min("transitions__at"))
        .filter(shipped_at__gte=lower, shipped_at__lt=upper)
    )
    if shop:
        qs = qs.filter(shop__code=shop)
    rows = qs.order_by("shipped_at", "pk").values_list("pk", "paid_at", "shipped_at")
    return [ProcessingTime(pk, paid, shipped) for pk, paid, shipped in rows]


def processing_time_by_day(start: date, end: date, shop: str | None = None) -> list[ProcessingDay]:
    """`paid → shipped` per day from `start` to `end` (inclusive; every day listed, Asia/Shanghai):
    the number of orders shipped that day, their average and 90th percentile (nearest rank: the
    ⌈0.9·n⌉-th shortest). Called by the KPI report (monitor/); `shop` narrows to one shop's code."""
    by_day: dict[date, list[timedelta]] = {}
    for row in paid_to_shipped(start, end, shop):
        by_day.setdefault(local_day(row.shipped_at), []).append(row.duration)
    days = []
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        durations = sorted(by_day.get(day, []))
        if not durations:
            days.append(ProcessingDay(day, 0, None, None))
            continue
        average = sum(durations, timedelta(0)) / len(durations)
        p90 = durations[math.ceil(0.9 * len(durations)) - 1]
        days.append(ProcessingDay(day, len(durations), average, p90))
    return days
