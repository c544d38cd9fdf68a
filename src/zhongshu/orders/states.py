"""The order state machine: statuses and the transitions allowed between them."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class OrderStatus(models.TextChoices):
    PENDING_PAYMENT = "pending_payment", _("待付款")
    PAID = "paid", _("已付款")
    ON_HOLD = "on_hold", _("已挂起")
    ALLOCATED = "allocated", _("已分仓锁库")
    BACKORDERED = "backordered", _("缺货待补")
    PICKING = "picking", _("拣货中")
    PACKED = "packed", _("已打包")
    SHIPPED = "shipped", _("已发货")
    DELIVERED = "delivered", _("已签收")
    COMPLETED = "completed", _("已完成")
    CANCELLED = "cancelled", _("已取消")


S = OrderStatus

# Refund/return states (after-sales) are added here as new statuses and edges, nothing else changes.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.PENDING_PAYMENT: frozenset({S.PAID, S.ON_HOLD, S.CANCELLED}),
    S.PAID: frozenset({S.ON_HOLD, S.ALLOCATED, S.BACKORDERED, S.CANCELLED}),
    S.ON_HOLD: frozenset({S.PAID, S.ON_HOLD, S.ALLOCATED, S.BACKORDERED, S.CANCELLED}),
    S.ALLOCATED: frozenset({S.ALLOCATED, S.BACKORDERED, S.ON_HOLD, S.PICKING, S.CANCELLED}),
    S.BACKORDERED: frozenset({S.ALLOCATED, S.BACKORDERED, S.ON_HOLD, S.CANCELLED}),
    S.PICKING: frozenset({S.PACKED, S.ON_HOLD, S.CANCELLED}),
    S.PACKED: frozenset({S.SHIPPED, S.ON_HOLD, S.CANCELLED}),
    S.SHIPPED: frozenset({S.DELIVERED, S.COMPLETED}),
    S.DELIVERED: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
}

# While an order is in one of these, its lines hold a reservation in its warehouse.
RESERVING = frozenset({S.ALLOCATED, S.PICKING, S.PACKED})
# Re-routing an order (address or lines changed) is possible only before picking starts.
REROUTABLE = frozenset({S.PAID, S.ALLOCATED, S.BACKORDERED})


class IllegalTransition(ValueError):
    pass


def check(current: str | None, target: str) -> None:
    """Raise IllegalTransition unless current → target is an edge of the machine (None = new order)."""
    if current is None:
        if target not in (S.PENDING_PAYMENT, S.PAID, S.CANCELLED, S.ON_HOLD):
            raise IllegalTransition(f"a new order cannot start as {target}")
        return
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(f"{current} → {target} is not allowed")
