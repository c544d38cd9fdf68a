"""The exception queue: held orders by reason, age and value, and the month's interception figures.

Reads only; the decisions (approve, edit then approve, cancel) are orders.services.approve_orders,
edit_and_approve and cancel_orders. Each decision leaves its mark after the actor in
OrderHold.released_by (APPROVED_MARK, EDITED_MARK, CANCELLED_MARK), which the figures read.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.utils.translation import gettext_lazy as _

from zhongshu.catalog.models import Sku
from zhongshu.core.timeutil import SHANGHAI, local, now
from zhongshu.inventory.models import Warehouse
from zhongshu.orders.decisions import DELIVERY_HOLD_PREFIX
from zhongshu.orders.models import Order, OrderHold
from zhongshu.orders.services import CANCELLED_MARK, EDITED_MARK, REFUND_HOLD
from zhongshu.orders.states import OrderStatus

S = OrderStatus
ZERO = Decimal("0.00")

# sort key → ordering; age = time since the oldest open hold
SORTS = {
    "age": ("held_since", "pk"),
    "-age": ("-held_since", "-pk"),
    "value": ("paid_amount", "pk"),
    "-value": ("-paid_amount", "-pk"),
    "placed": ("placed_at", "pk"),
    "-placed": ("-placed_at", "-pk"),
}
SORT_LABELS = {"age": _("挂起最久在前"), "-age": _("最新挂起在前"), "-value": _("金额从高到低"),
               "value": _("金额从低到高"), "-placed": _("下单时间（新→旧）"), "placed": _("下单时间（旧→新）")}  # fmt: skip


@dataclass(frozen=True)
class QueueFilter:
    code: str = ""  # a hold code; "manual_review" matches every manual_review/<rule>
    shop: str = ""
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    older_than_hours: int | None = None
    sort: str = "age"


def _open_holds() -> QuerySet:
    return OrderHold.objects.filter(order=OuterRef("pk"), released_at__isnull=True)


def _in_queue() -> Q:
    """Held orders, and orders with an open delivery problem."""
    return Q(status=S.ON_HOLD) | Q(Exists(_open_holds().filter(code__startswith=DELIVERY_HOLD_PREFIX)))


def held_orders(f: QueueFilter = QueueFilter(), at: datetime | None = None) -> QuerySet[Order]:
    """Orders on hold with their open holds (`active_holds`) and `held_since`, filtered and sorted."""
    active = OrderHold.objects.filter(released_at__isnull=True).order_by("created_at", "pk")
    qs = (
        Order.objects.filter(_in_queue())
        .select_related("shop")
        .annotate(held_since=Subquery(_open_holds().order_by("created_at").values("created_at")[:1]))
        .prefetch_related(Prefetch("holds", queryset=active, to_attr="active_holds"))
    )
    if f.code:
        match = Q(code=f.code) | Q(code__startswith=f"{f.code}/")
        qs = qs.filter(Exists(_open_holds().filter(match)))
    if f.shop:
        qs = qs.filter(shop__code=f.shop)
    if f.min_value is not None:
        qs = qs.filter(paid_amount__gte=f.min_value)
    if f.max_value is not None:
        qs = qs.filter(paid_amount__lte=f.max_value)
    if f.older_than_hours:
        qs = qs.filter(held_since__lte=(at or now()) - timedelta(hours=f.older_than_hours))
    return qs.order_by(*SORTS.get(f.sort, SORTS["age"]))


def reason_counts() -> list[dict]:
    """Open hold codes of the queue with the number of orders and their value, most frequent first."""
    rows = (
        OrderHold.objects.filter(released_at__isnull=True)
        .filter(Q(order__status=S.ON_HOLD) | Q(code__startswith=DELIVERY_HOLD_PREFIX))
        .values("code")
        .annotate(orders=Count("order", distinct=True), value=Sum("order__paid_amount"))
        .order_by("-orders", "code")
    )
    return [{"code": r["code"], "orders": r["orders"], "value": r["value"] or ZERO} for r in rows]


def queue_totals() -> dict:
    agg = Order.objects.filter(_in_queue()).aggregate(orders=Count("pk"), value=Sum("paid_amount"))
    return {"orders": agg["orders"], "value": agg["value"] or ZERO}


@dataclass(frozen=True)
class MonthFigures:
    """The source's "本月拦截 147 单，避免损失 98,000 元" for one calendar month (Asia/Shanghai)."""

    month: date
    held: int  # orders that got a hold this month (refund requests by the buyer are not interceptions)
    held_value: Decimal
    cancelled: int  # of those, cancelled by a reviewer in the queue
    cancelled_value: Decimal
    edited: int  # of those, corrected by a reviewer (address, SKU, warehouse) before shipping
    avoided_value: Decimal  # value of the cancelled and the edited ones


