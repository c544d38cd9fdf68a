"""The alert bell in a real browser: a breached rule (paid orders over a lowered threshold, evaluated
as the worker does) shows its count in the header; the bell opens the firing alerts, the history
lists the notice in Chinese."""

import pytest
from django.contrib.auth import get_user_model

from tests.e2e.conftest import SHOTS, chinese_tab, shoot, sign_in
from tests.factories import example_order, put_stock
from zhongshu.notify import defaults, services
from zhongshu.notify.models import AlertRule
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake

pytestmark = pytest.mark.e2e

USERNAME, PASSWORD = "chef", "e2e-password-123"


@pytest.fixture
def breached(transactional_db, hub):
    get_user_model().objects.create_superuser(USERNAME, "chef@example.com", PASSWORD)
    defaults.seed(AlertRule)
    AlertRule.objects.filter(metric="pending_orders").update(threshold=1)
    put_stock("DUMPLING-500G", "CD", 10)
    intake([OrderIn.model_validate(example_order(channel_order_id=f"E{n}")) for n in range(2)], actor="e2e")
    services.evaluate()


def test_bell_counts_firing_alerts_and_opens_them(playwright_api, live_server, breached):
    with chinese_tab(playwright_api) as page:
        sign_in(page, live_server.url, USERNAME, PASSWORD, "/admin/")
        bell = page.locator("#alert-bell")
        assert bell.locator("[data-alert-count]").inner_text() == "1"
        page.screenshot(
            path=str(SHOTS / "alerts-01-bell.png"), clip={"x": 0, "y": 0, "width": 1440, "height": 120}
        )
        bell.click()
        page.wait_for_url("**/admin/notify/alertstate/?firing__exact=1")
        assert "告警中" in page.locator("#result_list").inner_text()
        shoot(page, "alerts-02-firing.png")
        page.goto(f"{live_server.url}/admin/notify/alertevent/")
        text = page.locator("#result_list").inner_text()
        assert "告警" in text and "待发货订单" in text
        shoot(page, "alerts-03-history.png")
        assert page.failed_responses == [] and page.errors == []
