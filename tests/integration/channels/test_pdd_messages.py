"""PDD's message service (消息服务): the signed address and the frames against values written out by hand,
and the listener over a real WebSocket to the local service double, fetching orders from the PDD gateway
double over real HTTP: each order taken in once and acknowledged after the commit, duplicates
acknowledged without work, failed fetches left for the redelivery, a wrong secret refused and survived,
a dropped connection resumed, messages of unknown malls acknowledged and ignored."""

import json
import threading
import time
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connections

from tests.integration.channels.harness import change_credential, connect_shop, hub_counts, listening, wait
from tests.platforms.pdd import SHANGHAI
from tests.platforms.pdd_messages import REFUSED, PddMessageDouble, PddMessagesPlatform
from zhongshu.channels.listener import FrameError
from zhongshu.channels.models import PushReceipt, Shop
from zhongshu.channels.pdd import messages
from zhongshu.channels.pdd.messages import PddMessage, PddMessageService
from zhongshu.channels.services import authorize
from zhongshu.orders.models import Order, OrderHold

SKU = "PDD-TEA-250G"
SN = "261127-000000000000001"
CONFIRMED = "pdd_trade_TradeConfirmed"
live = pytest.mark.django_db(transaction=True)


# --- the address and the frames ------------------------------------------------------------------


def test_the_address_is_signed_with_base64_of_the_hex_md5():
    # the vector of whalesky-labs/pdd-sdk-php's tests (which URL-encodes the trailing "=")
    got = messages.address("wss://message-api.pinduoduo.com/", "app", "secret", timestamp_ms=1700000000000)
    want = "wss://message-api.pinduoduo.com/message/app/1700000000000/OTgxODMwNDI2NWZiN2NiNzA2NzIxOTI0ZjJlMDMxMjE="
    assert got == want


def test_a_common_command_is_read_and_acknowledged_with_what_it_came_with():
    frame = json.dumps({"id": 9007199254740993, "commandType": "Common", "time": 1700000000200,
                        "sendTime": 1700000000123, "message": {"type": CONFIRMED, "mallID": 100,
                        "content": '{"mall_id":100,"tid":"261127-1"}'}})  # fmt: skip
    message = PddMessage.parse(frame)
    assert (message.id, message.send_time, message.type, message.mall_id) == (9007199254740993, 1700000000123,
                                                                              CONFIRMED, 100)  # fmt: skip
    assert message.content == {"mall_id": 100, "tid": "261127-1"}
    ack = json.loads(message.ack())
    assert ack.pop("time") >= 1700000000200
    assert ack == {"id": 9007199254740993, "commandType": "Ack", "sendTime": 1700000000123, "type": CONFIRMED,
                   "mallID": 100}  # fmt: skip
    heartbeat = json.loads(messages.heartbeat())
    assert heartbeat["commandType"] == "HeartBeat" and set(heartbeat) == {"commandType", "time"}


def test_heartbeats_acks_and_corrupt_content_need_no_order_and_a_fail_ends_the_connection():
    assert PddMessage.parse('{"commandType":"HeartBeat","time":1}') is None
    assert PddMessage.parse('{"commandType":"Ack","id":5}') is None
    corrupt = '{"id":6,"commandType":"Common","message":{"type":"x","mallID":1,"content":"{"}}'
    assert PddMessage.parse(corrupt).content == {}
    with pytest.raises(FrameError, match="PDD answered Fail: sign error"):
        PddMessage.parse('{"commandType":"Fail","message":{"content":"sign error"}}')
    with pytest.raises(FrameError):
        PddMessage.parse("not json")


# --- over the wire -------------------------------------------------------------------------------


@pytest.fixture
def gateway(hub):
    with PddMessagesPlatform() as double:
        yield double


@pytest.fixture
def service(gateway):
    # redelivery after 2 s (real PDD: minutes): a loaded CI machine with PostgreSQL took over 0.3 s to
    # take a message in, and a redelivery then broke the "delivered once" assertions
    with PddMessageDouble(gateway.client_id, gateway.client_secret, redeliver_after=2.0) as double:
        yield double


