"""The console on a phone (issue 11, item 11): the dashboard, the order workbench (list), an order's
page and the exception queue are usable at 390 px without sideways scrolling (rows become cards),
and at 1440 px as before. Screenshots of the workbench, an order and the exception queue at both
widths go to docs/screenshots/ (the dashboard's are taken by test_dashboard_browser.py).

The data is the demo's working day plus held orders; the browser runs only after it is written
(Django's ORM must not run in this thread while Playwright's event loop is active)."""

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from tests.e2e.conftest import chinese_tab, sign_in
from zhongshu.core.outbox import relay
from zhongshu.core.roles import ensure_roles
from zhongshu.demo import load_demo
from zhongshu.orders.models import Order
from zhongshu.orders.services import hold_orders

pytestmark = pytest.mark.e2e

USERNAME, PASSWORD = "ops-lead", "e2e-password-123"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDTHS = {1440: 900, 390: 844}


@pytest.fixture
def pages(transactional_db) -> dict[str, str]:
    load_demo(orders=80)
    ensure_roles()
    User.objects.create_superuser(USERNAME, "ops@example.com", PASSWORD)
    allocated = list(Order.objects.filter(status="allocated").order_by("pk").values_list("pk", flat=True))
    hold_orders(allocated[:3], "ops-lead", "地址待核实：买家来电说改到公司")
    relay()
    shown = allocated[3]
    Order.objects.filter(pk=shown).update(staff_note="买家要求下午送达", tags=["大客户"])
    return {
        "dashboard": reverse("admin:index"),
        "workbench": reverse("admin:orders_order_changelist"),
        "order": reverse("admin:orders_order_change", args=[shown]),
        "exceptions": reverse("exceptions:queue"),
    }


def overflow(page) -> int:
    """How far the page scrolls sideways (0: it does not)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_main_pages_fit_a_phone_and_a_desktop(pages, playwright_api, live_server):
    DOCS.mkdir(parents=True, exist_ok=True)
    wide = {}
    with chinese_tab(playwright_api) as page:
        sign_in(page, live_server.url, USERNAME, PASSWORD, "/admin/")
        for width, height in WIDTHS.items():
            for name, path in pages.items():
                page.set_viewport_size({"width": width, "height": height})
                page.goto(f"{live_server.url}{path}")
                page.wait_for_load_state("networkidle")
                wide[(name, width)] = overflow(page)
                full = page.evaluate("document.documentElement.scrollHeight")
                page.set_viewport_size({"width": width, "height": max(height, min(full, 6000))})
                if name != "dashboard":  # its screenshots are test_dashboard_browser's (live figures)
                    page.screenshot(path=str(DOCS / f"{name}-{width}.png"))
        assert page.failed_responses == [] and page.errors == []
    assert {k: v for k, v in wide.items() if v > 0} == {}


def test_the_workbench_list_is_cards_on_a_phone(pages, playwright_api, live_server):
    with chinese_tab(playwright_api) as page:
        sign_in(page, live_server.url, USERNAME, PASSWORD, pages["workbench"])
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        row = page.locator("#result_list tbody tr").first
        box = row.bounding_box()
        assert box["width"] <= 390
        # a card shows what a person needs: the order id, the shop, the status, the amount
        text = row.inner_text()
        assert "已分仓锁库" in text or "已挂起" in text or "已发货" in text or "拣货中" in text
        assert "¥" in text or "." in text
