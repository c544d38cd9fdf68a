"""The warehouse-floor admin pages, bin locations on the stock page and SKU barcodes, as a logged-in
superuser through Django's test client."""

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from tests.factories import put_stock
from zhongshu.catalog.models import Sku, SkuBarcode
from zhongshu.channels.models import Shop
from zhongshu.core.models import OutboxEvent
from zhongshu.core.roles import WAREHOUSE, ensure_roles
from zhongshu.fulfilment import defaults
from zhongshu.fulfilment.models import (
    FulfilmentSettings,
    Package,
    PackageTransition,
    PackagingType,
    Wave,
    WavePickRow,
    WaveStrategy,
)
from zhongshu.inventory.models import StockLevel, Warehouse

T = "2026-12-06T03:04:05+00:00"


@pytest.fixture(autouse=True)
def floor_defaults(db):
    """The shipped defaults (the data migration's seed): a transactional test earlier in the run
    flushes the database."""
    defaults.seed(PackagingType, WaveStrategy, FulfilmentSettings)


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def package(hub):
    cd = Warehouse.objects.get(code="CD")
    wave = Wave.objects.create(warehouse=cd, kind="single_unit")
    WavePickRow.objects.create(
        wave=wave, position=1, location="A-01-03", sku=Sku.objects.get(code="DUMPLING-500G"), quantity=1
    )
    p = Package.objects.create(
        warehouse=cd, shop=Shop.objects.get(code="tb"), carrier="SF", status="stopped", wave=wave,
        stop_code="weight_out_of_tolerance", stop_reason="称重超重：预计 1000 克，实称 1120 克", ship_by=T,
    )  # fmt: skip
    PackageTransition.objects.create(
        package=p, from_status="waved", to_status="stopped", actor="pda:li", at=T
    )
    return p


def page(staff, url) -> str:
    response = staff.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_package_pages(staff, package):
    html = page(staff, reverse("admin:fulfilment_package_changelist"))
    assert f"P{package.pk}" in html and "已拦截" in html and "称重超重" in html
    html = page(staff, reverse("admin:fulfilment_package_changelist") + f"?q=P{package.pk}")
    assert f"P{package.pk}" in html
    html = page(staff, reverse("admin:fulfilment_package_change", args=[package.pk]))
    assert "已生成波次" in html and "已拦截" in html and "pda:li" in html  # the audited transition
    assert "2026-12-06 11:04:05" in html  # transitions in Beijing time
    assert staff.post(reverse("admin:fulfilment_package_change", args=[package.pk]), {}).status_code == 403


def test_wave_pages(staff, package):
    html = page(staff, reverse("admin:fulfilment_wave_changelist"))
    assert f"W{package.wave.pk}" in html and "待领取" in html
    html = page(staff, reverse("admin:fulfilment_wave_change", args=[package.wave.pk]))
    assert "A-01-03" in html and f"P{package.pk}" in html


def test_strategies_and_packaging_are_listed_in_chinese(staff, db):
    html = page(staff, reverse("admin:fulfilment_wavestrategy_changelist"))
    for name in ("爆款", "单品单件", "单品多件", "多品"):
        assert name in html
    assert "纸箱 3号" in page(staff, reverse("admin:fulfilment_packagingtype_changelist"))


def test_one_settings_row(staff, db):
    assert FulfilmentSettings.objects.count() == 1
    assert staff.get(reverse("admin:fulfilment_fulfilmentsettings_add")).status_code == 403
    row = FulfilmentSettings.objects.get()
    html = page(staff, reverse("admin:fulfilment_fulfilmentsettings_change", args=[row.pk]))
    assert "称重复核" in html and "较大的一个" in html


