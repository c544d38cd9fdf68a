"""The push inbox (channels/inbox.py): a verified push is acknowledged once stored (one row), then
the worker takes the stored messages in, in batches, through intake — each message once, a replay
refused, a message already taken in another way not taken in again, one broken message not
holding the others back. The worker is not woken here (as under `zhongshu serve`): the tests call
`take_in` where the worker's loop would."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import example_order, put_stock
from tests.platforms.own import signed_push
from zhongshu.catalog.models import Sku
from zhongshu.channels import inbox, pushcache
from zhongshu.channels.models import PushInbox, PushReceipt, Shop, ShopCredential
from zhongshu.core import crypto
from zhongshu.orders.models import Order, OrderTransition

SECRET = "mp-webhook-secret"
URL = "/api/v1/push/mp"


@pytest.fixture
def mp(hub):
    ShopCredential.objects.create(shop=Shop.objects.get(code="mp"), app_key="mp", push_secret=SECRET)
    put_stock("DUMPLING-500G", "CD", 1000)


@pytest.fixture
def asleep():
    """The worker is not woken by a push (production: it polls the inbox)."""
    inbox.set_waker(None)
    yield
    from zhongshu.channels.tasks import _wake_inbox

    inbox.set_waker(_wake_inbox)


def push(client, payload, message_id):
    body, headers = signed_push(SECRET, payload, message_id=message_id)
    return client.post(URL, body, content_type="application/json", **headers)


def order(n: int, **changes) -> dict:
    return example_order(channel_order_id=f"MP{n:06d}", **changes)


def test_a_push_is_acknowledged_when_stored_and_taken_in_by_the_worker(client, mp, asleep):
    r = push(client, {"orders": [order(1), order(2)]}, "m-1")
    assert (r.status_code, r.json()["accepted"], r.json()["message_id"]) == (200, 2, "m-1")
    row = PushInbox.objects.get()
    assert row.taken_at is None and not Order.objects.exists() and not PushReceipt.objects.exists()
    assert "王小明" not in row.orders_enc and "13800138000" not in row.orders_enc  # encrypted at rest
    assert inbox.pending() == 1
    assert inbox.take_in() == 1
    assert Order.objects.filter(status="allocated").count() == 2
    row.refresh_from_db()
    assert row.taken_at is not None and row.orders_enc == ""  # the copy of the orders is gone
    assert list(PushReceipt.objects.values_list("message_id", flat=True)) == ["m-1"]
    assert (inbox.take_in(), inbox.pending()) == (0, 0)


def test_a_replayed_message_is_refused_and_each_message_taken_in_once(client, mp, asleep):
    assert push(client, order(1), "m-1").status_code == 200
    assert push(client, order(1), "m-1").status_code == 409  # before the worker took it in
    assert inbox.take_in() == 1
    assert push(client, order(1), "m-1").status_code == 409  # and after
    assert PushInbox.objects.count() == 1 and PushReceipt.objects.count() == 1
    transitions = OrderTransition.objects.count()
    assert push(client, order(1), "m-2").status_code == 200  # the same order in another message
    assert inbox.take_in() == 1
    assert Order.objects.count() == 1 and OrderTransition.objects.count() == transitions  # unchanged


def test_a_storm_of_pushes_is_taken_in_in_batches_each_once(client, mp, asleep):
    for n in range(120):
        assert push(client, order(n), f"m-{n}").status_code == 200
    for n in range(0, 120, 7):  # platform retries in the storm
        assert push(client, order(n), f"m-{n}").status_code == 409
    assert inbox.take_in(limit=50) == 50  # one batch
    assert inbox.take_in() == 70
    assert Order.objects.count() == 120 and PushReceipt.objects.count() == 120
    assert OrderTransition.objects.filter(to_status="paid").count() == 120


def test_a_message_taken_in_another_way_is_not_taken_in_again(client, mp, asleep):
    assert push(client, order(1), "m-1").status_code == 200
    PushReceipt.objects.create(shop=Shop.objects.get(code="mp"), message_id="m-1")
    assert inbox.take_in() == 1
    assert not Order.objects.exists() and PushInbox.objects.get().taken_at is not None


def test_one_broken_message_does_not_hold_the_batch_back(client, mp, asleep):
    for n in range(3):
        assert push(client, order(n), f"m-{n}").status_code == 200
    PushInbox.objects.filter(message_id="m-1").update(orders_enc="not a token")
    assert inbox.take_in() == 2
    assert sorted(Order.objects.values_list("channel_order_id", flat=True)) == ["MP000000", "MP000002"]
    broken = PushInbox.objects.get(message_id="m-1")
    assert (broken.taken_at, broken.attempts) == (None, 1) and broken.last_error
    assert broken.not_before is not None and inbox.take_in() == 0  # waits its pause


def test_a_batch_whose_intake_fails_is_taken_in_row_by_row(client, mp, asleep, monkeypatch):
    """A failure inside the batch's transaction (here: intake raising for one message's order)
    rolls the batch back, then each row is taken in alone; the failing one stays pending."""
    from zhongshu.channels import services

    real = services.take_in_orders

    def flaky(shop, orders, report, **kw):
        if any(o.channel_order_id == "MP000001" for o in orders):
            raise RuntimeError("intake failed")
        return real(shop, orders, report, **kw)

    monkeypatch.setattr(inbox, "take_in_orders", flaky)
    for n in range(3):
        assert push(client, order(n), f"m-{n}").status_code == 200
    assert inbox.take_in() == 2
    assert Order.objects.count() == 2 and PushReceipt.objects.count() == 2
    assert PushInbox.objects.get(message_id="m-1").taken_at is None


def test_the_immediate_queue_takes_the_push_in_before_the_answer(client, mp):
    """Tests and one-off scripts (ZHONGSHU_QUEUE_IMMEDIATE): the push is taken in at once."""
    assert push(client, order(1), "m-1").status_code == 200
    assert Order.objects.get().status == "allocated" and PushInbox.objects.get().taken_at is not None


@pytest.mark.django_db(transaction=True)
def test_the_workers_inbox_loop_takes_a_stored_push_in(client, asleep):
    """`zhongshu worker` runs run_inbox_loop in a thread: a stored push is taken in within moments."""
    import threading
    import time
    from decimal import Decimal

    from tests.factories import put_stock as stock
    from zhongshu.catalog.models import Sku
    from zhongshu.inventory.models import Warehouse
    from zhongshu.routing import defaults
    from zhongshu.routing.models import ProvinceRegion, RegionRoute, RoutingSettings

    defaults.seed(Warehouse, ProvinceRegion, RegionRoute, RoutingSettings)
    shop, _ = Shop.objects.get_or_create(code="mp", defaults={"name": "mp", "platform": "own"})
    Sku.objects.get_or_create(
        code="DUMPLING-500G", defaults={"title": "水饺", "cost_price": Decimal("20.00")}
    )
    ShopCredential.objects.create(shop=shop, app_key="mp", push_secret=SECRET)
    stock("DUMPLING-500G", "CD", 10)
    stop = threading.Event()
    loop = threading.Thread(target=inbox.run_inbox_loop, args=(stop, 0.05), daemon=True)
    loop.start()
    try:
        assert push(client, order(1), "m-1").status_code == 200
        deadline = time.monotonic() + 10
        while not Order.objects.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert Order.objects.get().status == "allocated"
    finally:
        stop.set()
        loop.join(timeout=5)
    assert not loop.is_alive() and PushInbox.objects.get().taken_at is not None


# --- the receiver's per-process lookups (channels/pushcache.py) ----------------------------------


def _set_secret(secret: str, signal: bool = True) -> None:
    cred = ShopCredential.objects.get(shop__code="mp")
    if signal:  # saved in this process (the admin, a command)
        cred.push_secret = secret
        cred.save()
    else:  # saved by another process: this one hears nothing of it
        ShopCredential.objects.filter(pk=cred.pk).update(push_secret_enc=crypto.encrypt(secret))


def signed_with(client, secret: str, message_id: str):
    body, headers = signed_push(secret, order(int(message_id.split("-")[1])), message_id=message_id)
    return client.post(URL, body, content_type="application/json", **headers)


def test_a_secret_changed_in_this_process_applies_to_the_next_push(client, mp, asleep):
    assert signed_with(client, SECRET, "m-1").status_code == 200  # the shop is now kept
    _set_secret("rotated")
    assert signed_with(client, SECRET, "m-2").status_code == 401
    assert signed_with(client, "rotated", "m-3").status_code == 200


def test_a_secret_changed_by_another_process_is_accepted_at_once_and_the_old_one_soon_refused(
    client, mp, asleep, monkeypatch
):
    assert signed_with(client, SECRET, "m-1").status_code == 200
    _set_secret("rotated", signal=False)
    # the old secret: still accepted while this process trusts what it read (up to TTL seconds) …
    assert signed_with(client, SECRET, "m-2").status_code == 200
    monkeypatch.setattr(pushcache, "TTL", 0.0)  # … and refused once that has passed
    assert signed_with(client, SECRET, "m-3").status_code == 401
    monkeypatch.setattr(pushcache, "TTL", 60.0)
    _set_secret("rotated-again", signal=False)
    # the new secret: a refused message is verified again with the shop read afresh …
    monkeypatch.setattr(pushcache, "RETRY_AFTER", 0.0)
    assert signed_with(client, "rotated-again", "m-4").status_code == 200
    # … at most once a second per shop (a flood of bad signatures costs no query each)
    monkeypatch.setattr(pushcache, "RETRY_AFTER", 60.0)
    _set_secret("third", signal=False)
    assert signed_with(client, "third", "m-5").status_code == 401
    assert PushInbox.objects.count() == 3


def test_a_deactivated_shop_and_a_new_sku_apply_to_the_next_push(client, mp, asleep):
    assert signed_with(client, SECRET, "m-1").status_code == 200
    r = push(client, order(2, lines=[{**order(2)["lines"][0], "sku": "NEW-SKU"}]), "m-2")
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "lines[0].sku"
    Sku.objects.create(code="NEW-SKU", title="new", cost_price=Decimal("1.00"))
    assert (
        push(client, order(2, lines=[{**order(2)["lines"][0], "sku": "NEW-SKU"}]), "m-2").status_code == 200
    )
    shop = Shop.objects.get(code="mp")
    shop.active = False
    shop.save()
    assert signed_with(client, SECRET, "m-3").status_code == 404


def test_a_push_costs_one_insert_once_its_shop_and_skus_are_known(client, mp, asleep):
    assert signed_with(client, SECRET, "m-1").status_code == 200
    with CaptureQueriesContext(connection) as q:
        assert signed_with(client, SECRET, "m-2").status_code == 200
    statements = [x["sql"].split()[0] for x in q.captured_queries]
    assert [s for s in statements if s not in ("BEGIN", "SAVEPOINT", "RELEASE", "COMMIT")] == ["INSERT"]


# --- take-in on SQLite: bounded by time ----------------------------------------------------------


def test_a_take_in_on_sqlite_stops_after_its_time_budget_and_the_rest_follows(
    client, mp, asleep, monkeypatch, on_postgres
):
    """On SQLite a take-in transaction holds the one write lock: it settles what fits in its time
    budget (here: one message) and lets the lock go before the next; PostgreSQL takes the whole
    batch in one transaction. Either way every message is taken in once."""
    for n in range(5):
        assert push(client, order(n), f"m-{n}").status_code == 200
    monkeypatch.setattr(inbox, "SQLITE_BATCH_SECONDS", 1e-9)
    monkeypatch.setattr(inbox, "SQLITE_PAUSE", 0.0)
    assert inbox.take_in() == 5
    transactions = PushInbox.objects.values("taken_at").distinct().count()
    assert transactions == (1 if on_postgres else 5)
    assert Order.objects.count() == 5 and PushReceipt.objects.count() == 5 and inbox.pending() == 0
    assert inbox._pace > 0  # measured: the next take-in sizes its transactions by it


def test_a_take_in_on_sqlite_sizes_its_transactions_by_the_measured_pace(
    client, mp, asleep, monkeypatch, on_postgres
):
    for n in range(6):
        assert push(client, order(n), f"m-{n}").status_code == 200
    sizes: list[int] = []
    settle = inbox._settle
    monkeypatch.setattr(inbox, "_settle", lambda shop, items: sizes.append(len(items)) or settle(shop, items))
    monkeypatch.setattr(inbox, "SQLITE_PAUSE", 0.0)
    monkeypatch.setattr(inbox, "_pace", inbox.SQLITE_BATCH_SECONDS / 2)  # the last pace: two fit
    assert inbox.take_in() == 6
    if on_postgres:
        assert sizes == [6]
    else:
        assert sizes[0] == 2 and sum(sizes) == 6  # then as many as the measured pace lets in
    assert Order.objects.count() == 6 and PushReceipt.objects.count() == 6


def test_the_inbox_tells_when_pushes_are_waiting(client, mp, asleep):
    """What the worker's outbox relay asks before each batch (it yields while this is true)."""
    assert not inbox.waiting()
    assert push(client, order(1), "m-1").status_code == 200
    assert inbox.waiting()
    assert inbox.take_in() == 1 and not inbox.waiting()
    assert push(client, order(2), "m-2").status_code == 200
    PushInbox.objects.filter(message_id="m-2").update(
        attempts=1, not_before=timezone.now() + timedelta(hours=1)
    )
    assert not inbox.waiting()  # a message waiting out its pause after a failure is no peak
