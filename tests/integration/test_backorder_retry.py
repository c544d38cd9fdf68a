"""Backorders are retried when stock comes back (SQLite and PostgreSQL): oldest payment first, no more
orders loaded than units are free, after the relay's transaction has committed (never holding the
SKU's stock rows for the rest of a relay batch), and by a periodic sweep when no event came."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.factories import example_order, put_stock
from zhongshu.core import outbox
from zhongshu.inventory.models import StockLevel
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake, retry_backorders
from zhongshu.orders.tasks import retry_backorders_periodic

SKU = "DUMPLING-500G"


def order(n: int, **changes) -> OrderIn:
    line = {"sku": SKU, "quantity": 1, "unit_price": "39.90", "paid_amount": "39.90"}
    return OrderIn.model_validate(
        example_order(
            channel_order_id=f"HOT-{n:03d}",
            lines=[line],
            paid_amount="34.90",
            discount="5.00",
            paid_at=f"2026-11-11T00:{n:02d}:00+08:00",
            buyer={"id": f"b{n}", "nick": f"买家{n}", "vip": False},
            **changes,
        )
    )


def cancel(n: int) -> None:
    intake([order(n, status="cancelled", updated_at="2026-11-28T01:00:00+08:00")], actor="test")


def status_of() -> dict[str, str]:
    return dict(Order.objects.order_by("channel_order_id").values_list("channel_order_id", "status"))


@pytest.fixture
def sold_out(hub):
    """3 units, 10 one-unit orders: HOT-001..003 allocated, HOT-004..010 backordered."""
    put_stock(SKU, "CD", 3)
    for n in range(1, 11):
        intake([order(n)], actor="test")
    assert [s for _, s in sorted(status_of().items())] == ["allocated"] * 3 + ["backordered"] * 7
    return None


@pytest.mark.django_db(transaction=True)
def test_a_cancellation_frees_a_unit_for_the_oldest_backorder_only(sold_out):
    cancel(2)
    cancel(3)
    got = status_of()
    assert got["HOT-004"] == got["HOT-005"] == "allocated"  # oldest payments first
    assert [got[f"HOT-{n:03d}"] for n in range(6, 11)] == ["backordered"] * 5
    row = StockLevel.objects.get(sku__code=SKU, warehouse__code="CD")
    assert (row.physical, row.reserved) == (3, 3)


@pytest.mark.django_db(transaction=True)
def test_nothing_free_means_nothing_loaded_or_locked(sold_out):
    with CaptureQueriesContext(connection) as queries:
        assert retry_backorders({SKU}, actor="test") == 0
    assert len(queries) == 1, [q["sql"] for q in queries]  # the stock read, no order query, no lock
    assert "FOR UPDATE" not in queries[0]["sql"].upper()


@pytest.mark.django_db(transaction=True)
def test_only_as_many_orders_as_free_units_are_loaded(sold_out):
    StockLevel.objects.filter(sku__code=SKU).update(physical=5)  # 2 more units, no event
    with CaptureQueriesContext(connection) as queries:
        assert retry_backorders({SKU}, actor="test") == 2
    order_reads = [q["sql"] for q in queries if "LIMIT" in q["sql"].upper() and "orders_order" in q["sql"]]
    assert order_reads and all("LIMIT 2" in sql.upper() for sql in order_reads), order_reads
    got = status_of()
    assert got["HOT-004"] == got["HOT-005"] == "allocated" and got["HOT-006"] == "backordered"


@pytest.mark.django_db(transaction=True)
def test_the_retry_waits_for_the_relay_transaction_to_commit(sold_out):
    StockLevel.objects.filter(sku__code=SKU).update(physical=4)
    outbox.event("stock.changed.DUMPLING-500G", SKU, {"sku": SKU, "delta": {"physical": 1}}, "t").save()
    with transaction.atomic():
        outbox.relay()
        assert status_of()["HOT-004"] == "backordered"  # still inside the relay's transaction
    assert status_of()["HOT-004"] == "allocated"  # retried once it committed


@pytest.mark.django_db(transaction=True)
def test_the_periodic_sweep_retries_when_no_event_came(sold_out):
    StockLevel.objects.filter(sku__code=SKU).update(physical=6)  # e.g. a worker died after the commit
    assert retry_backorders_periodic.call_local() == 3
    got = status_of()
    assert [got[f"HOT-{n:03d}"] for n in range(4, 8)] == ["allocated"] * 3 + ["backordered"]
    assert retry_backorders_periodic.call_local() == 0  # nothing free: nothing done
