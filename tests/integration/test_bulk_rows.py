"""core.bulk, the batch intake's writer: `new` builds the same unsaved instance as the model's
constructor, and `insert` writes what Django's own save writes (dates, money, JSON, encrypted
receivers and their blind indexes), on SQLite and PostgreSQL."""

import gc
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from zhongshu.catalog.models import Sku
from zhongshu.core import bulk, outbox
from zhongshu.core.models import OutboxEvent
from zhongshu.orders.models import Order, OrderLine, OrderTransition
from zhongshu.shops.models import Shop

CST = timezone(timedelta(hours=8))
PLACED = datetime(2026, 11, 11, 0, 0, 1, 500, tzinfo=CST)


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in type(obj)._meta.concrete_fields}


def _order_values(shop: Shop, n: int) -> dict:
    return dict(
        shop=shop, channel_order_id=f"B{n}", status="paid", channel_status="paid", placed_at=PLACED,
        paid_at=PLACED + timedelta(seconds=n), channel_updated_at=PLACED, receiver_name="王小明",
        receiver_phone="13800138000", receiver_address=f"天府大道北段{n}号", receiver_province="四川省",
        lines_amount=Decimal("39.80"), paid_amount=Decimal("39.80"), flags=["carrier:SF"] if n else [],
        split={"CD": {"DUMPLING-500G": 1}} if n == 2 else {},
    )  # fmt: skip


def test_new_builds_what_the_constructor_builds(hub):
    shop, sku = Shop.objects.get(code="mp"), Sku.objects.get(code="DUMPLING-500G")
    made, built = Order(**_order_values(shop, 1)), bulk.new(Order, **_order_values(shop, 1))
    assert _fields(built) == _fields(made)
    assert built.shop is shop and built.warehouse is None and built._state.adding
    line = bulk.new(OrderLine, sku=sku, quantity=2, unit_price=Decimal("19.90"), paid_amount=Decimal("39.80"))
    assert line.sku is sku and line.sku_id == sku.pk and line.order_id is None and line.title == ""
    # mutable defaults are fresh per instance, never shared
    a, b = bulk.new(Order, shop=shop), bulk.new(Order, shop=shop)
    a.flags.append("x")
    assert b.flags == [] and a.tags is not b.tags and a.split is not b.split
    with pytest.raises(TypeError, match="nickname"):
        bulk.new(Order, shop=shop, nickname="x")


def test_inserted_rows_read_back_as_saved_rows(hub):
    shop = Shop.objects.get(code="mp")
    saved = Order(**_order_values(shop, 0))
    saved.save()
    inserted = [bulk.new(Order, **_order_values(shop, n)) for n in (1, 2, 3)]
    bulk.insert(inserted)
    assert all(o.pk and not o._state.adding for o in inserted)
    by_id = {o.pk: o for o in Order.objects.filter(pk__in=[saved.pk] + [o.pk for o in inserted])}
    for n, o in enumerate([saved, *inserted]):
        row = by_id[o.pk]
        assert row.placed_at == PLACED and row.paid_at == PLACED + timedelta(seconds=n)
        assert row.paid_amount == Decimal("39.80") and row.receiver_address == f"天府大道北段{n}号"
        assert row.flags == (["carrier:SF"] if n else []) and row.tags == []
        assert row.split == ({"CD": {"DUMPLING-500G": 1}} if n == 2 else {})
        # the blind indexes as Django's save computes them: found by phone and by address
        assert row.receiver_phone_hash == saved.receiver_phone_hash != ""
    assert Order.objects.filter(receiver_address_hash=inserted[1].receiver_address_hash).get() == inserted[1]
    events = [bulk.new(OutboxEvent, topic="t", key="k", payload={"n": n, "名": "值"}) for n in range(3)]
    bulk.insert(events)
    assert [e.payload for e in OutboxEvent.objects.filter(pk__in=[e.pk for e in events]).order_by("pk")] == [
        {"n": n, "名": "值"} for n in range(3)
    ]
    audit = bulk.new(OrderTransition, order=inserted[0], to_status="paid", actor="t", at=PLACED)
    bulk.insert([audit])
    assert OrderTransition.objects.get(pk=audit.pk).order_id == inserted[0].pk


def test_gc_paused_only_while_the_batch_runs():
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    with bulk.gc_paused():
        assert gc.get_freeze_count() > 0 and not gc.isenabled()
        with bulk.gc_paused():  # nested (another batch): left to the outer one
            pass
        assert gc.get_freeze_count() > 0 and not gc.isenabled()
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    with pytest.raises(RuntimeError), bulk.gc_paused():
        raise RuntimeError("the batch failed")
    assert gc.get_freeze_count() == 0 and gc.isenabled()


def test_rows_written_without_ids_keep_the_order_given(hub):
    """Events (and audit rows, lines) are written without drawing their ids first: the database
    numbers them in the order given, which is the order the relay delivers them in."""
    events = [outbox.event("test.order", key="k", payload={"n": n}) for n in (3, 1, 2, 0)]
    outbox.write(events)
    assert all(e.pk is None for e in events)
    stored = OutboxEvent.objects.filter(topic="test.order").order_by("pk")
    assert [e.payload["n"] for e in stored] == [3, 1, 2, 0]
