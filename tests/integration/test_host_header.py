"""The Host header: only this hub's own names are served (localhost names, the host of
ZHONGSHU_PUBLIC_URL, ZHONGSHU_ALLOWED_HOSTS); links that leave the hub (OAuth callbacks, push URLs)
are built from ZHONGSHU_PUBLIC_URL, never from what a request claims."""

import json
import os
import subprocess
import sys
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import override_settings

from tests.integration.channels.fake_platform import FakeDouble, make_shop
from zhongshu.channels.models import Shop


def settings_under(env: dict) -> dict:
    """ALLOWED_HOSTS, PUBLIC_URL and CSRF_TRUSTED_ORIGINS as zhongshu.settings computes them."""
    code = (
        "import json; from zhongshu import settings as s; "
        "print(json.dumps([s.ALLOWED_HOSTS, s.PUBLIC_URL, s.CSRF_TRUSTED_ORIGINS]))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ZHONGSHU_")}
    home = {"ZHONGSHU_HOME": os.environ["ZHONGSHU_HOME"], "ZHONGSHU_SECRET_KEY": "x" * 50}
    out = subprocess.run([sys.executable, "-c", code], env={**clean, **home, **env}, capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    hosts, public, origins = json.loads(out)
    return {"hosts": hosts, "public": public, "origins": origins}


def test_by_default_only_the_local_names_are_served():
    s = settings_under({})
    assert s["hosts"] == ["localhost", "127.0.0.1", "[::1]"]
    assert s["public"] == "http://127.0.0.1:8000"


def test_the_public_url_and_the_extra_names_are_served_too():
    s = settings_under(
        {
            "ZHONGSHU_PUBLIC_URL": "https://hub.example.com:8443/",
            "ZHONGSHU_ALLOWED_HOSTS": "10.0.0.5, hub.lan",
        }
    )
    assert s["hosts"] == ["localhost", "127.0.0.1", "[::1]", "hub.example.com", "10.0.0.5", "hub.lan"]
    assert s["public"] == "https://hub.example.com:8443"
    assert "https://hub.example.com:8443" in s["origins"]
    assert settings_under({"ZHONGSHU_PUBLIC_URL": "http://[fd00::7]:8000"})["hosts"][-1] == "[fd00::7]"


def test_an_unknown_host_gets_400(client, db):
    assert client.get("/admin/login/", HTTP_HOST="evil.example").status_code == 400
    assert client.get("/admin/login/", HTTP_HOST="localhost:8000").status_code == 200
    assert client.get("/admin/login/", HTTP_HOST="127.0.0.1").status_code == 200


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def double():
    with FakeDouble() as d:
        yield d


@override_settings(PUBLIC_URL="https://hub.example.com", ALLOWED_HOSTS=["localhost", "hub.example.com"])
def test_the_oauth_callback_is_built_from_the_public_url_not_the_host(hub, double, staff):
    make_shop(double, "zs1", authorised=False)

    leave = staff.get("/channels/oauth/start/zs1/", HTTP_HOST="localhost:8000")

    assert leave.status_code == 302
    query = parse_qs(urlsplit(leave["Location"]).query)
    assert query["redirect_uri"] == ["https://hub.example.com/channels/oauth/callback/zs1/"]


@override_settings(PUBLIC_URL="https://hub.example.com")
def test_the_shop_page_shows_the_push_url_on_the_public_url(hub, staff):
    page = staff.get(f"/admin/shops/shop/{Shop.objects.get(code='mp').pk}/change/").content.decode()
    assert "推送地址" in page and "https://hub.example.com/api/v1/push/mp" in page
    tb = staff.get(f"/admin/shops/shop/{Shop.objects.get(code='tb').pk}/change/").content.decode()
    assert "推送地址" not in tb  # Taobao sends its messages over TMC, not to a push URL
