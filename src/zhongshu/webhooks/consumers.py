"""Outbox consumers of the webhooks: order, package and stock events become deliveries (fan-out)."""

from zhongshu.core.models import OutboxEvent
from zhongshu.core.outbox import consumer
from zhongshu.webhooks.services import fan_out


@consumer("webhooks.orders", topic_prefix="order.status_changed")
def orders_to_webhooks(ev: OutboxEvent) -> None:
    fan_out(ev)


@consumer("webhooks.packages", topic_prefix="package.status_changed")
def packages_to_webhooks(ev: OutboxEvent) -> None:
    fan_out(ev)


@consumer("webhooks.stock", topic_prefix="stock.changed")
def stock_to_webhooks(ev: OutboxEvent) -> None:
    fan_out(ev)
