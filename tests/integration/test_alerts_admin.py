"""The alerts in the console: channels with write-only encrypted secrets, the rules (shipped defaults),
the history list in Chinese, and the bell with the count of firing alerts in the header."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from tests.platforms.robots import DingTalkRobot
from zhongshu.core.roles import OPERATIONS, WAREHOUSE, ensure_roles
from zhongshu.notify import defaults
from zhongshu.notify.models import AlertEvent, AlertRule, AlertState, Channel, Delivery


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


def test_shipped_rules_exist_after_migrate(db):
    defaults.seed(AlertRule)  # idempotent: the data migration created them already
    rules = dict(AlertRule.objects.values_list("metric", "threshold"))
    assert rules["pending_orders"] == Decimal(800) and rules["return_rate_rise"] == Decimal(20)
    assert set(rules) == {"pending_orders", "return_rate_rise", "sync_lag_minutes", "queue_backlog",
                          "ship_confirm_failures"}  # fmt: skip
    assert AlertRule.objects.count() == 5


def test_channel_secrets_are_encrypted_and_write_only(staff):
    r = staff.post(reverse("admin:notify_channel_add"), {
        "name": "钉钉运营群", "kind": "dingtalk", "base_url": "", "at_mobiles": "", "recipients": "",
        "active": "on", "new_token": "tok-123456", "new_secret": "SECabcdef123456",
    })  # fmt: skip
    assert r.status_code == 302, r.content.decode()[:2000]
    ch = Channel.objects.get()
    assert (ch.token, ch.secret) == ("tok-123456", "SECabcdef123456")
    assert "SECabcdef" not in ch.secret_enc and "tok-123456" not in ch.token_enc
    page = staff.get(reverse("admin:notify_channel_change", args=[ch.pk])).content.decode()
    assert "SECabcdef123456" not in page and "tok-123456" not in page
    # saving again with the secret fields empty keeps them
    r = staff.post(reverse("admin:notify_channel_change", args=[ch.pk]), {
        "name": "钉钉运营群", "kind": "dingtalk", "base_url": "http://127.0.0.1:9/", "at_mobiles": "",
        "recipients": "", "active": "on", "new_token": "", "new_secret": "",
    })  # fmt: skip
    assert r.status_code == 302
    ch.refresh_from_db()
    assert (ch.token, ch.secret, ch.base_url) == ("tok-123456", "SECabcdef123456", "http://127.0.0.1:9/")


def test_rule_form_history_and_bell(staff):
    defaults.seed(AlertRule)
    rule = AlertRule.objects.get(metric="return_rate_rise")
    page = staff.get(reverse("admin:notify_alertrule_change", args=[rule.pk])).content.decode()
    assert "付款后取消" in page  # the proxy for returns is stated

    header = staff.get(reverse("admin:index")).content.decode()
    assert 'id="alert-bell"' in header and "data-alert-count" not in header
    AlertState.objects.create(rule=rule, firing=True, value=Decimal(35))
    header = staff.get(reverse("admin:index")).content.decode()
    assert 'data-alert-count="1"' in header

    event = AlertEvent.objects.create(rule=rule, kind="resolved", title="【已恢复】" + rule.name, text="…")
    ch = Channel.objects.create(name="值班邮箱", kind="email", recipients="ops@example.com")
    Delivery.objects.create(event=event, channel=ch, status="failed", error="boom")
    history = staff.get(reverse("admin:notify_alertevent_changelist")).content.decode()
    assert "已恢复" in history and "值班邮箱：发送失败" in history
    assert staff.get(reverse("admin:notify_alertevent_change", args=[event.pk])).status_code == 200
    firing = staff.get(reverse("admin:notify_alertstate_changelist") + "?firing__exact=1").content.decode()
    assert "告警中" in firing
    assert rule.name in firing
    assert re.search(r'class="field-value_display[^>]*>35<', firing)


def test_alert_pages_in_english_after_the_switch(staff):
    defaults.seed(AlertRule)
    rule = AlertRule.objects.get(metric="pending_orders")
    AlertEvent.objects.create(rule=rule, kind="resolved", title="【已恢复】" + rule.name, text="…")
    staff.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})
    history = staff.get(reverse("admin:notify_alertevent_changelist")).content.decode()
    assert "Alert history" in history and "Resolved" in history and "告警记录" not in history
    rules = staff.get(reverse("admin:notify_alertrule_changelist")).content.decode()
    assert "Orders waiting to ship (paid, not shipped)" in rules


def test_operations_see_alerts_and_rules_not_the_channels(client, django_user_model):
    ensure_roles()
    ops = django_user_model.objects.create_user("ops", password="x", is_staff=True)
    ops.groups.add(Group.objects.get(name=OPERATIONS))
    client.force_login(ops)
    assert 'id="alert-bell"' in client.get(reverse("admin:index")).content.decode()
    assert client.get(reverse("admin:notify_alertevent_changelist")).status_code == 200
    assert client.get(reverse("admin:notify_alertrule_changelist")).status_code == 200
    assert client.get(reverse("admin:notify_channel_changelist")).status_code == 403
    wh = django_user_model.objects.create_user("wh", password="x", is_staff=True)
    wh.groups.add(Group.objects.get(name=WAREHOUSE))
    client.force_login(wh)
    assert client.get(reverse("admin:notify_alertrule_changelist")).status_code == 403


@pytest.mark.django_db(transaction=True)  # sending runs after commit: no test-wide transaction
def test_send_test_from_the_channel_list_and_page(staff):
    with DingTalkRobot() as ding:
        ch = Channel(name="钉钉运营群", kind="dingtalk", base_url=ding.url)
        ch.token, ch.secret = ding.token, ding.secret
        ch.save()
        r = staff.post(reverse("admin:notify_channel_changelist"),
                       {"action": "send_test", "_selected_action": [ch.pk]}, follow=True)  # fmt: skip
        assert "测试消息已发送" in r.content.decode()
        url = reverse("admin:notify_channel_send_test_detail", args=[ch.pk])
        confirm = staff.get(url)  # a link only asks
        assert (
            "向通知渠道 钉钉运营群 发送一条测试消息？" in confirm.content.decode() and len(ding.messages) == 1
        )
        r = staff.post(url, follow=True)
        assert "测试消息已发送" in r.content.decode()
        assert len(ding.messages) == 2
        assert list(Delivery.objects.values_list("status", flat=True)) == ["sent", "sent"]
