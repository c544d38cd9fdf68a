"""The order workbench (订单工作台) in the admin: search by the receiver phone's last 4 digits, the
receiver's name (blind index), the buyer's nickname, a SKU or barcode; each action (release, hold,
cancel, change warehouse, correct the receiver, note/tags) changes the order through the use cases
and is audited; a role without the permission cannot act."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from tests.factories import example_order, put_stock
from zhongshu.catalog.models import Sku, SkuBarcode
from zhongshu.core.models import OutboxEvent
from zhongshu.core.roles import FINANCE, OPERATIONS, WAREHOUSE, ensure_roles
from zhongshu.inventory.models import StockLevel
from zhongshu.orders.models import Order, OrderHold, OrderTransition
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake

LIST = "/admin/orders/order/"


def order(cid: str, name: str = "王小明", phone: str = "13800138000", sku: str = "DUMPLING-500G", **changes):
    receiver = example_order()["receiver"] | {"name": name, "phone": phone}
    line = example_order()["lines"][0] | {"sku": sku}
    [r] = intake(
        [
            OrderIn.model_validate(
                example_order(channel_order_id=cid, receiver=receiver, lines=[line], **changes)
            )
        ],
        "test",
    )
    return Order.objects.get(pk=r.order.pk)


def member_of(role: str, username: str) -> User:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)


def reserved(warehouse: str) -> int:
    return sum(StockLevel.objects.filter(warehouse__code=warehouse).values_list("reserved", flat=True))


@pytest.fixture
def orders(hub):
    Sku.objects.create(code="TEA-100G", title="明前龙井 100g", cost_price=Decimal("30.00"))
    SkuBarcode.objects.create(sku=Sku.objects.get(code="TEA-100G"), code="6901234567892")
    for sku in ("DUMPLING-500G", "TEA-100G"):
        put_stock(sku, "CD", 50)
        put_stock(sku, "GZ", 50)
    ensure_roles()
    return {
        "a": order("A1", "王小明", "13800138000"),
        "b": order("B1", "李四", "13900005678", buyer={"id": "u2", "nick": "茶友老李", "vip": False}),
        "c": order("C1", "张三", "13700001234", sku="TEA-100G"),
    }


@pytest.fixture
def ops(client, orders):
    client.force_login(member_of(OPERATIONS, "ops"))
    return client


def found(client, term: str) -> set[str]:
    r = client.get(LIST, {"q": term})
    assert r.status_code == 200
    return {o.channel_order_id for o in r.context["cl"].result_list}


def test_search_by_phone_tail_receiver_name_nick_sku_and_barcode(ops, orders):
    assert found(ops, "5678") == {"B1"}
    assert found(ops, "1234") == {"C1"}
    assert found(ops, "13800138000") == {"A1"}
    assert found(ops, "李四") == {"B1"}
    assert found(ops, " 张 三 ") == {"C1"}  # spaces do not matter
    assert found(ops, "茶友老李") == {"B1"}
    assert found(ops, "TEA-100G") == {"C1"}
    assert found(ops, "6901234567892") == {"C1"}
    assert found(ops, "DUMPLING-500G") == {"A1", "B1"}
    assert found(ops, "A1") == {"A1"}
    assert found(ops, f"#{orders['b'].pk}") == {"B1"}
    assert found(ops, "王") == set()  # a name finds by the whole name only (blind index)


def test_the_name_is_stored_as_a_keyed_hash_only(orders):
    raw = Order.objects.filter(pk=orders["b"].pk).values_list("receiver_name_hash", flat=True)[0]
    assert len(raw) == 64 and "李四" not in raw


def test_list_columns_and_filters(ops, orders):
    page = ops.get(LIST).content.decode()
    for text in ("自有小程序", "茶友老李", "TEA-100G×2", "64.80", "已分仓锁库", "成都仓"):
        assert text in page, text
    assert found(ops, "") == {"A1", "B1", "C1"}
    r = ops.get(
        LIST, {"status__exact": "allocated", "paid_at_from": "2026-11-27", "paid_at_to": "2026-11-28"}
    )
    assert {o.channel_order_id for o in r.context["cl"].result_list} == {"A1", "B1", "C1"}
    r = ops.get(LIST, {"paid_at_from": "2026-11-28"})
    assert list(r.context["cl"].result_list) == []


def post_action(client, act: str, pk: int, **data):
    return client.post(reverse(f"admin:orders_order_do_{act}", args=[pk]), {"confirm": "1", **data})


def audited(order: Order, text: str) -> bool:
    return OrderTransition.objects.filter(order=order, actor="ops", reason__contains=text).exists() and (
        OutboxEvent.objects.filter(
            topic="order.status_changed", actor="ops", key=f"order:{order.pk}"
        ).exists()
    )


def test_hold_then_release_from_the_order_page(ops, orders):
    a = orders["a"]
    before = reserved("CD")
    assert post_action(ops, "hold", a.pk, reason="买家要求改期").status_code == 302
    a.refresh_from_db()
    assert a.status == "on_hold" and reserved("CD") == before - 2
    assert OrderHold.objects.get(order=a, released_at__isnull=True).code == "manual_hold"
    assert audited(a, "人工挂起：买家要求改期")
    assert post_action(ops, "approve", a.pk, note="已确认").status_code == 302
    a.refresh_from_db()
    assert a.status == "allocated" and reserved("CD") == before
    assert audited(a, "人工放行")


def test_hold_needs_a_reason(ops, orders):
    r = post_action(ops, "hold", orders["a"].pk, reason="")
    assert r.status_code == 200  # the form again, with the error
    assert Order.objects.get(pk=orders["a"].pk).status == "allocated"


def test_cancel_releases_the_stock_and_is_audited(ops, orders):
    a = orders["a"]
    before = reserved("CD")
    post_action(ops, "cancel", a.pk, reason="买家取消")
    a.refresh_from_db()
    assert a.status == "cancelled" and reserved("CD") == before - 2
    assert audited(a, "人工取消：买家取消")


def test_change_warehouse_re_reserves(ops, orders):
    a = orders["a"]
    cd, gz = reserved("CD"), reserved("GZ")
    post_action(ops, "warehouse", a.pk, warehouse="GZ")
    a.refresh_from_db()
    assert a.warehouse.code == "GZ" and a.status == "allocated"
    assert (reserved("CD"), reserved("GZ")) == (cd - 2, gz + 2)
    assert audited(a, "人工指定发货仓 GZ")


def test_change_warehouse_without_stock_keeps_the_reservation(ops, orders):
    a = orders["a"]
    StockLevel.objects.filter(warehouse__code="GZ").update(physical=0)
    cd = reserved("CD")
    post_action(ops, "warehouse", a.pk, warehouse="GZ")
    a.refresh_from_db()
    assert a.warehouse.code == "CD" and reserved("CD") == cd


def test_edit_receiver_reroutes_and_keeps_pii_out_of_the_audit(ops, orders):
    a = orders["a"]
    r = post_action(ops, "receiver", a.pk, name="王大明", province="广东省", city="广州市", district="天河区",
                    address="天河路 385 号")  # fmt: skip
    assert r.status_code == 302
    a.refresh_from_db()
    assert a.receiver_name == "王大明" and a.receiver_province == "广东省" and a.warehouse.code == "GZ"
    assert found(ops, "王大明") == {"A1"} and found(ops, "王小明") == set()  # the name index follows
    assert audited(a, "人工修改收货人（姓名、地址）")
    reasons = " ".join(OrderTransition.objects.filter(order=a).values_list("reason", flat=True))
    assert "王大明" not in reasons and "天河路" not in reasons


def test_bulk_note_and_tags(ops, orders):
    ids = [orders["a"].pk, orders["b"].pk]
    r = ops.post(LIST, {"action": "bulk_note", "_selected_action": ids, "confirm": "1", "note": "加急",
                        "tags": "大客户，复购"})  # fmt: skip
    assert r.status_code == 302
    for o in Order.objects.filter(pk__in=ids):
        assert o.staff_note == "加急" and o.tags == ["大客户", "复购"]
        assert audited(o, "标签：大客户、复购")
    r = ops.get(LIST, {"tag": "复购"})
    assert {o.channel_order_id for o in r.context["cl"].result_list} == {"A1", "B1"}


def test_bulk_hold_shows_a_form_first_then_holds_all(ops, orders):
    ids = [o.pk for o in orders.values()]
    form = ops.post(LIST, {"action": "bulk_hold", "_selected_action": ids})
    assert form.status_code == 200 and "workbench-action" in form.content.decode()
    assert Order.objects.filter(status="on_hold").count() == 0
    ops.post(LIST, {"action": "bulk_hold", "_selected_action": ids, "confirm": "1", "reason": "地址待核实"})
    assert Order.objects.filter(status="on_hold").count() == 3
    r = ops.get(LIST, {"hold": "manual_hold"})
    assert len(r.context["cl"].result_list) == 3


@pytest.mark.parametrize("role", [FINANCE, WAREHOUSE])
def test_a_role_without_the_permission_cannot_act(client, orders, role):
    client.force_login(member_of(role, "someone"))
    a = orders["a"]
    for act, data in (("hold", {"reason": "x"}), ("cancel", {"reason": "x"}), ("warehouse", {"warehouse": "GZ"}),
                       ("receiver", {"name": "某人"})):  # fmt: skip
        r = post_action(client, act, a.pk, **data)
        assert r.status_code == 403, (role, act)
    r = client.post(
        LIST, {"action": "bulk_cancel", "_selected_action": [a.pk], "confirm": "1", "reason": "x"}
    )
    a.refresh_from_db()
    assert a.status == "allocated" and a.receiver_name == "王小明" and a.warehouse.code == "CD"
    assert not OrderTransition.objects.filter(order=a).exclude(actor="test").exists()
    assert found(client, "5678") == {"B1"}  # looking is allowed


def test_warehouse_may_note_but_not_hold(client, orders):
    client.force_login(member_of(WAREHOUSE, "wh"))
    a = orders["a"]
    assert post_action(client, "note", a.pk, note="外箱破损").status_code == 302
    assert post_action(client, "hold", a.pk, reason="x").status_code == 403
    a.refresh_from_db()
    assert a.staff_note == "外箱破损" and a.status == "allocated"


def test_the_order_page_offers_what_its_status_allows(ops, orders):
    a = orders["a"]
    page = ops.get(reverse("admin:orders_order_change", args=[a.pk])).content.decode()
    for act in ("hold", "cancel", "warehouse", "receiver", "note"):
        assert f"/wb-{act}/" in page, act
    assert "wb-approve/" not in page  # nothing to release on an allocated order
    assert post_action(ops, "approve", a.pk).status_code == 403


def test_the_workbench_speaks_english_after_the_switch(ops, orders):
    ops.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})
    page = ops.get(LIST).content.decode()
    for text in ("Search by any of", "receiver name", "SKU code or barcode", "Hold selected orders", "Age"):
        assert text in page, text
    form = ops.get(reverse("admin:orders_order_do_hold", args=[orders["a"].pk])).content.decode()
    assert "Hold" in form and "Confirm" in form and "确定" not in form
