"""Outbox consumers of the shipping app: a shipped order's confirmation goes to its platform after
commit, in the worker (never inside the outbound scan's transaction)."""

from zhongshu.core.models import OutboxEvent
from zhongshu.core.outbox import consumer
from zhongshu.shipping.tasks import confirm_shipment_task


@consumer("shipping.confirm", topic_prefix="shipping.confirm_requested")
def confirm_after_commit(ev: OutboxEvent) -> None:
    confirm_shipment_task(ev.payload["confirmation_id"])
