"""Outgoing webhooks (R-WH5, issue 10 item 6), SQLite and PostgreSQL: subscribers by API, deliveries
from the outbox after commit to a real local HTTP server, signed per Standard Webhooks and verified
with the independent `standardwebhooks` package; retries, ordering per order, 410, dead letters and
replay, the request forgery guard, and who may manage subscribers."""

import json
import time

import pytest
from django.contrib.auth.models import Group, User
from standardwebhooks import Webhook

from tests.factories import example_order, put_stock
from tests.platforms.webhook_receiver import WebhookReceiver
from zhongshu.catalog.models import Sku, SkuBarcode
from zhongshu.core import outbox
from zhongshu.core.auth import create_token
from zhongshu.core.models import OutboxEvent
from zhongshu.core.roles import WAREHOUSE, ensure_roles
from zhongshu.fulfilment import defaults, services
from zhongshu.fulfilment.models import FulfilmentSettings, Package, PackagingType, WaveStrategy
from zhongshu.orders.models import Order
from zhongshu.webhooks import dispatch
from zhongshu.webhooks.models import EVENT_TYPES, WebhookDelivery, WebhookEndpoint, WebhookMessage

pytestmark = pytest.mark.django_db(transaction=True)  # deliveries happen after real commits

FAST = [0, 0.05, 0.05, 0.05, 0.05]  # the retry schedule, in seconds, for the tests


@pytest.fixture
def receiver():
    with WebhookReceiver() as r:
        yield r


