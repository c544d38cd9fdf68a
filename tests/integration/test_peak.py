"""Degradation (R-PEAK2) and promotion mode (issue 12 items 3 and 5).

The load is driven above the marks through the probe of peak/signals.py (one test uses real
backlog rows instead); orders keep being taken in over HTTP (201) while the non-core switches are off.
"""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from tests.factories import example_order, put_stock
from zhongshu.core import degrade
from zhongshu.core.auth import create_token
from zhongshu.core.models import DegradeSwitch, OutboxEvent
from zhongshu.core.roles import INTEGRATION, ensure_roles
from zhongshu.core.timeutil import SHANGHAI
from zhongshu.notify.models import AlertRule
from zhongshu.orders.models import Order
from zhongshu.peak import services, signals
from zhongshu.peak.models import DegradePolicy, PromotionWindow
from zhongshu.peak.switches import CORE_WORK, SWITCHES
from zhongshu.rules.selectors import runtime

CALM = {"backlog": 0, "intake_p95_ms": 50, "load_per_cpu": 0.1}
BUSY = {"backlog": 20000, "intake_p95_ms": 50, "load_per_cpu": 0.1}
MIDDLE = {"backlog": 3000, "intake_p95_ms": 50, "load_per_cpu": 0.1}  # between the marks


@pytest.fixture
def load():
    """The measured values, as the test sets them."""
    values = dict(CALM)
    signals.set_probe(lambda: values)
    degrade.forget()
    yield values
    signals.set_probe(None)
    degrade.forget()


@pytest.fixture
def token(hub):
    ensure_roles()
    user = get_user_model().objects.create_user("erp", password="x")
    user.groups.add(Group.objects.get(name=INTEGRATION))
    put_stock("DUMPLING-500G", "CD", 1000)
    return create_token("erp")


