"""Intake: idempotent upsert, cancel/refund, address change re-route, holds, backorders."""

from tests.factories import example_order, put_stock
from zhongshu.core.models import OutboxEvent
from zhongshu.inventory.models import StockLevel, TransferAlert
from zhongshu.orders.models import Order, OrderLine, OrderTransition
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake


def post(**changes):
    [r] = intake([OrderIn.model_validate(example_order(**changes))], actor="test")
    return r


def reserved(wh: str) -> int:
    return StockLevel.objects.get(sku__code="DUMPLING-500G", warehouse__code=wh).reserved


def test_example_order_is_allocated_at_cd_and_reserves(hub):
    put_stock("DUMPLING-500G", "CD", 10)
    r = post()
    o = Order.objects.get(pk=r.order.pk)
    assert r.outcome == "created"
    assert (o.status, o.warehouse.code, o.receiver_province) == ("allocated", "CD", "四川省")
    assert reserved("CD") == 2
    assert list(o.transitions.values_list("from_status", "to_status")) == [
        ("", "paid"),
        ("paid", "allocated"),
    ]


def test_same_order_again_changes_nothing(hub):
    put_stock("DUMPLING-500G", "CD", 10)
    post()
    counts = (
        Order.objects.count(),
        OrderLine.objects.count(),
        OrderTransition.objects.count(),
        OutboxEvent.objects.count(),
    )
    r = post()
    assert r.outcome == "unchanged"
    assert (Order.objects.count(), OrderLine.objects.count(), OrderTransition.objects.count(),
            OutboxEvent.objects.count()) == counts  # fmt: skip
    assert reserved("CD") == 2


def test_older_update_is_ignored(hub):
    put_stock("DUMPLING-500G", "CD", 10)
    post()
    r = post(status="cancelled", updated_at="2026-11-27T20:00:00+08:00")
    assert r.outcome == "unchanged"
    assert Order.objects.get().status == "allocated"
    assert reserved("CD") == 2


def test_newer_cancel_releases_stock(hub):
    put_stock("DUMPLING-500G", "CD", 10)
    post()
    r = post(status="cancelled", updated_at="2026-11-27T21:00:00+08:00")
    assert r.outcome == "updated"
    o = Order.objects.get()
    assert o.status == "cancelled"
    assert reserved("CD") == 0
    # a second, even newer cancel does not release twice
    post(status="cancelled", updated_at="2026-11-27T22:00:00+08:00")
    assert reserved("CD") == 0
    assert o.transitions.filter(to_status="cancelled").count() == 1


def test_refund_request_holds_and_releases_then_resumes_when_withdrawn(hub):
    put_stock("DUMPLING-500G", "CD", 10)
    post()
    r = post(status="refund_requested", updated_at="2026-11-27T21:00:00+08:00")
    assert [h.code for h in r.holds] == ["refund_requested"]
    assert Order.objects.get().status == "on_hold"
    assert reserved("CD") == 0
    r = post(status="paid", updated_at="2026-11-27T22:00:00+08:00")
    assert r.holds == []
    assert Order.objects.get().status == "allocated"
    assert reserved("CD") == 2


def test_address_change_reroutes_before_picking(hub):
    put_stock("DUMPLING-500G", "CD", 10)
    put_stock("DUMPLING-500G", "GZ", 10)
    post()
    receiver = {"name": "王小明", "phone": "13800138000", "province": "广东省", "city": "深圳市",
                "district": "南山区", "address": "科技园1号"}  # fmt: skip
    post(receiver=receiver, updated_at="2026-11-27T21:00:00+08:00")
    o = Order.objects.get()
    assert (o.status, o.warehouse.code) == ("allocated", "GZ")
    assert (reserved("CD"), reserved("GZ")) == (0, 2)
    assert o.transitions.last().reason.startswith("收货地址或商品变更")


def test_province_parsed_from_free_text_address(hub):
    put_stock("DUMPLING-500G", "CD", 10)
    put_stock("DUMPLING-500G", "GZ", 10)
    receiver = {"name": "李四", "phone": "13900001111", "address": "湖北武汉市洪山区珞喻路1037号"}
    r = post(receiver=receiver)
    o = Order.objects.get(pk=r.order.pk)
    assert (o.receiver_province, o.warehouse.code) == ("湖北省", "CD")