@pytest.fixture
def api(hub, client, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = FAST
    settings.WEBHOOK_TIMEOUT = 1.0
    User.objects.create_superuser("admin", password="x")
    token = create_token("admin")

    class Api:
        def call(self, method, path, body=None, token=token):
            kwargs = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
            if body is not None:
                kwargs.update(data=body if body == "" else json.dumps(body), content_type="application/json")
            return getattr(client, method)(f"/api/v1{path}", **kwargs)

        def subscribe(self, url, events=EVENT_TYPES, description="ERP"):
            r = self.call(
                "post", "/webhooks", {"url": url, "events": list(events), "description": description}
            )
            assert r.status_code == 201, r.content
            return r.json()

    return Api()


def settle(seconds: float = 10.0) -> None:
    """Run the worker's dispatch until nothing is pending (the tests' queue never sleeps on a retry)."""
    deadline = time.monotonic() + seconds
    while WebhookDelivery.objects.filter(status="pending", endpoint__active=True).exists():
        assert time.monotonic() < deadline, list(
            WebhookDelivery.objects.values("status", "attempts", "last_error")
        )
        dispatch.dispatch_due()
        time.sleep(0.02)


def post_order(api, cid: str, **changes):
    r = api.call("post", "/orders", example_order(channel_order_id=cid, **changes))
    assert r.status_code in (200, 201), r.content
    return Order.objects.get(channel_order_id=cid)


def verified(secret: str, request) -> dict:
    return Webhook(secret).verify(request.body, request.headers)


def test_a_subscriber_that_fails_three_times_gets_every_event_once_in_order_per_order(api, receiver):
    defaults.seed(PackagingType, WaveStrategy, FulfilmentSettings)
    Sku.objects.filter(code="DUMPLING-500G").update(weight_g=500)
    SkuBarcode.objects.create(sku=Sku.objects.get(code="DUMPLING-500G"), code="6901234567892")
    put_stock("DUMPLING-500G", "CD", 50)
    sub = api.subscribe(receiver.url + "/hooks")
    assert sub["secret"].startswith("whsec_") and sub["active"] and sub["events"] == list(EVENT_TYPES)
    assert "secret" not in api.call("get", "/webhooks").json()["items"][0]  # shown once only
    receiver.fail_next(3, status=503)

    a1 = post_order(api, "W1")  # → order.allocated, stock.changed (both refused: 2 of 3)
    a2 = post_order(api, "W2", receiver={**example_order()["receiver"], "address": "锦里1号"})  # 3rd refusal
    [p2] = Package.objects.filter(package_orders__order=a2)
    wave = services.create_wave("CD", None, None, "test")
    assert p2 in wave.packages.all()
    assert services.check_package(p2.pk, ["DUMPLING-500G", "6901234567892"], 1010, "test").status == "packed"
    post_order(api, "W1", status="cancelled", updated_at="2026-11-27T22:00:00+08:00")  # → order.cancelled
    settle()

    made = list(WebhookMessage.objects.order_by("id"))
    kinds = {m.event_type for m in made}
    assert {"order.allocated", "package.packed", "order.cancelled", "stock.changed"} <= kinds
    assert len(receiver.requests) == len(made) + 3  # each once, plus the three refused attempts
    got = [verified(sub["secret"], r) for r in receiver.accepted]
    ids = [r.headers["webhook-id"] for r in receiver.accepted]
    assert sorted(ids) == sorted(m.message_id for m in made) and receiver.duplicates == 0
    for r in receiver.requests:  # the refused ones were signed too
        verified(sub["secret"], r)
    # in order per order (and per SKU): arrival order is the order the events happened in
    seq = {m.message_id: n for n, m in enumerate(made)}
    for key in (f"order:{a1.pk}", f"order:{a2.pk}", "sku:DUMPLING-500G"):
        mine = [seq[i] for i, m in zip(ids, got, strict=True) if key in _keys(m)]
        assert len(mine) >= 2 and mine == sorted(mine), key
    of_a2 = [m["type"] for m in got if _keys(m) & {f"order:{a2.pk}"}]
    assert of_a2 == ["order.allocated", "package.packed"]
    of_a1 = [m["type"] for m in got if _keys(m) & {f"order:{a1.pk}"}]
    assert of_a1 == ["order.allocated", "order.cancelled"]
    assert WebhookDelivery.objects.filter(status="delivered").count() == len(made)
    assert sum(d.attempts - 1 for d in WebhookDelivery.objects.all()) == 3


def _keys(body: dict) -> set[str]:
    d = body["data"]
    if body["type"].startswith("order."):
        return {f"order:{d['order_id']}"}
    if body["type"].startswith("package."):
        return {f"order:{o['order_id']}" for o in d["orders"]}
    return {f"sku:{d['sku']}"}


def test_payloads_are_stable_with_string_ids_and_money_and_no_clear_personal_data(api, receiver):
    put_stock("DUMPLING-500G", "CD", 10)
    sub = api.subscribe(receiver.url, events=["order.allocated", "stock.changed"])
    order = post_order(api, "P1")
    settle()
    bodies = {b["type"]: b for b in (verified(sub["secret"], r) for r in receiver.accepted)}
    assert set(bodies) == {"order.allocated", "stock.changed"}
    data = bodies["order.allocated"]["data"]
    assert data["order_id"] == str(order.pk) and data["channel_order_id"] == "P1"
    assert data["status"] == "allocated" and data["warehouse"] == "CD"
    assert isinstance(data["paid_amount"], str) and data["paid_amount"] == str(order.paid_amount)
    assert all(isinstance(ln["paid_amount"], str) for ln in data["lines"])
    clear = example_order()["receiver"]
    raw = b"".join(r.body for r in receiver.accepted).decode()
    for value in (clear["name"], clear["phone"], clear["address"]):
        assert value not in raw
    assert data["receiver"]["phone"] == clear["phone"][:3] + "****" + clear["phone"][-4:]
    assert bodies["stock.changed"]["data"]["sku"] == "DUMPLING-500G"
    assert bodies["stock.changed"]["data"]["available"] is not None
    # a redelivered outbox event makes no second message or delivery
    ev = OutboxEvent.objects.filter(topic="order.status_changed", payload__to="allocated").get()
    OutboxEvent.objects.filter(pk=ev.pk).update(delivered_at=None)
    outbox.relay()
    assert WebhookDelivery.objects.count() == 2


def test_410_disables_the_subscriber(api, receiver):
    put_stock("DUMPLING-500G", "CD", 10)
    sub = api.subscribe(receiver.url, events=["order.allocated"])
    receiver.answer = 410
    post_order(api, "G1")
    ep = WebhookEndpoint.objects.get(pk=sub["id"])
    assert not ep.active and "410" in ep.disabled_reason
    assert WebhookDelivery.objects.get().status == "dead"
    listed = api.call("get", "/webhooks").json()["items"][0]
    assert (listed["active"], listed["dead_letters"]) == (False, 1)
    post_order(api, "G2")  # nothing more is sent to it
    assert len(receiver.requests) == 1 and WebhookDelivery.objects.count() == 1
    r = api.call("post", f"/webhooks/{sub['id']}/replay", {})
    assert r.status_code == 409 and "停用" in r.json()["detail"]


def test_after_the_last_attempt_a_dead_letter_is_listed_and_replayed(api, receiver, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [0, 0.02, 0.02]
    settings.WEBHOOK_TIMEOUT = 0.3
    put_stock("DUMPLING-500G", "CD", 10)
    sub = api.subscribe(receiver.url, events=["order.allocated"])
    receiver.fail_next(2, status=500)
    receiver.delay_next(3, 0.6)  # the third attempt times out
    post_order(api, "D1")
    settle()
    [dead] = api.call("get", f"/webhooks/{sub['id']}/deliveries?status=dead").json()["items"]
    assert dead["attempts"] == 3 and dead["event_type"] == "order.allocated"
    assert "Timeout" in dead["last_error"] and receiver.accepted == []
    assert api.call("get", "/webhooks").json()["items"][0]["dead_letters"] == 1
    r = api.call("post", f"/webhooks/{sub['id']}/replay", {"delivery_id": int(dead["id"]) + 1000})
    assert r.status_code == 404
    time.sleep(0.7)  # let the slow answers of the double drain
    r = api.call("post", f"/webhooks/{sub['id']}/replay", "")  # no body: every dead letter
    assert (r.status_code, r.json()) == (200, {"replayed": 1})
    settle()
    assert [x.headers["webhook-id"] for x in receiver.accepted] == [dead["webhook_id"]]
    assert WebhookDelivery.objects.get().status == "delivered"


def test_a_later_event_of_an_order_waits_for_the_earlier_one(api, receiver, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [0, 60, 60]  # the retry is a minute away: nothing races the test
    put_stock("DUMPLING-500G", "CD", 10)
    sub = api.subscribe(receiver.url, events=["order.allocated", "order.cancelled"])
    receiver.fail_next(1)
    order = post_order(api, "O1")  # allocated: refused
    first = WebhookDelivery.objects.get(message__event_type="order.allocated")
    assert first.status == "pending" and first.attempts == 1 and first.last_status_code == 500
    post_order(api, "O1", status="cancelled", updated_at="2026-11-27T22:00:00+08:00")
    dispatch.dispatch_due()
    later = WebhookDelivery.objects.get(message__event_type="order.cancelled")
    assert later.attempts == 0 and later.status == "pending"  # due, but waits behind the allocation
    sent = [verified(sub["secret"], r)["type"] for r in receiver.requests]
    assert "order.cancelled" not in sent and sent.count("order.allocated") == 1
    WebhookDelivery.objects.filter(pk=first.pk).update(next_attempt_at=first.created_at)  # the retry is due
    settle()
    of_order = [b["type"] for b in (verified(sub["secret"], r) for r in receiver.accepted)
                if b["data"].get("order_id") == str(order.pk)]  # fmt: skip
    assert of_order == ["order.allocated", "order.cancelled"]


def test_private_addresses_are_refused_unless_allowed(api, receiver, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    for url in ("http://127.0.0.1:8080/x", "http://10.1.2.3/", "http://192.168.0.5/h", "http://169.254.169.254/",
                "http://[::1]/", "http://localhost/", "http://100.64.0.1/", "ftp://example.com/"):  # fmt: skip
        r = api.call("post", "/webhooks", {"url": url, "events": ["order.allocated"]})
        assert r.status_code == 422, url
        assert r.json()["detail"][0]["field"] == "url", url
    assert WebhookEndpoint.objects.count() == 0
    assert (
        api.call(
            "post", "/webhooks", {"url": "https://93.184.216.34/h", "events": ["order.allocated"]}
        ).status_code
        == 201
    )
    r = api.call("post", "/webhooks", {"url": "https://93.184.216.34/h", "events": ["order.shipped"]})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "events"
    WebhookEndpoint.objects.all().delete()
    # allowed when subscribed, refused again at delivery time once the setting is off
    settings.WEBHOOK_ALLOW_PRIVATE = True
    api.subscribe(receiver.url, events=["order.allocated"])
    settings.WEBHOOK_ALLOW_PRIVATE = False
    put_stock("DUMPLING-500G", "CD", 10)
    post_order(api, "S1")
    d = WebhookDelivery.objects.get()
    assert receiver.requests == [] and d.status == "pending" and "127.0.0.1" in d.last_error


def test_only_those_allowed_manage_webhooks(api, receiver, client):
    ensure_roles()
    clerk = User.objects.create_user("clerk", password="x")
    clerk.groups.add(Group.objects.get(name=WAREHOUSE))
    warehouse = create_token("clerk")
    sub = api.subscribe(receiver.url, events=["stock.changed"])
    calls = [("post", "/webhooks", {"url": receiver.url, "events": ["stock.changed"]}), ("get", "/webhooks", None),
             ("delete", f"/webhooks/{sub['id']}", None), ("post", f"/webhooks/{sub['id']}/replay", {}),
             ("get", f"/webhooks/{sub['id']}/deliveries", None)]  # fmt: skip
    for method, path, body in calls:
        r = api.call(method, path, body, token=warehouse)
        assert r.status_code == 403 and "webhooks." in r.json()["detail"], (method, path)
        assert client.generic(method.upper(), f"/api/v1{path}").status_code == 401
    read = create_token("admin", scope="read")
    assert api.call("get", "/webhooks", token=read).status_code == 200
    assert api.call("delete", f"/webhooks/{sub['id']}", token=read).status_code == 403
    assert WebhookEndpoint.objects.count() == 1
    assert api.call("delete", f"/webhooks/{sub['id']}").status_code == 204
    assert api.call("delete", f"/webhooks/{sub['id']}").status_code == 404
    assert WebhookEndpoint.objects.count() == 0


@pytest.fixture
def worker(settings):
    """The real background worker: the queue consumer (2 task threads, its scheduler for delayed
    tasks) and the outbox relay loop, as `zhongshu worker` runs them."""
    import signal
    import threading

    from huey.contrib.djhuey import HUEY

    from zhongshu.core.tasks import run_relay_loop
    from zhongshu.core.threads import start_daemon

    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    HUEY.immediate = False  # the queue in the test's home
    HUEY.flush()
    consumer = HUEY.create_consumer(
        workers=2, worker_type="thread", periodic=False, check_worker_health=False
    )
    consumer.start()
    stop = threading.Event()
    relay = start_daemon("test-relay", lambda: run_relay_loop(stop, 0.05))  # closes its connection
    try:
        yield
    finally:
        stop.set()
        relay.join(5)
        consumer.stop(graceful=True)
        HUEY.immediate = True
        for s, h in handlers.items():
            signal.signal(s, h)


def test_the_worker_sends_after_commit_and_wakes_up_for_the_retry(api, receiver, worker, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [0, 1, 1]  # the second attempt a second later, no test driving it
    put_stock("DUMPLING-500G", "CD", 10)
    sub = api.subscribe(receiver.url, events=["order.allocated"])
    receiver.fail_next(1)
    post_order(api, "K1")
    deadline = time.monotonic() + 20
    while not receiver.accepted:
        assert time.monotonic() < deadline, list(
            WebhookDelivery.objects.values("status", "attempts", "last_error")
        )
        time.sleep(0.05)
    assert len(receiver.requests) == 2  # refused once, then delivered by the scheduled wake-up
    assert verified(sub["secret"], receiver.accepted[0])["type"] == "order.allocated"
    time.sleep(0.3)
    d = WebhookDelivery.objects.get()
    assert (d.status, d.attempts) == ("delivered", 2)


def test_old_deliveries_are_forgotten_but_dead_letters_stay(api, receiver):
    put_stock("DUMPLING-500G", "CD", 10)
    api.subscribe(receiver.url, events=["order.allocated"])
    post_order(api, "R1")
    receiver.answer = 500
    post_order(api, "R2")
    settle()
    assert sorted(WebhookDelivery.objects.values_list("status", flat=True)) == ["dead", "delivered"]
    assert dispatch.purge_delivered(keep_days=1) == 0  # too recent
    assert dispatch.purge_delivered(keep_days=-1) == 1
    assert list(WebhookDelivery.objects.values_list("status", flat=True)) == ["dead"]
    assert WebhookMessage.objects.count() == 1


def test_a_subscriber_that_is_down_does_not_hold_up_the_others(api, receiver, settings, monkeypatch):
    settings.WEBHOOK_RETRY_SCHEDULE = [0, 60]
    monkeypatch.setattr(dispatch, "SCAN", 2)  # a backlog larger than one look at the queue
    put_stock("DUMPLING-500G", "CD", 10)
    with WebhookReceiver() as down:
        down.outage()
        api.subscribe(down.url, events=["order.allocated"])
        api.subscribe(receiver.url, events=["order.allocated"])
        for n in range(3):
            post_order(api, f"B{n}")
        dispatch.dispatch_due()
        assert len(receiver.accepted) == 3
        assert WebhookDelivery.objects.filter(status="pending").count() == 3  # the down one's, waiting


def test_non_critical_subscribers_wait_while_degraded_and_get_everything_after(api, receiver):
    """R-PEAK2: while the webhooks_noncritical switch is off, deliveries to a subscriber marked not
    critical stay pending (deferred, not dropped); the critical one is served; after recovery all go."""
    from zhongshu.core import degrade
    from zhongshu.peak import services as peak

    put_stock("DUMPLING-500G", "CD", 10)
    with WebhookReceiver() as bulk:
        r = api.call("post", "/webhooks", {"url": bulk.url, "events": ["order.allocated"], "critical": False})
        assert r.status_code == 201 and r.json()["critical"] is False
        api.subscribe(receiver.url, events=["order.allocated"])
        try:
            peak.set_override("webhooks_noncritical", "off", "test")
            for n in range(3):
                post_order(api, f"D{n}")
            dispatch.dispatch_due()
            assert len(receiver.accepted) == 3 and bulk.accepted == []
            assert WebhookDelivery.objects.filter(status="pending", endpoint__critical=False).count() == 3
            peak.set_override("webhooks_noncritical", "auto", "test")
            settle()
            assert len(bulk.accepted) == 3 and bulk.duplicates == 0
        finally:
            degrade.forget()
