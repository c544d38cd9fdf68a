"""After the package left, in the worker: the outbox consumer of the ship (`package.status_changed`
to `shipped`) subscribes the waybill at Kuaidi100 and sends each order's "shipped" notice; periodic
tasks subscribe aborted waybills again and complete delivered orders. Every task is safe to run twice."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from zhongshu.core.models import OutboxEvent
from zhongshu.core.outbox import consumer
from zhongshu.orders.models import Order
from zhongshu.shipping import notices, tracking
from zhongshu.shipping.models import Waybill


@db_task(retries=5, retry_delay=60)
def subscribe_task(waybill_id: int) -> None:
    tracking.subscribe(waybill_id)


@db_task(retries=5, retry_delay=60)
def notice_task(order_id: int, kind: str, waybill_id: int | None = None) -> None:
    notices.send_notice(order_id, kind, waybill_id)


@db_periodic_task(crontab(minute="*/5"))
def resubscribe_aborted() -> None:
    tracking.resubscribe_due()


@db_periodic_task(crontab(minute="17"))
def complete_delivered() -> None:
    tracking.complete_due()


@consumer("shipping.after_ship", topic_prefix="package.status_changed")
def after_ship(ev: OutboxEvent) -> None:
    if ev.payload.get("to") != "shipped":
        return
    package_id = ev.payload["package_id"]
    waybill = Waybill.objects.filter(package_id=package_id, status=Waybill.Status.ACTIVE).first()
    if waybill is None:
        return
    subscribe_task(waybill.pk)
    for order_id in (
        Order.objects.filter(package_orders__package_id=package_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    ):
        notice_task(order_id, "shipped", waybill.pk)
