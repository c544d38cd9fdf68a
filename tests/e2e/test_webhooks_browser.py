"""The outgoing webhooks' console in a real browser: subscribe from the sidebar's 对外推送 menu (the
secret is shown once), then find a dead letter under 推送死信 and replay it to a recovered subscriber."""

import re

import pytest
from django.contrib.auth import get_user_model
from standardwebhooks import Webhook

from tests.e2e.conftest import chinese_tab, shoot, sign_in
from tests.factories import example_order, put_stock
from tests.platforms.webhook_receiver import WebhookReceiver
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake
from zhongshu.webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.e2e

USERNAME, PASSWORD = "chef", "e2e-password-123"


@pytest.fixture
def admin(transactional_db, hub, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [0]  # one attempt, then a dead letter
    get_user_model().objects.create_superuser(USERNAME, "chef@example.com", PASSWORD)
    put_stock("DUMPLING-500G", "CD", 10)


def test_subscribe_then_replay_a_dead_letter_in_the_console(playwright_api, live_server, admin):
    with WebhookReceiver() as receiver:
        with chinese_tab(playwright_api) as page:
            sign_in(page, live_server.url, USERNAME, PASSWORD, "/admin/")
            page.get_by_role("link", name="推送订阅").click()
            page.wait_for_url("**/admin/webhooks/webhookendpoint/")
            page.goto(f"{live_server.url}/admin/webhooks/webhookendpoint/add/")
            page.fill("#id_url", receiver.url + "/erp")
            page.get_by_label("订单已分仓锁库 order.allocated").check()
            page.fill("#id_description", "ERP 对接")
            page.locator("[name=_save]").click()
            page.wait_for_url("**/admin/webhooks/webhookendpoint/")
            text = page.locator("body").inner_text()
            assert "只显示这一次" in text and receiver.url in text
            [secret] = re.findall(r"whsec_[A-Za-z0-9+/=]+", text)
            shoot(page, "webhooks-01-subscribed.png")
            assert page.failed_responses == [] and page.errors == []

        receiver.outage()
        intake([OrderIn.model_validate(example_order())], actor="e2e")
        assert WebhookDelivery.objects.get().status == "dead"
        assert WebhookEndpoint.objects.get().secret == secret
        receiver.end_outage()

        with chinese_tab(playwright_api) as page:
            sign_in(page, live_server.url, USERNAME, PASSWORD, "/admin/")
            page.get_by_role("link", name="推送死信").click()
            page.wait_for_url("**/admin/webhooks/webhookdelivery/?status__exact=dead")
            rows = page.locator("#result_list tbody tr")
            assert rows.count() == 1 and "order.allocated" in rows.first.inner_text()
            assert "死信" in rows.first.inner_text() and "503" in rows.first.inner_text()
            shoot(page, "webhooks-02-dead-letters.png")
            rows.first.locator("input[type=checkbox]").check()
            page.select_option("select[name=action]", "replay")
            page.locator(
                "button[name=index], button[type=submit][title], #changelist-actions button"
            ).first.click()
            page.wait_for_load_state()
            assert "已重放 1 条死信" in page.locator("body").inner_text()
            shoot(page, "webhooks-03-replayed.png")
    [got] = receiver.accepted
    assert Webhook(secret).verify(got.body, got.headers)["type"] == "order.allocated"
    assert WebhookDelivery.objects.get().status == "delivered"
