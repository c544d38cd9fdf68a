"""Taobao TMC (淘宝消息服务): the frame codec against frames built by hand from the protocol description,
and the listener over a real WebSocket to the local TMC double, fetching trades from the TOP double over
real HTTP: each trade taken in once and confirmed after the commit, duplicates confirmed without work,
failed fetches left for the redelivery, a refused handshake survived, a dropped connection resumed."""

import gzip
import hashlib
import struct
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections

from tests.integration.channels.harness import authorised_shop, change_credential, hub_counts, listening, wait
from tests.platforms.taobao import fmt
from tests.platforms.taobao_tmc import REFUSED, TaobaoTmcTop, TmcDouble
from zhongshu.channels.models import PushReceipt, Shop
from zhongshu.channels.taobao import tmc
from zhongshu.channels.taobao.tmc import MessageType, TmcMessage, TmcService, decode, encode
from zhongshu.orders.models import Order, OrderHold

SKU = "TB-TEA-250G"
TID = "3900000000000000001"
PAY = "taobao_trade_TradeBuyerPay"
live = pytest.mark.django_db(transaction=True)


# --- frames built by hand ------------------------------------------------------------------------


def counted(text: str) -> bytes:
    return struct.pack("<i", len(text.encode())) + text.encode()


def custom(name: str, fmt_byte: int, value: bytes) -> bytes:
    return b"\x01\x00" + counted(name) + bytes([fmt_byte]) + value


def test_confirm_frame_is_written_byte_for_byte():
    want = (
        b"\x02\x02"  # protocol 2, SEND
        + b"\x05\x00" + counted("tk-1")  # token header
        + custom("__kind", 2, b"\x02")  # byte 2: confirm
        + custom("id", 5, struct.pack("<q", 2_000_000_000_123))  # int64
        + b"\x00\x00"  # end of headers
    )  # fmt: skip
    assert encode(tmc.confirm_frame("tk-1", 2_000_000_000_123)) == want
    assert (
        encode(tmc.pull_frame("tk-1"))
        == b"\x02\x02\x05\x00" + counted("tk-1") + custom("__kind", 2, b"\x01") + b"\x00\x00"
    )


def test_handshake_is_signed_with_md5_of_the_secret_wrapped_sorted_params():
    frame = tmc.connect_frame("12345678", "tb-secret", timestamp_ms=1767225600000)
    text = "tb-secretapp_key12345678group_namedefaulttimestamp1767225600000tb-secret"
    assert frame.type == MessageType.CONNECT == 0
    assert frame.content == {"app_key": "12345678", "group_name": "default", "timestamp": "1767225600000",
                             "sign": hashlib.md5(text.encode()).hexdigest().upper(), "sdk": tmc.SDK}  # fmt: skip
    wire = encode(frame)
    assert wire[:2] == b"\x02\x00" and wire.endswith(b"\x00\x00")
    assert custom("app_key", 1, counted("12345678")) in wire


def test_a_data_frame_of_every_value_format_is_read_and_written_back_unchanged():
    at = datetime(2026, 11, 11, 0, 0, 1, tzinfo=UTC)
    ms = struct.pack("<q", 1_794_355_201_000)
    content = '{"tid":3900000000000000001,"seller_nick":"旗舰店"}'
    wire = (b"\x02\x02" + custom("__kind", 2, b"\x03") + custom("id", 5, struct.pack("<q", 9_000_000_000_000_000_001))
            + custom("topic", 1, counted(PAY)) + custom("content", 1, counted(content)) + custom("time", 6, ms)
            + custom("userid", 5, struct.pack("<q", 2200001234567)) + custom("nick", 1, counted("旗舰店"))
            + custom("empty", 0, b"") + b"\x00\x00")  # fmt: skip
    frame = decode(wire)
    assert (frame.version, frame.type, frame.token) == (2, MessageType.SEND, "")
    assert frame.content == {"__kind": 3, "id": 9_000_000_000_000_000_001, "topic": PAY, "content": content,
                             "time": at, "userid": 2200001234567, "nick": "旗舰店", "empty": None}  # fmt: skip
    assert encode(frame) == wire
    message = TmcMessage.from_frame(frame)
    assert (message.id, message.user_id, message.content["tid"]) == (9_000_000_000_000_000_001, "2200001234567",
                                                                     3900000000000000001)  # fmt: skip


