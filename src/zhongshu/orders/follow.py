"""Orders follow their packages (decision 0006): fulfilment tells orders the status their packages
imply (picking, packed, shipped) and the order walks its state machine there, one audited step at a
time (allocated → picking → packed → shipped), in the caller's transaction. Orders never import
fulfilment; fulfilment calls this."""

from django.db import transaction
from django.utils import timezone

from zhongshu.core import outbox
from zhongshu.orders.batch import transition_event
from zhongshu.orders.models import Order, OrderTransition
from zhongshu.orders.states import OrderStatus, check

S = OrderStatus

# The floor's path: an order only moves forward along it, never skips an audited step.
PATH = (S.ALLOCATED, S.PICKING, S.PACKED, S.SHIPPED)


def follow_packages(
    targets: dict[int, str], actor: str, reason: str, events: list | None = None
) -> list[int]:
    """Move each order (id → picking/packed/shipped) forward along PATH; orders elsewhere (held,
    cancelled, already further) stay as they are. Returns the ids of the orders moved. The outbox
    events go to `events` when given (the caller writes them with its own), else are written here."""
    if not targets:
        return []
    now = timezone.now()
    moved, rows, mine = [], [], []
    with transaction.atomic(savepoint=False):  # the caller's transaction when there is one
        orders = (
            Order.objects.select_for_update(of=("self",))
            .select_related("shop", "warehouse")
            .filter(pk__in=list(targets))
            .order_by("pk")
        )
        for order in orders:
            target = targets[order.pk]
            if order.status not in PATH or target not in PATH:
                continue
            steps = PATH[PATH.index(order.status) + 1 : PATH.index(target) + 1]
            for step in steps:
                check(order.status, step)
                rows.append(
                    OrderTransition(
                        order=order,
                        from_status=order.status,
                        to_status=step,
                        actor=actor,
                        reason=reason[:400],
                        at=now,
                    )
                )
                mine.append(transition_event(order, order.status, step, reason, actor))
                order.status = step
            if steps:
                order.updated_at = now
                Order.objects.filter(pk=order.pk).update(status=order.status, updated_at=now)
                moved.append(order.pk)
        OrderTransition.objects.bulk_create(rows)
        if events is None:
            outbox.write(mine)
        else:
            events.extend(mine)
    return moved
