"""No oversell under concurrency: many simultaneous intakes for the last units (SQLite and PostgreSQL)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from tests.factories import example_order, put_stock
from zhongshu.inventory.models import StockLevel
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake

BARRIER_TIMEOUT = 60  # seconds: a thread that never reaches the start fails the test (BrokenBarrierError)


def one_unit_order(n: int) -> OrderIn:
    line = {"sku": "DUMPLING-500G", "quantity": 1, "unit_price": "39.90", "paid_amount": "39.90"}
    return OrderIn.model_validate(
        example_order(channel_order_id=f"FLASH-{n:03d}", lines=[line], paid_amount="34.90", discount="5.00")
    )


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_orders_for_ten_units(hub):
    put_stock("DUMPLING-500G", "CD", 10)
    start = threading.Barrier(50, timeout=BARRIER_TIMEOUT)

    def place(n: int) -> str:
        try:
            start.wait()
            [r] = intake([one_unit_order(n)], actor="flash-sale")
            return r.order.status
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(place, range(50)))

    assert statuses.count("allocated") == 10
    assert statuses.count("backordered") == 40
    assert Order.objects.filter(status="allocated").count() == 10
    assert Order.objects.filter(status="backordered").count() == 40
    row = StockLevel.objects.get(sku__code="DUMPLING-500G", warehouse__code="CD")
    assert (row.physical, row.reserved) == (10, 10)


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_create_one_order(hub):
    put_stock("DUMPLING-500G", "CD", 10)
    start = threading.Barrier(8, timeout=BARRIER_TIMEOUT)
    payload = OrderIn.model_validate(example_order())

    def place(_: int) -> str:
        try:
            start.wait()
            [r] = intake([payload], actor="dup")
            return r.outcome
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = sorted(pool.map(place, range(8)))

    assert outcomes == ["created"] + ["unchanged"] * 7
    assert Order.objects.count() == 1
    assert StockLevel.objects.get(warehouse__code="CD").reserved == 2
