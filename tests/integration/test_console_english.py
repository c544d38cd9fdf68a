"""The shop, stock and KPI pages after the language switch: every UI text is English; what stays
Chinese is data (shop and SKU names, warehouse names, a platform's own error message)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import put_stock
from tests.integration.test_i18n import CJK, text
from zhongshu.catalog.models import Sku
from zhongshu.channels import history
from zhongshu.channels.base import AuthError
from zhongshu.channels.models import Shop, ShopCredential, SyncRun, SyncState
from zhongshu.channels.services import SyncReport
from zhongshu.inventory.models import TransferAlert, Warehouse
from zhongshu.monitor.models import HealthSample

DATA = {
    "自有小程序",
    "天猫旗舰店",
    "手工水饺",
    "广州仓",
    "成都仓",
    "简体中文",
}  # data, and the language switch


@pytest.fixture
def english(client, admin_user):
    client.force_login(admin_user)
    client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})
    return client


@pytest.fixture
def console(hub):
    put_stock("DUMPLING-500G", "GZ", 3)
    now = timezone.now()
    shop = Shop.objects.get(code="tb")
    cred = ShopCredential(shop=shop, app_key="k", access_token_enc="")
    cred.app_secret, cred.access_token, cred.refresh_token = "s", "at", "rt"
    cred.expires_at, cred.refresh_expires_at = now + timedelta(hours=2), now + timedelta(days=3)
    cred.save()
    SyncState.objects.create(shop=shop, last_error="AuthError: token expired", last_error_at=now)
    history.record("tb", SyncRun.Kind.MANUAL, now, report=SyncReport("tb", 1, 2, 1, 1, rejected=["X"]))
    history.record("tb", SyncRun.Kind.SCHEDULED, now, exc=AuthError("token expired", "27"))
    sku = Sku.objects.get(code="DUMPLING-500G")
    TransferAlert.objects.create(sku=sku, to_warehouse=Warehouse.objects.get(code="CD"), quantity=2, orders=1)
    HealthSample.objects.create(at=now, api_ok=True, worker_ok=True, db_latency_ms=2, ok=True)
    return shop, sku


def test_the_new_pages_speak_english(english, console):
    shop, sku = console
    pages = [
        "/admin/shops/shop/", f"/admin/shops/shop/{shop.pk}/change/", "/admin/channels/syncrun/",
        "/admin/catalog/sku/?stock=low", f"/admin/catalog/sku/{sku.pk}/change/", "/admin/inventory/stocklevel/",
        "/admin/inventory/stocklevel/import-sheet/", "/admin/inventory/transferalert/", "/admin/dashboard/kpi/",
    ]  # fmt: skip
    leaks = {}
    for url in pages:
        words = {w for w in CJK.findall(text(english.get(url))) if not any(w in d or d in w for d in DATA)}
        if words:
            leaks[url] = sorted(words)
    assert leaks == {}, leaks
    kpi = text(english.get("/admin/dashboard/kpi/"))
    assert "Paid → shipped, p90 (h)" in kpi and "Loss avoided (yuan)" in kpi
    shop_page = text(english.get(f"/admin/shops/shop/{shop.pk}/change/"))
    assert "Sync done: 2 orders received" in shop_page and "Authorisation lost: authorise again" in shop_page
