"""Re-push to the platform (重新回传): what the hub failed to tell a shop about an order — a shipment
confirmation (channel.shipment_failed without a later success) or the stock of its SKUs (a
StockPush with an error) — sent again by background tasks after the request is recorded."""

from django.db import transaction

from zhongshu.channels.models import StockPush
from zhongshu.channels.writeback_tasks import schedule_stock_push
from zhongshu.console.tasks import repush_shipment_task
from zhongshu.core import outbox
from zhongshu.core.models import OutboxEvent
from zhongshu.orders.models import Order


def failed_writebacks(order: Order) -> dict:
    """{"shipments": [(carrier, tracking_no, error)], "stock": [(sku code, error)]} still failing."""
    events = OutboxEvent.objects.filter(
        key=f"order:{order.pk}", topic__in=("channel.shipment_failed", "channel.shipment_confirmed")
    ).order_by("id")
    last: dict[tuple[str, str], dict] = {}
    for ev in events:
        p = ev.payload or {}
        last[(p.get("carrier", ""), p.get("tracking_no", ""))] = {
            "topic": ev.topic,
            "error": p.get("error", ""),
        }
    shipments = [(c, t, v["error"]) for (c, t), v in last.items() if v["topic"] == "channel.shipment_failed"]
    skus = order.lines.values_list("sku_id", flat=True)
    stock = list(
        StockPush.objects.filter(shop_id=order.shop_id, sku_id__in=skus)
        .exclude(last_error="")
        .values_list("sku__code", "last_error")
    )
    return {"shipments": shipments, "stock": stock}


def request_repush(order: Order, actor: str) -> int:
    """Record the request and schedule the re-sends after commit; the number of things re-sent."""
    failed = failed_writebacks(order)
    count = len(failed["shipments"]) + len(failed["stock"])
    if not count:
        return 0
    with transaction.atomic():
        summary = f"{order}: 重新回传 {len(failed['shipments'])} 个发货、{len(failed['stock'])} 个库存"
        payload = {"subject": f"order:{order.pk}", "order_id": order.pk, "summary": summary}
        outbox.write(
            [outbox.event("channel.repush_requested", key=f"order:{order.pk}", actor=actor, payload=payload)]
        )
        for carrier, tracking_no, _error in failed["shipments"]:
            transaction.on_commit(
                lambda c=carrier, t=tracking_no: repush_shipment_task(order.pk, c, t, actor)
            )
        for sku, _error in failed["stock"]:
            transaction.on_commit(lambda s=sku: schedule_stock_push(s))
    return count
