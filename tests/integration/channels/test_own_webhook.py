"""Own-shop webhooks: POST /api/v1/push/{shop} signed with the shop's secret, through intake."""

import time

import pytest

from tests.factories import example_order, put_stock
from tests.platforms.own import sign, signed_push
from zhongshu.channels.models import PushReceipt, Shop, ShopCredential
from zhongshu.core.models import OutboxEvent
from zhongshu.inventory.models import StockLevel
from zhongshu.orders.models import Order, OrderTransition

SECRET = "mp-webhook-secret-测试"
URL = "/api/v1/push/mp"


@pytest.fixture
def mp(hub):
    """The hub's own shop 'mp' with a push secret; 10 dumplings in Chengdu."""
    cred = ShopCredential.objects.create(shop=Shop.objects.get(code="mp"), app_key="mp", push_secret=SECRET)
    put_stock("DUMPLING-500G", "CD", 10)
    return cred


def push(client, payload, secret=SECRET, url=URL, **kw):
    body, headers = signed_push(secret, payload, **kw)
    return client.post(url, body, content_type="application/json", **headers)


def post_signed(client, body: bytes, secret: str):
    """POST raw `body` signed with `secret` just now, without a message id."""
    ts = str(int(time.time()))
    return client.post(
        URL, body, content_type="application/json",
        HTTP_X_ZHONGSHU_TIMESTAMP=ts, HTTP_X_ZHONGSHU_SIGNATURE=sign(secret, ts, body),
    )  # fmt: skip


def state():
    return (
        Order.objects.count(),
        OrderTransition.objects.count(),
        OutboxEvent.objects.count(),
        PushReceipt.objects.count(),
        list(StockLevel.objects.order_by("pk").values_list("reserved", flat=True)),
    )


def test_signed_push_creates_the_order_through_intake(client, mp):
    r = push(client, example_order(), message_id="msg-1")
    assert r.status_code == 200
    assert r.json() == {"accepted": 1, "message_id": "msg-1", "data": "ok", "result": 1}
    o = Order.objects.get(shop__code="mp", channel_order_id="MP202611270001")
    assert (o.status, o.warehouse.code) == ("allocated", "CD")
    assert StockLevel.objects.get(warehouse__code="CD").reserved == 2
    assert list(PushReceipt.objects.values_list("message_id", flat=True)) == ["msg-1"]


def test_batch_push_takes_every_order(client, mp):
    orders = [example_order(channel_order_id=f"MP-{n}") for n in range(3)]
    r = push(client, {"orders": orders})
    assert (r.status_code, r.json()["accepted"]) == (200, 3)
    assert Order.objects.filter(status="allocated").count() == 3
    assert StockLevel.objects.get(warehouse__code="CD").reserved == 6


def test_message_id_defaults_to_the_signature(client, mp):
    """A push without a message id signs timestamp and body only; its signature is its id."""
    body, headers = signed_push(SECRET, example_order(), message_id="")
    assert "HTTP_X_ZHONGSHU_MESSAGE_ID" not in headers
    r = client.post(URL, body, content_type="application/json", **headers)
    assert r.json()["message_id"] == headers["HTTP_X_ZHONGSHU_SIGNATURE"]
    assert client.post(URL, body, content_type="application/json", **headers).status_code == 409


def test_bad_signature_is_refused_and_writes_nothing(client, mp):
    before = state()
    r = push(client, example_order(), secret="not-the-secret")
    assert r.status_code == 401
    assert state() == before


def test_tampered_body_is_refused(client, mp):
    body, headers = signed_push(SECRET, example_order())
    r = client.post(URL, body.replace(b"64.80", b"0.01"), content_type="application/json", **headers)
    assert r.status_code == 401
    assert Order.objects.count() == 0


# 300 s is the window; 330 keeps the test clear of the seconds that pass while it runs
# (with ±301 a slow machine crossed back inside the window between signing and checking).
@pytest.mark.parametrize("age", [330, -330])
def test_timestamp_outside_the_window_is_refused(client, mp, age):
    before = state()
    r = push(client, example_order(), timestamp=int(time.time()) - age)
    assert r.status_code == 401
    assert state() == before


def test_unsigned_push_is_refused(client, mp):
    r = client.post(URL, b"{}", content_type="application/json")
    assert r.status_code == 401


def test_shop_without_a_secret_refuses_even_an_empty_key_signature(client, mp):
    ShopCredential.objects.filter(pk=mp.pk).update(push_secret_enc="")
    r = post_signed(client, b'{"shop": "mp"}', secret="")
    assert r.status_code == 401


