"""Shops in the console, against the local 抖店 double over real HTTP: the "授权" button leaves for
the platform's authorisation page with a signed state and the callback stores the tokens; the list
shows authorised / expiring / expired and the next token refresh; "立即同步" pulls in the request and
says what came of it in Chinese; the shop's sync history keeps manual runs, failures and scheduled
runs that took orders in, with errors explained in Chinese."""

import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from tests.integration.channels.harness import authorised_shop, change_credential
from tests.platforms.douyin import SHANGHAI, DouyinDouble
from zhongshu.channels.models import Shop, ShopCredential, SyncRun, SyncState
from zhongshu.channels.services import REFRESH_AHEAD
from zhongshu.channels.tasks import run_sync
from zhongshu.channels.views import shop_of_state
from zhongshu.orders.models import Order

DOUBLE = DouyinDouble  # the module's `platform` (conftest)
SHOPS = "/admin/shops/shop/"


@pytest.fixture
def shop(hub, double, settings):
    settings.DOUYIN_SERVICE_ID = "12345"
    shop = authorised_shop(double, "dy", "抖店旗舰店", "douyin", ["DY-TEA-250G"], app_key=double.app_key,
                           platform_shop_id=double.shop_id)  # fmt: skip
    SyncState.objects.get_or_create(shop=shop)
    return shop


def page(client, url: str) -> str:
    r = client.get(url)
    assert r.status_code == 200, r.status_code
    return r.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.wsgi_request._messages]


def row_of(html: str, code: str) -> str:
    return next(r for r in re.findall(r"<tr.*?</tr>", html, re.S) if f">{code}<" in r or f"/{code}/" in r)


def test_authorise_button_goes_to_the_platform_and_the_callback_stores_tokens(shop, double, staff):
    ShopCredential.objects.filter(shop=shop).update(
        access_token_enc="", refresh_token_enc="", expires_at=None
    )
    assert "未授权" in row_of(page(staff, SHOPS), "dy")
    assert f"{SHOPS}{shop.pk}/authorize_row/" in page(staff, SHOPS)  # the button of the row

    to_start = staff.get(f"{SHOPS}{shop.pk}/authorize_detail/")
    assert to_start.status_code == 302 and to_start["Location"] == "/channels/oauth/start/dy/"
    to_platform = staff.get(to_start["Location"])
    url = urlsplit(to_platform["Location"])
    assert (url.scheme, url.netloc, url.path) == ("https", "fuwu.jinritemai.com", "/authorize")
    query = parse_qs(url.query)
    assert query["service_id"] == ["12345"] and shop_of_state(query["state"][0]) == "dy"

    back = staff.get(
        "/channels/oauth/callback/dy/", {"code": double.issue_code(), "state": query["state"][0]}
    )
    assert back.status_code == 302
    cred = ShopCredential.objects.get(shop=shop)
    assert cred.access_token in double.access_tokens
    row = row_of(page(staff, SHOPS), "dy")
    assert "已授权" in row
    refresh = timezone.localtime(cred.expires_at - REFRESH_AHEAD).strftime("%Y-%m-%d %H:%M:%S")
    assert refresh in row  # the next refresh: REFRESH_AHEAD before the access token expires


def test_expiring_and_expired_authorisations_are_told_apart(shop, staff):
    now = timezone.now()
    ShopCredential.objects.filter(shop=shop).update(refresh_expires_at=now + timedelta(days=3))
    assert "即将过期" in row_of(page(staff, SHOPS), "dy")
    ShopCredential.objects.filter(shop=shop).update(refresh_expires_at=now - timedelta(minutes=1))
    row = row_of(page(staff, SHOPS), "dy")
    assert "已过期" in row and "即将过期" not in row
    ShopCredential.objects.filter(shop=shop).update(refresh_expires_at=now + timedelta(days=30))
    assert "已授权" in row_of(page(staff, SHOPS), "dy")


