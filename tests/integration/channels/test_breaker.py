"""The sync circuit breaker (R-PEAK3) on the zstest platform double, with a clock the test moves:
the pull fails (the platform delays its orders) past a lowered threshold for the sustain period, the
breaker opens (alert on the robot double, outbox event), the orders pulled meanwhile are held and not
taken in; once the delay is back below the threshold they are taken in in platform-timestamp order
at the drain rate, once each, and the breaker closes. The same on PostgreSQL with two real worker
processes: tests/scaleout/test_breaker.py."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import example_order, put_stock
from tests.integration.channels.fake_platform import FakeDouble, make_shop
from tests.platforms.robots import WeComRobot
from zhongshu.catalog.models import Sku
from zhongshu.channels import breaker
from zhongshu.channels.models import Breaker, HeldOrder, SyncState
from zhongshu.channels.services import sync_shop
from zhongshu.core.models import Notification, OutboxEvent
from zhongshu.core.outbox import relay
from zhongshu.notify.models import AlertEvent, Channel
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn
from zhongshu.shops.models import Shop


@pytest.fixture
def double():
    with FakeDouble() as d:
        yield d


@pytest.fixture
def robot():
    with WeComRobot() as r:
        yield r


def alert_channel(robot: WeComRobot) -> Channel:
    ch = Channel(name="值班群", kind="wecom", base_url=robot.url)
    ch.token = robot.key
    ch.save()
    return ch


def pull(code: str, at):
    try:
        return sync_shop(code, now=at)
    except Exception:  # noqa: BLE001 - the platform's outage: the cursor stays
        return None


@pytest.mark.django_db(transaction=True)  # the alerts go out after the relay's commit
def test_breaker_opens_holds_and_drains_in_platform_time_order(hub, double, robot):
    put_stock("DUMPLING-500G", "CD", 10_000)
    alert_channel(robot)
    t0 = timezone.now().replace(microsecond=0)
    shop = make_shop(double, "zs1", cursor=t0 - timedelta(minutes=1))
    breaker.ensure_rows()
    Breaker.objects.filter(scope="zs1").update(threshold_seconds=120, sustain_seconds=120)
    Breaker.objects.filter(scope=Breaker.GLOBAL).update(drain_per_minute=120)  # 10 per 5 s
    double.add("A-1", t0 - timedelta(seconds=20))
    assert pull("zs1", t0).created == 1
    assert breaker.tick(t0)["zs1"] == "closed"

    # the platform stops answering: the new-order sync delay grows past 2 minutes, then stays there
    double.outage()
    ids = [f"B-{n:02d}" for n in range(1, 26)]
    for n, oid in random.Random(7).sample(list(enumerate(ids)), len(ids)):
        double.add(oid, t0 + timedelta(seconds=10 + n * 10))  # placed during the outage, listed out of order
    assert pull("zs1", t0 + timedelta(minutes=1)) is None  # retried, then given up: the cursor stays
    for minute in (1, 2, 3):
        assert breaker.tick(t0 + timedelta(minutes=minute))["zs1"] == "closed"  # above since minute 3
    assert breaker.tick(t0 + timedelta(minutes=5))["zs1"] == "open"
    relay()
    assert Breaker.objects.get(scope="zs1").state == "open"

    # the platform answers again: what it lists is stored, nothing taken in
    double.end_outage()
    t = t0 + timedelta(minutes=8)
    report = pull("zs1", t)
    assert (report.held, report.created) == (26, 0)  # A-1 re-read by the pull's overlap: held too
    assert Order.objects.filter(shop=shop).count() == 1
    assert HeldOrder.objects.filter(released_at__isnull=True).count() == 26
    assert breaker.tick(t)["zs1"] == "open"  # the newest order pulled was 230 s late

    # fresh orders (10 s late): delay below the threshold → draining, 10 orders per 5-s tick
    double.add("C-1", t + timedelta(seconds=20))
    t += timedelta(seconds=30)
    assert pull("zs1", t).held == 1
    assert pull("zs1", t).held == 1  # the overlap re-reads it: stored once
    states = []
    for _ in range(4):
        states.append(breaker.tick(t)["zs1"])
        t += timedelta(seconds=5)
        pull("zs1", t)  # nothing new: the cursor keeps up
    assert states == ["draining", "draining", "closed", "closed"]  # the third batch empties it
    relay()

    taken = list(Order.objects.filter(shop=shop).order_by("pk").values_list("channel_order_id", flat=True))
    assert taken == ["A-1", *ids, "C-1"]  # in platform-timestamp order, none lost, none twice
    released = HeldOrder.objects.values_list("released_at", flat=True)
    assert len(set(released)) == 3 and None not in released  # 10 + 10 + 7: the rate held
    assert [e.topic for e in OutboxEvent.objects.filter(topic__startswith="channel.breaker.").order_by("pk")] == [
        "channel.breaker.opened", "channel.breaker.recovering", "channel.breaker.closed"]  # fmt: skip
    titles = [m["markdown"]["content"].splitlines()[0] for m in robot.messages]
    assert titles == [
        "### 【告警】同步熔断 店铺 zs1",
        "### 【持续告警】同步熔断 店铺 zs1",
        "### 【已恢复】同步熔断 店铺 zs1",
    ]
    assert (
        "1 暂停自动处理 2 通知客服 3 人工核对 4 恢复后按时间顺序补处理"
        in robot.messages[0]["markdown"]["content"]
    )
    assert AlertEvent.objects.filter(subject__startswith="breaker#").count() == 3
    assert Breaker.objects.get(scope=Breaker.GLOBAL).state == "closed"
    assert SyncState.objects.get(shop=shop).last_error == ""


def test_console_shows_the_state_and_the_sop_and_opens_and_recovers_by_hand(hub, admin_client):
    breaker.ensure_rows()
    page = admin_client.get("/admin/channels/breaker/").content.decode()
    for step in ("1 暂停自动处理", "2 通知客服", "3 人工核对", "4 恢复后按时间顺序补处理"):
        assert step in page
    assert "已熔断：" not in page

    pk = Breaker.objects.get(scope="tb").pk
    admin_client.post("/admin/channels/breaker/", {"action": "open_now", "_selected_action": [pk]})
    b = Breaker.objects.get(scope="tb")
    assert (b.state, b.manual) == ("open", True)
    assert breaker.tick()["tb"] == "open"  # opened by hand: no delay signal closes it
    page = admin_client.get("/admin/channels/breaker/").content.decode()
    assert "已熔断：tb" in page and "1–3 暂停自动处理、通知客服、人工核对" in page

    admin_client.post("/admin/channels/breaker/", {"action": "recover_now", "_selected_action": [pk]})
    assert breaker.tick()["tb"] == "closed"  # nothing held: drained at once
    topics = list(OutboxEvent.objects.filter(key="breaker:tb").order_by("pk").values_list("topic", "actor"))
    assert topics == [("channel.breaker.opened", "admin:admin"), ("channel.breaker.recovering", "admin:admin"),
                      ("channel.breaker.closed", "breaker")]  # fmt: skip


def test_the_console_speaks_english_after_the_language_switch(hub, admin_client):
    breaker.force("tb", Breaker.State.OPEN, "admin:admin")
    admin_client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})
    page = admin_client.get("/admin/channels/breaker/").content.decode()
    for text in ("Circuit breaker procedure (SOP)", "Pause automatic processing", "Tell customer service",
                 "Check by hand", "After recovery, process the backlog in time order", "Tripped: tb", "All shops",
                 "Breaker threshold (s)", "Trip now"):  # fmt: skip
        assert text in page
    assert "暂停自动处理" not in page and "熔断" not in page


def test_a_held_order_that_cannot_be_taken_in_does_not_hold_the_others_back(hub):
    put_stock("DUMPLING-500G", "CD", 100)
    gone = Sku.objects.create(code="GONE-1", title="下架商品", cost_price="1.00")
    t0 = timezone.now()
    breaker.force("mp", Breaker.State.OPEN, "admin:ops", t0)
    orders = [
        OrderIn.model_validate(
            example_order(channel_order_id=f"H-{n}", updated_at=(t0 + timedelta(seconds=n)).isoformat())
        )
        for n in range(3)
    ]
    bad = example_order(
        channel_order_id="H-bad", updated_at=(t0 + timedelta(seconds=1, milliseconds=500)).isoformat()
    )
    bad["lines"][0]["sku"] = "GONE-1"
    mp = Shop.objects.get(code="mp")
    assert breaker.hold(mp, [*orders, OrderIn.model_validate(bad)]) == 4
    gone.delete()
    breaker.force("mp", Breaker.State.DRAINING, "admin:ops", t0)
    for minute in range(1, 4):
        breaker.tick(t0 + timedelta(minutes=minute))
    assert list(Order.objects.filter(shop=mp).order_by("pk").values_list("channel_order_id", flat=True)) == [
        "H-0", "H-1", "H-2"]  # fmt: skip
    row = HeldOrder.objects.get(channel_order_id="H-bad")
    assert (row.released_at, row.attempts) == (None, 3) and "GONE-1" in row.last_error
    assert Breaker.objects.get(scope="mp").state == "closed"  # left for a person, not blocking
    assert Notification.objects.filter(code="breaker_stuck").count() == 1


@pytest.mark.django_db
def test_a_draining_breaker_reopens_only_when_the_delay_stays_above_the_threshold(hub):
    """One late observation while draining (a pull listing orders from the outage) does not stop the
    drain; the delay above the threshold for the sustain period does, as it opens a closed breaker."""
    t0 = timezone.now().replace(microsecond=0)
    breaker.ensure_rows()
    Breaker.objects.filter(scope="mp").update(threshold_seconds=5, sustain_seconds=3)
    breaker.force("mp", Breaker.State.DRAINING, "admin:ops", t0)
    assert breaker._step("mp", 60, t0) == "draining"  # above once
    assert breaker._step("mp", 60, t0 + timedelta(seconds=2)) == "draining"  # not yet for 3 s
    assert breaker._step("mp", 1, t0 + timedelta(seconds=3)) == "draining"  # back below: starts over
    assert breaker._step("mp", 60, t0 + timedelta(seconds=4)) == "draining"
    assert breaker._step("mp", 60, t0 + timedelta(seconds=7)) == "open"  # above for 3 s
    topics = list(OutboxEvent.objects.filter(key="breaker:mp").values_list("topic", flat=True).order_by("pk"))
    assert topics[-1] == "channel.breaker.opened" and topics.count("channel.breaker.opened") == 1
