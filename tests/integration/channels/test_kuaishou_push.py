"""快手小店 message push (消息推送) at POST /api/v1/push/{shop}: AES-CBC messages decrypted with the app's
message secret, the named order fetched from the local double over real HTTP and taken in through intake
once; replays, another key, altered bodies and other apps refused; other events acknowledged and ignored."""

import base64
import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tests.integration.channels.harness import authorised_shop, change_credential
from tests.platforms.kuaishou import SHANGHAI, KuaishouDouble, ms
from zhongshu.channels import inbox
from zhongshu.channels.models import PushInbox, PushReceipt
from zhongshu.orders.models import Order, OrderTransition

URL = "/api/v1/push/ks"
SECRET = "a3MtbXNnLXNlY3JldC0wMQ=="  # base64 of the 16 bytes "ks-msg-secret-01"
OTHER_SECRET = base64.b64encode(b"another-app-key!").decode()
AT = (datetime.now(SHANGHAI) - timedelta(days=1)).replace(hour=20, minute=0, second=0, microsecond=0)
OID = "2321300000000001"  # the double's order 1
SELLER = 2161524184

# A paid-order message for the double's app, encrypted by OpenSSL, not by this code:
#   printf '%s' "$PAID" | openssl enc -aes-128-cbc -K 6b732d6d73672d7365637265742d3031 -iv 0…0 -base64 -A
PAID = (
    '{"eventId":"243_7960_7301000000001","msgId":"84_7301000000001","bizId":2321300000000001,'
    '"userId":2161524184,"openId":"f18759ac87a28ea514bf5724a5df5751","appKey":"ks660340295617067960",'
    '"event":"kwaishop_order_paySuccess","info":"{\\"oid\\":2321300000000001,\\"sellerId\\":2161524184,'
    '\\"status\\":30,\\"updateTime\\":1773750945776}","status":2,"createTime":1773750943589,'
    '"updateTime":1773750945776,"operator":"2161524184"}'
)
PAID_BODY = (
    b"h0ISWZAjbTw/NwZikpXwwqqE18DgC2RXh3+djRhknkFtLUQuHxploeSmtluExH/kWGVzINCDZECXXENq+doRIS4OJq5+kYhZeOmLZIfo"
    b"biVzbCZZsIhvKQhWfZA+b5qWzHWyVs6pt4UTj/Es1u/pByCr42g322q3/wNIuQU4IE0G7TOzhLnx0S02ASVmN6sNm5lC4ABq5u4hHQPt"
    b"yiCzTmrJUiOOC9/XtgSxkXLVW5N4lmptbfxGgCdzdlL/ON4gz0YJsdDcEywOaqoRnaCAevFctvbBNQvh5iTVK1tPBXGnEj8clDVmaHLJ"
    b"OrOBshCXg4TQta5ho9ICFP76eTV8B6EkvCZVn50N70lX54v6W2gtTMcSuaK7IIigsCExCrNqOwIIWxhRMf0lM5l5Q/hhJ52KXKqBRcpE"
    b"YgcF0SIWw2BTTNiwHNYhSoA/1MyLJ6Q65jd75Izb5TS8KC31z98GTuNEpA2bmA/gpLMuY2llza2jIrlXrx8wZBz5lA8Lxnu0TnRYgQu7"
    b"MRQmpyrwBwfaYDE84fh6DTmYvhw840qMd8k="
)


DOUBLE = KuaishouDouble


@pytest.fixture
def shop(hub, double):
    return authorised_shop(double, "ks", "快手小店旗舰店", "kuaishou", ["KS-NUTS-500G"], app_key=double.app_key,
                           platform_shop_id=double.open_id, push_secret=double.sign_secret,
                           message_secret=SECRET)  # fmt: skip


def seal(plain: bytes, secret: str = SECRET) -> bytes:
    """What the platform sends: base64(AES-CBC(key = base64-decoded secret, IV = 0)(PKCS#5-padded text))."""
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(base64.b64decode(secret)), modes.CBC(bytes(16))).encryptor()
    padded = padder.update(plain) + padder.finalize()
    return base64.b64encode(encryptor.update(padded) + encryptor.finalize())


def encrypt(message: dict, secret: str = SECRET) -> bytes:
    return seal(json.dumps(message, ensure_ascii=False).encode(), secret)


def message(event: str, msg_id: str, info: dict, **fields) -> dict:
    now = ms(AT)
    return {"eventId": f"243_7960_{msg_id}", "msgId": msg_id, "bizId": int(OID), "userId": SELLER,
            "openId": KuaishouDouble.open_id, "appKey": KuaishouDouble.app_key, "event": event,
            "info": json.dumps(info), "status": 2, "createTime": now, "updateTime": now,
            "operator": str(SELLER), **fields}  # fmt: skip


def post(client, body: bytes):
    return client.post(URL, body, content_type="text/plain")


def details(double: KuaishouDouble) -> list[int]:
    """The oid of every open.order.detail call the double answered."""
    calls = [r for r in double.requests if r.query.get("method") == "open.order.detail"]
    return [json.loads(r.query["param"])["oid"] for r in calls]  # a GET


def state() -> tuple[int, int, int]:
    return Order.objects.count(), OrderTransition.objects.count(), PushReceipt.objects.count()


def test_the_messages_built_here_are_encrypted_as_openssl_does():
    assert seal(PAID.encode()) == PAID_BODY


