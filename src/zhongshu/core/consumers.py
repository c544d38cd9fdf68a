"""The audit timeline: every outbox event becomes one timeline row, idempotently (keyed by event),
once per relay batch (one insert of the batch's rows)."""

from zhongshu.core.models import OutboxEvent, TimelineEntry
from zhongshu.core.outbox import consumer


@consumer("timeline", batch=True)
def record_timeline(evs: list[OutboxEvent]) -> None:
    TimelineEntry.objects.bulk_create(
        [
            TimelineEntry(
                event=ev,
                subject=(ev.payload.get("subject") or f"{ev.topic.split('.')[0]}:{ev.key}")[:160],
                kind=ev.topic,
                summary=str(ev.payload.get("summary", ev.topic))[:400],
                actor=ev.actor,
                at=ev.created_at,
            )
            for ev in evs
        ],
        ignore_conflicts=True,  # a redelivered event finds its row there already
    )
