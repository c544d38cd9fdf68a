"""Webhook events from outbox events: which type an outbox event is, and its stable JSON payload.

An outbox event maps to at most one webhook event:

| outbox topic | condition | webhook event |
|---|---|---|
| `order.status_changed` | payload `to` ∈ allocated, delivered, cancelled | `order.<to>` |
| `package.status_changed` | payload `to` ∈ packed, shipped | `package.<to>` |
| `stock.changed` | always | `stock.changed` |

The body follows the Standard Webhooks payload structure `{type, timestamp, data}`. Ids and money are
strings, times ISO 8601 with offset; the receiver's name, phone and street address are masked
(core.pii). The fields of `data` are documented in docs/webhooks.md and only ever added to.
"""

import json
from dataclasses import dataclass

from django.utils import timezone

from zhongshu.core import pii
from zhongshu.core.models import OutboxEvent
from zhongshu.fulfilment.models import Package
from zhongshu.orders.models import Order, OrderLine

ORDER_EVENTS = {
    "allocated": "order.allocated",
    "delivered": "order.delivered",
    "cancelled": "order.cancelled",
}
PACKAGE_EVENTS = {"packed": "package.packed", "shipped": "package.shipped"}


@dataclass(frozen=True)
class Message:
    message_id: str  # the `webhook-id`: one per outbox event, the same on every retry and subscriber
    event_type: str
    body: str
    keys: list[str]  # order keys ("order:12", "sku:X"): a later message sharing one waits


def event_type(ev: OutboxEvent) -> str | None:
    """The webhook event type of an outbox event, or None when it is none of them."""
    to = ev.payload.get("to") if isinstance(ev.payload, dict) else None
    if ev.topic == "order.status_changed":
        return ORDER_EVENTS.get(to)
    if ev.topic == "package.status_changed":
        return PACKAGE_EVENTS.get(to)
    if ev.topic == "stock.changed":
        return "stock.changed"
    return None


def message_for(ev: OutboxEvent, kind: str) -> Message | None:
    """The message of an outbox event of webhook type `kind`; None when its subject is gone."""
    if kind.startswith("order."):
        made = _order(ev)
    elif kind.startswith("package."):
        made = _package(ev)
    else:
        made = _stock(ev)
    if made is None:
        return None
    data, keys = made
    body = {"type": kind, "timestamp": _iso(ev.created_at), "data": data}
    return Message(
        message_id=f"msg_{ev.pk}",
        event_type=kind,
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        keys=keys,
    )


def _iso(value) -> str | None:
    """ISO 8601 in China time (+08:00), as the merchants' systems read it."""
    return timezone.localtime(value).isoformat() if value else None


def _order(ev: OutboxEvent) -> tuple[dict, list[str]] | None:
    p = ev.payload
    order = Order.objects.select_related("shop").filter(pk=p.get("order_id")).first()
    if order is None:
        return None
    lines = (
        OrderLine.objects.filter(order=order)
        .order_by("pk")
        .values_list("sku__code", "title", "quantity", "paid_amount")
    )
    data = {
        "order_id": str(order.pk),
        "shop": order.shop.code,
        "platform": order.shop.platform,
        "channel_order_id": order.channel_order_id,
        "status": p.get("to"),
        "previous_status": p.get("from") or None,
        "warehouse": p.get("warehouse"),
        "reason": p.get("reason") or "",
        "placed_at": _iso(order.placed_at),
        "paid_at": _iso(order.paid_at),
        "currency": "CNY",
        "paid_amount": str(order.paid_amount),
        "freight": str(order.freight),
        "discount": str(order.discount),
        "receiver": {
            "name": pii.mask_name(order.receiver_name or ""),
            "phone": pii.mask_phone(order.receiver_phone or ""),
            "province": order.receiver_province,
            "city": order.receiver_city,
            "district": order.receiver_district,
            "address": pii.mask_address(order.receiver_address or ""),
        },
        "lines": [
            {"sku": sku, "title": title, "quantity": quantity, "paid_amount": str(paid)}
            for sku, title, quantity, paid in lines
        ],
    }
    return data, [f"order:{order.pk}"]


def _package(ev: OutboxEvent) -> tuple[dict, list[str]] | None:
    pkg = (
        Package.objects.select_related("warehouse", "shop")
        .prefetch_related("orders__shop", "lines__sku")
        .filter(pk=ev.payload.get("package_id"))
        .first()
    )
    if pkg is None:
        return None
    orders = sorted(pkg.orders.all(), key=lambda o: o.pk)
    data = {
        "package_id": str(pkg.pk),
        "status": ev.payload.get("to"),
        "previous_status": ev.payload.get("from") or None,
        "warehouse": pkg.warehouse.code,
        "shop": pkg.shop.code if pkg.shop_id else None,
        "carrier": pkg.carrier or None,
        "waybill_no": getattr(pkg, "waybill_no", "") or None,  # set once shipping gives waybills
        "weight_g": pkg.measured_weight_g,
        "orders": [
            {"order_id": str(o.pk), "shop": o.shop.code, "channel_order_id": o.channel_order_id}
            for o in orders
        ],
        "lines": [
            {"sku": ln.sku.code, "quantity": ln.quantity}
            for ln in sorted(pkg.lines.all(), key=lambda ln: ln.pk)
        ],
    }
    return data, [f"order:{o.pk}" for o in orders] or [f"package:{pkg.pk}"]


def _stock(ev: OutboxEvent) -> tuple[dict, list[str]]:
    p = ev.payload
    data = {
        "sku": p.get("sku"),
        "warehouse": p.get("warehouse"),
        "physical": p.get("physical"),
        "reserved": p.get("reserved"),
        "in_transit": p.get("in_transit"),
        "available": p.get("available"),
        "reason": p.get("reason") or "",
        "delta": p.get("delta") or {},
    }
    return data, [f"sku:{p.get('sku')}"]
