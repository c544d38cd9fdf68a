"""An order locked by one transaction and changed by it reaches the transaction waiting for its lock as
changed, warehouse included (PostgreSQL re-reads the locked row, but not the rows joined to it): a
cancel that waited for the order's allocation gives the reservation back."""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from tests.factories import example_order, put_stock
from zhongshu.inventory.models import StockLevel
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake, retry_backorders


def waiting_for_a_lock() -> int:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cur.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_cancel_waiting_for_an_allocation_releases_its_reservation(hub, on_postgres):
    put_stock("DUMPLING-500G", "CD", 0)
    [r] = intake([OrderIn.model_validate(example_order())], actor="test")
    assert r.order.status == "backordered"
    put_stock("DUMPLING-500G", "CD", 10)  # counted in without an event: the retry below allocates it
    allocated, commit = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def allocate() -> None:
        try:
            with transaction.atomic():  # keeps the order locked, allocated, until the cancel waits
                outcome["allocated"] = retry_backorders({"DUMPLING-500G"}, actor="test")
                allocated.set()
                commit.wait(timeout=30)
        finally:
            connections.close_all()

    def cancel() -> None:
        try:
            later = {"status": "cancelled", "updated_at": "2026-11-27T21:00:00+08:00"}
            [c] = intake([OrderIn.model_validate(example_order(**later))], actor="test")
            outcome["cancelled"] = c.order.status
        finally:
            connections.close_all()

    allocator = threading.Thread(target=allocate)
    allocator.start()
    assert allocated.wait(timeout=30)
    canceller = threading.Thread(target=cancel)
    canceller.start()
    deadline = time.monotonic() + 30
    if on_postgres:
        while not waiting_for_a_lock() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert waiting_for_a_lock(), "the cancel never waited for the order's lock"
    else:
        time.sleep(0.3)  # SQLite: the cancel waits for the write lock at BEGIN and then reads afresh
    commit.set()
    allocator.join(timeout=30)
    canceller.join(timeout=30)

    assert outcome == {"allocated": 1, "cancelled": "cancelled"}
    assert Order.objects.get().status == "cancelled"
    assert StockLevel.objects.get(warehouse__code="CD").reserved == 0
