"""The robot signatures against independent vectors, and the alert decision (dedup, cooldown, resolve)."""

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from zhongshu.notify import domain, protocols

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
COOL = timedelta(minutes=30)


def test_dingtalk_sign_matches_the_dingding_crate_vector():
    # docs.rs/crate/dingding src/signature.rs: creates_expected_signature
    assert (
        protocols.dingtalk_sign(1700000000000, "secret")
        == "OuzzJR5%2BxZ4%2FEYwqtNt6sMYZQMTa%2FHEGvc9miJe7XzY%3D"
    )


def test_dingtalk_request_carries_timestamp_sign_and_at_mobiles():
    url, body = protocols.dingtalk_request(
        "http://h/", "T", "S", 1700000000000, "标题", "正文", ["13900001111"]
    )
    q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert (
        urlsplit(url).path == "/robot/send" and q["access_token"] == "T" and q["timestamp"] == "1700000000000"
    )
    raw = base64.b64encode(hmac.new(b"S", b"1700000000000\nS", hashlib.sha256).digest()).decode()
    assert q["sign"] == raw  # urlencoded on the wire, decoded back by the server
    assert body["msgtype"] == "markdown" and body["markdown"]["title"] == "标题"
    assert body["at"] == {"atMobiles": ["13900001111"], "isAtAll": False}
    assert "@13900001111" in body["markdown"]["text"]


def test_feishu_sign_is_keyed_by_timestamp_and_secret_over_an_empty_message():
    expected = base64.b64encode(hmac.new(b"1700000000\nsecret", b"", hashlib.sha256).digest()).decode()
    assert protocols.feishu_sign(1700000000, "secret") == expected
    url, body = protocols.feishu_request("http://h", "tok", "secret", 1700000000, "t", "x")
    assert url == "http://h/open-apis/bot/v2/hook/tok"
    assert (body["timestamp"], body["sign"], body["msg_type"]) == ("1700000000", expected, "interactive")


def test_wecom_request():
    url, body = protocols.wecom_request("http://h", "k-1", "# 标题")
    assert url == "http://h/cgi-bin/webhook/send?key=k-1"
    assert body == {"msgtype": "markdown", "markdown": {"content": "# 标题"}}


def test_breached():
    assert domain.breached(Decimal(801), "gt", Decimal(800))
    assert not domain.breached(Decimal(800), "gt", Decimal(800))
    assert domain.breached(Decimal(800), "gte", Decimal(800))
    assert domain.breached(Decimal(1), "lt", Decimal(2))
    assert not domain.breached(None, "lt", Decimal(2))


def test_decide_fires_once_reminds_after_cooldown_and_resolves():
    assert domain.decide(False, None, True, NOW, COOL) == domain.FIRING
    assert domain.decide(True, NOW, True, NOW + timedelta(minutes=1), COOL) is None
    assert domain.decide(True, NOW, True, NOW + COOL, COOL) == domain.REMINDER
    assert domain.decide(True, NOW, False, NOW + timedelta(minutes=1), COOL) == domain.RESOLVED
    assert domain.decide(False, NOW, False, NOW + timedelta(minutes=1), COOL) is None
