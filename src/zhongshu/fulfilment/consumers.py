"""Consumers of outbox events owned by the floor: an order's packages follow its status changes
(allocated → a package, merged when it can be; cancelled or held → taken out or stopped, 拦截)."""

from zhongshu.core.models import OutboxEvent
from zhongshu.core.outbox import consumer
from zhongshu.fulfilment.services import sync_order

# The floor itself moves orders there (orders follow their packages): nothing to do.
FOLLOWING = frozenset({"picking", "packed", "shipped", "delivered", "completed"})


@consumer("fulfilment.packages", topic_prefix="order.status_changed")
def packages_follow_order(ev: OutboxEvent) -> None:
    if ev.payload.get("to") in FOLLOWING:
        return
    sync_order(ev.payload["order_id"])
