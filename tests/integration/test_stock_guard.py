"""The reservation UPDATE itself refuses an oversell, whatever the caller computed in memory."""

import re

import pytest
from django.db import transaction

from tests.factories import put_stock
from zhongshu.inventory import services as stock
from zhongshu.inventory.models import StockLevel


@pytest.fixture
def rows(hub):
    put_stock("DUMPLING-500G", "CD", physical=10, in_transit=5, coefficient="0.8")  # supply 10 + 4
    put_stock("DUMPLING-500G", "GZ", physical=3)
    locked = stock.lock_stock({StockLevel.objects.first().sku_id})
    return {r.pk: r for r in locked.values()}


def by_wh(rows, code):
    return next(r for r in rows.values() if r.warehouse.code == code)


def test_reserve_up_to_supply_and_release(rows):
    cd, gz = by_wh(rows, "CD"), by_wh(rows, "GZ")
    events = stock.change_reserved(rows, {cd.pk: 14, gz.pk: 3}, "orders", "test")
    assert [(e.payload["warehouse"], e.payload["reserved"]) for e in events] == [("CD", 14), ("GZ", 3)]
    assert StockLevel.objects.get(pk=cd.pk).reserved == 14
    stock.change_reserved(rows, {cd.pk: -14, gz.pk: 0}, "orders", "test")
    assert StockLevel.objects.get(pk=cd.pk).reserved == 0 and cd.reserved == 0


@pytest.mark.parametrize("delta", [15, -1])
def test_beyond_supply_or_below_zero_is_refused_and_nothing_changes(rows, delta):
    cd, gz = by_wh(rows, "CD"), by_wh(rows, "GZ")
    with pytest.raises(stock.OversellError, match=re.escape(f"DUMPLING-500G@CD {delta:+d}")):
        with transaction.atomic():
            stock.change_reserved(rows, {cd.pk: delta, gz.pk: 1}, "orders", "test")
    assert list(StockLevel.objects.order_by("pk").values_list("reserved", flat=True)) == [0, 0]


def test_stale_memory_cannot_oversell(rows):
    """Another writer reserved in the database; the caller's rows still say 0: the UPDATE refuses."""
    cd = by_wh(rows, "CD")
    StockLevel.objects.filter(pk=cd.pk).update(reserved=10)
    with pytest.raises(stock.OversellError):
        with transaction.atomic():
            stock.change_reserved(rows, {cd.pk: 5}, "orders", "test")
    assert StockLevel.objects.get(pk=cd.pk).reserved == 10