def test_short_preferred_warehouse_takes_next_and_raises_transfer_alert(hub):
    put_stock("DUMPLING-500G", "CD", 1)
    put_stock("DUMPLING-500G", "GZ", 10)
    r = post()
    o = Order.objects.get(pk=r.order.pk)
    assert (o.status, o.warehouse.code, o.preferred_warehouse.code) == ("allocated", "GZ", "CD")
    alert = TransferAlert.objects.get()
    assert (alert.sku.code, alert.to_warehouse.code, alert.quantity, alert.status) == (
        "DUMPLING-500G",
        "CD",
        1,
        "open",
    )


def test_a_batch_of_short_orders_adds_up_in_one_transfer_alert(hub):
    """Three orders short at CD in one intake batch (quantities 1, 2, 3): one open alert of 6 for 3
    orders and one event with that total; a later batch adds to the same alert."""
    put_stock("DUMPLING-500G", "CD", 0)
    put_stock("DUMPLING-500G", "GZ", 100)

    def order(n: int, qty: int) -> OrderIn:
        raw = example_order(channel_order_id=f"SHORT-{n}")
        raw["lines"][0]["quantity"] = qty
        return OrderIn.model_validate(raw)

    intake([order(1, 1), order(2, 2), order(3, 3)], actor="test")
    alert = TransferAlert.objects.get()
    assert (alert.to_warehouse.code, alert.from_warehouse.code, alert.quantity, alert.orders) == (
        "CD",
        "GZ",
        6,
        3,
    )
    [ev] = OutboxEvent.objects.filter(topic="stock.transfer_alert")
    assert (ev.payload["quantity"], ev.payload["to_warehouse"]) == (6, "CD") and "建议调拨 6" in ev.payload[
        "summary"
    ]
    intake([order(4, 4)], actor="test")
    alert = TransferAlert.objects.get()
    assert (alert.quantity, alert.orders) == (10, 4)
    latest = OutboxEvent.objects.filter(topic="stock.transfer_alert").order_by("-pk").first()
    assert latest.payload["quantity"] == 10


def test_wait_for_transfer_policy_backorders_at_preferred(hub):
    from zhongshu.routing.models import RoutingSettings

    RoutingSettings.objects.update(shortage_policy="wait_for_transfer")
    put_stock("DUMPLING-500G", "CD", 1)
    put_stock("DUMPLING-500G", "GZ", 10)
    r = post()
    o = Order.objects.get(pk=r.order.pk)
    assert (o.status, o.warehouse) == ("backordered", None)
    assert (reserved("CD"), reserved("GZ")) == (0, 0)
    assert TransferAlert.objects.get().quantity == 1


def test_no_stock_anywhere_is_backordered_not_rejected(hub):
    r = post()
    assert Order.objects.get(pk=r.order.pk).status == "backordered"


def test_pending_payment_reserves_nothing_until_paid(hub):
    put_stock("DUMPLING-500G", "CD", 10)
    post(status="pending_payment", paid_at=None, updated_at="2026-11-27T20:15:03+08:00")
    assert Order.objects.get().status == "pending_payment"
    assert reserved("CD") == 0
    post()
    assert Order.objects.get().status == "allocated"
    assert reserved("CD") == 2


def test_batch_with_two_versions_of_one_order(hub):
    put_stock("DUMPLING-500G", "CD", 10)
    first = OrderIn.model_validate(example_order())
    second = OrderIn.model_validate(example_order(status="cancelled", updated_at="2026-11-27T21:00:00+08:00"))
    results = intake([first, second], actor="test")
    assert [r.outcome for r in results] == ["created", "updated"]
    assert Order.objects.get().status == "cancelled"
    assert reserved("CD") == 0


def test_id_number_is_stored_only_as_hash_and_mask(hub):
    buyer = {"id": "u1", "nick": "n", "id_number": "51010719900307123X", "vip": True}
    r = post(buyer=buyer)
    o = Order.objects.get(pk=r.order.pk)
    assert o.id_number_masked == "510***********123X"
    assert len(o.id_number_hash) == 64 and "51010719900307123X" not in o.id_number_hash
    values = [str(v) for v in Order.objects.values().get().values()]
    assert not any("51010719900307123X" in v for v in values)


def test_changed_quantity_re_reserves_even_with_a_stale_pending_status(hub):
    put_stock("DUMPLING-500G", "CD", 10)
    post()
    line = {"sku": "DUMPLING-500G", "quantity": 5, "unit_price": "39.90", "paid_amount": "174.50"}
    post(status="pending_payment", lines=[line], updated_at="2026-11-27T21:00:00+08:00")
    o = Order.objects.get()
    assert (o.status, o.warehouse.code) == ("allocated", "CD")
    assert reserved("CD") == 5
    assert list(o.lines.values_list("quantity", flat=True)) == [5]
