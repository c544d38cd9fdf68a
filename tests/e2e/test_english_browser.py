"""English in a real browser: a superuser in a Chinese-speaking Chromium switches the admin to English
through the language choice in the user menu, and the admin index, an order, the exception queue and
the rule builder speak English from then on.

Needs /usr/bin/chromium (scripts/ensure-chromium); skipped locally without it, a failure on CI.
Screenshots go to tests/e2e/screenshots/ (en-*.png).
"""

import uuid

import pytest

from tests.e2e.conftest import shoot, sign_in
from tests.e2e.test_admin_browser import PASSWORD, USERNAME, order, page, superuser
from tests.factories import example_order
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake
from zhongshu.rules.models import Rule, RuleSet, RuleVersion, RuntimeState
from zhongshu.rules.templates import seed

pytestmark = pytest.mark.e2e
__all__ = ["order", "page", "superuser"]  # the fixtures, shared with the admin test

RULE = "pickup_point_review"


@pytest.fixture
def held(order):
    """A second order, held for price_mismatch, and the shipped rules (a flush of an earlier test drops
    them; a fresh stamp makes this process's review hook drop its cached rules)."""
    seed(RuleSet, Rule, RuleVersion, RuntimeState)
    RuntimeState.objects.filter(pk=1).update(stamp=uuid.uuid4().hex)
    [r] = intake([OrderIn.model_validate(example_order(channel_order_id="EX1", paid_amount="60.00"))], "e2e")
    assert r.order.status == "on_hold"
    return r.order


# `held` comes before `page`: the data is written before Playwright's event loop starts in this thread
def test_switching_the_admin_to_english(held, page, playwright_api, live_server, order):
    expect = playwright_api.expect

    # Given a superuser signed in with a Chinese browser, the admin speaks Chinese
    sign_in(page, live_server.url, USERNAME, PASSWORD, "/admin/")
    sidebar = page.locator("#nav-sidebar, nav").first
    expect(sidebar).to_contain_text("异常订单")

    # when they open the user menu and choose English
    page.get_by_text(USERNAME, exact=True).click()
    page.get_by_role("button", name="English").click()

    # then the admin index is English, and the choice is kept in the language cookie
    page.wait_for_url(f"{live_server.url}/admin/")
    expect(sidebar).to_contain_text("Exception queue")
    expect(sidebar).to_contain_text("Products & stock")
    expect(sidebar).not_to_contain_text("异常订单")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookies["django_language"] == "en"
    shoot(page, "en-01-admin-index.png")

    # the order page: English labels, the order's own data as it was written
    page.goto(f"{live_server.url}/admin/orders/order/{order.pk}/change/")
    body = page.locator("#content-main")
    expect(body).to_contain_text("Receiver (masked)")
    expect(body).to_contain_text("Times (Beijing time)")
    expect(body).to_contain_text("Allocated")
    expect(body).to_contain_text("Audit timeline")
    expect(body).to_contain_text("接单（已付款）")  # a transition reason: a record, not translated
    expect(body).not_to_contain_text("收货人（已脱敏）")
    shoot(page, "en-02-order.png")

    # the exception queue
    page.goto(f"{live_server.url}/console/exceptions/")
    expect(page.locator("#content h1")).to_contain_text("Exception queue")
    expect(page.locator("#month-figures")).to_contain_text("1 held · ¥60.00")
    expect(page.locator("#bulk")).to_contain_text("Approve selected")
    expect(page.locator(f'[data-order="{held.pk}"]')).to_contain_text(
        "Price mismatch"
    )  # the hold code read out (issue 11)
    expect(page.locator("#filters select[name=sort]")).to_contain_text("Held longest first")
    expect(page.locator("body")).not_to_contain_text("本月拦截")
    shoot(page, "en-03-exception-queue.png")

    # the rule builder: labels, the facts the builder offers and the live preview are English
    page.goto(f"{live_server.url}/console/rules/{RULE}/")
    preview = page.locator("#rule-preview")
    expect(preview).to_contain_text(
        "When (Address contains 驿站 or Address contains 代收点) and Paid amount > 500"
    )
    expect(page.locator("[data-role=fact]").first).to_contain_text("Paid amount")
    expect(page.get_by_role("button", name="Save as a new version")).to_be_visible()
    expect(page.locator("#rule-history")).to_contain_text("Version history")
    expect(page.locator("body")).not_to_contain_text("保存为新版本")
    shoot(page, "en-04-rule-builder.png")

    assert page.failed_responses == []
