"""The outbox: events written with the change, relayed after commit to idempotent consumers, in order."""

from decimal import Decimal

import pytest
from django.db import transaction

from tests.factories import example_order, put_stock
from zhongshu.catalog.models import Sku
from zhongshu.core import outbox
from zhongshu.core.models import OutboxEvent, TimelineEntry
from zhongshu.inventory.models import StockLevel, Warehouse
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake, stocktake


def post(**changes):
    return intake([OrderIn.model_validate(example_order(**changes))], actor="test")[0]


@pytest.mark.django_db(transaction=True)
def test_events_are_relayed_after_commit_into_the_timeline(hub):
    put_stock("DUMPLING-500G", "CD", 10)
    r = post()
    assert not OutboxEvent.objects.filter(delivered_at__isnull=True).exists()
    kinds = list(
        TimelineEntry.objects.filter(subject=f"order:{r.order.pk}")
        .order_by("id")
        .values_list("summary", flat=True)
    )
    assert len(kinds) == 2 and "paid → allocated" in kinds[1]
    assert TimelineEntry.objects.filter(subject="stock:DUMPLING-500G", kind="stock.changed").count() == 1


@pytest.mark.django_db(transaction=True)
def test_rolled_back_change_leaves_no_event(hub):
    put_stock("DUMPLING-500G", "CD", 10)
    with pytest.raises(RuntimeError), transaction.atomic():
        post()
        raise RuntimeError("boom")
    assert (Order.objects.count(), OutboxEvent.objects.count()) == (0, 0)
    assert StockLevel.objects.get(warehouse__code="CD").reserved == 0


@pytest.mark.django_db(transaction=True)
def test_failing_consumer_keeps_per_key_order_and_is_retried(hub):
    seen: list[int] = []
    fail = {"on": True}

    @outbox.consumer("test.recorder", topic_prefix="test.")
    def recorder(ev):
        if fail["on"] and ev.payload["n"] == 2:
            raise ValueError("temporarily down")
        seen.append(ev.payload["n"])

    try:
        with transaction.atomic():
            outbox.write(
                [outbox.event("test.x", "A", {"n": n}) for n in (1, 2, 3)]
                + [outbox.event("test.x", "B", {"n": 9})]
            )
        # n=2 failed: n=3 (same key A) must wait behind it; key B is not blocked
        assert seen == [1, 9]
        failed = OutboxEvent.objects.get(payload__n=2)
        assert (failed.attempts, failed.delivered_at) == (1, None) and "temporarily down" in failed.last_error
        fail["on"] = False
        assert outbox.relay() == 2
        assert seen == [1, 9, 2, 3]
        assert outbox.relay() == 0  # nothing delivered twice once acknowledged
        # a redelivery (crash before acknowledgement) does not duplicate the timeline
        ev = OutboxEvent.objects.get(payload__n=3)
        OutboxEvent.objects.filter(pk=ev.pk).update(delivered_at=None)
        outbox.relay()
        assert TimelineEntry.objects.filter(event=ev).count() == 1
    finally:
        outbox._consumers[:] = [c for c in outbox._consumers if c.name != "test.recorder"]


@pytest.mark.django_db(transaction=True)
def test_stock_added_allocates_backorders_oldest_first(hub):
    put_stock("DUMPLING-500G", "CD", 0)
    post(channel_order_id="OLD", paid_at="2026-11-27T20:00:00+08:00")
    post(channel_order_id="NEW", paid_at="2026-11-27T20:30:00+08:00")
    assert set(Order.objects.values_list("status", flat=True)) == {"backordered"}
    stocktake(
        Sku.objects.get(code="DUMPLING-500G"), Warehouse.objects.get(code="CD"), 3, 0, Decimal("0.8"), "test"
    )
    statuses = dict(Order.objects.values_list("channel_order_id", "status"))
    assert statuses == {"OLD": "allocated", "NEW": "backordered"}
    assert StockLevel.objects.get(warehouse__code="CD").reserved == 2


