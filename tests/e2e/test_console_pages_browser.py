"""The shop, stock and KPI pages of the console in a real browser, on the demo's working day: the shop
list and page show authorisation, next refresh and the sync history; the SKU list filters low stock
and the SKU page lists its warehouses; an Excel stocktake is previewed with its per-row errors; the
KPI report draws its charts (Chart.js from Unfold's static files) and downloads as Excel.
Screenshots (1440 px) go to docs/screenshots/.

Test data is written before the browser opens: the Django ORM must not run in this thread while
Playwright's event loop is active.
"""

from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from tests.e2e.conftest import chinese_tab, sign_in
from zhongshu.catalog.models import Sku
from zhongshu.channels import history
from zhongshu.channels.base import AuthError
from zhongshu.channels.models import Shop, ShopCredential, SyncRun, SyncState
from zhongshu.channels.services import SyncReport
from zhongshu.demo import load_demo

pytestmark = pytest.mark.e2e

USERNAME, PASSWORD = "chef", "e2e-password-123"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def demo(transactional_db):
    User.objects.create_superuser(USERNAME, "chef@example.com", PASSWORD)
    load_demo()
    now = timezone.now()
    for code, days in (("tb", 25), ("jd", 4), ("pdd", -1)):
        shop = Shop.objects.get(code=code)
        cred = ShopCredential(shop=shop, app_key=f"{code}-app", platform_shop_id=f"{code}-1001")
        cred.app_secret, cred.access_token, cred.refresh_token = "s", "at", "rt"
        cred.expires_at, cred.refresh_expires_at = now + timedelta(hours=8), now + timedelta(days=days)
        cred.save()
        SyncState.objects.get_or_create(shop=shop, defaults={"cursor": now - timedelta(seconds=20),
                                                             "last_success_at": now - timedelta(seconds=20)})  # fmt: skip
    runs = [(90, SyncRun.Kind.SCHEDULED, SyncReport("tb", 1, 12, 10, 2)), (60, SyncRun.Kind.MANUAL, SyncReport("tb", 1, 3, 3)),
            (30, SyncRun.Kind.SCHEDULED, AuthError("access_token已过期", "isv.access-token-expired")),
            (5, SyncRun.Kind.SCHEDULED, SyncReport("tb", 1, 5, 4, 1))]  # fmt: skip
    for minutes, kind, outcome in runs:
        started = now - timedelta(minutes=minutes)
        if isinstance(outcome, Exception):
            history.record("tb", kind, started, exc=outcome)
            SyncState.objects.filter(shop__code="tb").update(
                last_error=f"AuthError: {outcome}", last_error_at=started
            )
        else:
            history.record(
                "tb", kind, started, report=outcome, actor="admin:chef" if kind == "manual" else ""
            )
    return Shop.objects.get(code="tb").pk, Sku.objects.get(code="DUMPLING-500G").pk


def _shot(page, name: str) -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": 1440, "height": max(900, min(height, 3000))})
    page.screenshot(path=str(DOCS / name))
    page.set_viewport_size({"width": 1440, "height": 900})


def _sheet() -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(["商家编码", "仓库代码", "实物库存", "在途", "在途系数", "货位"])
    ws.append(["DUMPLING-500G", "GZ", 180, None, None, "A-01-01"])
    ws.append(["NO-SUCH-SKU", "GZ", 5, None, None, None])
    ws.append(["XLB-24", "CD", "十二", None, None, None])
    ws.append(["STEAK-TOMAHAWK-1KG", "GZ", 24, 10, 0.9, "C-01-05"])
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def test_shop_stock_and_kpi_pages(demo, playwright_api, live_server, tmp_path):
    shop_pk, sku_pk = demo
    expect = playwright_api.expect
    sheet = tmp_path / "盘点.xlsx"
    sheet.write_bytes(_sheet())
    with chinese_tab(playwright_api) as page:
        sign_in(page, live_server.url, USERNAME, PASSWORD, "/admin/shops/shop/")
        # shops: authorised / expiring / expired, the next refresh, the per-row 授权 and 立即同步
        table = page.locator("#result_list")
        expect(table).to_contain_text("已授权")
        expect(table).to_contain_text("即将过期")
        expect(table).to_contain_text("已过期")
        _shot(page, "shops-1440.png")
        page.goto(f"{live_server.url}/admin/shops/shop/{shop_pk}/change/")
        expect(page.locator("#sync-history")).to_contain_text("授权失效，需要重新授权")
        expect(page.locator("#sync-history")).to_contain_text("同步完成：收到 5 单")
        expect(page.get_by_role("link", name="立即同步")).to_be_visible()
        _shot(page, "shop-page-1440.png")
        page.get_by_role("link", name="立即同步").click()  # a link only asks; the form's POST acts
        expect(page.locator("#confirm-action")).to_contain_text("现在从平台拉取店铺")
        expect(page.get_by_role("button", name="立即同步")).to_be_visible()
        _shot(page, "sync-confirm-1440.png")
        page.locator("#confirm-action").get_by_role("link", name="取消").click()
        expect(page.locator("#sync-history")).to_be_visible()

        # stock: the SKUs at or below their line, the SKU page with its warehouses
        page.goto(f"{live_server.url}/admin/catalog/sku/?stock=low")
        expect(page.locator("#result_list")).to_contain_text("STEAK-TOMAHAWK-1KG")
        _shot(page, "stock-skus-low-1440.png")
        page.goto(f"{live_server.url}/admin/catalog/sku/{sku_pk}/change/")
        expect(page.locator("#sku-stock")).to_contain_text("广州仓")
        _shot(page, "sku-stock-1440.png")
        page.goto(f"{live_server.url}/admin/inventory/stocklevel/import-sheet/")
        page.set_input_files("#id_file", str(sheet))
        page.get_by_role("button", name="上传并预览").click()
        expect(page.locator("#preview-counts")).to_contain_text("共 4 行：将盘点 2 行，2 行有错误")
        expect(page.locator('tr[data-line="3"]')).to_contain_text("商家编码 NO-SUCH-SKU 不存在")
        _shot(page, "stocktake-preview-1440.png")
        page.goto(f"{live_server.url}/admin/inventory/transferalert/")
        expect(page.locator("#result_list")).to_contain_text("可用")
        _shot(page, "transfer-alerts-1440.png")

        # the KPI report: both charts drawn, the table, the Excel download
        page.goto(f"{live_server.url}/admin/dashboard/kpi/")
        for canvas in ("#kpi-time-chart", "#kpi-rate-chart"):
            assert page.locator(canvas).evaluate("c => !!Chart.getChart(c) && c.width > 0")
        expect(page.locator("#kpi-table")).to_contain_text("合计")
        _shot(page, "kpi-report-1440.png")
        with page.expect_download() as download:
            page.locator("#kpi-xlsx").click()
        wb = load_workbook(BytesIO(Path(download.value.path()).read_bytes()))
        assert [c.value for c in wb.worksheets[0][1]][:2] == ["周期", "付款订单"]
        assert page.failed_responses == [] and page.errors == []
