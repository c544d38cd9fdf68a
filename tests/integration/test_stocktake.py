"""Stocktakes (SQLite and PostgreSQL). Racing orders for the same SKU, every stocktake and order lands,
none fails, and afterwards the stock row still equals what the allocated orders hold: new orders race
the choice of orders a lowered count takes back; cancels lock an order before its stock (a stocktake
the other way round), so PostgreSQL may break a deadlock, which must be retried. A count below what
orders in picking hold is refused: 409 from the API, the reason on the admin form."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from django.urls import reverse

from tests.factories import example_order, put_stock
from zhongshu.catalog.models import Sku
from zhongshu.core.auth import create_token
from zhongshu.inventory.models import StockLevel, Warehouse
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake, stocktake

ORDER_THREADS, ORDERS_EACH, CANCELS_EACH = 12, 5, 2  # 60 orders of one unit, 24 of them cancelled
COUNT_THREADS, COUNTS_EACH = 4, 8  # 32 stocktakes
COUNTS = [4, 30, 8, 25, 2, 40, 12, 20]  # down and up again, so allocated orders are taken back


def one_unit_order(n: int, **changes) -> OrderIn:
    line = {"sku": "DUMPLING-500G", "quantity": 1, "unit_price": "39.90", "paid_amount": "39.90"}
    return OrderIn.model_validate(
        example_order(
            channel_order_id=f"RACE-{n:03d}", lines=[line], paid_amount="34.90", discount="5.00", **changes
        )
    )


@pytest.mark.django_db(transaction=True)
def test_stocktakes_racing_orders_all_land_and_keep_reservations_consistent(hub):
    put_stock("DUMPLING-500G", "CD", 20)
    sku, cd = Sku.objects.get(code="DUMPLING-500G"), Warehouse.objects.get(code="CD")
    start = threading.Barrier(ORDER_THREADS + COUNT_THREADS, timeout=60)
    failures: list[str] = []

    def run(steps) -> None:
        try:
            start.wait()
            for step in steps:
                try:
                    step()
                except Exception as exc:  # noqa: BLE001  (collected: the assertion shows them all)
                    failures.append(f"{type(exc).__name__}: {exc}")
        finally:
            connections.close_all()

    def place(n: int):
        return lambda: intake([one_unit_order(n)], actor="race")

    def cancel(n: int):
        later = {"status": "cancelled", "updated_at": "2026-11-27T21:00:00+08:00"}
        return lambda: intake([one_unit_order(n, **later)], actor="race")

    def count(physical: int):
        return lambda: stocktake(sku, cd, physical, 0, Decimal("0.8"), actor="race-count")

    jobs = [
        [place(t * ORDERS_EACH + i) for i in range(ORDERS_EACH)]
        + [cancel(t * ORDERS_EACH + i) for i in range(CANCELS_EACH)]
        for t in range(ORDER_THREADS)
    ]
    jobs += [[count(COUNTS[(t + i) % len(COUNTS)]) for i in range(COUNTS_EACH)] for t in range(COUNT_THREADS)]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        list(pool.map(run, jobs))

    assert failures == []
    assert Order.objects.count() == ORDER_THREADS * ORDERS_EACH
    assert Order.objects.filter(status="cancelled").count() == ORDER_THREADS * CANCELS_EACH
    allocated = Order.objects.filter(status="allocated", warehouse=cd).count()
    backordered = Order.objects.filter(status="backordered").count()
    assert allocated + backordered == ORDER_THREADS * (ORDERS_EACH - CANCELS_EACH)
    row = StockLevel.objects.get(sku=sku, warehouse=cd)
    assert row.reserved == allocated <= row.physical  # one unit each; no in-transit stock


def test_count_below_what_picking_orders_hold_is_refused_with_409(hub, client):
    """Orders in picking keep their reservation; a count below it is refused, nothing written."""
    get_user_model().objects.create_superuser("boss", password="x")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {create_token('boss')}"}
    put_stock("DUMPLING-500G", "CD", 10)
    [r] = intake([OrderIn.model_validate(example_order())], actor="test")  # 2 units at CD
    Order.objects.filter(pk=r.order.pk).update(status="picking")

    put = client.put(
        "/api/v1/stock/DUMPLING-500G/CD", {"physical": 1}, content_type="application/json", **auth
    )

    assert put.status_code == 409
    assert "DUMPLING-500G@CD" in put.json()["detail"]
    row = StockLevel.objects.get(warehouse__code="CD")
    assert (row.physical, row.reserved) == (10, 2)
    assert Order.objects.get().status == "picking"


def test_admin_form_refuses_a_count_below_what_picking_orders_hold(hub, admin_client):
    put_stock("DUMPLING-500G", "CD", 10)
    [r] = intake([OrderIn.model_validate(example_order())], actor="test")  # 2 units at CD
    Order.objects.filter(pk=r.order.pk).update(status="picking")
    row = StockLevel.objects.get(warehouse__code="CD")

    response = admin_client.post(
        reverse("admin:inventory_stocklevel_change", args=[row.pk]),
        {"physical": "1", "in_transit": "0", "in_transit_coefficient": "0.800"},
    )

    assert response.status_code == 200  # the form again, with the reason
    assert "低于拣货/打包中订单占用的 2" in response.content.decode()
    row.refresh_from_db()
    assert (row.physical, row.reserved) == (10, 2)
