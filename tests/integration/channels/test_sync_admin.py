"""The sync state in the admin: lag, last error, pulled today; "sync now" pulls the double's orders;
the back-fill form re-pulls a range without moving the cursor back; a shop whose token refresh fails
is skipped by the scheduler and shows the re-authorisation prompt; no secret or token is rendered."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from tests.factories import put_stock
from tests.integration.channels.fake_platform import APP_SECRET, FakeDouble, make_shop
from zhongshu.channels.models import ShopCredential, SyncState
from zhongshu.channels.tasks import schedule_due, sync_shop_task
from zhongshu.orders.models import Order

STATES = "/admin/channels/syncstate/"


@pytest.fixture
def double():
    with FakeDouble() as d:
        yield d


@pytest.fixture
def stocked(hub):
    put_stock("DUMPLING-500G", "CD", 1000)


def state_of(code: str) -> SyncState:
    return SyncState.objects.get(shop__code=code)


def html_of(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_sync_now_pulls_the_doubles_orders_and_the_list_shows_the_state(stocked, double, staff):
    now = datetime.now(UTC)
    make_shop(double, "zs1", cursor=now - timedelta(minutes=5))
    for n in range(3):
        double.add(f"T-{n}", now - timedelta(seconds=30 + n))

    response = staff.post(
        STATES, {"action": "sync_now", "_selected_action": [state_of("zs1").pk]}, follow=True
    )

    assert Order.objects.filter(shop__code="zs1").count() == 3
    html = html_of(response)
    assert "已提交同步：zs1" in html
    state = state_of("zs1")
    assert state.pulled_today == 3 and state.last_success_at is not None and state.cursor > now
    row = html_of(staff.get(STATES)).split("zs1", 1)[1]
    assert re.search(r"\d+ 秒", row)  # lag = now - cursor, in seconds
    assert timezone.localtime(state.cursor).strftime("%Y-%m-%d %H:%M:%S") in row


def test_backfill_form_repulls_a_range_without_moving_the_cursor_back(stocked, double, staff,
                                                                      django_capture_on_commit_callbacks):  # fmt: skip
    now = datetime.now(UTC)
    make_shop(double, "zs1", cursor=now - timedelta(minutes=5))
    sync_shop_task("zs1")
    cursor = state_of("zs1").cursor
    double.add("LATE-1", now - timedelta(hours=3))  # written late on the platform, long behind the cursor
    double.add("LATE-2", now - timedelta(hours=2, minutes=30))
    sync_shop_task("zs1")
    assert not Order.objects.filter(channel_order_id__startswith="LATE").exists()
    start, end = (timezone.localtime(now - timedelta(hours=h)) for h in (4, 2))

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(f"{STATES}{state_of('zs1').pk}/change/", {
            "enabled": "on", "interval_seconds": "10",
            "backfill_from_0": start.strftime("%Y-%m-%d"), "backfill_from_1": start.strftime("%H:%M:%S"),
            "backfill_to_0": end.strftime("%Y-%m-%d"), "backfill_to_1": end.strftime("%H:%M:%S"),
        }, follow=True)  # fmt: skip

    assert "已提交补拉：" in html_of(response)
    assert set(Order.objects.filter(channel_order_id__startswith="LATE").values_list("channel_order_id", flat=True)) == {
        "LATE-1", "LATE-2"}  # fmt: skip
    state = state_of("zs1")
    assert state.cursor >= cursor  # not moved back
    assert (state.backfill_from, state.backfill_to) == (None, None)  # done


@pytest.mark.parametrize(
    "bad",
    [
        {"backfill_from_0": "2026-01-02", "backfill_from_1": "00:00:00"},  # only one end
        {"backfill_from_0": "2026-01-02", "backfill_from_1": "00:00:00", "backfill_to_0": "2026-01-01",
         "backfill_to_1": "00:00:00"},  # end before start
        {"backfill_from_0": "2025-01-01", "backfill_from_1": "00:00:00", "backfill_to_0": "2025-06-01",
         "backfill_to_1": "00:00:00"},  # longer than 90 days
    ],
)  # fmt: skip
def test_backfill_form_refuses_bad_ranges(hub, double, staff, bad, django_capture_on_commit_callbacks):
    make_shop(double, "zs1")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = staff.post(f"{STATES}{state_of('zs1').pk}/change/",
                              {"enabled": "on", "interval_seconds": "10", **bad})  # fmt: skip
    assert response.status_code == 200  # the form again, with its error
    assert callbacks == [] and state_of("zs1").backfill_from is None


def test_a_shop_whose_refresh_fails_is_skipped_and_prompts_reauthorisation(stocked, double, staff):
    make_shop(double, "zs1", interval_seconds=1)
    make_shop(double, "zs2", interval_seconds=1)
    ShopCredential.objects.filter(shop__code="zs1").update(
        expires_at=datetime.now(UTC) + timedelta(minutes=5)
    )
    double.refuse_refresh = True  # the refresh token was revoked on the platform

    sync_shop_task("zs1")

    assert ShopCredential.objects.get(shop__code="zs1").needs_reauth is True
    assert "AuthError" in state_of("zs1").last_error
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert schedule_due(later) == ["zs2"]  # immediate mode: zs2 was pulled, zs1 left alone
    html = html_of(staff.get(STATES))
    assert "需要重新授权" in html
    assert 'href="/channels/oauth/start/zs1/"' in html and "去授权" in html
    assert 'href="/channels/oauth/start/zs2/"' not in html  # zs2 is fine: no prompt
    shop_page = html_of(staff.get(f"/admin/shops/shop/{state_of('zs1').shop_id}/change/"))
    assert "需要重新授权" in shop_page and 'href="/channels/oauth/start/zs1/"' in shop_page
    response = staff.post(
        STATES, {"action": "sync_now", "_selected_action": [state_of("zs1").pk]}, follow=True
    )
    assert "需先授权：zs1" in html_of(response)


def test_the_admin_never_renders_a_secret_or_a_token(stocked, double, staff):
    shop = make_shop(double, "zs1")
    cred = ShopCredential.objects.get(shop=shop)
    cred.push_secret = "push-secret-abcdef"
    cred.refresh_token = "rt-secret-refresh-token"
    cred.save()
    ShopCredential.objects.filter(pk=cred.pk).update(needs_reauth=True)
    SyncState.objects.filter(shop=shop).update(last_error="ValidationError: input_value='13800138000'")
    secrets = [APP_SECRET, cred.access_token, "rt-secret-refresh-token", "push-secret-abcdef",
               cred.app_secret_enc, cred.access_token_enc, cred.refresh_token_enc, "13800138000"]  # fmt: skip
    pages = [
        "/admin/shops/shop/", f"/admin/shops/shop/{shop.pk}/change/", "/admin/shops/shop/add/",
        STATES, f"{STATES}{state_of('zs1').pk}/change/",
    ]  # fmt: skip

    for page in pages:
        html = html_of(staff.get(page))
        assert [s for s in secrets if s in html] == [], page
    assert "令牌到期" in html_of(staff.get(f"/admin/shops/shop/{shop.pk}/change/"))


def test_a_new_secret_typed_into_the_shop_page_is_stored_encrypted(hub, double, staff):
    shop = make_shop(double, "zs1")
    cred = ShopCredential.objects.get(shop=shop)
    form = {
        "name": "测试店", "active": "on",
        "stock_share_percent": "80", "stock_buffer": "5", "stock_cap": "",
        "credential-TOTAL_FORMS": "1", "credential-INITIAL_FORMS": "1", "credential-MIN_NUM_FORMS": "0",
        "credential-MAX_NUM_FORMS": "1", "credential-0-id": str(cred.pk), "credential-0-shop": str(shop.pk),
        "credential-0-api_base_url": double.url, "credential-0-app_key": "zs-app",
        "credential-0-new_app_secret": "brand-new-secret", "credential-0-platform_shop_id": "",
        "credential-0-new_message_secret": "a3MtbXNnLXNlY3JldC0wMQ==",
    }  # fmt: skip

    response = staff.post(f"/admin/shops/shop/{shop.pk}/change/", form)

    assert response.status_code == 302, re.findall(
        r"errorlist[^>]*>(.*?)</ul>", response.content.decode(), re.S
    )
    cred.refresh_from_db()
    shop.refresh_from_db()
    assert cred.app_secret == "brand-new-secret" and "brand-new-secret" not in cred.app_secret_enc
    assert cred.message_secret == "a3MtbXNnLXNlY3JldC0wMQ==" and "a3Mt" not in cred.message_secret_enc
    assert (shop.stock_share_percent, shop.stock_buffer) == (80, 5)  # the stock strategy is editable
    form["credential-0-new_app_secret"] = form["credential-0-new_message_secret"] = ""
    assert staff.post(f"/admin/shops/shop/{shop.pk}/change/", form).status_code == 302
    kept = ShopCredential.objects.get(pk=cred.pk)
    assert (kept.app_secret, kept.message_secret) == (
        "brand-new-secret",
        "a3MtbXNnLXNlY3JldC0wMQ==",
    )  # empty keeps
