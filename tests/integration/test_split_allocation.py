"""拆单 at allocation (SQLite and PostgreSQL): an order no single warehouse can ship is backordered as
before unless its shop allows splitting; then it is reserved per the plan (fewest packages, most from
the preferred warehouse) and ships as one package per warehouse. Every way back (cancel, refund hold,
re-route, stocktake) gives back exactly what was reserved in each warehouse, once."""

from decimal import Decimal

import pytest

from tests.factories import example_order, put_stock
from zhongshu.catalog.models import Sku
from zhongshu.core import outbox
from zhongshu.fulfilment import defaults, services
from zhongshu.fulfilment.models import FulfilmentSettings, Package, PackagingType, WaveStrategy
from zhongshu.inventory.models import StockLevel, Warehouse
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake, stocktake
from zhongshu.orders.stocktake import refusal, retry_backorders
from zhongshu.shops.models import Shop

D, T = "DUMPLING-500G", "TEA-100G"
DUMPLINGS = {"sku": D, "quantity": 2, "unit_price": "39.90", "paid_amount": "79.80"}
TEA = {"sku": T, "quantity": 1, "unit_price": "60.00", "paid_amount": "60.00"}
LATER = "2026-11-27T22:00:00+08:00"


@pytest.fixture
def stock(hub):
    """Dumplings only in CD (the receiver's region warehouse), tea only in GZ: no warehouse has both."""
    defaults.seed(PackagingType, WaveStrategy, FulfilmentSettings)
    Sku.objects.create(code=T, title="明前龙井 100g", cost_price="30.00")
    put_stock(D, "CD", 3)
    put_stock(T, "GZ", 5)


def allow_split(on: bool = True) -> None:
    Shop.objects.filter(code="mp").update(allow_split=on)


def post(cid: str, lines=(DUMPLINGS, TEA), **changes) -> Order:
    paid = sum(float(ln["paid_amount"]) for ln in lines)
    order = example_order(channel_order_id=cid, lines=list(lines), discount="0.00", paid_amount=f"{paid:.2f}")
    intake([OrderIn.model_validate({**order, **changes})], actor="test")
    outbox.relay()  # the test's transaction never commits: deliver the events (packages) by hand
    return Order.objects.select_related("warehouse").get(channel_order_id=cid)


def reserved() -> dict[tuple[str, str], int]:
    return {
        (r.sku.code, r.warehouse.code): r.reserved
        for r in StockLevel.objects.select_related("sku", "warehouse")
        if r.reserved
    }


def packages(order: Order) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    live = Package.objects.filter(package_orders__order=order).exclude(status="cancelled")
    for pkg in live.select_related("warehouse").prefetch_related("lines__sku"):
        for ln in pkg.lines.all():
            out.setdefault(pkg.warehouse.code, {}).setdefault(ln.sku.code, 0)
            out[pkg.warehouse.code][ln.sku.code] += ln.quantity
    return out


PLAN = {"CD": {D: 2}, "GZ": {T: 1}}


def test_split_off_the_order_is_backordered_as_before(stock):
    order = post("S1")
    assert order.status == "backordered" and order.warehouse is None and order.split == {}
    assert reserved() == {} and packages(order) == {}


def test_split_on_the_order_ships_as_the_fewest_packages_reserved_per_plan(stock):
    allow_split()
    order = post("S1")
    assert order.status == "allocated"
    assert order.warehouse.code == "CD" and order.preferred_warehouse.code == "CD"
    assert order.split == PLAN
    assert reserved() == {(D, "CD"): 2, (T, "GZ"): 1}
    assert packages(order) == PLAN
    before = sorted(Package.objects.values_list("pk", flat=True))
    services.sync_order(order.pk)  # the consumer runs at least once: nothing changes
    assert sorted(Package.objects.values_list("pk", flat=True)) == before
    assert "拆单发货" in order.transitions.order_by("pk").last().reason


def test_a_whole_order_still_ships_from_one_warehouse_when_split_is_allowed(stock):
    allow_split()
    put_stock(T, "CD", 1)
    order = post("S1")
    assert order.status == "allocated" and order.split == {} and order.warehouse.code == "CD"
    assert reserved() == {(D, "CD"): 2, (T, "CD"): 1}
    assert packages(order) == {"CD": {D: 2, T: 1}}


