"""Consumers of outbox events owned by the floor: an order's packages follow its status changes
(allocated → a package, merged when it can be; cancelled or held → taken out or stopped, 拦截)."""

from zhongshu.core.models import OutboxEvent
from zhongshu.core.outbox import consumer
from zhongshu.fulfilment.services import sync_orders

# The floor itself moves orders there (orders follow their packages): nothing to do.
FOLLOWING = frozenset({"picking", "packed", "shipped", "delivered", "completed"})


@consumer("fulfilment.packages", topic_prefix="order.status_changed", batch=True)
def packages_follow_orders(events: list[OutboxEvent]) -> None:
    """Once per relay batch: the orders' packages brought in line with the orders as they are now
    (sync_orders reads each order's current status, so several events of one order need one sync)."""
    ids = [ev.payload["order_id"] for ev in events if ev.payload.get("to") not in FOLLOWING]
    if ids:
        sync_orders(ids)
