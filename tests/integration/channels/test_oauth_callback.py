"""OAuth authorisation-code flow of a shop: the admin's link leaves for the platform with a signed
state; the callback exchanges the code over real HTTP and stores the tokens encrypted; forged,
altered or foreign states are refused. Also `zhongshu shop connect` and `shop authorize-url`."""

from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.core import signing
from typer.testing import CliRunner

from tests.integration.channels.fake_platform import APP_KEY, APP_SECRET, FakeDouble, make_shop
from zhongshu.channels.models import Shop, ShopCredential, SyncState
from zhongshu.channels.views import oauth_state, shop_of_state
from zhongshu.cli import app

CALLBACK = "/channels/oauth/callback/zs1/"
runner = CliRunner()


@pytest.fixture
def double():
    with FakeDouble() as d:
        yield d


def token_requests(double: FakeDouble) -> list[dict]:
    return [r.form for r in double.requests if r.path == "/oauth/token"]


def test_callback_with_a_valid_state_stores_the_tokens_encrypted(hub, double, staff):
    shop = make_shop(double, "zs1", authorised=False)
    code = double.issue_code()

    response = staff.get(CALLBACK, {"code": code, "state": oauth_state("zs1")})

    assert response.status_code == 302
    assert response["Location"] == f"/admin/shops/shop/{shop.pk}/change/"
    cred = ShopCredential.objects.get(shop=shop)
    assert cred.access_token in double.tokens and cred.refresh_token.startswith("rt-")
    assert cred.access_token not in cred.access_token_enc and cred.refresh_token not in cred.refresh_token_enc
    raw = ShopCredential.objects.filter(pk=cred.pk).values_list("access_token_enc", "refresh_token_enc").get()
    assert cred.access_token not in raw[0] and cred.refresh_token not in raw[1]  # the DB column is ciphertext
    assert (cred.needs_reauth, cred.platform_shop_id) == (False, "S-1001") and cred.expires_at is not None
    [form] = token_requests(double)
    assert form["grant_type"] == "authorization_code" and form["code"] == code
    assert form["redirect_uri"] == settings.PUBLIC_URL + CALLBACK
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == ["店铺 zs1 已授权"]


def test_callback_clears_the_reauthorisation_flag(hub, double, staff):
    make_shop(double, "zs1")
    ShopCredential.objects.filter(shop__code="zs1").update(needs_reauth=True)

    staff.get(CALLBACK, {"code": double.issue_code(), "state": oauth_state("zs1")})

    assert ShopCredential.objects.get(shop__code="zs1").needs_reauth is False


@pytest.mark.parametrize(
    "state",
    [
        "forged",
        pytest.param(signing.dumps({"shop": "zs1"}, salt="another.salt"), id="other-salt"),
        pytest.param(oauth_state("zs2"), id="other-shop"),
        pytest.param(oauth_state("zs1")[:-2] + "xx", id="altered"),
        pytest.param("", id="missing"),
    ],
)
def test_a_forged_state_is_refused_with_400_and_nothing_is_exchanged(hub, double, staff, state):
    make_shop(double, "zs1", authorised=False)
    make_shop(double, "zs2", authorised=False)

    response = staff.get(CALLBACK, {"code": double.issue_code(), "state": state})

    assert response.status_code == 400
    assert token_requests(double) == []
    assert ShopCredential.objects.get(shop__code="zs1").access_token_enc == ""


def test_declined_authorisation_returns_to_the_admin_with_a_message(hub, double, staff):
    make_shop(double, "zs1", authorised=False)

    response = staff.get(CALLBACK, {"error": "access_denied", "state": oauth_state("zs1")})

    assert response.status_code == 302
    assert "access_denied" in [str(m) for m in response.wsgi_request._messages][0]
    assert token_requests(double) == []


def test_a_refused_code_is_reported_not_stored(hub, double, staff):
    make_shop(double, "zs1", authorised=False)

    response = staff.get(CALLBACK, {"code": "not-issued", "state": oauth_state("zs1")})

    assert response.status_code == 302
    assert "授权失败" in [str(m) for m in response.wsgi_request._messages][0]
    assert ShopCredential.objects.get(shop__code="zs1").access_token_enc == ""


