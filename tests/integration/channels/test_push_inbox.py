"""The push inbox (channels/inbox.py): a verified push is acknowledged once stored (one row), then
the worker takes the stored messages in, in batches, through intake — each message once, a replay
refused, a message already taken in another way not taken in again, one broken message not
holding the others back. The worker is not woken here (as under `zhongshu serve`): the tests call
`take_in` where the worker's loop would."""

import pytest

from tests.factories import example_order, put_stock
from tests.platforms.own import signed_push
from zhongshu.channels import inbox
from zhongshu.channels.models import PushInbox, PushReceipt, Shop, ShopCredential
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