def month_bounds(at: datetime | None = None) -> tuple[datetime, datetime]:
    day = local(at or now())
    start = datetime(day.year, day.month, 1, tzinfo=SHANGHAI)
    end = datetime(day.year + day.month // 12, day.month % 12 + 1, 1, tzinfo=SHANGHAI)
    return start, end


def month_figures(at: datetime | None = None) -> MonthFigures:
    """Orders held in the calendar month of `at` (default: now), their value, and what review saved."""
    start, end = month_bounds(at)
    return held_figures(start, end)


def held_figures(start: datetime, end: datetime) -> MonthFigures:
    """Orders held in [start, end) (a refund's hold is no interception), their value, and what review
    saved (cancelled, or edited before release); `month` is the start's local day. The KPI report
    reads its interceptions per day or week from here, the queue's figures per month."""
    new_holds = (
        OrderHold.objects.filter(created_at__gte=start, created_at__lt=end)
        .exclude(code=REFUND_HOLD)
        .exclude(code__startswith=DELIVERY_HOLD_PREFIX)  # a delivery problem is no interception
    )
    held = Order.objects.filter(pk__in=new_holds.values("order_id"))
    decided = OrderHold.objects.filter(order_id__in=new_holds.values("order_id"))
    cancelled = held.filter(
        status=S.CANCELLED, pk__in=decided.filter(released_by__endswith=CANCELLED_MARK).values("order_id")
    )
    edited = held.filter(pk__in=decided.filter(released_by__endswith=EDITED_MARK).values("order_id")).exclude(
        pk__in=cancelled.values("pk")
    )
    h, c, e = (_count_value(qs) for qs in (held, cancelled, edited))
    return MonthFigures(local(start).date(), h[0], h[1], c[0], c[1], e[0], c[1] + e[1])


def _count_value(qs: QuerySet) -> tuple[int, Decimal]:
    agg = qs.aggregate(n=Count("pk"), value=Sum("paid_amount"))
    return agg["n"], agg["value"] or ZERO


def shops_in_queue() -> list[str]:
    return list(
        Order.objects.filter(_in_queue())
        .values_list("shop__code", flat=True)
        .distinct()
        .order_by("shop__code")
    )


def held_order(pk: int) -> Order | None:
    """One order with lines, open holds and its state history, for the review page."""
    active = OrderHold.objects.filter(released_at__isnull=True).order_by("created_at", "pk")
    return (
        Order.objects.select_related("shop", "warehouse", "preferred_warehouse")
        .prefetch_related(
            "lines__sku", "transitions", Prefetch("holds", queryset=active, to_attr="active_holds")
        )
        .filter(pk=pk)
        .first()
    )


def warehouses() -> list[Warehouse]:
    return list(Warehouse.objects.filter(active=True).order_by("priority", "code"))


def sku_codes(limit: int = 2000) -> list[str]:
    """SKU codes offered when swapping a line's SKU."""
    return list(Sku.objects.order_by("code").values_list("code", flat=True)[:limit])