def post_order(client, token, n: int) -> None:
    r = client.post("/api/v1/orders", example_order(channel_order_id=f"PEAK{n}"),
                    content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
    assert r.status_code == 201, r.content
    assert Order.objects.get(channel_order_id=f"PEAK{n}").status == "allocated"


def switches_on() -> dict[str, bool]:
    return {name: degrade.is_on(name) for name in SWITCHES}


def test_core_work_is_never_a_switch():
    assert not set(CORE_WORK) & set(SWITCHES)
    assert set(SWITCHES) >= {"dashboard_heavy", "analytics_refresh", "marketing_triggers",
                             "recommendations", "webhooks_noncritical"}  # fmt: skip


def test_load_turns_switches_off_and_back_on_with_hysteresis_while_intake_answers(client, token, load):
    DegradePolicy.objects.create(pk=1, backlog_high=5000, backlog_low=1000, off_after=3, on_after=2)
    all_on = dict.fromkeys(SWITCHES, True)
    all_off = dict.fromkeys(SWITCHES, False)
    services.check()
    assert switches_on() == all_on

    load.update(BUSY)
    for n in range(2):  # above the high mark, but not yet for 3 checks in a row
        services.check()
        post_order(client, token, n)
        assert switches_on() == all_on
    services.check()
    assert switches_on() == all_off
    p = DegradePolicy.objects.get()
    assert p.degraded and "积压 20000 > 5000" in p.reason
    post_order(client, token, 10)  # intake, payment, allocation keep working while degraded

    load.update(MIDDLE)  # below the high mark, above the low one: stays off
    for n in range(3):
        services.check()
        post_order(client, token, 20 + n)
    assert switches_on() == all_off

    load.update(CALM)
    services.check()
    assert switches_on() == all_off  # one calm check is not enough (on_after = 2)
    services.check()
    assert switches_on() == all_on
    post_order(client, token, 30)

    topics = list(OutboxEvent.objects.filter(topic__startswith="peak.").values_list("topic", "payload"))
    assert [t for t, _ in topics].count("peak.degraded") == 2
    offs = [pl["switch"] for t, pl in topics if t == "peak.switch" and pl["enabled"] is False]
    assert sorted(offs) == sorted(SWITCHES)
    sw = DegradeSwitch.objects.get(name="dashboard_heavy")
    assert sw.enabled and sw.since and sw.reason


def test_real_backlog_rows_trip_the_policy(hub):
    # the machine's own CPU load and intake timings are measured too: marks they cannot reach here
    DegradePolicy.objects.create(pk=1, backlog_high=50, backlog_low=10, off_after=1, on_after=1,
                                 load_high=Decimal(999), load_low=Decimal(998), p95_high_ms=10**6,
                                 p95_low_ms=10**6 - 1)  # fmt: skip
    degrade.forget()
    OutboxEvent.objects.bulk_create(
        OutboxEvent(topic="test.load", key=f"k{i}", payload={}) for i in range(60)
    )
    p = services.check()
    assert p.degraded and p.last_values["backlog"] >= 60
    assert not degrade.is_on("webhooks_noncritical")
    OutboxEvent.objects.filter(topic="test.load").delete()
    OutboxEvent.objects.filter(delivered_at__isnull=True).update(delivered_at=p.checked_at)
    p = services.check()
    assert not p.degraded and degrade.is_on("webhooks_noncritical")


def test_manual_override_wins_over_the_policy(client, token, load):
    DegradePolicy.objects.create(pk=1, off_after=1, on_after=1)
    services.set_override("dashboard_heavy", "on", "boss")
    services.set_override("recommendations", "off", "boss")
    assert not degrade.is_on("recommendations")  # forced off while calm
    load.update(BUSY)
    services.check()
    assert degrade.is_on("dashboard_heavy")  # forced on while degraded
    assert not degrade.is_on("analytics_refresh")
    post_order(client, token, 1)
    services.set_override("dashboard_heavy", "auto", "boss")
    assert not degrade.is_on("dashboard_heavy")  # back to the policy's decision at once
    load.update(CALM)
    services.check()
    assert degrade.is_on("dashboard_heavy") and not degrade.is_on("recommendations")
    overrides = OutboxEvent.objects.filter(topic="peak.switch", payload__override__isnull=False)
    assert overrides.count() == 3 and set(overrides.values_list("actor", flat=True)) == {"boss"}


def test_promotion_window_turns_peak_mode_on_at_its_start_and_off_at_its_end(hub, load):
    start = datetime(2026, 11, 11, 0, 0, tzinfo=SHANGHAI)
    w = PromotionWindow.objects.create(name="双11", starts_at=start, ends_at=start + timedelta(hours=2))
    rule = AlertRule.objects.create(name="积压", metric="pending_orders", threshold=Decimal("800"),
                                    peak_threshold=Decimal("300"))  # fmt: skip
    DegradePolicy.objects.create(pk=1, backlog_high=5000, backlog_low=1000, off_after=1, on_after=1)

    assert services.tick_promotions(start - timedelta(minutes=1)) == []
    assert runtime()[1] is False and not degrade.promotion_on()

    assert services.tick_promotions(start) == ["started:双11"]
    w.refresh_from_db()
    assert w.state == "running" and runtime()[1] is True and degrade.promotion_on()
    assert rule.current_threshold() == Decimal("300")
    load.update(MIDDLE)  # 3000: under the normal high mark, above the promotion's (5000 × 0.5)
    services.check(start + timedelta(seconds=30))
    assert not degrade.is_on("dashboard_heavy")

    assert services.tick_promotions(start + timedelta(hours=1)) == []
    assert services.tick_promotions(start + timedelta(hours=2)) == ["ended:双11"]
    w.refresh_from_db()
    assert w.state == "done" and runtime()[1] is False and not degrade.promotion_on()
    assert rule.current_threshold() == Decimal("800")
    summaries = list(
        OutboxEvent.objects.filter(topic="peak.promotion").values_list("payload__summary", flat=True)
    )
    assert len(summaries) == 2 and "开始" in summaries[0] and "结束" in summaries[1]
    assert OutboxEvent.objects.filter(topic="rules.peak_mode").count() == 2


def test_promotion_leaves_peak_mode_on_when_it_was_on_before(hub):
    from zhongshu.rules.services import set_peak_mode

    set_peak_mode(True, "boss")
    start = datetime(2026, 11, 11, tzinfo=SHANGHAI)
    PromotionWindow.objects.create(name="预热", starts_at=start, ends_at=start + timedelta(hours=1))
    services.tick_promotions(start)
    services.tick_promotions(start + timedelta(hours=1))
    assert runtime()[1] is True


def test_p95_of_the_window_between_two_checks():
    before = [[0.1, 10], [0.5, 10], [float("inf"), 10]]
    after = [[0.1, 10], [0.5, 100], [float("inf"), 110]]  # 100 new: 90 under 0.5 s, 10 beyond
    assert signals.p95_ms(before, after) == 500.0
    assert signals.p95_ms(after, after) == 0.0


@pytest.fixture
def staff_client(client, db):
    client.force_login(get_user_model().objects.create_superuser("boss", password="x"))
    return client


def test_the_console_lists_the_switches_and_overrides_them(staff_client, hub, load):
    r = staff_client.get("/admin/core/degradeswitch/")
    assert r.status_code == 200
    html = r.content.decode()
    for text in (
        "降级开关",
        "仪表盘重查询",
        "分析报表刷新",
        "营销触发",
        "推荐计算",
        "非关键订阅推送",
        "自动",
    ):
        assert text in html
    assert "dashboard_heavy" not in html.replace('value="', "")  # no raw codes shown (names are labels)
    pk = DegradeSwitch.objects.get(name="dashboard_heavy").pk
    r = staff_client.post("/admin/core/degradeswitch/", {"action": "force_off", "_selected_action": [pk]})
    assert r.status_code == 302
    sw = DegradeSwitch.objects.get(pk=pk)
    assert (sw.enabled, sw.override, sw.reason) == (False, "off", "人工强制关闭")
    assert OutboxEvent.objects.filter(topic="peak.switch", actor="boss").exists()

    # the dashboard obeys: its heavy figures stop and the page says why
    live = staff_client.get("/admin/dashboard/live/").content.decode()
    assert 'data-figure="degraded"' in live and "province." not in live
    services.set_override("dashboard_heavy", "auto", "boss")
    live = staff_client.get("/admin/dashboard/live/").content.decode()
    assert 'data-figure="degraded"' not in live and 'data-figure="province.' in live

    for url in (
        "/admin/peak/degradepolicy/",
        "/admin/peak/promotionwindow/",
        "/admin/peak/promotionwindow/add/",
    ):
        assert staff_client.get(url).status_code == 200, url


def test_the_switches_page_speaks_english_after_the_switch(staff_client, hub):
    staff_client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})
    html = staff_client.get("/admin/core/degradeswitch/").content.decode()
    for text in (
        "Degradation switches",
        "Dashboard heavy queries",
        "Webhooks to non-critical subscribers",
        "Automatic",
    ):
        assert text in html
    assert "仪表盘重查询" not in html