@pytest.fixture
def shop(gateway) -> Shop:
    """A PDD shop authorised through OAuth on the gateway double (the token exchange stores owner_id)."""
    connect_shop("pdd1", "拼多多旗舰店", "pdd", {SKU: 10}, api_base_url=gateway.url, app_key=gateway.client_id,
                 app_secret=gateway.client_secret)  # fmt: skip
    authorize("pdd1", gateway.grant_code(), "https://hub.example.com/oauth/pdd")
    return Shop.objects.select_related("credential").get(code="pdd1")


def mall(gateway: PddMessagesPlatform) -> int:
    return int(gateway.owner_id)


def put_order(gateway: PddMessagesPlatform, sn: str = SN) -> None:
    gateway.add_order(sn, datetime.now(SHANGHAI) - timedelta(minutes=1), [(SKU, "39.90", 2)])


def connected(service: PddMessageDouble, gateway: PddMessagesPlatform, times: int = 1) -> None:
    wait(lambda: service.connections >= times and gateway.permits)


@pytest.fixture
def online(shop, gateway, service):
    """Order SN on the gateway, the worker's message service connected to the double, the shop permitted."""
    put_order(gateway)
    with listening(PddMessageService, service.url):
        connected(service, gateway)
        yield


def confirmed_acked(service: PddMessageDouble, gateway: PddMessagesPlatform, sn: str = SN, before=()) -> int:
    """Publish the TradeConfirmed message of `sn`, wait until it is acknowledged (after `before`); its id."""
    mid = service.publish(CONFIRMED, {"mall_id": mall(gateway), "tid": sn}, mall(gateway))
    wait(lambda: service.acked == [*before, mid])
    return mid


@live
def test_a_confirmed_trade_lands_once_and_is_acknowledged_after_the_commit(online, shop, gateway, service):
    committed_at_ack = []

    def check(message_id: int) -> None:  # on the double's thread: its own database connection
        try:
            committed_at_ack.append(PushReceipt.objects.filter(message_id=f"pddmsg:{message_id}").exists()
                                    and Order.objects.filter(channel_order_id=SN).exists())  # fmt: skip
        finally:
            connections.close_all()

    service.on_ack = check
    mid = confirmed_acked(service, gateway)
    assert committed_at_ack == [True]
    order = Order.objects.get(shop=shop, channel_order_id=SN)
    line = order.lines.get()
    assert (order.channel_status, order.paid_amount) == ("paid", Decimal("79.80"))
    assert (line.sku.code, line.quantity) == (SKU, 2)
    assert gateway.fetches(SN) == 1 and service.delivered == [mid]
    assert service.acks[0]["type"] == CONFIRMED and service.acks[0]["mallID"] == mall(gateway)
    assert gateway.permits == [shop.credential.access_token]  # with the shop's token, once


@live
def test_a_duplicate_message_changes_nothing_and_is_acknowledged(online, shop, gateway, service):
    mid = confirmed_acked(service, gateway)
    before = hub_counts()
    service.publish(CONFIRMED, {"tid": SN}, mall(gateway), message_id=mid)  # the same message again
    wait(lambda: service.acked == [mid, mid])
    assert hub_counts() == before
    assert gateway.fetches(SN) == 1  # not fetched again
    assert PushReceipt.objects.filter(shop=shop).count() == 1


@live
def test_a_failed_fetch_is_not_acknowledged_and_the_redelivery_lands_it(online, gateway, service, caplog):
    gateway.fail_next(1, status=502)  # the next gateway call: the order fetch
    mid = confirmed_acked(service, gateway)
    assert gateway.fetches(SN) == 2
    assert service.delivered == [mid, mid]  # delivered again because it was not acknowledged
    assert Order.objects.filter(channel_order_id=SN).count() == 1
    assert "not taken in (PDD delivers it again): TransientError 502" in caplog.text


@live
def test_a_message_of_an_unknown_mall_is_acknowledged_and_ignored(online, gateway, service, caplog):
    mid = service.publish(CONFIRMED, {"mall_id": 99999, "tid": SN}, 99999)
    other = service.publish("pdd_goods_GoodsUpdate", {"goods_id": 1}, mall(gateway))
    wait(lambda: sorted(service.acked) == sorted([mid, other]))
    assert gateway.fetches(SN) == 0
    assert not Order.objects.exists() and not PushReceipt.objects.exists()
    assert "seller 99999 is no active shop; ignored" in caplog.text