@pytest.mark.django_db(transaction=True)
def test_stocktake_below_reserved_backorders_newest_first(hub):
    put_stock("DUMPLING-500G", "CD", 10)
    post(channel_order_id="OLD", paid_at="2026-11-27T20:00:00+08:00")
    post(channel_order_id="NEW", paid_at="2026-11-27T20:30:00+08:00")
    stocktake(
        Sku.objects.get(code="DUMPLING-500G"), Warehouse.objects.get(code="CD"), 3, 0, Decimal("0.8"), "test"
    )
    statuses = dict(Order.objects.values_list("channel_order_id", "status"))
    assert statuses == {"OLD": "allocated", "NEW": "backordered"}
    row = StockLevel.objects.get(warehouse__code="CD")
    assert (row.physical, row.reserved) == (3, 2)


@pytest.mark.django_db(transaction=True)
def test_the_relay_delivers_everything_pending_in_short_batches_on_sqlite(hub, monkeypatch):
    """On SQLite a batch reads SQLITE_FETCH events and the rest follows after the pause (the write
    lock is let go in between); one relay call still delivers every pending event, in order."""
    seen: list[int] = []

    @outbox.consumer("test.recorder", topic_prefix="test.")
    def recorder(ev):
        seen.append(ev.payload["n"])

    monkeypatch.setattr(outbox, "SQLITE_FETCH", 3)
    monkeypatch.setattr(outbox, "SQLITE_PAUSE", 0.0)
    monkeypatch.setattr(outbox, "_waker", lambda: None)  # not relayed on commit: below, at once
    try:
        with transaction.atomic():
            outbox.write([outbox.event("test.x", "A", {"n": n}) for n in range(10)])
        assert seen == []
        assert outbox.relay() == 10
        assert seen == list(range(10)) and not OutboxEvent.objects.filter(delivered_at__isnull=True).exists()
    finally:
        outbox._consumers[:] = [c for c in outbox._consumers if c.name != "test.recorder"]


@pytest.mark.django_db(transaction=True)
def test_at_a_peak_the_relay_yields_in_short_batches_on_every_database(hub, monkeypatch):
    """`set_busy` (the worker installs "pushes are waiting to be taken in"): batches as short as on
    SQLite, on PostgreSQL too, with a pause between them; everything is still delivered, in order."""
    seen: list[int] = []
    batches: list[tuple[bool, int]] = []

    @outbox.consumer("test.recorder", topic_prefix="test.")
    def recorder(ev):
        seen.append(ev.payload["n"])

    real = outbox._relay_batch

    def recording(batch, max_attempts, busy=False):
        done, fetched, cut = real(batch, max_attempts, busy)
        batches.append((busy, fetched))
        return done, fetched, cut

    monkeypatch.setattr(outbox, "_relay_batch", recording)
    monkeypatch.setattr(outbox, "SQLITE_FETCH", 4)
    monkeypatch.setattr(outbox, "BUSY_PAUSE", 0.0)
    monkeypatch.setattr(outbox, "_waker", lambda: None)
    outbox.set_busy(lambda: True)
    try:
        with transaction.atomic():
            outbox.write([outbox.event("test.x", "A", {"n": n}) for n in range(10)])
        assert outbox.relay() == 10 and seen == list(range(10))
        assert [fetched for _, fetched in batches] == [4, 4, 2] and all(busy for busy, _ in batches)
    finally:
        outbox.set_busy(None)
        outbox._consumers[:] = [c for c in outbox._consumers if c.name != "test.recorder"]


