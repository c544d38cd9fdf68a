"""Outbox consumers of the webhooks: order, package and stock events become deliveries (fan-out),
once per relay batch (the subscribers are read once for the batch)."""

from zhongshu.core.models import OutboxEvent
from zhongshu.core.outbox import consumer
from zhongshu.webhooks.services import fan_out_many


@consumer("webhooks.orders", topic_prefix="order.status_changed", batch=True)
def orders_to_webhooks(evs: list[OutboxEvent]) -> None:
    fan_out_many(evs)


@consumer("webhooks.packages", topic_prefix="package.status_changed", batch=True)
def packages_to_webhooks(evs: list[OutboxEvent]) -> None:
    fan_out_many(evs)


@consumer("webhooks.stock", topic_prefix="stock.changed", batch=True)
def stock_to_webhooks(evs: list[OutboxEvent]) -> None:
    fan_out_many(evs)