def test_one_line_split_over_two_warehouses(stock):
    allow_split()
    put_stock(D, "CD", 1)
    put_stock(D, "GZ", 1)
    order = post("S1", lines=(DUMPLINGS,))
    assert order.split == {"CD": {D: 1}, "GZ": {D: 1}}
    assert reserved() == {(D, "CD"): 1, (D, "GZ"): 1}
    assert packages(order) == {"CD": {D: 1}, "GZ": {D: 1}}


def test_cancel_releases_each_warehouse_exactly_once(stock):
    allow_split()
    post("S1")
    other = post("O1", lines=({**DUMPLINGS, "quantity": 1, "paid_amount": "39.90"},))
    assert other.warehouse.code == "CD" and other.split == {}
    assert reserved() == {(D, "CD"): 3, (T, "GZ"): 1}
    order = post("S1", status="cancelled", updated_at=LATER)
    assert order.status == "cancelled" and order.split == {}
    assert reserved() == {(D, "CD"): 1}
    assert packages(order) == {}
    post("S1", status="cancelled", updated_at="2026-11-27T23:00:00+08:00")  # the platform says it again
    assert reserved() == {(D, "CD"): 1}


def test_refund_request_releases_both_and_its_withdrawal_splits_again(stock):
    allow_split()
    post("S1")
    order = post("S1", status="refund_requested", updated_at=LATER)
    assert order.status == "on_hold" and reserved() == {} and packages(order) == {}
    order = post("S1", status="paid", updated_at="2026-11-27T23:00:00+08:00")
    assert order.status == "allocated" and order.split == PLAN
    assert reserved() == {(D, "CD"): 2, (T, "GZ"): 1}
    assert packages(order) == PLAN


def test_reroute_releases_the_split_and_reserves_again(stock):
    allow_split()
    order = post("S1")
    receiver = {**order_receiver(), "address": "天府大道北段1800号"}
    order = post("S1", receiver=receiver, updated_at=LATER)
    assert order.status == "allocated" and order.split == PLAN
    assert reserved() == {(D, "CD"): 2, (T, "GZ"): 1}
    assert packages(order) == PLAN


def order_receiver() -> dict:
    return dict(example_order()["receiver"])


@pytest.mark.parametrize("counted", [("GZ", T), ("CD", D)])
def test_stocktake_in_either_warehouse_takes_the_split_back_from_both(stock, counted):
    allow_split()
    post("S1")
    wh, sku = counted
    stocktake(Sku.objects.get(code=sku), Warehouse.objects.get(code=wh), 0, 0, Decimal("0.8"), actor="count")
    order = Order.objects.get(channel_order_id="S1")
    assert order.status == "backordered" and order.warehouse is None and order.split == {}
    assert reserved() == {}
    put_stock(sku, wh, 5)
    assert retry_backorders({sku}, actor="test") == 1
    order = Order.objects.get(channel_order_id="S1")
    assert order.status == "allocated" and order.split == PLAN
    assert reserved() == {(D, "CD"): 2, (T, "GZ"): 1}


def test_never_more_than_available(stock):
    allow_split()
    put_stock(T, "GZ", 1)
    post("S1")
    second = post("S2", lines=({**DUMPLINGS, "quantity": 1, "paid_amount": "39.90"}, TEA))
    assert second.status == "backordered" and second.split == {}
    assert reserved() == {(D, "CD"): 2, (T, "GZ"): 1}
    for row in StockLevel.objects.all():
        assert row.reserved <= row.physical


def test_a_count_below_a_picking_split_orders_part_is_refused(stock):
    allow_split()
    order = post("S1")
    Order.objects.filter(pk=order.pk).update(status="picking")
    tea, gz = Sku.objects.get(code=T), Warehouse.objects.get(code="GZ")
    assert "低于拣货/打包中订单占用的 1" in refusal(tea, gz, 0, 0, Decimal("0.8"))
    assert refusal(tea, gz, 1, 0, Decimal("0.8")) is None
    assert refusal(Sku.objects.get(code=D), gz, 0, 0, Decimal("0.8")) is None