@pytest.mark.django_db(transaction=True)
def test_a_batch_consumer_gets_the_batch_in_one_call_and_a_failing_event_alone_is_retried(hub):
    calls: list[list[int]] = []
    fail = {"n": 2}

    @outbox.consumer("test.batch", topic_prefix="test.", batch=True)
    def batch(events):
        ns = [ev.payload["n"] for ev in events]
        if fail["n"] in ns:
            raise ValueError(f"cannot take {fail['n']}")
        calls.append(ns)

    try:
        with transaction.atomic():
            outbox.write([outbox.event("test.x", f"K{n}", {"n": n}) for n in (1, 2, 3, 4)])
        # the whole batch failed once, then one at a time: 1, 3, 4 delivered, 2 kept for a retry
        assert calls == [[1], [3], [4]]
        kept = OutboxEvent.objects.get(payload__n=2)
        assert (kept.attempts, kept.delivered_at) == (1, None) and "cannot take 2" in kept.last_error
        assert OutboxEvent.objects.filter(topic="test.x", delivered_at__isnull=False).count() == 3
        fail["n"] = None
        assert outbox.relay() == 1 and calls[-1] == [2]
        calls.clear()
        with transaction.atomic():
            outbox.write([outbox.event("test.x", f"M{n}", {"n": n}) for n in (5, 6, 7)])
        assert calls == [[5, 6, 7]]  # one call for the relay batch, in id order
    finally:
        outbox._consumers[:] = [c for c in outbox._consumers if c.name != "test.batch"]


@pytest.mark.django_db(transaction=True)
def test_packages_follow_a_batch_of_orders_in_one_sync(hub, monkeypatch):
    monkeypatch.setattr(outbox, "SQLITE_BATCH_SECONDS", 60.0)  # the batching, not the time budget
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from zhongshu.fulfilment.models import Package

    put_stock("DUMPLING-500G", "CD", 100)
    orders = [
        OrderIn.model_validate(example_order(channel_order_id=f"B{n}", buyer={"id": f"u{n}", "nick": "x", "vip": False},
                                             receiver={**example_order()["receiver"], "phone": f"1380013{n:04d}"}))
        for n in range(20)
    ]  # fmt: skip
    with CaptureQueriesContext(connection) as q:
        intake(orders, actor="test")  # one relay batch after the commit
    assert Package.objects.filter(status="pending").count() == 20
    # the packages' consumer read (and on PostgreSQL locked) the orders together, not one by one
    syncs = [x["sql"] for x in q if x["sql"].startswith('SELECT "orders_order"') and "INNER JOIN" in x["sql"]
             and '"inventory_warehouse"' in x["sql"] and '"orders_order"."id" IN' in x["sql"]]  # fmt: skip
    # one query for the relay batch (in a short SQLite batch: one per SHORT_BATCH_CONSUMER_EVERY events)
    events = 2 * len(orders)  # paid, allocated
    short = connection.vendor == "sqlite"
    assert len(syncs) == (-(-events // outbox.SHORT_BATCH_CONSUMER_EVERY) if short else 1), syncs


@pytest.mark.django_db(transaction=True)
def test_one_relay_at_a_time_in_a_process(hub, monkeypatch):
    """The relay loop and the periodic safety net must not take turns with each other's batches (on
    SQLite one's pause was the other's batch): a second thread's relay returns at once, delivering
    nothing, while the first delivers everything; a relay started inside a relay in the same thread
    (a consumer's commit with HUEY immediate) goes on."""
    import threading

    seen: list[int] = []
    inside = threading.Event()
    go_on = threading.Event()

    @outbox.consumer("test.slow", topic_prefix="test.")
    def slow(ev):
        seen.append(ev.payload["n"])
        if ev.payload["n"] == 0:
            inside.set()
            assert go_on.wait(10)

    monkeypatch.setattr(outbox, "_waker", lambda: None)
    try:
        with transaction.atomic():
            outbox.write([outbox.event("test.x", "A", {"n": n}) for n in range(3)])
        result: list[int] = []
        first = threading.Thread(target=lambda: result.append(outbox.relay()))
        first.start()
        assert inside.wait(10)
        second: list[int] = []
        other = threading.Thread(target=lambda: second.append(outbox.relay()))
        other.start()
        other.join(10)
        assert second == [0] and seen == [0]  # refused at once, while the first is mid-batch
        go_on.set()
        first.join(10)
        assert result == [3] and seen == [0, 1, 2]
        with transaction.atomic():
            outbox.write([outbox.event("test.x", "B", {"n": n}) for n in (3, 4)])
        with outbox._running:  # this thread is relaying already
            assert outbox.relay() == 2 and seen == [0, 1, 2, 3, 4]
    finally:
        go_on.set()
        outbox._consumers[:] = [c for c in outbox._consumers if c.name != "test.slow"]
