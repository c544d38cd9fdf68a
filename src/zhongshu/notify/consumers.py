"""Red alerts from outbox events of other apps: the sync circuit breaker's transitions (R-PEAK3).

Each `channel.breaker.*` event becomes one alert record sent to every active alert channel, after
the relay's transaction commits. A redelivered event finds its record (subject names the event) and
sends nothing again.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from zhongshu.core.models import OutboxEvent
from zhongshu.core.outbox import consumer
from zhongshu.notify.models import AlertEvent, Channel
from zhongshu.notify.services import _deliveries

BREAKER_WORDS = {
    "opened": ("告警", "已熔断：新订单暂存，暂停自动处理"),
    "recovering": ("持续告警", "恢复中：按平台时间顺序补处理暂存订单"),
    "closed": ("已恢复", "已恢复：暂存订单已全部补处理"),
}


def breaker_alert(payload: dict, what: str) -> tuple[str, str]:
    """(title, markdown text) of a breaker transition; no PII."""
    word, line = BREAKER_WORDS[what]
    scope = "全部店铺" if payload["scope"] == "*" else f"店铺 {payload['scope']}"
    title = f"【{word}】同步熔断 {scope}"
    at = timezone.localtime(datetime.fromisoformat(payload["at"])).strftime("%Y-%m-%d %H:%M")
    delay = payload.get("delay_seconds")
    lines = [f"### {title}", f"- {line}",
             f"- 新订单同步延迟：{'无数据' if delay is None else f'{delay} 秒'}"
             f"（阈值 {payload['threshold_seconds']} 秒，持续 {payload['sustain_seconds']} 秒）",
             f"- 暂存订单：{payload['held']}", f"- 时间：{at}（北京时间）"]  # fmt: skip
    if what == "opened":
        lines.append("- 处理步骤：1 暂停自动处理 2 通知客服 3 人工核对 4 恢复后按时间顺序补处理")
    return title, "\n".join(lines)


@consumer("notify.breaker", topic_prefix="channel.breaker.")
def alert_breaker(ev: OutboxEvent) -> None:
    subject = f"breaker#{ev.pk}"
    if AlertEvent.objects.filter(subject=subject).exists():
        return
    what = ev.topic.removeprefix("channel.breaker.")
    title, text = breaker_alert(ev.payload, what)
    kind = {"opened": AlertEvent.Kind.FIRING, "closed": AlertEvent.Kind.RESOLVED}.get(
        what, AlertEvent.Kind.REMINDER
    )
    event = AlertEvent.objects.create(subject=subject, kind=kind, title=title, text=text)
    ids = _deliveries(event, Channel.objects.filter(active=True))
    if ids:
        from zhongshu.notify.tasks import deliver_task  # noqa: PLC0415 - the queue is composed above

        transaction.on_commit(lambda: deliver_task(ids))