def test_status_headers_narrow_integers_and_gzip_content_are_read():
    zipped = gzip.compress(b'{"tid":7}')
    wire = (b"\x02\x01" + b"\x02\x00" + struct.pack("<i", 401) + b"\x03\x00" + counted("invalid sign")
            + b"\x04\x00" + struct.pack("<i", 1) + custom("small", 3, struct.pack("<h", -2))
            + custom("mid", 4, struct.pack("<i", 70_000)) + custom("id", 5, struct.pack("<q", 5))
            + custom("content", 7, struct.pack("<i", len(zipped)) + zipped) + b"\x00\x00")  # fmt: skip
    frame = decode(wire)
    assert (frame.type, frame.status_code, frame.status_phrase, frame.flag) == (1, 401, "invalid sign", 1)
    assert (frame.content["small"], frame.content["mid"]) == (-2, 70_000)
    assert TmcMessage.from_frame(frame).content == {"tid": 7}
    with pytest.raises(tmc.FrameError):
        decode(wire[:-5])  # cut short
    with pytest.raises(tmc.FrameError):
        decode(b"\x02\x02\x09\x00")  # unknown header type


# --- over the wire -------------------------------------------------------------------------------


@pytest.fixture
def top(hub):
    with TaobaoTmcTop() as double:
        yield double


@pytest.fixture
def tmc_double(top):
    # redelivery after 2 s (real TMC: minutes): see test_pdd_messages
    with TmcDouble(top.app_key, top.app_secret, redeliver_after=2.0) as double:
        yield double


@pytest.fixture
def shop(top) -> Shop:
    return authorised_shop(top, "tb", "天猫旗舰店", "taobao", [SKU], app_key=top.app_key,
                           platform_shop_id=top.seller_id)  # fmt: skip


def put_trade(top: TaobaoTmcTop, tid: str = TID, refund: str = "NO_REFUND") -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    sub = {"oid": int(tid) * 10, "title": "明前龙井 250g", "price": "59.00", "num": 2, "payment": "118.00",
           "total_fee": "118.00", "discount_fee": "0.00", "adjust_fee": "0.00", "outer_iid": "SPU-TEA",
           "outer_sku_id": SKU, "status": "WAIT_SELLER_SEND_GOODS", "refund_status": refund}  # fmt: skip
    trade = {"tid": int(tid), "status": "WAIT_SELLER_SEND_GOODS", "type": "fixed",
             "created": fmt(now - timedelta(minutes=5)), "pay_time": fmt(now - timedelta(minutes=1)),
             "payment": "118.00", "post_fee": "0.00",
             "total_fee": "118.00", "buyer_open_uid": "AAH12345678", "buyer_nick": "t**8",
             "orders": {"order": [sub]}}  # fmt: skip
    receiver = {"state": "四川省", "city": "成都市", "district": "武侯区", "name": "王小明", "mobile": "13800138000",
                "address": "天府大道北段1700号"}  # fmt: skip
    top.put_trade(trade, receiver, now)


def trade_message(top: TaobaoTmcTop, tid: str = TID) -> dict:
    return {"tid": int(tid), "oid": int(tid) * 10, "buyer_nick": "t**8", "seller_nick": "zhongshu旗舰店",
            "payment": "118.00", "type": "guarantee_trade"}  # fmt: skip


def connected(tmc_double: TmcDouble, top: TaobaoTmcTop, times: int = 1) -> None:
    wait(lambda: tmc_double.connections >= times and top.permits)


@pytest.fixture
def online(shop, top, tmc_double):
    """Trade TID on TOP, the worker's TMC service connected to the double and the shop permitted."""
    put_trade(top)
    with listening(TmcService, tmc_double.url):
        connected(tmc_double, top)
        yield


def pay_confirmed(tmc_double: TmcDouble, top: TaobaoTmcTop, tid: str = TID, before: tuple = ()) -> int:
    """Publish the buyer-pay message of `tid`, wait until it is confirmed (after `before`); its id."""
    mid = tmc_double.publish(PAY, trade_message(top, tid), top.seller_id)
    wait(lambda: tmc_double.confirmed == [*before, mid])
    return mid


@live
def test_a_paid_trade_lands_once_and_is_confirmed_after_the_commit(online, shop, top, tmc_double):
    committed_at_confirm = []

    def check(message_id: int) -> None:  # on the double's thread: its own database connection
        try:
            committed_at_confirm.append(PushReceipt.objects.filter(message_id=f"tmc:{message_id}").exists()
                                        and Order.objects.filter(channel_order_id=TID).exists())  # fmt: skip
        finally:
            connections.close_all()

    tmc_double.on_ack = check
    mid = pay_confirmed(tmc_double, top)
    assert committed_at_confirm == [True]
    order = Order.objects.get(shop=shop, channel_order_id=TID)
    assert (order.channel_status, order.paid_amount, order.lines.get().sku.code) == ("paid", 118, SKU)
    assert top.fetches(TID) == 1 and tmc_double.delivered == [mid]
    assert top.permits == [shop.credential.access_token]  # with the seller's session, once


@live
def test_a_duplicate_message_changes_nothing_and_is_confirmed(online, shop, top, tmc_double):
    mid = pay_confirmed(tmc_double, top)
    before = hub_counts()
    tmc_double.publish(PAY, trade_message(top), top.seller_id, message_id=mid)  # the same message again
    wait(lambda: tmc_double.confirmed == [mid, mid])
    assert hub_counts() == before
    assert top.fetches(TID) == 1  # not fetched again
    assert PushReceipt.objects.filter(shop=shop).count() == 1


