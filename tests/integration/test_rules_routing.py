"""Routing by rules: the `routing` rule set names the preferred warehouse (the shipped rule is the
foundation's 华中/西南 → CD), a review rule's route_to_warehouse does too, the region table is the
fallback, and the shortage policy and transfer alerts work from the rule's warehouse."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import example_order, put_stock
from zhongshu.inventory.models import TransferAlert, Warehouse
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake
from zhongshu.routing.domain import RoutingTable, choose_warehouse
from zhongshu.routing.models import RoutingSettings
from zhongshu.rules import services
from zhongshu.rules.models import Rule

RULE = "region_central_southwest_to_cd"
GUANGDONG = {"name": "陈五", "phone": "13700002222", "province": "广东省", "city": "广州市",
             "district": "天河区", "address": "天河路385号"}  # fmt: skip
HUBEI = {"name": "李四", "phone": "13900001111", "address": "湖北武汉市洪山区珞喻路1037号"}


@pytest.fixture
def stocked(hub):
    for wh in ("CD", "GZ"):
        put_stock("DUMPLING-500G", wh, 100)


def post(n: int | str, **changes) -> Order:
    [r] = intake([OrderIn.model_validate(example_order(channel_order_id=f"RT{n}", **changes))], actor="test")
    return Order.objects.select_related("warehouse", "preferred_warehouse").get(pk=r.order.pk)


def where(order: Order) -> tuple:
    return order.status, order.warehouse.code if order.warehouse else None, order.preferred_warehouse.code


def change(code: str = RULE, **data) -> Rule:
    return services.save_rule({"code": code, **data}, author="ops")


def test_the_shipped_routing_rule_is_an_editable_routing_rule(db):
    rule = Rule.objects.select_related("rule_set").get(code=RULE)
    assert (rule.rule_set.stage, rule.enabled, rule.priority, rule.version) == ("routing", True, 10, 1)
    assert rule.condition == {"all": [{"fact": "receiver.region", "op": "in", "value": ["华中", "西南"]}]}
    assert rule.actions == [{"type": "route_to_warehouse", "warehouse": "CD"}]


def test_example_order_from_sichuan_still_goes_to_cd(stocked):
    assert where(post(1)) == ("allocated", "CD", "CD")
    assert where(post(2, receiver=HUBEI)) == ("allocated", "CD", "CD")  # 华中
    assert where(post(3, receiver=GUANGDONG)) == ("allocated", "GZ", "GZ")  # no rule: default warehouse


def test_editing_the_rule_changes_where_the_next_order_goes(stocked):
    assert where(post(1, receiver=GUANGDONG)) == ("allocated", "GZ", "GZ")
    change(condition={"all": [{"fact": "receiver.region", "op": "in", "value": ["华中", "西南", "华南"]}]})
    assert where(post(2, receiver=GUANGDONG)) == ("allocated", "CD", "CD")
    change(actions=[{"type": "route_to_warehouse", "warehouse": "GZ"}])
    assert where(post(3)) == ("allocated", "GZ", "GZ")  # 四川省 now follows the rule, not the table
    assert list(Rule.objects.get(code=RULE).versions.values_list("version", flat=True)) == [3, 2, 1]


def test_a_disabled_routing_rule_falls_back_to_the_region_table(stocked):
    change(actions=[{"type": "route_to_warehouse", "warehouse": "GZ"}])
    assert where(post(1)) == ("allocated", "GZ", "GZ")
    change(enabled=False)
    assert where(post(2)) == ("allocated", "CD", "CD")  # RegionRoute 西南 → CD


def test_a_dry_run_routing_rule_does_not_route(stocked):
    change(actions=[{"type": "route_to_warehouse", "warehouse": "GZ"}], dry_run=True)
    assert where(post(1)) == ("allocated", "CD", "CD")


def test_first_matching_rule_by_priority_names_the_warehouse(stocked):
    change("vip_to_gz", name="VIP 走广州仓", rule_set="routing", priority=5,
           condition={"all": [{"fact": "buyer.vip", "op": "is_true"}]},
           actions=[{"type": "route_to_warehouse", "warehouse": "GZ"}])  # fmt: skip
    vip = {"id": "u1", "nick": "n", "vip": True}
    assert where(post(1, buyer=vip)) == ("allocated", "GZ", "GZ")
    assert where(post(2)) == ("allocated", "CD", "CD")  # not VIP: the shipped rule (priority 10)


def test_a_rule_naming_an_unknown_or_inactive_warehouse_leaves_it_to_the_region_table(stocked):
    change(actions=[{"type": "route_to_warehouse", "warehouse": "XX"}])
    assert where(post(1, receiver=GUANGDONG)) == ("allocated", "GZ", "GZ")
    change(actions=[{"type": "route_to_warehouse", "warehouse": "GZ"}])
    Warehouse.objects.filter(code="GZ").update(active=False)
    assert where(post(2)) == ("allocated", "CD", "CD")


def test_a_review_rule_route_to_warehouse_sends_the_order_there(stocked):
    change("bulk_to_gz", name="大件走广州仓", rule_set="review", priority=70,
           condition={"all": [{"fact": "order.paid_amount", "op": ">", "value": "60"}]},
           actions=[{"type": "route_to_warehouse", "warehouse": "GZ"}])  # fmt: skip
    order = post(1)  # 四川省, 64.80: the review rule wins over the routing rule and the table
    assert where(order) == ("allocated", "GZ", "GZ")
    assert "route:GZ" in order.flags


def test_shortage_at_the_rules_warehouse_takes_the_next_one_and_raises_a_transfer_alert(hub):
    put_stock("DUMPLING-500G", "GZ", 1)
    put_stock("DUMPLING-500G", "CD", 10)
    change(actions=[{"type": "route_to_warehouse", "warehouse": "GZ"}])
    assert where(post(1)) == ("allocated", "CD", "GZ")
    alert = TransferAlert.objects.get()
    assert (alert.sku.code, alert.to_warehouse.code, alert.quantity) == ("DUMPLING-500G", "GZ", 1)


def test_wait_for_transfer_backorders_at_the_rules_warehouse_then_restock_allocates_there(hub):
    from zhongshu.orders.services import retry_backorders

    RoutingSettings.objects.update(shortage_policy="wait_for_transfer")
    put_stock("DUMPLING-500G", "GZ", 1)
    put_stock("DUMPLING-500G", "CD", 10)
    change(actions=[{"type": "route_to_warehouse", "warehouse": "GZ"}])
    assert where(post(1)) == ("backordered", None, "GZ")
    assert TransferAlert.objects.get().to_warehouse.code == "GZ"
    assert retry_backorders({"DUMPLING-500G"}) == 0  # CD has stock, but GZ is the preferred one
    put_stock("DUMPLING-500G", "GZ", 10)
    assert retry_backorders({"DUMPLING-500G"}) == 1
    assert where(Order.objects.get(channel_order_id="RT1")) == ("allocated", "GZ", "GZ")


def test_routing_rules_are_loaded_once_per_batch(stocked):
    post(0)  # warm the per-process rule cache
    orders = [OrderIn.model_validate(example_order(channel_order_id=f"B{i}")) for i in range(5)]
    with CaptureQueriesContext(connection) as ctx:
        intake(orders, actor="test")
    rule_reads = [q["sql"] for q in ctx.captured_queries if "rules_rule" in q["sql"]]
    stamp_reads = [q["sql"] for q in ctx.captured_queries if "rules_runtimestate" in q["sql"]]
    assert (rule_reads, len(stamp_reads)) == ([], 1)
    assert {o.warehouse.code for o in Order.objects.filter(channel_order_id__startswith="B")} == {"CD"}


def test_choose_warehouse_without_a_rule_keeps_the_region_table():
    table = RoutingTable({"四川省": "西南"}, {"西南": "CD"}, "GZ", ("GZ", "CD"))
    needs, stock = {"A": 1}, {("A", "GZ"): 5, ("A", "CD"): 5}
    assert table.candidates("四川省") == ["CD", "GZ"]
    assert table.candidates("四川省", "GZ") == ["GZ", "CD"]
    assert table.candidates("四川省", "XX") == ["CD", "GZ"]  # not an active warehouse: ignored
    assert choose_warehouse(table, "四川省", needs, stock).warehouse == "CD"
    assert choose_warehouse(table, "四川省", needs, stock, "GZ").warehouse == "GZ"