def test_a_paid_order_message_lands_the_order_once_through_intake(client, shop, double):
    double.add_order(1, AT, "KS-NUTS-500G", 2, 6800, express=800)
    r = post(client, PAID_BODY)
    assert r.status_code == 200
    assert (r.json()["accepted"], r.json()["message_id"]) == (1, "84_7301000000001")
    assert r.json()["result"] == 1  # the acknowledgement Kuaishou expects
    order = Order.objects.get(shop=shop, channel_order_id=OID)
    assert (order.status, order.channel_status, order.paid_amount) == ("allocated", "paid", Decimal("144.00"))
    assert details(double) == [int(OID)]
    assert list(PushReceipt.objects.values_list("message_id", flat=True)) == ["84_7301000000001"]


def test_a_replay_is_409_and_changes_nothing(client, shop, double):
    double.add_order(1, AT, "KS-NUTS-500G", 2, 6800)
    assert post(client, PAID_BODY).status_code == 200
    before = state()
    assert (before[0], before[2]) == (1, 1)
    double.touch(OID, AT + timedelta(minutes=5), status=80)  # even a newer order is not read again
    again = post(client, PAID_BODY)
    assert again.status_code == 409
    assert state() == before
    assert Order.objects.get(channel_order_id=OID).channel_status == "paid"
    assert details(double) == [int(OID)]


def tampered(position: int) -> bytes:
    raw = bytearray(base64.b64decode(PAID_BODY))
    raw[position] ^= 0x01
    return base64.b64encode(bytes(raw))


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(seal(PAID.encode(), OTHER_SECRET), id="other-secret"),
        pytest.param(tampered(0), id="first-block-garbled"),
        pytest.param(tampered(200), id="info-block-garbled"),
        pytest.param(tampered(-1), id="padding-block-altered"),
        pytest.param(base64.b64encode(base64.b64decode(PAID_BODY)[:-16]), id="cut-by-a-block"),
        pytest.param(PAID_BODY[:-3], id="cut-inside-the-base64"),
        pytest.param(PAID.encode(), id="the-message-in-clear"),
        pytest.param(b"", id="empty"),
    ],
)
def test_a_wrong_key_or_an_altered_body_is_401_and_writes_nothing(client, shop, double, body):
    double.add_order(1, AT, "KS-NUTS-500G", 2, 6800)
    r = post(client, body)
    assert r.status_code == 401
    assert state() == (0, 0, 0)
    assert details(double) == []


def test_without_a_message_secret_every_push_is_refused(client, shop, double):
    change_credential("ks", message_secret="")
    double.add_order(1, AT, "KS-NUTS-500G", 2, 6800)
    assert post(client, PAID_BODY).status_code == 401
    assert state() == (0, 0, 0)


def test_a_message_for_another_app_key_is_refused(client, shop, double):
    double.add_order(1, AT, "KS-NUTS-500G", 2, 6800)
    body = encrypt(
        message("kwaishop_order_paySuccess", "84_2", {"oid": int(OID)}, appKey="ks699183844582124027")
    )
    r = post(client, body)
    assert r.status_code == 401
    assert state() == (0, 0, 0)
    assert details(double) == []


@pytest.mark.parametrize(
    "event, fields",
    [
        ("kwaishop_item_statusChange", {}),  # an item event (the name is illustrative)
        ("kwaishop_order_paySuccess", {"test": True}),  # the platform's connectivity test
        ("kwaishop_order_paySuccess", {"openId": "another-merchant-of-this-app"}),
    ],
    ids=["item-event", "test-message", "other-merchant"],
)
def test_messages_about_no_order_of_this_shop_are_acknowledged_and_ignored(
    client, shop, double, event, fields
):
    double.add_order(1, AT, "KS-NUTS-500G", 2, 6800)
    r = post(client, encrypt(message(event, "84_3", {"oid": int(OID), "itemId": 1}, **fields)))
    assert r.status_code == 200
    assert (r.json()["accepted"], r.json()["message_id"]) == (0, "84_3")
    assert (Order.objects.count(), details(double)) == (0, [])
    assert PushReceipt.objects.filter(message_id="84_3").exists()


def test_an_after_sale_message_fetches_the_order_with_its_refund(client, shop, double):
    double.add_order(1, AT, "KS-NUTS-500G", 2, 6800)
    assert post(client, PAID_BODY).status_code == 200
    double.request_refund(OID, AT + timedelta(hours=1))
    info = {"orderId": int(OID), "refundId": int(OID) + 7, "handlingWay": 10, "status": 10}
    r = post(client, encrypt(message("kwaishop_aftersales_addRefund", "84_4", info, bizId=int(OID) + 7)))
    assert (r.status_code, r.json()["accepted"]) == (200, 1)
    order = Order.objects.get(channel_order_id=OID)
    assert (order.channel_status, order.status) == ("refund_requested", "on_hold")
    assert details(double) == [int(OID), int(OID)]


def test_a_failed_fetch_leaves_the_message_pending_in_the_inbox_and_a_later_pass_takes_it_once(
    client, shop, double
):
    """The acknowledgement means "stored" (channels/inbox.py): the fetch fails in the worker's
    take-in, the message stays pending with its error, and a later pass takes it in once."""
    r = post(client, PAID_BODY)  # the order is not on the platform (yet): open.order.detail fails
    assert (r.status_code, r.json()["accepted"]) == (200, 1)
    assert state() == (0, 0, 0)
    row = PushInbox.objects.get(message_id="84_7301000000001")
    assert (row.taken_at, row.attempts) == (None, 1) and "ConnectorError" in row.last_error
    assert post(client, PAID_BODY).status_code == 409  # the platform's retry: stored already
    double.add_order(1, AT, "KS-NUTS-500G", 2, 6800)
    assert inbox.take_in() == 0  # not before its pause is over
    PushInbox.objects.update(not_before=None)
    assert inbox.take_in() == 1
    assert state()[0::2] == (1, 1)
    assert Order.objects.get(channel_order_id=OID).status == "allocated"
    assert inbox.take_in() == 0 and PushInbox.objects.get().taken_at is not None