def test_replay_is_refused_and_changes_nothing(client, mp):
    body, headers = signed_push(SECRET, example_order(), message_id="msg-7")
    assert client.post(URL, body, content_type="application/json", **headers).status_code == 200
    before = state()
    again = client.post(URL, body, content_type="application/json", **headers)
    assert again.status_code == 409
    assert state() == before


def test_replay_under_a_new_message_id_is_refused_and_changes_nothing(client, mp):
    """The message id is signed: a captured push resent with another id (to slip past the replay
    check) no longer matches its signature."""
    body, headers = signed_push(SECRET, example_order(), message_id="msg-8")
    assert client.post(URL, body, content_type="application/json", **headers).status_code == 200
    before = state()
    again = client.post(
        URL, body, content_type="application/json", **{**headers, "HTTP_X_ZHONGSHU_MESSAGE_ID": "msg-9"}
    )
    assert again.status_code == 401
    assert state() == before


def test_a_signed_message_id_cannot_be_dropped(client, mp):
    """Without its id, a push signed with one would be checked as an id-less push: it fails too."""
    body, headers = signed_push(SECRET, example_order(), message_id="msg-10")
    del headers["HTTP_X_ZHONGSHU_MESSAGE_ID"]
    assert client.post(URL, body, content_type="application/json", **headers).status_code == 401
    assert state()[3] == 0


def test_invalid_order_names_the_field_and_writes_nothing(client, mp):
    order = example_order()
    del order["receiver"]["phone"]
    before = state()
    r = push(client, order)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["detail"]] == ["receiver.phone"]
    assert state() == before


def test_invalid_order_in_a_batch_is_named_by_index(client, mp):
    bad = example_order(channel_order_id="MP-2", paid_amount=64.8)
    r = push(client, {"orders": [example_order(), bad]})
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["detail"]] == ["orders[1].paid_amount"]
    assert Order.objects.count() == 0


def test_order_of_another_shop_is_refused(client, mp):
    r = push(client, example_order(shop="tb"))
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["detail"]] == ["shop"]
    assert Order.objects.count() == 0


def test_unknown_sku_names_the_line_and_writes_nothing(client, mp):
    order = example_order(channel_order_id="MP-9")
    order["lines"][0]["sku"] = "NO-SUCH-SKU"
    before = state()
    r = push(client, {"orders": [order]})
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["detail"]] == ["orders[0].lines[0].sku"]
    assert state() == before


def test_malformed_json_is_named_as_the_body(client, mp):
    r = post_signed(client, b'{"shop": "mp",', SECRET)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "body"


def test_unknown_shop_is_404(client, mp):
    r = push(client, example_order(), url="/api/v1/push/nope")
    assert r.status_code == 404


def test_a_push_waits_longer_for_a_thread_before_it_is_shed(client, mp, settings):
    """A platform waits seconds for the acknowledgement and retries a 503: a push is shed only after
    ZHONGSHU_PUSH_QUEUE_DEADLINE_MS (1500), an order after ZHONGSHU_QUEUE_DEADLINE_MS (500)."""
    settings.QUEUE_DEADLINE_MS, settings.PUSH_QUEUE_DEADLINE_MS, settings.REQUEST_BUDGET_MS = 500, 1500, 1000
    queued = {"HTTP_X_REQUEST_START": f"t={time.time() - 1.0:.3f}"}  # waited a second for a thread
    body, headers = signed_push(SECRET, {"orders": [example_order(channel_order_id="MP-Q1")]})
    r = client.post(URL, body, content_type="application/json", **headers, **queued)
    assert r.status_code == 200, r.content  # stored: its budget is 2 s, not 1 s
    assert Order.objects.filter(channel_order_id="MP-Q1").exists()  # taken in (tests: at once)
    late = {"HTTP_X_REQUEST_START": f"t={time.time() - 1.6:.3f}"}
    body, headers = signed_push(SECRET, {"orders": [example_order(channel_order_id="MP-Q2")]})
    r = client.post(URL, body, content_type="application/json", **headers, **late)
    assert r.status_code == 503 and r["Retry-After"] == "1"
    assert not Order.objects.filter(channel_order_id="MP-Q2").exists()
    r = client.post("/api/v1/orders", example_order(channel_order_id="MP-Q3"), content_type="application/json",
                    **queued)  # fmt: skip
    assert r.status_code == 503  # an order waited past its own 500 ms
