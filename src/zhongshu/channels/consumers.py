"""Consumers of outbox events owned by channels: every stock change schedules a coalesced stock push."""

from zhongshu.channels.writeback_tasks import schedule_stock_push
from zhongshu.core.models import OutboxEvent
from zhongshu.core.outbox import consumer


@consumer("channels.stock_push", topic_prefix="stock.changed")
def push_stock_on_change(ev: OutboxEvent) -> None:
    # Idempotent: a redelivered event finds the push already pending (or schedules a harmless re-check).
    schedule_stock_push(ev.payload["sku"])