def test_sync_now_pulls_in_the_request_and_tells_the_result(shop, double, staff):
    now = datetime.now(SHANGHAI)
    double.now = now
    double.add_order(1, now - timedelta(hours=2), [("DY-TEA-250G", 2, 5990)])
    double.add_order(2, now - timedelta(hours=1), [("DY-TEA-250G", 1, 5990)])

    confirm = staff.get(f"{SHOPS}{shop.pk}/sync_now_detail/")  # a link only asks
    assert confirm.status_code == 200 and 'id="confirm-action"' in confirm.content.decode()
    assert "现在从平台拉取店铺 抖店旗舰店（dy）的新订单" in confirm.content.decode()
    assert not Order.objects.filter(shop=shop).exists() and not SyncRun.objects.exists()
    r = staff.post(f"{SHOPS}{shop.pk}/sync_now_detail/", follow=True)

    assert Order.objects.filter(shop=shop).count() == 2
    [message] = messages_of(r)
    assert message == "抖店旗舰店（dy）同步完成：收到 2 单，新建 2、更新 0、无变化 0"
    [run] = SyncRun.objects.filter(shop=shop)
    assert (run.kind, run.outcome, run.received, run.created, run.actor) == (
        "manual",
        "ok",
        2,
        2,
        "admin:admin",
    )
    history = page(staff, f"{SHOPS}{shop.pk}/change/")
    assert 'id="sync-history"' in history and "立即同步" in history and "成功" in history


def test_a_failed_sync_is_explained_in_chinese_on_the_shop_page(shop, double, staff):
    change_credential("dy", app_secret="not-the-secret")  # the platform refuses the signature

    r = staff.post(f"{SHOPS}{shop.pk}/sync_now_row/", follow=True)

    [message] = messages_of(r)
    assert message.startswith("抖店旗舰店（dy）同步失败：授权失效，需要重新授权（")
    run = SyncRun.objects.get(shop=shop)
    assert (run.outcome, run.error_kind) == ("failed", "AuthError") and "isv.signature-invalid" in run.error
    html = page(staff, f"{SHOPS}{shop.pk}/change/")
    assert "授权失效，需要重新授权：" in html  # the last error, explained
    assert 'data-outcome="failed"' in html
    # the shop now needs authorising again: sync now says so instead of pulling
    r = staff.post(f"{SHOPS}{shop.pk}/sync_now_detail/", follow=True)
    assert messages_of(r) == ["店铺 dy 需先授权"]
    assert SyncRun.objects.filter(shop=shop).count() == 1


def test_history_keeps_scheduled_runs_only_when_something_happened(shop, double):
    now = datetime.now(SHANGHAI)
    double.now = now
    run_sync("dy")  # nothing on the platform: not kept
    assert not SyncRun.objects.exists()
    double.add_order(3, now - timedelta(minutes=30), [("DY-TEA-250G", 1, 5990)])
    SyncState.objects.filter(shop=shop).update(cursor=now - timedelta(hours=1))
    run_sync("dy")
    [run] = SyncRun.objects.all()
    assert (run.kind, run.outcome, run.received) == ("scheduled", "ok", 1)


def test_push_only_shops_have_no_authorise_or_sync(hub, staff):
    mp = Shop.objects.get(code="mp")
    r = staff.post(f"{SHOPS}{mp.pk}/sync_now_detail/", follow=True)
    assert messages_of(r) == ["店铺 mp 由商城推送订单，无需拉取"]
    r = staff.get(f"{SHOPS}{mp.pk}/authorize_detail/", follow=True)
    assert messages_of(r) == ["店铺 mp 由商城推送订单，无需平台授权"]
    assert 'id="sync-history"' not in page(staff, f"{SHOPS}{mp.pk}/change/")


def test_sync_history_list_is_read_only_and_in_chinese(shop, double, staff):
    change_credential("dy", app_secret="not-the-secret")
    staff.post(f"{SHOPS}{shop.pk}/sync_now_detail/")
    html = page(staff, "/admin/channels/syncrun/")
    assert "失败" in html and "授权失效" in html and "立即同步" in html
    assert "AuthError" not in re.sub(r"<[^>]+>", "", html.split("<tbody", 1)[1]).split("（", 1)[0]
    assert staff.get("/admin/channels/syncrun/add/").status_code == 403
