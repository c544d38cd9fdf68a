"""Background work out the door: the ship confirmation to the platform, retried with back-off."""

from huey.contrib.djhuey import db_task

from zhongshu.shipping.services import confirm


@db_task(retries=6, retry_delay=30)
def confirm_shipment_task(confirmation_id: int) -> None:
    """Confirm one shipment to its platform; a failure is recorded (the console's queue) and retried."""
    confirm(confirmation_id)
