"""The dashboard in a real browser: a superuser opens /admin/, reads today's order count, orders are
posted over HTTP (the API, as a 系统对接 user) and the figure follows within 10 s without a reload.
Screenshots at 1440 and 390 px go to docs/screenshots/; at 390 px the page does not scroll sideways.

Orders go through the API with httpx against live_server: the Django ORM must not run in this thread
while Playwright's event loop is active.
"""

from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from django.contrib.auth.models import Group, User
from django.utils import timezone

from tests.e2e.conftest import chinese_tab, sign_in
from tests.factories import example_order, put_stock
from zhongshu.channels.models import Shop, SyncState
from zhongshu.core.auth import create_token
from zhongshu.core.roles import INTEGRATION, ensure_roles
from zhongshu.notify import defaults, services
from zhongshu.notify.models import AlertRule
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake

pytestmark = pytest.mark.e2e

USERNAME, PASSWORD = "chef", "e2e-password-123"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PROVINCES = ["四川省", "广东省", "浙江省", "北京市", "四川省", "上海市"]


def _order(n: int, at, **changes) -> OrderIn:
    receiver = example_order()["receiver"] | {"province": PROVINCES[n % len(PROVINCES)]}
    body = example_order(channel_order_id=f"D{n}", created_at=at.isoformat(), paid_at=at.isoformat(),
                         updated_at=at.isoformat(), receiver=receiver, **changes)  # fmt: skip
    return OrderIn.model_validate(body)


@pytest.fixture
def token(transactional_db, hub):
    """A superuser, a working day's orders (allocated, backordered, one held), a lagging shop, a firing
    alert, and the API token of the integration user that posts more orders."""
    ensure_roles()
    User.objects.create_superuser(USERNAME, "chef@example.com", PASSWORD)
    put_stock("DUMPLING-500G", "CD", 6)
    now = timezone.now()
    orders = [_order(n, now - timedelta(hours=n % 5)) for n in range(8)]
    orders.append(_order(99, now, shop="tb", paid_amount="1.00"))  # amounts disagree: held
    intake(orders, actor="e2e")
    SyncState.objects.create(shop=Shop.objects.get(code="tb"), cursor=now - timedelta(minutes=40),
                             last_success_at=now - timedelta(minutes=40))  # fmt: skip
    defaults.seed(AlertRule)
    AlertRule.objects.filter(metric="pending_orders").update(threshold=1)
    services.evaluate()
    User.objects.create_user("erp", password="x").groups.add(Group.objects.get(name=INTEGRATION))
    return create_token("erp")


def test_dashboard_updates_live_when_orders_are_posted(token, playwright_api, live_server):
    expect = playwright_api.expect
    with chinese_tab(playwright_api) as page:
        sign_in(page, live_server.url, USERNAME, PASSWORD, "/admin/")
        figure = page.locator('[data-figure="kpi.orders_today"]')
        before = int(figure.inner_text())
        assert before == 9
        expect(page.locator("#alert-zone")).to_contain_text("告警中")
        expect(page.locator('[data-figure="sync.tb"]')).to_have_text("已熔断")
        page.evaluate("window.__notReloaded = true")

        # when three orders are posted over HTTP, the figure follows within 10 s, without a reload
        with httpx.Client(base_url=live_server.url, headers={"Authorization": f"Bearer {token}"}) as api:
            for n in range(3):
                body = example_order(channel_order_id=f"LIVE{n}", created_at=timezone.now().isoformat())
                assert api.post("/api/v1/orders", json=body).status_code == 201
        expect(figure).to_have_text(str(before + 3), timeout=10_000)
        assert page.evaluate("window.__notReloaded") is True
        assert page.locator("#hourly-chart").evaluate("c => c.width > 0")

        DOCS.mkdir(parents=True, exist_ok=True)
        height = page.evaluate("document.documentElement.scrollHeight")
        page.set_viewport_size({"width": 1440, "height": max(900, min(height, 4000))})
        page.screenshot(path=str(DOCS / "dashboard-1440.png"))

        # on a phone: no sideways scrolling
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        expect(figure).to_have_text(str(before + 3))
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        height = page.evaluate("document.documentElement.scrollHeight")
        page.set_viewport_size({"width": 390, "height": max(844, min(height, 6000))})
        page.screenshot(path=str(DOCS / "dashboard-390.png"))
        assert page.failed_responses == [] and page.errors == []
