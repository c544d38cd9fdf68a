"""The audit timeline: every outbox event becomes one timeline row, idempotently (keyed by event)."""

from zhongshu.core.models import OutboxEvent, TimelineEntry
from zhongshu.core.outbox import consumer


@consumer("timeline")
def record_timeline(ev: OutboxEvent) -> None:
    subject = ev.payload.get("subject") or f"{ev.topic.split('.')[0]}:{ev.key}"
    TimelineEntry.objects.get_or_create(
        event=ev,
        defaults={
            "subject": subject[:160],
            "kind": ev.topic,
            "summary": str(ev.payload.get("summary", ev.topic))[:400],
            "actor": ev.actor,
            "at": ev.created_at,
        },
    )
