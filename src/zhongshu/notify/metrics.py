"""What the alert rules measure, read from the database (and the queue): {subject: value}.

The subject is "" for hub-wide metrics and the shop code for per-shop ones. Values never carry
personal data: counts, rates and minutes only.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from huey.contrib.djhuey import HUEY

from zhongshu.channels.models import Platform, SyncState
from zhongshu.core.models import OutboxEvent
from zhongshu.orders.models import Order
from zhongshu.orders.states import OrderStatus as S

# paid and not yet shipped: everything between payment and the carrier
UNSHIPPED = (S.PAID, S.ON_HOLD, S.ALLOCATED, S.BACKORDERED, S.PICKING, S.PACKED)
PUSH_ONLY = (Platform.OWN,)  # the own shop pushes its orders: it has no pull to lag behind
BASELINE_DAYS = 7


def pending_orders(now: datetime, window: timedelta) -> dict[str, Decimal]:
    return {"": Decimal(Order.objects.filter(status__in=UNSHIPPED, paid_at__isnull=False).count())}


def _return_rate(start: datetime, end: datetime) -> Decimal | None:
    # Proxy until after-sales lands: orders cancelled after payment (refund before shipping),
    # counted by when they were cancelled (last update), over the orders paid in the same window.
    paid = Order.objects.filter(paid_at__gte=start, paid_at__lt=end).count()
    if not paid:
        return None
    returned = Order.objects.filter(
        status=S.CANCELLED, paid_at__isnull=False, updated_at__gte=start, updated_at__lt=end
    ).count()
    return Decimal(returned) / Decimal(paid)


def return_rate_rise(now: datetime, window: timedelta) -> dict[str, Decimal]:
    """Rise of the window's return rate over the 7 days before it, in % of that baseline (a rate that
    appears from a zero baseline counts as +100 %); no value without paid orders in both periods."""
    recent = _return_rate(now - window, now)
    base = _return_rate(now - window - timedelta(days=BASELINE_DAYS), now - window)
    if recent is None or base is None:
        return {}
    if base == 0:
        return {"": Decimal(100) if recent > 0 else Decimal(0)}
    return {"": ((recent - base) / base * 100).quantize(Decimal("0.01"))}


def sync_lag_minutes(now: datetime, window: timedelta) -> dict[str, Decimal]:
    """Minutes since each pulled shop's last successful sync (shops never synced yet are left out)."""
    states = SyncState.objects.filter(enabled=True, shop__active=True, last_success_at__isnull=False).exclude(
        shop__platform__in=PUSH_ONLY
    )
    return {
        code: Decimal(int((now - at).total_seconds() // 60))
        for code, at in states.values_list("shop__code", "last_success_at")
    }


def queue_backlog(now: datetime, window: timedelta) -> dict[str, Decimal]:
    return {"": Decimal(HUEY.pending_count())}


def ship_confirm_failures(now: datetime, window: timedelta) -> dict[str, Decimal]:
    """Failed shipment confirmations to the platforms in the window (recorded as outbox events)."""
    failed = OutboxEvent.objects.filter(topic="channel.shipment_failed", created_at__gte=now - window)
    return {"": Decimal(failed.count())}


MEASURES: dict[str, Callable[[datetime, timedelta], dict[str, Decimal]]] = {
    "pending_orders": pending_orders,
    "return_rate_rise": return_rate_rise,
    "sync_lag_minutes": sync_lag_minutes,
    "queue_backlog": queue_backlog,
    "ship_confirm_failures": ship_confirm_failures,
}


def measure(metric: str, now: datetime, window_minutes: int) -> dict[str, Decimal]:
    return MEASURES[metric](now, timedelta(minutes=window_minutes))