@live
def test_a_failed_fetch_is_not_confirmed_and_the_redelivery_lands_it(online, top, tmc_double, caplog):
    top.fail_next(1, status=502)  # the next TOP call: the trade fetch
    mid = pay_confirmed(tmc_double, top)
    assert top.fetches(TID) == 2
    assert tmc_double.delivered == [mid, mid]  # delivered again because it was not confirmed
    assert Order.objects.filter(channel_order_id=TID).count() == 1
    assert "not taken in (TMC delivers it again): TransientError 502" in caplog.text


@live
def test_a_message_of_an_unknown_seller_is_confirmed_and_ignored(online, top, tmc_double, caplog):
    mid = tmc_double.publish(PAY, trade_message(top), "2200009999999")
    other = tmc_double.publish("taobao_item_ItemAdd", {"num_iid": 1}, top.seller_id)
    wait(lambda: sorted(tmc_double.confirmed) == sorted([mid, other]))
    assert top.fetches(TID) == 0
    assert not Order.objects.exists() and not PushReceipt.objects.exists()
    assert "seller 2200009999999 is no active shop; ignored" in caplog.text


@live
def test_the_refund_message_puts_the_order_on_hold(online, top, tmc_double):
    paid = pay_confirmed(tmc_double, top)
    top.set_refund(TID, datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1), "WAIT_SELLER_AGREE")
    refund = {**trade_message(top), "refund_id": 1234567, "refund_fee": "59.00", "refund_phase": "onsale"}
    created = tmc_double.publish("taobao_refund_RefundCreated", refund, top.seller_id)
    wait(lambda: tmc_double.confirmed == [paid, created])
    order = Order.objects.get(channel_order_id=TID)
    assert (order.channel_status, order.status) == ("refund_requested", "on_hold")
    holds = OrderHold.objects.filter(order=order, released_at=None)
    assert list(holds.values_list("code", flat=True)) == ["refund_requested"]


@live
def test_a_dropped_connection_is_reconnected_and_later_messages_arrive(online, top, tmc_double):
    put_trade(top, tid="3900000000000000002")
    first = pay_confirmed(tmc_double, top)
    tmc_double.drop()
    wait(lambda: tmc_double.connections == 2)
    pay_confirmed(tmc_double, top, "3900000000000000002", before=(first,))
    assert set(Order.objects.values_list("channel_order_id", flat=True)) == {TID, "3900000000000000002"}
    assert len(top.permits) == 1  # permitted once per process, not at each connection


@live
def test_a_wrong_secret_is_refused_and_the_listener_keeps_trying_without_crashing(
    shop, top, tmc_double, caplog
):
    change_credential("tb", app_secret="not-the-secret")
    with listening(TmcService, tmc_double.url) as service:
        wait(lambda: len(tmc_double.refused) >= 2)  # refused, waited, tried again
        assert all(t.is_alive() for t in service.listeners.values())
        assert set(tmc_double.refused) == {"invalid sign"} and tmc_double.connections == 0
        assert f"TMC refused the handshake (check app key and secret): {REFUSED} invalid sign" in caplog.text
        assert top.permits == []  # the permit call is refused too (signature): logged, not fatal
        assert "taobao.tmc.user.permit for shop tb failed" in caplog.text

        change_credential("tb", app_secret=top.app_secret)  # corrected in the admin: no restart needed
        connected(tmc_double, top)
    assert len(service.listeners) == 1


@live
def test_a_failed_permit_is_tried_again_and_then_never_repeated(shop, top, tmc_double, caplog):
    top.fail_next(1, status=500)
    with listening(TmcService, tmc_double.url):
        wait(lambda: len(top.permits) == 1)
        time.sleep(0.3)  # several more looks
    assert "taobao.tmc.user.permit for shop tb failed (tried again later): TransientError 500" in caplog.text
    assert top.permits == [shop.credential.access_token]


@live
def test_nothing_connects_without_an_authorised_taobao_shop_or_when_disabled(
    hub, top, tmc_double, monkeypatch
):
    with listening(TmcService, tmc_double.url) as service:
        time.sleep(0.3)
    assert service.listeners == {} and tmc_double.connections == 0 and tmc_double.refused == []

    authorised_shop(
        top, "tb", "天猫旗舰店", "taobao", [SKU], app_key=top.app_key, platform_shop_id=top.seller_id
    )
    monkeypatch.setenv("ZHONGSHU_TAOBAO_TMC", "0")
    with listening(TmcService, tmc_double.url) as service:
        time.sleep(0.3)
    assert service.listeners == {} and tmc_double.connections == 0 and top.permits == []
