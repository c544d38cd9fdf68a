"""Background re-sending of what failed to reach a platform (the order workbench's 重新回传)."""

from huey.contrib.djhuey import db_task

from zhongshu.channels.base import ConnectorError
from zhongshu.channels.writeback import confirm_shipment
from zhongshu.orders.models import Order


@db_task(retries=3, retry_delay=30)
def repush_shipment_task(order_id: int, carrier: str, tracking_no: str, actor: str) -> None:
    """Confirm the shipment to the platform again; the outcome is recorded as an outbox event by
    confirm_shipment (safe to run twice: a platform accepts the same confirmation again)."""
    order = Order.objects.select_related("shop").get(pk=order_id)
    try:
        confirm_shipment(order, carrier, tracking_no, actor=actor)
    except ConnectorError:
        pass  # recorded as channel.shipment_failed; the person sees it and may try again