@live
def test_the_refund_message_puts_the_order_on_hold(online, gateway, service):
    confirmed = confirmed_acked(service, gateway)
    gateway.change(SN, datetime.now(SHANGHAI), refund_status=2, after_sales_status=2)
    refund = {"mall_id": mall(gateway), "tid": SN, "refund_id": 7381745730, "refund_fee": 3990, "bill_type": 1,
              "operation": 1000, "modified": int(time.time() * 1000)}  # fmt: skip
    created = service.publish("pdd_refund_RefundCreated", refund, mall(gateway))
    wait(lambda: service.acked == [confirmed, created])
    order = Order.objects.get(channel_order_id=SN)
    assert (order.channel_status, order.status) == ("refund_requested", "on_hold")
    holds = OrderHold.objects.filter(order=order, released_at=None)
    assert list(holds.values_list("code", flat=True)) == ["refund_requested"]


@live
def test_a_dropped_connection_is_reconnected_and_later_messages_arrive(online, gateway, service):
    put_order(gateway, sn="261127-000000000000002")
    first = confirmed_acked(service, gateway)
    service.drop()
    wait(lambda: service.connections == 2)
    confirmed_acked(service, gateway, "261127-000000000000002", before=(first,))
    assert set(Order.objects.values_list("channel_order_id", flat=True)) == {SN, "261127-000000000000002"}
    assert len(gateway.permits) == 1  # permitted once per process, not at each connection


@live
def test_heartbeats_are_sent_while_the_connection_is_quiet(online, service, monkeypatch):
    monkeypatch.setattr(messages.PddListener, "interval", 0.05)
    service.drop()  # the next connection's listener reads the short interval
    wait(lambda: service.connections == 2 and service.heartbeats >= 3)


@live
def test_a_wrong_secret_is_refused_and_the_listener_keeps_trying_without_crashing(
    shop, gateway, service, caplog
):
    change_credential("pdd1", app_secret="not-the-secret")
    with listening(PddMessageService, service.url) as worker_side:
        wait(lambda: len(service.refused) >= 2)  # refused, waited, tried again
        assert all(t.is_alive() for t in worker_side.listeners.values())
        assert set(service.refused) == {"invalid sign"} and service.connections == 0
        refused = f"PDD refused the handshake (check app key and secret): HTTP {REFUSED} invalid sign"
        assert refused in caplog.text
        assert gateway.permits == []  # the permit call is refused too (signature): logged, not fatal
        assert "pdd.pmc.user.permit for shop pdd1 failed" in caplog.text

        change_credential("pdd1", app_secret=gateway.client_secret)  # corrected in the admin: no restart
        connected(service, gateway)
    assert len(worker_side.listeners) == 1


@live
def test_nothing_connects_without_an_authorised_pdd_shop_or_when_disabled(hub, gateway, service, monkeypatch):
    with listening(PddMessageService, service.url) as worker_side:
        time.sleep(0.3)
    assert worker_side.listeners == {} and service.connections == 0 and service.refused == []

    connect_shop("pdd1", "拼多多旗舰店", "pdd", {SKU: 10}, api_base_url=gateway.url, app_key=gateway.client_id,
                 app_secret=gateway.client_secret)  # fmt: skip
    with listening(
        PddMessageService, service.url
    ) as worker_side:  # a shop without a token (not authorised yet)
        time.sleep(0.3)
    assert worker_side.listeners == {} and service.connections == 0

    authorize("pdd1", gateway.grant_code(), "https://hub.example.com/oauth/pdd")
    monkeypatch.setenv("ZHONGSHU_PDD_MESSAGES", "0")
    with listening(PddMessageService, service.url) as worker_side:
        time.sleep(0.3)
    assert worker_side.listeners == {} and service.connections == 0 and gateway.permits == []


def test_the_address_comes_from_the_environment(monkeypatch):
    assert PddMessageService(threading.Event()).url == "wss://message-api.pinduoduo.com"
    monkeypatch.setenv("ZHONGSHU_PDD_MESSAGES_URL", "ws://127.0.0.1:9/")
    assert PddMessageService(threading.Event()).url == "ws://127.0.0.1:9/"
