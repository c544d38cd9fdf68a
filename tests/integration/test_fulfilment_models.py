"""The fulfilment tables migrate and round-trip (SQLite and PostgreSQL), their constraints hold, and the
shipped defaults are there."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from tests.factories import example_order, put_stock
from zhongshu.catalog.models import Sku, SkuBarcode
from zhongshu.fulfilment import defaults, selectors
from zhongshu.fulfilment.domain import PackageStatus, Tolerance, WaveKind, WaveStrategyInfo
from zhongshu.fulfilment.models import (
    FulfilmentSettings,
    Package,
    PackageLine,
    PackageOrder,
    PackageTransition,
    PackagingType,
    Wave,
    WavePickRow,
    WaveStrategy,
)
from zhongshu.inventory.models import StockLevel, Warehouse
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake

T = datetime(2026, 12, 6, 3, 4, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def floor_defaults(db):
    """The shipped defaults (the data migration's seed): a transactional test earlier in the run
    flushes the database."""
    defaults.seed(PackagingType, WaveStrategy, FulfilmentSettings)


@pytest.fixture
def orders(hub):
    put_stock("DUMPLING-500G", "CD", 10)
    results = intake(
        [OrderIn.model_validate(example_order(channel_order_id=f"F{i}")) for i in (1, 2)], actor="test"
    )
    return [r.order for r in results]


def test_choices_mirror_the_domain():
    assert Package.Status.values == [s.value for s in PackageStatus]
    assert WaveStrategy.Kind.values == [k.value for k in WaveKind]


def test_shipped_defaults(db):
    kinds = dict(WaveStrategy.objects.filter(active=True).values_list("code", "kind"))
    assert kinds == {"hot": "hot", "single-unit": "single_unit", "single-sku": "single_sku", "multi": "multi"}
    assert list(WaveStrategy.objects.values_list("name", flat=True)) == [
        "爆款",
        "单品单件",
        "单品多件",
        "多品",
    ]
    assert PackagingType.objects.filter(active=True).count() == 6
    assert PackagingType.objects.get(name="纸箱 3号").weight_g == 150
    s = FulfilmentSettings.objects.get()
    assert (s.weigh_over_g, s.weigh_over_pct, s.weigh_under_g, s.weigh_under_pct) == (
        50, Decimal("5.00"), 50, Decimal("5.00"),
    )  # fmt: skip
    assert (s.merge_across_shops, s.wave_every_minutes) == (False, 0)


def test_package_round_trip(orders, admin_user):
    cd = Warehouse.objects.get(code="CD")
    sku = Sku.objects.get(code="DUMPLING-500G")
    box = PackagingType.objects.get(name="纸箱 3号")
    wave = Wave.objects.create(
        warehouse=cd, strategy=WaveStrategy.objects.get(code="multi"), kind="multi", picker=admin_user,
        created_by="test", claimed_at=T,
    )  # fmt: skip
    package = Package.objects.create(
        warehouse=cd, shop=orders[0].shop, carrier="SF", packaging=box, expected_weight_g=1150,
        flags=["signature_required"], ship_by=T, wave=wave, seed_slot=3, paid_at=T, allocated_at=T,
    )  # fmt: skip
    for order in orders:
        PackageOrder.objects.create(package=package, order=order)
        for line in order.lines.all():
            PackageLine.objects.create(package=package, order_line=line, sku=line.sku, quantity=line.quantity)
    PackageTransition.objects.create(package=package, from_status="", to_status="pending", actor="test", at=T)
    WavePickRow.objects.create(wave=wave, position=1, location="A-01-03", sku=sku, quantity=4, picked=1)

    got = Package.objects.get(pk=package.pk)
    assert (got.status, got.carrier, got.expected_weight_g, got.measured_weight_g) == (
        "pending",
        "SF",
        1150,
        None,
    )
    assert (got.flags, got.ship_by, got.paid_at, got.packed_at) == (["signature_required"], T, T, None)
    assert (got.packaging, got.wave, got.seed_slot, str(got)) == (box, wave, 3, f"P{package.pk}")
    assert sorted(o.channel_order_id for o in got.orders.all()) == ["F1", "F2"]
    assert [o.pk for o in orders[0].packages.all()] == [package.pk]
    assert sum(ln.quantity for ln in got.lines.all()) == sum(
        ln.quantity for o in orders for ln in o.lines.all()
    )
    assert list(got.transitions.values_list("to_status", "actor")) == [("pending", "test")]
    assert list(wave.packages.all()) == [got]
    row = wave.pick_rows.get()
    assert (row.location, row.quantity, row.picked, row.short) == ("A-01-03", 4, 1, 0)
    assert Wave.objects.get(pk=wave.pk).status == "open"


def test_constraints(orders):
    cd = Warehouse.objects.get(code="CD")
    sku = Sku.objects.get(code="DUMPLING-500G")
    package = Package.objects.create(warehouse=cd, shop=orders[0].shop)
    PackageOrder.objects.create(package=package, order=orders[0])
    with pytest.raises(IntegrityError), transaction.atomic():
        PackageOrder.objects.create(package=package, order=orders[0])
    with pytest.raises(IntegrityError), transaction.atomic():
        PackageLine.objects.create(package=package, sku=sku, quantity=0)
    wave = Wave.objects.create(warehouse=cd, kind="single_unit")
    with pytest.raises(IntegrityError), transaction.atomic():
        WavePickRow.objects.create(wave=wave, position=1, sku=sku, quantity=2, picked=3)
    WavePickRow.objects.create(wave=wave, position=1, sku=sku, quantity=2, picked=2)
    with pytest.raises(IntegrityError), transaction.atomic():
        WavePickRow.objects.create(wave=wave, position=2, sku=sku, quantity=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        WaveStrategy.objects.create(code="zero", name="zero", kind="multi", max_packages=0)
    # an order in a package cannot be deleted from under it
    with pytest.raises(IntegrityError), transaction.atomic():
        orders[0].delete()


def test_stock_location_and_barcodes(hub):
    row = put_stock("DUMPLING-500G", "GZ", 5)
    assert row.location == ""
    StockLevel.objects.filter(pk=row.pk).update(location="A-01-03")
    assert StockLevel.objects.get(pk=row.pk).location == "A-01-03"

    dumpling = Sku.objects.get(code="DUMPLING-500G")
    tangyuan = Sku.objects.create(code="TANGYUAN-400G", title="汤圆")
    SkuBarcode.objects.create(sku=dumpling, code="6901234567892")
    SkuBarcode.objects.create(sku=dumpling, code="6901234567809")
    assert sorted(dumpling.barcodes.values_list("code", flat=True)) == ["6901234567809", "6901234567892"]
    with pytest.raises(IntegrityError), transaction.atomic():
        SkuBarcode.objects.create(sku=tangyuan, code="6901234567892")
    clash = SkuBarcode(sku=dumpling, code=" TANGYUAN-400G ")
    with pytest.raises(ValidationError) as err:
        clash.full_clean()
    assert err.value.message_dict == {"code": ["条码与另一个商品的商家编码 TANGYUAN-400G 相同"]}
    SkuBarcode(sku=dumpling, code=" DUMPLING-500G ").full_clean()  # its own code: allowed, stripped


def test_selectors_feed_the_domain(hub):
    assert selectors.weigh_tolerance() == Tolerance(50, Decimal("5.00"), 50, Decimal("5.00"))
    FulfilmentSettings.objects.update(
        weigh_over_g=80, weigh_under_pct=Decimal("2.50"), merge_across_shops=True
    )
    assert selectors.weigh_tolerance() == Tolerance(80, Decimal("5.00"), 50, Decimal("2.50"))
    assert selectors.merge_across_shops() is True
    FulfilmentSettings.objects.all().delete()
    assert selectors.weigh_tolerance() == Tolerance()
    assert selectors.merge_across_shops() is False

    dumpling = Sku.objects.get(code="DUMPLING-500G")
    tangyuan = Sku.objects.create(code="TANGYUAN-400G", title="汤圆")
    SkuBarcode.objects.create(sku=dumpling, code="6901")
    SkuBarcode.objects.create(sku=tangyuan, code="6902")
    assert selectors.barcodes(["DUMPLING-500G"]) == {"6901": "DUMPLING-500G"}
    assert selectors.barcodes(["DUMPLING-500G", "TANGYUAN-400G"]) == {
        "6901": "DUMPLING-500G",
        "6902": "TANGYUAN-400G",
    }
    assert selectors.sku_of_code(" 6902 ") == "TANGYUAN-400G"
    assert selectors.sku_of_code("DUMPLING-500G") == "DUMPLING-500G"
    assert selectors.sku_of_code("0000") is None

    gz = Warehouse.objects.get(code="GZ")
    put_stock("DUMPLING-500G", "GZ", 1)
    put_stock("TANGYUAN-400G", "GZ", 1)
    put_stock("DUMPLING-500G", "CD", 1)
    StockLevel.objects.filter(warehouse=gz, sku=dumpling).update(location="A-01-03")
    StockLevel.objects.filter(warehouse__code="CD").update(location="Z-9")
    assert selectors.locations(gz.pk, ["DUMPLING-500G", "TANGYUAN-400G"]) == {"DUMPLING-500G": "A-01-03"}


def test_strategies_as_domain_data(db):
    assert [s.code for s in selectors.active_strategies()] == ["hot", "single-unit", "single-sku", "multi"]
    WaveStrategy.objects.filter(code="hot").update(active=False)
    WaveStrategy.objects.filter(code="multi").update(priority=1, carrier="SF")
    assert [s.code for s in selectors.active_strategies()] == ["multi", "single-unit", "single-sku"]
    info = selectors.strategy_info(WaveStrategy.objects.get(code="multi"))
    assert info == WaveStrategyInfo(WaveKind.MULTI, max_packages=30, carrier="SF", min_packages=1)
