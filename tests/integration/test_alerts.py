"""Red alerts (R-MON2): paid orders posted through the API breach a lowered threshold; the worker's
evaluation sends ONE signed notice to each robot double (DingTalk, WeCom, Feishu) and e-mail, the
cooldown keeps a second evaluation quiet, and cancelling the orders sends one "已恢复" notice."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.utils import timezone
from typer.testing import CliRunner

from tests.factories import example_order, put_stock
from tests.platforms.robots import DingTalkRobot, FeishuBot, WeComRobot
from zhongshu.cli import app
from zhongshu.core.auth import create_token
from zhongshu.core.roles import INTEGRATION, ensure_roles
from zhongshu.notify import defaults, services
from zhongshu.notify.models import AlertEvent, AlertRule, AlertState, Channel, Delivery
from zhongshu.notify.tasks import evaluate_alerts

PII = ("王小明", "13800138000", "天府大道", "小王")


@pytest.fixture
def robots():
    with DingTalkRobot() as ding, WeComRobot() as wecom, FeishuBot() as feishu:
        yield ding, wecom, feishu


@pytest.fixture
def api(client):
    ensure_roles()
    get_user_model().objects.create_user("erp", password="x").groups.add(Group.objects.get(name=INTEGRATION))
    token = create_token("erp", scope="intake")

    def post(body):
        return client.post("/api/v1/orders", body, content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip

    return post


def channels_for(ding, wecom, feishu) -> list[Channel]:
    made = []
    for name, kind, double, token, secret in [
        ("运营群-钉钉", "dingtalk", ding, ding.token, ding.secret),
        ("运营群-企微", "wecom", wecom, wecom.key, ""),
        ("运营群-飞书", "feishu", feishu, feishu.token, feishu.secret),
    ]:
        ch = Channel(
            name=name, kind=kind, base_url=double.url, at_mobiles="13900001111" if kind == "dingtalk" else ""
        )
        ch.token, ch.secret = token, secret
        ch.save()
        made.append(ch)
    made.append(Channel.objects.create(name="值班邮箱", kind="email", recipients="ops@example.com"))
    return made


def pending_rule(channels, threshold=2) -> AlertRule:
    defaults.seed(AlertRule)
    rule = AlertRule.objects.get(metric="pending_orders")
    rule.threshold = Decimal(threshold)  # lowered from the shipped 800
    rule.save()
    rule.channels.set(channels)
    return rule


@pytest.mark.django_db(transaction=True)
def test_backlog_breach_fires_once_per_channel_then_resolves(hub, api, robots, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    ding, wecom, feishu = robots
    rule = pending_rule(channels_for(ding, wecom, feishu))
    put_stock("DUMPLING-500G", "CD", 100)
    for n in range(3):  # 3 paid orders > threshold 2
        assert api(example_order(channel_order_id=f"MP-A{n}")).status_code == 201

    assert evaluate_alerts.call_local() == 4  # one delivery per channel
    for robot in robots:
        assert len(robot.messages) == 1, type(robot).__name__
    assert len(mail.outbox) == 1
    md = ding.messages[0]
    assert md["markdown"]["title"] == f"【告警】{rule.name}"
    assert "**3**" in md["markdown"]["text"] and "> 2" in md["markdown"]["text"]
    assert md["at"] == {"atMobiles": ["13900001111"], "isAtAll": False}
    assert "**3**" in wecom.messages[0]["markdown"]["content"]
    assert feishu.messages[0]["card"]["header"]["template"] == "red"
    assert AlertState.objects.get(rule=rule).firing
    assert set(Delivery.objects.values_list("status", flat=True)) == {"sent"}

    # cooldown: still in breach, evaluated again a minute later: nothing more is sent
    assert evaluate_alerts.call_local() == 0
    assert [len(r.messages) for r in robots] == [1, 1, 1] and len(mail.outbox) == 1

    for n in range(2):  # the backlog falls to 1 (≤ 2)
        cancelled = example_order(channel_order_id=f"MP-A{n}", status="cancelled",
                                  updated_at="2026-11-27T21:00:00+08:00")  # fmt: skip
        assert api(cancelled).status_code == 200
    assert evaluate_alerts.call_local() == 4
    assert [len(r.messages) for r in robots] == [2, 2, 2] and len(mail.outbox) == 2
    assert ding.messages[1]["markdown"]["title"] == f"【已恢复】{rule.name}"
    assert feishu.messages[1]["card"]["header"]["template"] == "green"
    assert not AlertState.objects.get(rule=rule).firing
    assert evaluate_alerts.call_local() == 0  # back to normal: quiet

    kinds = list(AlertEvent.objects.order_by("pk").values_list("kind", flat=True))
    assert kinds == ["firing", "resolved"]
    texts = " ".join(e.title + e.text for e in AlertEvent.objects.all()) + str(ding.messages)
    assert not any(p in texts for p in PII)


@pytest.mark.django_db(transaction=True)
def test_reminder_after_cooldown_and_failures_recorded(hub, api, robots):
    ding, wecom, feishu = robots
    chans = channels_for(ding, wecom, feishu)[:3]
    chans[0].secret = "SECwrong"  # DingTalk refuses the signature: 310000
    chans[0].save()
    rule = pending_rule(chans, threshold=0)
    put_stock("DUMPLING-500G", "CD", 10)
    api(example_order())
    wecom.throttle_next(1)  # 45009 once: retried and sent

    now = timezone.now()
    services.deliver(services.evaluate(now))
    failed = Delivery.objects.get(channel=chans[0])
    assert (failed.status, ding.messages) == ("failed", [])
    assert "310000" in failed.error
    sent = Delivery.objects.get(channel=chans[1])
    assert (sent.status, sent.attempts, len(wecom.messages)) == ("sent", 2, 1)

    assert services.evaluate(now + timedelta(minutes=29)) == []  # within the 30-minute cooldown
    reminder = services.evaluate(now + timedelta(minutes=30))
    assert len(reminder) == 3
    assert AlertEvent.objects.filter(rule=rule).latest("pk").kind == "reminder"


@pytest.mark.django_db(transaction=True)
def test_channel_test_message_and_cli(robots):
    ding, wecom, feishu = robots
    channels_for(ding, wecom, feishu)
    assert services.send_test("运营群-飞书")[0]
    assert feishu.messages[0]["card"]["header"]["title"]["content"] == "【测试】中枢告警通道"

    result = CliRunner().invoke(app, ["alerts", "test", "运营群-钉钉"])
    assert result.exit_code == 0, result.output
    assert "sent" in result.output and len(ding.messages) == 1
    result = CliRunner().invoke(app, ["alerts", "test", "nope"])
    assert result.exit_code == 1
