"""The admin console in a real browser (tests/e2e/conftest.py: Debian's Chromium, Playwright,
live_server; skipped without Chromium except on CI). Screenshots go to tests/e2e/screenshots/."""

import pytest
from django.contrib.auth import get_user_model

from tests.e2e.conftest import SHOTS, chinese_tab, shoot
from tests.factories import example_order, put_stock
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake

pytestmark = pytest.mark.e2e

USERNAME, PASSWORD = "chef", "e2e-password-123"
RAW_PHONE, MASKED_PHONE = "13800138000", "138****8000"


@pytest.fixture
def superuser(transactional_db):
    return get_user_model().objects.create_superuser(USERNAME, "chef@example.com", PASSWORD)


@pytest.fixture
def order(hub):
    put_stock("DUMPLING-500G", "CD", 10)
    [r] = intake([OrderIn.model_validate(example_order())], actor="e2e")
    return r.order


@pytest.fixture
def page(playwright_api, live_server, superuser, order):
    """A fresh Chinese-speaking browser tab, opened after the data is written."""
    with chinese_tab(playwright_api) as tab:
        yield tab


def cells(row) -> list[str]:
    """physical, reserved, in_transit, coefficient and 可用 of a stock list row (then 安全库存, 更新时间)."""
    texts = [t.strip() for t in row.locator("td, th").all_inner_texts()]
    return texts[-7:-2]


def test_login_orders_list_and_masked_order(page, playwright_api, live_server, order):
    expect = playwright_api.expect

    # Given a superuser, when they open the orders list they are sent to the login page first
    page.goto(f"{live_server.url}/admin/orders/order/")
    expect(page.locator("#id_username")).to_be_visible()
    expect(page.locator("body")).to_contain_text("中枢")
    page.screenshot(path=str(SHOTS / "01-login.png"))

    page.fill("#id_username", USERNAME)
    page.fill("#id_password", PASSWORD)
    page.locator("form [type=submit]").click()

    # then the orders list, in Chinese, with the order and its local (Asia/Shanghai) time
    page.wait_for_url(f"{live_server.url}/admin/orders/order/")
    expect(page.locator("h1")).to_contain_text("订单")
    table = page.locator("#result_list")
    expect(table).to_contain_text("MP202611270001")
    expect(table).to_contain_text("已分仓锁库")
    expect(table).to_contain_text("2026-11-27 20:15:03")
    assert RAW_PHONE not in page.content()
    shoot(page, "02-orders.png")

    # when they open the order, the receiver is masked and the history is there
    table.get_by_role("link", name="MP202611270001").click()
    page.wait_for_url(f"{live_server.url}/admin/orders/order/{order.pk}/change/")
    body = page.locator("#content-main")
    expect(body).to_contain_text(MASKED_PHONE)
    expect(body).to_contain_text("已分仓锁库")
    expect(body).not_to_contain_text("('allocated'")
    expect(body).not_to_contain_text("object (")
    expect(body).to_contain_text("王**")
    expect(body).to_contain_text("手工水饺 500g")
    expect(body).to_contain_text("状态变更记录")
    expect(body).to_contain_text("接单（已付款）")
    expect(body).to_contain_text("审计时间线")
    html = page.content()
    assert RAW_PHONE not in html and "王小明" not in html
    shoot(page, "03-order.png")

    # and the stock list shows the reservation the order made and what is still available
    page.goto(f"{live_server.url}/admin/inventory/stocklevel/")
    stock = page.locator("#result_list tbody tr").first
    expect(page.locator("#result_list thead")).to_contain_text("可用")
    assert cells(stock) == ["10", "2", "0", "0.800", "8"]  # physical reserved in_transit coefficient 可用

    # when they count 12 in a stocktake, the reservation stays and 可用 follows
    stock.get_by_role("link").first.click()
    expect(page.locator("#id_physical")).to_have_value("10")
    expect(page.locator("#id_reserved")).to_have_count(0)  # read-only: no input
    shoot(page, "04-stocktake.png")
    page.fill("#id_physical", "12")
    page.locator("[name=_save]").click()
    page.wait_for_url(f"{live_server.url}/admin/inventory/stocklevel/")
    assert cells(page.locator("#result_list tbody tr").first) == ["12", "2", "0", "0.800", "10"]
    shoot(page, "05-stock.png")

    # Unfold's CSS/JS (served by whitenoise from the finders) all loaded
    assert page.failed_responses == []
    assert page.evaluate("getComputedStyle(document.body).fontFamily") != ""