def test_a_new_bin_location_alone_is_no_stocktake(staff, hub):
    row = put_stock("DUMPLING-500G", "CD", 10)
    before = OutboxEvent.objects.count()
    response = staff.post(
        reverse("admin:inventory_stocklevel_change", args=[row.pk]),
        {"location": " A-01-03 ", "physical": "10", "in_transit": "0", "in_transit_coefficient": "0.800"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    row.refresh_from_db()
    assert (row.location, row.physical) == ("A-01-03", 10)
    assert OutboxEvent.objects.count() == before
    html = page(staff, reverse("admin:inventory_stocklevel_changelist") + "?q=A-01")
    assert "A-01-03" in html


def test_stock_add_with_location(staff, hub):
    sku, gz = Sku.objects.get(code="DUMPLING-500G"), Warehouse.objects.get(code="GZ")
    data = {"sku": sku.pk, "warehouse": gz.pk, "location": "B-2-10", "physical": "3", "in_transit": "0",
            "in_transit_coefficient": "0.8"}  # fmt: skip
    assert staff.post(reverse("admin:inventory_stocklevel_add"), data).status_code == 302
    row = StockLevel.objects.get(sku=sku, warehouse=gz)
    assert (row.location, row.physical) == ("B-2-10", 3)
    assert OutboxEvent.objects.filter(topic="stock.changed").latest("id").payload["reason"] == "stocktake"


def sku_form(sku: Sku, *barcodes: str) -> dict:
    data = {
        "code": sku.code, "title": sku.title, "cost_price": str(sku.cost_price), "weight_g": "500", "tags": "",
        "active": "on", "barcodes-TOTAL_FORMS": str(len(barcodes)), "barcodes-INITIAL_FORMS": "0",
        "barcodes-MIN_NUM_FORMS": "0", "barcodes-MAX_NUM_FORMS": "1000",
    }  # fmt: skip
    for i, code in enumerate(barcodes):
        data[f"barcodes-{i}-code"] = code
    return data


def test_sku_barcodes_in_the_sku_page(staff, hub):
    sku = Sku.objects.get(code="DUMPLING-500G")
    Sku.objects.create(code="TANGYUAN-400G", title="汤圆")
    url = reverse("admin:catalog_sku_change", args=[sku.pk])
    response = staff.post(url, sku_form(sku, "6901234567892", "TANGYUAN-400G"))
    assert response.status_code == 200  # refused: the second is another SKU's merchant code
    assert "TANGYUAN-400G 相同" in response.content.decode()
    assert not SkuBarcode.objects.exists()
    response = staff.post(url, sku_form(sku, "6901234567892", "6901234567809"))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert sorted(sku.barcodes.values_list("code", flat=True)) == ["6901234567809", "6901234567892"]
    html = page(staff, reverse("admin:catalog_sku_changelist") + "?q=6901234567809")
    assert "DUMPLING-500G" in html


def test_the_warehouse_role_sees_the_floor_and_edits_strategies(client, package):
    ensure_roles()
    user = User.objects.create_user("wh", password="pw-for-tests", is_staff=True)
    user.groups.add(Group.objects.get(name=WAREHOUSE))
    client.force_login(user)
    assert "已拦截" in page(client, reverse("admin:fulfilment_package_change", args=[package.pk]))
    assert "A-01-03" in page(client, reverse("admin:fulfilment_wave_change", args=[package.wave.pk]))
    strategy = WaveStrategy.objects.get(code="multi")
    data = {"code": "multi", "name": "多品", "kind": "multi", "carrier": "SF", "max_packages": "20",
            "min_packages": "2", "priority": "40", "active": "on"}  # fmt: skip
    response = client.post(reverse("admin:fulfilment_wavestrategy_change", args=[strategy.pk]), data)
    assert response.status_code == 302
    strategy.refresh_from_db()
    assert (strategy.carrier, strategy.max_packages, strategy.min_packages) == ("SF", 20, 2)
    settings_row = FulfilmentSettings.objects.get()
    url = reverse("admin:fulfilment_fulfilmentsettings_change", args=[settings_row.pk])
    assert client.post(url, {"weigh_over_g": "500"}).status_code == 403  # settings: view only
    assert FulfilmentSettings.objects.get().weigh_over_g == 50
