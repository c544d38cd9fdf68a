"""The dashboard's figures, read from the database in a handful of GROUP BY queries (no per-row reads).

Days are Asia/Shanghai's. Every figure comes with the admin list that shows the rows behind it
(`views.py` builds the links); counts and amounts here must equal what those lists count.
"""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import ExtractHour

from zhongshu.channels.admin import LAG_DANGER, LAG_WARNING
from zhongshu.channels.models import Breaker, SyncState
from zhongshu.core import degrade
from zhongshu.core.models import OutboxEvent
from zhongshu.core.timeutil import SHANGHAI, local_day
from zhongshu.fulfilment.models import Package
from zhongshu.notify.metrics import UNSHIPPED
from zhongshu.notify.models import AlertState
from zhongshu.orders.models import Order, OrderHold
from zhongshu.orders.states import OrderStatus as S
from zhongshu.routing.address import normalize_province
from zhongshu.shops.models import Platform

ZERO = Decimal("0.00")
CENT = Decimal("0.01")  # SQLite sums decimals with more places than the column has
SHIP_FAILED_TOPIC = "channel.shipment_failed"
SHIP_FAILED_WINDOW = timedelta(hours=24)
HEAVY_SWITCH = "dashboard_heavy"  # R-PEAK2: the per-hour chart and the province map stop under load
# order statuses of the backlog, in the order of the flow
BACKLOG_STATUSES = (S.PAID, S.BACKORDERED, S.ON_HOLD, S.ALLOCATED, S.PICKING, S.PACKED)


def day_bounds(at: datetime) -> tuple[datetime, datetime]:
    """[start, end) of `at`'s calendar day in Asia/Shanghai."""
    start = datetime.combine(local_day(at), time.min, SHANGHAI)
    return start, start + timedelta(days=1)


@dataclass
class Dashboard:
    at: datetime
    day_start: datetime
    orders_today: int = 0
    amount_today: Decimal = ZERO
    by_channel: list[dict] = field(default_factory=list)  # platform, label, orders, amount
    backlog: dict[str, int] = field(default_factory=dict)  # order status → orders
    unshipped: int = 0
    packages_pending: int = 0  # allocated, not yet in a wave
    shipped_today: int = 0  # packages
    ship_failed: int = 0  # failed shipment confirmations, last 24 h
    holds: list[dict] = field(default_factory=list)  # code, today, week
    hourly: list[int] = field(default_factory=list)  # 24 counts, by Shanghai hour of placing
    provinces: dict[str, int] = field(default_factory=dict)  # canonical province → orders today
    unknown_province: int = 0
    sync: list[dict] = field(default_factory=list)
    alerts: list[AlertState] = field(default_factory=list)
    degraded: bool = False  # the heavy figures (hourly, provinces) are switched off under load


def _today(d: Dashboard):
    return Order.objects.filter(placed_at__gte=d.day_start, placed_at__lt=d.day_start + timedelta(days=1))


def _channels(d: Dashboard) -> None:
    rows = _today(d).values("shop__platform").annotate(orders=Count("pk"), amount=Sum("paid_amount"))
    labels = dict(Platform.choices)
    d.by_channel = sorted(
        (
            {"platform": r["shop__platform"], "label": labels.get(r["shop__platform"], r["shop__platform"]),
             "orders": r["orders"], "amount": (r["amount"] or ZERO).quantize(CENT)}
            for r in rows
        ),
        key=lambda r: (-r["orders"], r["platform"]),
    )  # fmt: skip
    d.orders_today = sum(r["orders"] for r in d.by_channel)
    d.amount_today = sum((r["amount"] for r in d.by_channel), ZERO)


def _backlog(d: Dashboard) -> None:
    counts = dict(Order.objects.filter(status__in=UNSHIPPED).values_list("status").annotate(n=Count("pk")))
    d.backlog = {s.value: counts.get(s.value, 0) for s in BACKLOG_STATUSES}
    # as notify.metrics.pending_orders counts it (the "pending orders > 800" alert)
    d.unshipped = Order.objects.filter(status__in=UNSHIPPED, paid_at__isnull=False).count()
    packages = Package.objects.aggregate(
        pending=Count("pk", filter=Q(status=Package.Status.PENDING)),
        shipped=Count(
            "pk", filter=Q(shipped_at__gte=d.day_start, shipped_at__lt=d.day_start + timedelta(days=1))
        ),
    )
    d.packages_pending, d.shipped_today = packages["pending"], packages["shipped"]
    d.ship_failed = OutboxEvent.objects.filter(
        topic=SHIP_FAILED_TOPIC, created_at__gte=d.at - SHIP_FAILED_WINDOW
    ).count()


def _holds(d: Dashboard) -> None:
    rows = (
        OrderHold.objects.filter(created_at__gte=d.day_start - timedelta(days=6))
        .values("code")
        .annotate(week=Count("pk"), today=Count("pk", filter=Q(created_at__gte=d.day_start)))
        .order_by("-week", "code")
    )
    d.holds = [{"code": r["code"], "today": r["today"], "week": r["week"]} for r in rows]


def _hourly(d: Dashboard) -> None:
    rows = _today(d).annotate(h=ExtractHour("placed_at", tzinfo=SHANGHAI)).values("h").annotate(n=Count("pk"))
    counts = {r["h"]: r["n"] for r in rows.order_by()}
    d.hourly = [counts.get(h, 0) for h in range(24)]


def _provinces(d: Dashboard) -> None:
    rows = _today(d).values("receiver_province").annotate(n=Count("pk")).order_by()
    for r in rows:
        name = normalize_province(r["receiver_province"])
        if name is None:
            d.unknown_province += r["n"]
        else:
            d.provinces[name] = d.provinces.get(name, 0) + r["n"]


def _sync(d: Dashboard) -> None:
    tripped = set(Breaker.objects.exclude(state=Breaker.State.CLOSED).values_list("scope", flat=True))
    for st in SyncState.objects.select_related("shop").filter(shop__active=True).order_by("shop__code"):
        lag = d.at - st.cursor if st.cursor else None
        failing = bool(
            st.last_error_at and (st.last_success_at is None or st.last_error_at > st.last_success_at)
        )
        if st.shop.code in tripped or Breaker.GLOBAL in tripped:
            state = "breaker"  # the circuit breaker is open or draining (channels/breaker.py)
        elif not st.enabled:
            state = "off"
        elif lag is not None and lag > LAG_DANGER:
            state = "breaker"  # the lag that trips the circuit breaker (R-PEAK3)
        elif failing:
            state = "failing"
        elif lag is None or lag > LAG_WARNING:
            state = "late"
        else:
            state = "ok"
        d.sync.append({"state": st, "shop": st.shop, "lag": lag, "status": state})


def dashboard(at: datetime) -> Dashboard:
    d = Dashboard(at=at, day_start=day_bounds(at)[0])
    _channels(d)
    _backlog(d)
    _holds(d)
    if degrade.is_on(HEAVY_SWITCH):
        _hourly(d)
        _provinces(d)
    else:
        d.degraded = True
    _sync(d)
    d.alerts = list(
        AlertState.objects.filter(firing=True, rule__active=True)
        .select_related("rule")
        .order_by("since", "pk")
    )
    return d