def test_alert_rules_use_their_peak_threshold_during_a_promotion(client, token):
    from zhongshu.notify import services as notify
    from zhongshu.notify.models import AlertEvent, AlertState

    rule = AlertRule.objects.create(name="待发货", metric="pending_orders", threshold=Decimal("800"),
                                    peak_threshold=Decimal("0"))  # fmt: skip
    post_order(client, token, 1)  # one paid order not shipped
    start = datetime(2026, 11, 11, tzinfo=SHANGHAI)
    PromotionWindow.objects.create(name="双11", starts_at=start, ends_at=start + timedelta(hours=1))
    notify.evaluate(start)
    assert not AlertState.objects.get(rule=rule).firing  # 1 is not above 800
    services.tick_promotions(start)
    notify.evaluate(start + timedelta(minutes=1))
    assert AlertState.objects.get(rule=rule).firing  # 1 is above the promotion's 0
    assert AlertEvent.objects.get(kind="firing").threshold == Decimal("0")
    services.tick_promotions(start + timedelta(hours=1))
    notify.evaluate(start + timedelta(hours=1, minutes=1))
    assert not AlertState.objects.get(rule=rule).firing
    rule.refresh_from_db()
    assert rule.threshold == Decimal("800")  # the stored threshold never changed


def test_the_worker_task_checks_the_load_and_the_windows(hub, load):
    from zhongshu.peak import tasks

    DegradePolicy.objects.create(pk=1, off_after=1, on_after=1)
    now = datetime.now(SHANGHAI)
    PromotionWindow.objects.create(
        name="now", starts_at=now - timedelta(minutes=1), ends_at=now + timedelta(hours=1)
    )
    load.update(BUSY)
    tasks.peak_check_periodic()
    assert runtime()[1] is True and not degrade.is_on("marketing_triggers")
    assert DegradePolicy.objects.get().checked_at is not None


def test_the_intake_p95_is_measured_from_real_intake_calls(client, token):
    before = signals.intake_buckets()
    for n in range(3):
        post_order(client, token, 100 + n)
    values, after = signals.measure(before)
    assert values["intake_p95_ms"] > 0 and after != before
    assert signals.measure(after)[0]["intake_p95_ms"] == 0  # nothing taken in since


def test_policy_page_shows_the_measurement_and_audits_edits(staff_client, hub, load):
    load.update(BUSY)
    services.check()
    html = staff_client.get("/admin/peak/degradepolicy/").content.decode()
    assert "积压 20000 · 接单 p95（毫秒） 50 · 每核负载 0.1" in html and "intake_p95_ms" not in html
    form = {"backlog_high": 800, "backlog_low": 100, "p95_high_ms": 1000, "p95_low_ms": 300, "load_high": "0.90",
            "load_low": "0.60", "off_after": 3, "on_after": 5, "promotion_factor": "0.50"}  # fmt: skip
    r = staff_client.post("/admin/peak/degradepolicy/1/change/", form)
    assert r.status_code == 302, r.content.decode()[-2000:]
    assert DegradePolicy.objects.get().backlog_high == 800
    ev = OutboxEvent.objects.get(topic="peak.policy")
    assert ev.actor == "boss" and "积压上限" in ev.payload["summary"]


def test_the_policy_can_be_added_when_there_is_none(staff_client, hub):
    form = {"backlog_high": 900, "backlog_low": 100, "p95_high_ms": 1000, "p95_low_ms": 300, "load_high": "0.90",
            "load_low": "0.60", "off_after": 3, "on_after": 5, "promotion_factor": "0.50"}  # fmt: skip
    assert staff_client.post("/admin/peak/degradepolicy/add/", form).status_code == 302
    assert DegradePolicy.objects.get().backlog_high == 900
