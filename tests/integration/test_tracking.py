# ruff: noqa: F811  (pytest fixtures imported from test_shipping)
"""Tracking through Kuaidi100 (SQLite and PostgreSQL): a shipped waybill is subscribed at a local double
of Kuaidi100 (which checks the form); pushes posted to the hub's callback are verified by their sign:
signed → the order is delivered (audited, timeline on the order); a wrong sign is refused and changes
nothing; a problem state becomes an exception in the queue with the carrier's text; an abort is
subscribed again after 30 minutes; delivered orders complete after the configured days."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.integration.test_fulfilment_flow import floor  # noqa: F401  (fixture)
from tests.integration.test_shipping import api, clean_queue, packed_package, shop_double  # noqa: F401
from tests.platforms.kuaidi100 import Kuaidi100Double, push_form
from zhongshu.orders import exceptions as queue
from zhongshu.orders.models import Order, OrderHold, OrderTransition
from zhongshu.shipping import tracking
from zhongshu.shipping.models import AfterShipSettings, TrackingEvent, TrackingSubscription, Waybill

KEY, SALT = "kd100-key", "kd100-salt-32-chars-long-0123456"
CALLBACK = "/api/v1/tracking/kuaidi100"


@pytest.fixture
def kd100():
    with Kuaidi100Double(KEY) as d:
        yield d


@pytest.fixture
def configured(kd100):
    row = AfterShipSettings(kuaidi100_url=f"{kd100.url}/poll", complete_after_days=7)
    row.kuaidi100_key, row.kuaidi100_salt = KEY, SALT
    row.save()
    return row


def shipped(api, cid: str) -> Waybill:
    """A packed package with a (non-sandbox) SF waybill, scanned out through the API."""
    pid = packed_package(api, cid)
    waybill_no = api.post(f"/api/v1/packages/{pid}/waybill").json()["waybill_no"]
    Waybill.objects.filter(waybill_no=waybill_no).update(provider="sf")  # as if SF's own service gave it
    assert api.post("/api/v1/ship", {"waybill_no": waybill_no}).status_code == 200
    return Waybill.objects.get(waybill_no=waybill_no)


def push(client, form: dict):
    return client.post(CALLBACK, form)  # form-encoded, no bearer token


def test_ship_subscribes_and_a_signed_push_delivers_the_order(api, client, kd100, configured, settings):
    waybill = shipped(api, "T1")
    [sub] = kd100.subscriptions
    assert sub["company"] == "shunfeng" and sub["number"] == waybill.waybill_no and sub["key"] == KEY
    assert sub["parameters"] == {
        "callbackurl": settings.PUBLIC_URL + CALLBACK,
        "salt": SALT,
        "resultv2": "1",
        "phone": "8000",
    }  # fmt: skip  (SF: only the phone's last four digits)
    assert TrackingSubscription.objects.get(waybill=waybill).status == "subscribed"

    steps = [
        ("成都市", "【成都市】顺丰速运 已收取快件"),
        ("北京市", "【北京市】快件已由本人签收，感谢使用顺丰"),
    ]
    r = push(client, push_form(SALT, waybill.waybill_no, "shunfeng", "3", "shutdown", steps))
    assert r.status_code == 200 and r.json() == {"result": True, "returnCode": "200", "message": "成功"}
    order = Order.objects.get(channel_order_id="T1")
    assert order.status == "delivered"
    audit = OrderTransition.objects.get(order=order, to_status="delivered")
    assert audit.from_status == "shipped" and audit.actor == "system:tracking" and "本人签收" in audit.reason
    assert TrackingSubscription.objects.get(waybill=waybill).status == "signed"

    detail = api.get("/api/v1/orders/mp/T1").json()
    assert [(s["place"], s["text"]) for s in detail["tracking"]] == list(reversed(steps))  # newest first
    assert detail["tracking"][0]["waybill_no"] == waybill.waybill_no

    # Kuaidi100 pushes again (at least once): nothing is added or moved twice
    push(client, push_form(SALT, waybill.waybill_no, "shunfeng", "3", "shutdown", steps))
    assert TrackingEvent.objects.filter(order=order).count() == 2
    assert OrderTransition.objects.filter(order=order, to_status="delivered").count() == 1


def test_a_wrong_sign_is_refused_and_changes_nothing(api, client, kd100, configured):
    waybill = shipped(api, "T2")
    form = push_form(SALT, waybill.waybill_no, "shunfeng", "3", "shutdown")
    for bad in (
        {**form, "sign": push_form("another-salt", waybill.waybill_no, "shunfeng", "3")["sign"]},
        {**form, "sign": ""},
        {
            "param": form["param"].replace('"state": "3"', '"state": "3" '),
            "sign": form["sign"],
        },  # param altered
    ):
        r = push(client, bad)
        assert r.status_code == 401 and r.json()["result"] is False
    assert Order.objects.get(channel_order_id="T2").status == "shipped"
    assert not TrackingEvent.objects.exists()
    assert not OrderTransition.objects.filter(to_status="delivered").exists()
    assert TrackingSubscription.objects.get(waybill=waybill).last_state == ""

    # with no salt configured at all, nothing is accepted (not even an unsigned push)
    AfterShipSettings.objects.update(kuaidi100_salt_enc="")
    r = push(client, {"param": form["param"], "sign": ""})
    assert r.status_code == 401
    assert Order.objects.get(channel_order_id="T2").status == "shipped"


def test_a_problem_becomes_an_exception_with_the_carriers_text_until_signed(api, client, kd100, configured):
    waybill = shipped(api, "T3")
    text = "【北京市】收件人电话无人接听，快件滞留网点"
    r = push(client, push_form(SALT, waybill.waybill_no, "shunfeng", "2", steps=[("北京市", text)]))
    assert r.status_code == 200
    order = Order.objects.get(channel_order_id="T3")
    assert order.status == "shipped"  # it left the warehouse: the status stays
    [hold] = OrderHold.objects.filter(order=order, released_at__isnull=True)
    assert hold.code == "tracking/2" and text in hold.reason and "疑难" in hold.reason
    assert list(queue.held_orders().values_list("pk", flat=True)) == [order.pk]
    assert {r["code"] for r in queue.reason_counts()} == {"tracking/2"}
    # the same problem pushed again: still one entry
    push(client, push_form(SALT, waybill.waybill_no, "shunfeng", "2", steps=[("北京市", text)]))
    assert OrderHold.objects.filter(order=order).count() == 1
    # refused by the receiver (拒签) is another entry
    push(
        client,
        push_form(SALT, waybill.waybill_no, "shunfeng", "14", steps=[("北京市", text), ("北京市", "拒收")]),
    )
    assert set(OrderHold.objects.filter(order=order).values_list("code", flat=True)) == {
        "tracking/2",
        "tracking/14",
    }

    push(client, push_form(SALT, waybill.waybill_no, "shunfeng", "3", "shutdown", [("北京市", "已签收")]))
    order.refresh_from_db()
    assert order.status == "delivered"
    assert not OrderHold.objects.filter(order=order, released_at__isnull=True).exists()
    assert list(queue.held_orders()) == []


def test_an_abort_is_subscribed_again_after_30_minutes(api, client, kd100, configured):
    waybill = shipped(api, "T4")
    assert kd100.numbers() == [waybill.waybill_no]
    r = push(client, push_form(SALT, waybill.waybill_no, "shunfeng", "0", "abort"))
    assert r.status_code == 200
    sub = TrackingSubscription.objects.get(waybill=waybill)
    assert sub.status == "aborted"
    now = timezone.now()
    assert tracking.resubscribe_due(now + timedelta(minutes=10)) == []
    assert kd100.numbers() == [waybill.waybill_no]
    assert tracking.resubscribe_due(now + timedelta(minutes=31)) == [waybill.pk]
    assert kd100.numbers() == [waybill.waybill_no] * 2
    sub.refresh_from_db()
    assert (sub.status, sub.attempts) == ("subscribed", 2)


def test_a_refused_subscription_is_recorded_and_delivered_orders_complete_after_n_days(
    api, client, kd100, configured
):
    AfterShipSettings.objects.update(kuaidi100_key_enc="")  # the env var is not set in tests either
    waybill = shipped(api, "T5")
    sub = TrackingSubscription.objects.get(waybill=waybill)
    assert sub.status == "failed" and "key" in sub.last_error and kd100.subscriptions == []
    # a push still reaches the order (the merchant may have subscribed elsewhere)
    push(client, push_form(SALT, waybill.waybill_no, "shunfeng", "3", "shutdown"))
    order = Order.objects.get(channel_order_id="T5")
    assert order.status == "delivered"
    signed = OrderTransition.objects.get(order=order, to_status="delivered").at
    assert tracking.complete_due(signed + timedelta(days=6)) == []
    assert tracking.complete_due(signed + timedelta(days=7, seconds=1)) == [order.pk]
    order.refresh_from_db()
    assert order.status == "completed"
    assert OrderTransition.objects.get(order=order, to_status="completed").reason == "签收满 7 天自动完成"


def test_an_unknown_waybill_is_acknowledged_and_stores_nothing(db, client, configured):
    r = push(client, push_form(SALT, "SF0000000000", "shunfeng", "3", "shutdown"))
    assert r.status_code == 200 and r.json()["result"] is True
    assert not TrackingEvent.objects.exists() and not TrackingSubscription.objects.exists()


def test_a_delivery_problem_in_the_queue_page_is_marked_handled_by_approving(
    api, client, admin_client, kd100, configured
):
    waybill = shipped(api, "T6")
    text = "【上海市】地址不详，联系不上收件人"
    push(client, push_form(SALT, waybill.waybill_no, "shunfeng", "2", steps=[("上海市", text)]))
    order = Order.objects.get(channel_order_id="T6")
    page = admin_client.get("/console/exceptions/").content.decode()
    assert "mp/T6" in page and "tracking/2" in page
    detail = admin_client.get(f"/console/exceptions/{order.pk}/")
    assert detail.status_code == 200 and text in detail.content.decode()
    assert queue.month_figures().held == 0  # a delivery problem is no interception

    r = admin_client.post("/console/exceptions/decide/", {"action": "approve", "ids": [order.pk]})
    assert r.status_code == 302
    order.refresh_from_db()
    assert order.status == "shipped"  # handled: the status stays
    hold = OrderHold.objects.get(order=order)
    assert hold.released_at is not None and "人工放行" in hold.released_by
    assert list(queue.held_orders()) == []


def test_sf_gets_the_senders_last_digits_when_the_receivers_phone_is_a_platform_ciphertext(
    api, kd100, configured
):
    pid = packed_package(api, "T7")
    order = Order.objects.get(channel_order_id="T7")
    order.receiver_phone = "~AgAAAAE0Mzk4MTIzNDU2Nzg5MA==~1~"  # as a platform sends it (digits inside)
    order.save()
    waybill_no = api.post(f"/api/v1/packages/{pid}/waybill").json()["waybill_no"]
    Waybill.objects.filter(waybill_no=waybill_no).update(provider="sf")
    assert api.post("/api/v1/ship", {"waybill_no": waybill_no}).status_code == 200
    [sub] = kd100.subscriptions
    assert sub["parameters"]["phone"] == "6666"  # the waybill account's sender phone 02888886666
