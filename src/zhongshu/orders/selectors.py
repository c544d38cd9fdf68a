"""Reads of orders for the API and the console (personal data masked)."""

from collections.abc import Sequence

from django.db.models import Prefetch, QuerySet

from zhongshu.orders.models import Order, OrderHold


def orders(
    status: str | None = None, shop: str | None = None, warehouse: str | None = None
) -> QuerySet[Order]:
    qs = Order.objects.select_related("shop", "warehouse").prefetch_related(
        Prefetch("holds", queryset=OrderHold.objects.filter(released_at__isnull=True), to_attr="active_holds")
    )
    if status:
        qs = qs.filter(status=status)
    if shop:
        qs = qs.filter(shop__code=shop)
    if warehouse:
        qs = qs.filter(warehouse__code=warehouse)
    return qs.order_by("-id")


class Summaries(Sequence):
    """The summaries of a query's orders, counted and sliced in the database: what a paginator takes
    (len and a slice), so that a page reads its own rows and not every matching order. A slice
    first reads only the ids of its rows (an index scan, however deep the offset), then those rows."""

    def __init__(self, orders: QuerySet[Order]):
        self.orders = orders

    def __len__(self) -> int:
        return self.orders.count()

    def __getitem__(self, index):
        if not isinstance(index, slice):
            return summary(self.orders[index])
        if (index.start or 0) >= 2**62:  # a page past any table (the database's OFFSET is 64-bit)
            return []
        ids = list(self.orders.values_list("pk", flat=True)[index])
        rows = {o.pk: o for o in self.orders.filter(pk__in=ids).only(*SUMMARY_FIELDS)}
        return [summary(rows[pk]) for pk in ids if pk in rows]  # (one deleted in between: left out)


def order_detail(shop: str, channel_order_id: str) -> Order | None:
    return (
        orders()
        .prefetch_related("lines__sku", "transitions")
        .filter(shop__code=shop, channel_order_id=channel_order_id)
        .first()
    )


# the columns summary() reads (the list reads only these; a page's query count is tested)
SUMMARY_FIELDS = ("shop__code", "channel_order_id", "status", "channel_status", "warehouse__code", "flags",
                  "paid_amount", "placed_at")  # fmt: skip


def summary(order: Order, holds: list | None = None) -> dict:
    active = holds if holds is not None else getattr(order, "active_holds", None)
    if active is None:
        active = list(order.holds.filter(released_at__isnull=True))
    return {
        "id": order.pk,
        "shop": order.shop.code,
        "channel_order_id": order.channel_order_id,
        "status": order.status,
        "channel_status": order.channel_status,
        "warehouse": order.warehouse.code if order.warehouse else None,
        "holds": [{"code": h.code, "reason": h.reason} for h in active],
        "flags": list(order.flags or []),
        "paid_amount": order.paid_amount,
        "placed_at": order.placed_at,
    }


def detail(order: Order) -> dict:
    return {
        **summary(order),
        "receiver": {
            "name": order.receiver_name_masked,
            "phone": order.receiver_phone_masked,
            "province": order.receiver_province,
            "city": order.receiver_city,
            "district": order.receiver_district,
            "address": order.receiver_address_masked,
        },
        "buyer": {
            "nick": order.buyer_nick,
            "vip": order.buyer_vip,
            "id_number": order.id_number_masked or None,
        },
        "amounts": {
            "lines": order.lines_amount,
            "freight": order.freight,
            "discount": order.discount,
            "paid": order.paid_amount,
        },  # fmt: skip
        "lines": [
            {
                "sku": ln.sku.code,
                "title": ln.title,
                "quantity": ln.quantity,
                "unit_price": ln.unit_price,
                "promo_price": ln.promo_price,
                "paid_amount": ln.paid_amount,
            }  # fmt: skip
            for ln in order.lines.all()
        ],
        "history": [
            {
                "at": t.at,
                "from": t.from_status or None,
                "to": t.to_status,
                "actor": t.actor,
                "reason": t.reason,
            }
            for t in order.transitions.all()
        ],
        # the order's packages (fulfilment's table, read through the relation: orders never import it)
        "packages": [
            {
                "id": str(link.package_id),
                "status": link.package.status,
                "warehouse": link.package.warehouse.code,
                "carrier": link.package.carrier or None,
                "waybill_no": next(
                    (w.waybill_no for w in link.package.waybills.all() if w.status == "active"), None
                ),
            }
            for link in order.package_orders.select_related("package__warehouse").order_by("package_id")
        ],
        # the tracking timeline, newest first (shipping's table, read through the relation)
        "tracking": [
            {"at": e.at, "place": e.place, "text": e.text, "waybill_no": e.waybill.waybill_no}
            for e in order.tracking_events.select_related("waybill").order_by("-at", "-id")
        ],
    }
