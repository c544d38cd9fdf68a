"""Invariant (hypothesis): whatever sequence of intakes, cancels, re-routes and stocktakes, reserved
never exceeds supply, and equals the sum of what allocated orders hold. The supply is computed here
from the counts the test made (not by StockInfo, the code under test)."""

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import example_order
from zhongshu.catalog.models import Sku
from zhongshu.inventory.models import StockLevel, Warehouse
from zhongshu.orders.models import Order, OrderLine
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake, stocktake

PROVINCES = ["四川省", "广东省", "湖南省", "北京市"]
SKUS = ["DUMPLING-500G", "TANGYUAN-400G"]

actions = st.lists(
    st.one_of(
        st.tuples(st.just("order"), st.integers(0, 11), st.sampled_from(SKUS), st.integers(1, 4),
                  st.sampled_from(PROVINCES), st.sampled_from(["paid", "cancelled", "refund_requested", "pending_payment"])),
        st.tuples(st.just("count"), st.sampled_from(SKUS), st.sampled_from(["GZ", "CD"]), st.integers(0, 8),
                  st.integers(0, 6)),
    ),
    min_size=1,
    max_size=25,
)  # fmt: skip


def expected_supply(physical: int, in_transit: int) -> int:
    """Every count uses the coefficient 0.5: half the units in transit, a half unit not counted."""
    return physical + in_transit // 2


def check_invariant(counted: dict[tuple[str, str], tuple[int, int]]):
    held: dict[tuple[str, str], int] = {}
    for ln in OrderLine.objects.filter(order__status__in=["allocated", "picking", "packed"]).select_related(
        "order__warehouse", "sku"
    ):
        key = (ln.sku.code, ln.order.warehouse.code)
        held[key] = held.get(key, 0) + ln.quantity
    rows = {(r.sku.code, r.warehouse.code): r for r in StockLevel.objects.select_related("sku", "warehouse")}
    assert set(held) <= set(rows), held
    for key, row in rows.items():
        physical, in_transit = counted.get(key, (0, 0))
        assert (row.physical, row.in_transit) == (physical, in_transit), key
        assert 0 <= row.reserved <= expected_supply(physical, in_transit), (key, row.reserved)
        assert row.reserved == held.get(key, 0), (key, row.reserved)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=actions)
def test_reserved_never_exceeds_supply(hub, steps):
    Sku.objects.get_or_create(code="TANGYUAN-400G", defaults={"title": "汤圆", "cost_price": Decimal("8.00")})
    Order.objects.all().delete()
    StockLevel.objects.all().delete()
    versions: dict[int, int] = {}
    counted: dict[tuple[str, str], tuple[int, int]] = {}
    for step in steps:
        if step[0] == "order":
            _, n, sku, qty, province, status = step
            versions[n] = versions.get(n, 0) + 1
            receiver = {"name": "测试", "phone": "13800000000", "province": province, "address": "某路1号"}
            line = {"sku": sku, "quantity": qty, "unit_price": "10.00", "paid_amount": f"{qty * 10}.00"}
            payload = example_order(
                channel_order_id=f"H{n}", status=status, receiver=receiver, lines=[line], discount="0.00",
                paid_amount=f"{qty * 10}.00", updated_at=f"2026-11-27T20:{versions[n]:02d}:00+08:00",
            )  # fmt: skip
            intake([OrderIn.model_validate(payload)], actor="hypothesis")
        else:
            _, sku, wh, physical, in_transit = step
            stocktake(Sku.objects.get(code=sku), Warehouse.objects.get(code=wh), physical, in_transit,
                      Decimal("0.5"), actor="hypothesis")  # fmt: skip
            counted[(sku, wh)] = (physical, in_transit)
        check_invariant(counted)
