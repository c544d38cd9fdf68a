"""Consumers of outbox events owned by orders: backorders are retried when stock is added."""

from zhongshu.core.models import OutboxEvent
from zhongshu.core.outbox import consumer
from zhongshu.orders.services import retry_backorders


@consumer("orders.backorder_retry", topic_prefix="stock.changed")
def retry_when_stock_added(ev: OutboxEvent) -> None:
    delta = ev.payload.get("delta", {})
    if delta.get("physical", 0) > 0 or delta.get("in_transit", 0) > 0 or delta.get("reserved", 0) < 0:
        retry_backorders({ev.payload["sku"]}, actor="system:backorder-retry")
