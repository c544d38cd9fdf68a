"""The exception queue: approve (allocates once), edit then approve (re-route, SKU swap, forced
warehouse), cancel (releases nothing), bulk, audit, permissions, and the month's figures."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from tests.factories import example_order, put_stock
from zhongshu.catalog.models import Sku
from zhongshu.core.models import OutboxEvent
from zhongshu.core.roles import FINANCE, OPERATIONS, ensure_roles
from zhongshu.inventory.models import StockLevel
from zhongshu.orders.exceptions import QueueFilter, held_orders, month_bounds, month_figures
from zhongshu.orders.models import Order, OrderHold, OrderTransition
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import (
    DecisionRefused,
    OrderEdit,
    approve_orders,
    cancel_orders,
    edit_and_approve,
    intake,
)

QUEUE = "/console/exceptions/"


def held(n: int | str, paid: str = "60.00", **changes) -> Order:
    """An order held by price_mismatch: its lines (69.80) − discount (5.00) ≠ the paid amount."""
    [r] = intake(
        [OrderIn.model_validate(example_order(channel_order_id=f"EX{n}", paid_amount=paid, **changes))],
        "test",
    )
    assert [h.code for h in r.holds] == ["price_mismatch"]
    return Order.objects.get(pk=r.order.pk)


def reserved() -> dict[tuple[str, str], int]:
    return {
        (s.sku.code, s.warehouse.code): s.reserved
        for s in StockLevel.objects.select_related("sku", "warehouse")
    }


def member_of(role: str, username: str) -> User:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def stocked(hub):
    put_stock("DUMPLING-500G", "CD", 100)
    put_stock("DUMPLING-500G", "GZ", 100)
    ensure_roles()


def test_approving_a_held_order_allocates_it_once_and_audits(stocked):
    order = held(1)
    assert reserved() == {("DUMPLING-500G", "CD"): 0, ("DUMPLING-500G", "GZ"): 0}

    result = approve_orders([order.pk], "ops", "核对过，平台优惠未同步")
    order.refresh_from_db()
    assert (result.done, result.skipped) == ([order.pk], {})
    assert (order.status, order.warehouse.code) == ("allocated", "CD")
    assert reserved()[("DUMPLING-500G", "CD")] == 2
    last = list(order.transitions.order_by("id").values_list("from_status", "to_status", "actor", "reason"))[
        -2:
    ]
    assert last == [
        ("on_hold", "paid", "ops", "人工放行：核对过，平台优惠未同步"),
        ("paid", "allocated", "ops", "分配至 CD"),
    ]
    hold = OrderHold.objects.get(order=order)
    assert hold.released_at is not None and hold.released_by == "ops: 人工放行"

    transitions, events = OrderTransition.objects.count(), OutboxEvent.objects.count()
    again = approve_orders([order.pk], "ops")
    assert again.done == [] and "不在异常队列" in again.skipped[order.pk]
    assert reserved()[("DUMPLING-500G", "CD")] == 2
    assert (OrderTransition.objects.count(), OutboxEvent.objects.count()) == (transitions, events)


def test_cancelling_a_held_order_releases_nothing_and_is_audited(stocked):
    allocated = intake([OrderIn.model_validate(example_order(channel_order_id="OK1"))], "test")[0].order
    order = held(1)
    before = reserved()
    assert before[("DUMPLING-500G", "CD")] == 2  # the other order's reservation

    result = cancel_orders([order.pk], "ops", "买家重复下单")
    order.refresh_from_db()
    assert result.done == [order.pk] and order.status == "cancelled"
    assert reserved() == before
    assert StockLevel.objects.get(sku__code="DUMPLING-500G", warehouse__code="CD").reserved == 2
    t = order.transitions.order_by("id").last()
    assert (t.from_status, t.to_status, t.actor, t.reason) == (
        "on_hold",
        "cancelled",
        "ops",
        "人工取消：买家重复下单",
    )
    assert OrderHold.objects.get(order=order).released_by == "ops: 人工取消"

    assert cancel_orders([order.pk], "ops", "again").done == []
    assert approve_orders([order.pk], "ops").done == []
    assert reserved() == before
    assert order.transitions.filter(to_status="cancelled").count() == 1
    assert Order.objects.get(pk=allocated.pk).status == "allocated"


def test_bulk_approve_of_three_orders_from_the_console(stocked, client):
    orders = [held(n) for n in range(3)]
    client.force_login(member_of(OPERATIONS, "ops"))
    r = client.post(reverse("exceptions:decide"), {"ids": [o.pk for o in orders], "action": "approve",
                                                   "note": "批量核对", "next": QUEUE + "?sort=-value"})  # fmt: skip
    assert r.status_code == 302 and r["Location"] == QUEUE + "?sort=-value"
    assert set(Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True)) == {
        "allocated"
    }
    assert reserved()[("DUMPLING-500G", "CD")] == 6
    assert OrderTransition.objects.filter(actor="ops", to_status="allocated").count() == 3
    assert not held_orders().exists()


def test_edit_address_reroutes_to_the_other_warehouse(stocked, client):
    order = held(1)
    client.force_login(member_of(OPERATIONS, "ops"))
    r = client.post(reverse("exceptions:detail", args=[order.pk]), {
        "action": "edit", "receiver_province": "广东省", "receiver_city": "广州市", "receiver_district": "天河区",
        "receiver_address": "天河路385号", "warehouse": "", "note": "买家改地址",
    })  # fmt: skip
    assert r.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.warehouse.code, order.receiver_province) == ("allocated", "GZ", "广东省")
    assert order.receiver_address == "天河路385号"
    assert reserved() == {("DUMPLING-500G", "CD"): 0, ("DUMPLING-500G", "GZ"): 2}
    reasons = list(order.transitions.filter(actor="ops").order_by("id").values_list("reason", flat=True))
    assert reasons[0] == "人工修改收货地址（省份 四川省 → 广东省）"
    assert reasons[1] == "修改后放行：买家改地址"
    assert OrderHold.objects.get(order=order).released_by == "ops: 修改后放行"


def test_sku_swap_and_forced_warehouse(stocked):
    Sku.objects.create(code="DUMPLING-1KG", title="手工水饺 1kg", cost_price=Decimal("35.00"))
    put_stock("DUMPLING-1KG", "GZ", 5)
    order = held(1)
    line = order.lines.get()
    edit_and_approve(order.pk, OrderEdit(skus={line.pk: "DUMPLING-1KG"}, warehouse="GZ"), "ops")
    order.refresh_from_db()
    assert (order.status, order.warehouse.code) == ("allocated", "GZ")
    assert list(order.lines.values_list("sku__code", "quantity", "paid_amount")) == [
        ("DUMPLING-1KG", 2, Decimal("69.80"))
    ]
    assert reserved()[("DUMPLING-1KG", "GZ")] == 2
    assert reserved()[("DUMPLING-500G", "CD")] == 0
    assert order.transitions.filter(reason="人工换货 DUMPLING-500G → DUMPLING-1KG").exists()
    assert order.transitions.filter(reason="人工指定发货仓 GZ").exists()


def test_forced_warehouse_without_stock_changes_nothing(stocked):
    put_stock("DUMPLING-500G", "GZ", 1)
    order = held(1)
    with pytest.raises(DecisionRefused, match="GZ 库存不足"):
        edit_and_approve(order.pk, OrderEdit(address={"address": "天河路385号", "province": "广东省"},
                                             warehouse="GZ"), "ops")  # fmt: skip
    order.refresh_from_db()
    assert (order.status, order.receiver_province) == ("on_hold", "四川省")
    assert OrderHold.objects.get(order=order).released_at is None


def test_finance_may_look_but_not_decide(stocked, client):
    order = held(1)
    client.force_login(member_of(FINANCE, "fin"))
    assert client.get(QUEUE).status_code == 200
    assert client.get(reverse("exceptions:detail", args=[order.pk])).status_code == 200
    assert (
        client.post(reverse("exceptions:decide"), {"ids": [order.pk], "action": "approve"}).status_code == 403
    )
    r = client.post(reverse("exceptions:detail", args=[order.pk]), {"action": "cancel", "note": "x"})
    assert r.status_code == 403
    order.refresh_from_db()
    assert order.status == "on_hold"
    assert not OrderTransition.objects.filter(actor="fin").exists()


def test_a_user_without_order_rights_cannot_see_the_queue(stocked, client):
    client.force_login(User.objects.create_user("nobody", password="pw", is_staff=True))
    assert client.get(QUEUE).status_code == 403


def test_queue_filters_and_sorting(stocked):
    a, b = held(1, paid="60.00"), held(2, paid="10.00")
    intake([OrderIn.model_validate(example_order(channel_order_id="OK1"))], "test")
    OrderHold.objects.filter(order=b).update(
        created_at=OrderHold.objects.get(order=a).created_at - timedelta(hours=5)
    )
    assert list(held_orders()) == [b, a]  # oldest hold first
    assert list(held_orders(QueueFilter(sort="-value"))) == [a, b]
    assert list(held_orders(QueueFilter(min_value=Decimal("20")))) == [a]
    assert list(held_orders(QueueFilter(older_than_hours=3))) == [b]
    assert list(held_orders(QueueFilter(code="brushing"))) == []
    assert list(held_orders(QueueFilter(code="price_mismatch", shop="mp"))) == [b, a]


def test_month_figures_count_only_this_months_held_orders(stocked, client):
    kept, cancelled, edited, old = held(1, "60.00"), held(2, "61.00"), held(3, "62.00"), held(4, "63.00")
    start, _ = month_bounds()
    OrderHold.objects.filter(order=old).update(created_at=start - timedelta(days=3))
    cancel_orders([cancelled.pk, old.pk], "ops", "风险订单")
    edit_and_approve(edited.pk, OrderEdit(warehouse="GZ"), "ops")
    refund = intake([OrderIn.model_validate(example_order(channel_order_id="RF1"))], "test")[0].order
    intake([OrderIn.model_validate(example_order(channel_order_id="RF1", status="refund_requested",
                                                 updated_at="2026-11-27T23:00:00+08:00"))], "test")  # fmt: skip
    assert Order.objects.get(pk=refund.pk).status == "on_hold"

    f = month_figures()
    assert (f.held, f.held_value) == (3, Decimal("183.00"))  # kept, cancelled, edited: not old, not refund
    assert (f.cancelled, f.cancelled_value, f.edited) == (1, Decimal("61.00"), 1)
    assert f.avoided_value == Decimal("123.00")
    assert month_figures(at=start - timedelta(days=1)).held == 1  # last month: the old one

    client.force_login(member_of(OPERATIONS, "ops"))
    page = client.get(QUEUE).content.decode()
    figures = page[page.index('id="month-figures"') :]
    assert re.search(r'data-figure="held">\s*3 单 · 183.00 元<', figures)
    assert re.search(r'data-figure="reviewed">\s*取消 1 单 · 修改 1 单<', figures)
    assert re.search(r'data-figure="avoided">\s*123.00 元<', figures)
    assert f"EX{kept.channel_order_id[-1]}" in page and "异常订单" in page
