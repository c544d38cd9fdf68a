"""Carrier choice by rule (R-RT3): carrier rules name the carrier of an allocated order from its
region, weight, value, cold chain and warehouse; a carrier chosen by a review rule is kept."""

from decimal import Decimal

import pytest

from tests.factories import example_order, put_stock
from zhongshu.catalog.models import Sku
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake
from zhongshu.rules import services
from zhongshu.rules.models import RuleSet

GUANGDONG = {"name": "陈五", "phone": "13700002222", "province": "广东省", "address": "天河路385号"}


@pytest.fixture
def carrier_rules(hub):
    put_stock("DUMPLING-500G", "CD", 100)
    put_stock("DUMPLING-500G", "GZ", 100)
    Sku.objects.filter(code="DUMPLING-500G").update(weight_g=600)
    carrier_set = RuleSet.objects.get(stage="carrier")
    rule = {"rule_set": carrier_set.code, "enabled": True}
    services.save_rule({**rule, "code": "cold_sf", "name": "冷链走顺丰", "priority": 10,
                        "condition": {"all": [{"fact": "order.cold_chain", "op": "is_true"}]},
                        "actions": [{"type": "choose_carrier", "carrier": "SF"}]}, author="ops")  # fmt: skip
    services.save_rule({**rule, "code": "heavy_zto", "name": "重件走中通", "priority": 20,
                        "condition": {"all": [{"fact": "order.weight_kg", "op": ">", "value": "5"}]},
                        "actions": [{"type": "choose_carrier", "carrier": "ZTO"}]}, author="ops")  # fmt: skip
    services.save_rule({**rule, "code": "cd_yto", "name": "成都仓走圆通", "priority": 30,
                        "condition": {"all": [{"fact": "order.warehouse", "op": "=", "value": "CD"}]},
                        "actions": [{"type": "choose_carrier", "carrier": "YTO"}]}, author="ops")  # fmt: skip


def post(n: int, quantity: int = 2, **changes) -> Order:
    total = f"{quantity * Decimal('34.90'):.2f}"
    line = {"sku": "DUMPLING-500G", "quantity": quantity, "unit_price": "34.90", "paid_amount": total}
    payload = example_order(
        channel_order_id=f"CR{n}", lines=[line], discount="0.00", paid_amount=total, **changes
    )
    [r] = intake([OrderIn.model_validate(payload)], actor="test")
    return Order.objects.select_related("warehouse").get(pk=r.order.pk)


def carriers(order: Order) -> list[str]:
    return [f for f in order.flags if f.startswith("carrier:")]


def test_warehouse_weight_and_cold_chain_choose_the_carrier(carrier_rules):
    assert (post(1).warehouse.code, carriers(post(2))) == ("CD", ["carrier:YTO"])  # 1.2 kg from CD
    assert carriers(post(3, receiver=GUANGDONG)) == []  # from GZ, light, not cold: no rule matches
    assert carriers(post(4, quantity=9, receiver=GUANGDONG)) == ["carrier:ZTO"]  # 5.4 kg > 5
    assert carriers(post(5, quantity=8, receiver=GUANGDONG)) == []  # 4.8 kg: not above 5
    Sku.objects.filter(code="DUMPLING-500G").update(cold_chain=True)
    assert carriers(post(6, quantity=9)) == ["carrier:SF"]  # priority: cold chain before weight/warehouse


def test_a_changed_carrier_rule_applies_to_the_next_order(carrier_rules):
    assert carriers(post(1)) == ["carrier:YTO"]
    services.save_rule(
        {"code": "cd_yto", "actions": [{"type": "choose_carrier", "carrier": "JD"}]}, author="ops"
    )
    assert carriers(post(2)) == ["carrier:JD"]
    services.save_rule({"code": "cd_yto", "enabled": False}, author="ops")
    assert carriers(post(3)) == []


def test_a_carrier_chosen_by_a_review_rule_is_kept(carrier_rules):
    review_set = RuleSet.objects.get(stage="review")
    services.save_rule({"code": "vip_sf", "name": "VIP 走顺丰", "rule_set": review_set.code, "priority": 5,
                        "enabled": True, "condition": {"all": [{"fact": "buyer.vip", "op": "is_true"}]},
                        "actions": [{"type": "choose_carrier", "carrier": "SF"}]}, author="ops")  # fmt: skip
    order = post(1, buyer={"id": "u1", "nick": "v", "vip": True})
    assert (order.status, carriers(order)) == ("allocated", ["carrier:SF"])


def test_backordered_orders_get_no_carrier_until_allocated(carrier_rules):
    put_stock("DUMPLING-500G", "CD", 0)
    put_stock("DUMPLING-500G", "GZ", 0)
    order = post(1)
    assert (order.status, carriers(order)) == ("backordered", [])
