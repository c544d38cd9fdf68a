"""Alert evaluation and delivery: one transaction per rule evaluated, sending only after commit.

`evaluate` locks each active rule, measures its metric, moves each subject's state and writes the
notices due (AlertEvent + one pending Delivery per active channel) in one transaction; it returns the
new deliveries only once that transaction is committed, and the caller (the worker's task) sends them
in the background. Two workers evaluating at once serialise on the rule's row lock (on SQLite on the
write lock), so the second finds the state already moved and sends nothing twice.
"""

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from zhongshu.notify import domain, metrics, senders
from zhongshu.notify.models import AlertEvent, AlertRule, AlertState, Channel, Delivery

log = logging.getLogger(__name__)

KIND_WORD = {domain.FIRING: "告警", domain.REMINDER: "持续告警", domain.RESOLVED: "已恢复"}


def evaluate(now: datetime | None = None) -> list[int]:
    """Evaluate every active rule; the ids of the deliveries to send (already committed)."""
    now = now or timezone.now()
    pending: list[int] = []
    for rule_id in AlertRule.objects.filter(active=True).order_by("pk").values_list("pk", flat=True):
        pending += _evaluate_rule(rule_id, now)
    return pending


@transaction.atomic
def _evaluate_rule(rule_id: int, now: datetime) -> list[int]:
    rule = AlertRule.objects.select_for_update().get(pk=rule_id)
    rule.threshold = rule.current_threshold()  # in memory only: the promotion's tighter mark, if any
    values = metrics.measure(rule.metric, now, rule.window_minutes)
    states = {s.subject: s for s in AlertState.objects.select_for_update().filter(rule=rule)}
    deliveries: list[int] = []
    for subject in sorted(set(values) | {s for s, st in states.items() if st.firing}):
        state = states.get(subject) or AlertState(rule=rule, subject=subject)
        value = values.get(subject)
        in_breach = domain.breached(value, rule.comparison, rule.threshold)
        kind = domain.decide(state.firing, state.last_sent_at, in_breach, now,
                             timedelta(minutes=rule.cooldown_minutes))  # fmt: skip
        if kind == domain.FIRING:
            state.since = now
        if kind:
            deliveries += _notice(rule, subject, kind, value, now)
            state.last_sent_at = now
        state.firing, state.value, state.evaluated_at = in_breach, value, now
        state.save()
    return deliveries


def _notice(rule: AlertRule, subject: str, kind: str, value: Decimal | None, now: datetime) -> list[int]:
    title, text = render(rule, subject, kind, value, now)
    event = AlertEvent.objects.create(
        rule=rule, subject=subject, kind=kind, value=value, threshold=rule.threshold, title=title, text=text
    )
    return _deliveries(event, rule.channels.filter(active=True))


def _deliveries(event: AlertEvent, channels) -> list[int]:
    return [Delivery.objects.create(event=event, channel=channel).pk for channel in channels.order_by("pk")]


def render(rule: AlertRule, subject: str, kind: str, value: Decimal | None, now: datetime) -> tuple[str, str]:
    """(title, markdown text) of a notice: rule, metric, subject, value against threshold, time; no PII."""
    title = f"【{KIND_WORD[kind]}】{rule.name}"
    local = timezone.localtime(now).strftime("%Y-%m-%d %H:%M")
    lines = [f"### {title}", f"- 指标：{rule.get_metric_display()}"]
    if subject:
        lines.append(f"- 店铺：{subject}")
    shown = "无数据" if value is None else number(value)
    lines.append(f"- 当前值：**{shown}**（阈值 {rule.get_comparison_display()} {number(rule.threshold)}）")
    lines.append(f"- 时间：{local}（北京时间）")
    return title, "\n".join(lines)


def number(value: Decimal) -> str:
    """801, 20.5 → "801", "20.50": counts without decimals."""
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value:.2f}"


# --- delivery (outside any transaction) --------------------------------------------------------


def deliver(delivery_ids: list[int]) -> dict[int, str]:
    """Send each pending delivery once (a claimed row is not sent again); the outcome of each."""
    assert not transaction.get_connection().in_atomic_block, "send only after commit"
    return {pk: _deliver_one(pk) for pk in delivery_ids}


def _deliver_one(pk: int) -> str:
    claimed = Delivery.objects.filter(pk=pk, status=Delivery.Status.PENDING, attempts=0).update(attempts=1)
    if not claimed:
        return "skipped"
    d = Delivery.objects.select_related("event", "channel").get(pk=pk)
    try:
        for attempt in Retrying(
            retry=retry_if_exception_type(senders.RetryableSendError),
            wait=wait_exponential(multiplier=0.5, max=4),
            stop=stop_after_attempt(3),
            reraise=True,
        ):
            with attempt:
                Delivery.objects.filter(pk=pk).update(attempts=attempt.retry_state.attempt_number)
                ack = senders.send(d.channel, d.event.title, d.event.text)
    except senders.SendError as exc:
        log.warning("alert notice %s to channel %s failed: %s", d.event_id, d.channel.name, exc)
        Delivery.objects.filter(pk=pk).update(status=Delivery.Status.FAILED, error=str(exc)[:2000])
        return f"failed: {exc}"
    Delivery.objects.filter(pk=pk).update(status=Delivery.Status.SENT, sent_at=timezone.now(), error="")
    return f"sent: {ack}"


def send_test(channel_name: str) -> tuple[bool, str]:
    """Send a test notice through a channel now; (ok, outcome). Recorded in the alert history."""
    channel = Channel.objects.get(name=channel_name)
    local = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    title = "【测试】中枢告警通道"
    text = f"### {title}\n- 渠道：{channel.name}\n- 时间：{local}（北京时间）\n\n收到此消息说明告警通道配置正确。"
    with transaction.atomic():
        event = AlertEvent.objects.create(kind=AlertEvent.Kind.TEST, title=title, text=text)
        (pk,) = _deliveries(event, Channel.objects.filter(pk=channel.pk))
    outcome = deliver([pk])[pk]
    return outcome.startswith("sent"), outcome


def firing_count() -> int:
    return AlertState.objects.filter(firing=True, rule__active=True).count()