def test_the_callback_needs_a_signed_in_staff_user(hub, double, client):
    make_shop(double, "zs1", authorised=False)

    response = client.get(CALLBACK, {"code": double.issue_code(), "state": oauth_state("zs1")})

    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert token_requests(double) == []


def test_start_then_callback_round_trip(hub, double, staff):
    make_shop(double, "zs1", authorised=False)

    leave = staff.get("/channels/oauth/start/zs1/")

    assert leave.status_code == 302
    url = urlsplit(leave["Location"])
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{double.url}/oauth/authorize"
    assert (query["response_type"], query["client_id"]) == ("code", APP_KEY)
    assert query["redirect_uri"] == settings.PUBLIC_URL + CALLBACK
    assert shop_of_state(query["state"]) == "zs1"
    back = staff.get(CALLBACK, {"code": double.issue_code(), "state": query["state"]})
    assert back.status_code == 302
    assert ShopCredential.objects.get(shop__code="zs1").access_token in double.tokens


def test_cli_shop_connect_creates_the_shop_with_an_encrypted_secret(db, double):
    args = ["shop", "connect", "zs9", "--platform", "taobao", "--app-key", "K1", "--app-secret", APP_SECRET]

    result = runner.invoke(app, [*args, "--api-base-url", double.url, "--name", "天猫店"])

    assert result.exit_code == 0, result.output
    assert APP_SECRET not in result.output
    shop = Shop.objects.get(code="zs9")
    cred = ShopCredential.objects.get(shop=shop)
    assert (shop.name, shop.platform, cred.app_key, cred.api_base_url) == (
        "天猫店",
        "taobao",
        "K1",
        double.url,
    )
    assert cred.app_secret == APP_SECRET and APP_SECRET not in cred.app_secret_enc
    assert SyncState.objects.filter(shop=shop, enabled=True).exists()
    again = runner.invoke(app, ["shop", "connect", "zs9", "--platform", "taobao", "--app-key", "K2",
                                "--app-secret", "s2"])  # fmt: skip
    assert again.exit_code == 0 and "updated" in again.stdout
    assert (ShopCredential.objects.get(shop=shop).app_key, ShopCredential.objects.count()) == ("K2", 1)


def test_cli_shop_connect_refuses_unknown_platforms_and_platform_changes(db):
    base = ["--app-key", "K", "--app-secret", "S"]
    assert runner.invoke(app, ["shop", "connect", "zs9", "--platform", "ebay", *base]).exit_code == 1
    assert runner.invoke(app, ["shop", "connect", "zs9", "--platform", "pdd", *base]).exit_code == 0
    moved = runner.invoke(app, ["shop", "connect", "zs9", "--platform", "jd", *base])
    assert moved.exit_code == 1 and "cannot change platform" in moved.stderr
    assert Shop.objects.get(code="zs9").platform == "pdd"


def test_cli_authorize_url_prints_the_platform_page_with_a_signed_state(hub, double):
    make_shop(double, "zs1", authorised=False)

    result = runner.invoke(app, ["shop", "authorize-url", "zs1", "--redirect-uri", "https://hub.example/cb/"])

    assert result.exit_code == 0, result.output
    url = urlsplit(result.stdout.strip())
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert url.path == "/oauth/authorize" and query["redirect_uri"] == "https://hub.example/cb/"
    assert shop_of_state(query["state"]) == "zs1"
    assert runner.invoke(app, ["shop", "authorize-url", "nope", "--redirect-uri", "x"]).exit_code == 1


def test_cli_authorize_url_comes_back_to_the_public_url_by_default(hub, double, settings):
    settings.PUBLIC_URL = "https://hub.example.com"
    make_shop(double, "zs1", authorised=False)

    result = runner.invoke(app, ["shop", "authorize-url", "zs1"])

    assert result.exit_code == 0, result.output
    query = parse_qs(urlsplit(result.stdout.strip()).query)
    assert query["redirect_uri"] == ["https://hub.example.com" + CALLBACK]
