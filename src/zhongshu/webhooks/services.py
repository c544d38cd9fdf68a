"""Use cases of the outgoing webhooks: subscribers (create, delete), fan-out of outbox events into
deliveries, replay of dead letters. Sending is in webhooks/dispatch.py, run by the worker."""

import base64
import secrets
from collections.abc import Iterable

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from zhongshu.core import outbox
from zhongshu.core.models import OutboxEvent
from zhongshu.webhooks import events
from zhongshu.webhooks.guard import UnsafeUrl, check_url
from zhongshu.webhooks.models import EVENT_TYPES, WebhookDelivery, WebhookEndpoint, WebhookMessage

__all__ = [
    "UnsafeUrl",
    "WebhookError",
    "check_url",
    "create_endpoint",
    "delete_endpoint",
    "fan_out",
    "fan_out_many",
    "replay",
]

D = WebhookDelivery.Status


class WebhookError(Exception):
    def __init__(self, field: str, detail: str, status: int = 422):
        super().__init__(detail)
        self.field, self.detail, self.status = field, detail, status


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` + base64 of 24 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def clean_events(chosen: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(chosen))
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if unknown:
        raise WebhookError(
            "events",
            _("未知事件 {unknown}（可选：{known}）").format(
                unknown=", ".join(unknown), known=", ".join(EVENT_TYPES)
            ),
        )
    if not chosen:
        raise WebhookError("events", _("至少选择一个事件"))
    return chosen


def create_endpoint(
    url: str, chosen: Iterable[str], description: str, actor: str, critical: bool = True
) -> tuple[WebhookEndpoint, str]:
    """A new subscriber; returns it and its secret in clear (shown once, stored encrypted)."""
    chosen = clean_events(chosen)
    try:
        check_url(url)  # resolves the host: before the transaction, not inside it
    except UnsafeUrl as exc:
        raise WebhookError("url", str(exc)) from exc
    secret = new_secret()
    with transaction.atomic():
        ep = WebhookEndpoint(
            url=url, events=chosen, description=description, critical=critical, created_by=actor[:128]
        )
        ep.secret = secret
        ep.save()
        _audit(ep, "webhooks.endpoint_created", actor, f"新建推送订阅 {ep.pk}: {url}（{', '.join(chosen)}）")
    return ep, secret


def delete_endpoint(endpoint_id: int, actor: str) -> bool:
    """Delete a subscriber and its deliveries; False when there is none with that id."""
    with transaction.atomic():
        ep = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()
        if ep is None:
            return False
        _audit(ep, "webhooks.endpoint_deleted", actor, f"删除推送订阅 {ep.pk}: {ep.url}")
        ep.delete()
    return True


def replay(endpoint_id: int, actor: str, delivery_id: int | None = None) -> int:
    """Send the dead letters of a subscriber again (or only one of them), from the first attempt of
    the schedule; returns how many were queued. An inactive subscriber is refused (409)."""
    with transaction.atomic():
        ep = WebhookEndpoint.objects.select_for_update().filter(pk=endpoint_id).first()
        if ep is None:
            raise WebhookError("id", _("没有编号为 {id} 的推送订阅").format(id=endpoint_id), status=404)
        if not ep.active:
            raise WebhookError(
                "id", _("推送订阅 {id} 已停用，请先启用再重放").format(id=endpoint_id), status=409
            )
        dead = WebhookDelivery.objects.filter(endpoint=ep, status=D.DEAD)
        if delivery_id is not None:
            if not dead.filter(pk=delivery_id).exists():
                raise WebhookError(
                    "delivery_id",
                    _("推送订阅 {id} 没有编号为 {d} 的死信").format(id=endpoint_id, d=delivery_id),
                    404,
                )
            dead = dead.filter(pk=delivery_id)
        n = dead.update(
            status=D.PENDING, attempts=0, next_attempt_at=timezone.now(), lease_until=None, lease_owner=""
        )
        if n:
            _audit(ep, "webhooks.replayed", actor, f"重放推送订阅 {ep.pk} 的 {n} 条死信")
            _dispatch_after_commit()
    return n


def set_active(endpoint_ids: list[int], active: bool, actor: str) -> int:
    """Enable or disable subscribers (the console's actions); returns how many changed."""
    with transaction.atomic():
        eps = list(WebhookEndpoint.objects.select_for_update().filter(pk__in=endpoint_ids, active=not active))
        WebhookEndpoint.objects.filter(pk__in=[e.pk for e in eps]).update(active=active, disabled_reason="")
        for ep in eps:
            _audit(ep, "webhooks.endpoint_" + ("enabled" if active else "disabled"), actor,
                   f"{'启用' if active else '停用'}推送订阅 {ep.pk}: {ep.url}")  # fmt: skip
        if active and eps:
            _dispatch_after_commit()
    return len(eps)


def _audit(ep: WebhookEndpoint, topic: str, actor: str, summary: str) -> None:
    outbox.write(
        [outbox.event(topic, key=f"webhook:{ep.pk}", actor=actor,
                      payload={"subject": f"webhook:{ep.pk}", "summary": summary[:400]})]
    )  # fmt: skip


# --- fan-out (an outbox consumer, inside the relay's transaction) ---------------------------------


def fan_out(ev: OutboxEvent) -> int:
    """One delivery per active subscriber of the event's webhook type; idempotent (a redelivered
    outbox event finds its message and deliveries already there). Returns deliveries made."""
    return fan_out_many([ev])


def fan_out_many(evs: list[OutboxEvent]) -> int:
    """`fan_out` of a relay batch's events, in their order: the subscribers are read once, and a batch
    no subscriber wants costs that one query."""
    kinds = [(ev, events.event_type(ev)) for ev in evs]
    if not any(kind for _, kind in kinds):
        return 0
    endpoints = list(WebhookEndpoint.objects.filter(active=True))
    messages, deliveries = [], []
    now = timezone.now()
    for ev, kind in kinds:
        targets = [ep for ep in endpoints if kind is not None and kind in ep.events]
        msg = events.message_for(ev, kind) if targets else None
        if msg is None:
            continue
        messages.append(WebhookMessage(message_id=msg.message_id, event_type=msg.event_type, body=msg.body,
                                       keys=msg.keys, created_at=ev.created_at))  # fmt: skip
        deliveries += [
            WebhookDelivery(message_id=msg.message_id, endpoint=ep, next_attempt_at=now) for ep in targets
        ]
    if not messages:
        return 0
    # a redelivered event: its message and deliveries are there already
    WebhookMessage.objects.bulk_create(messages, ignore_conflicts=True)
    made = WebhookDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    _dispatch_after_commit()
    return len(made)


def _dispatch_after_commit() -> None:
    """Ask the worker to send once the transaction commits (once per transaction)."""
    from zhongshu.webhooks.tasks import request_dispatch

    if not any(entry[1] is request_dispatch for entry in getattr(connection, "run_on_commit", ())):
        transaction.on_commit(request_dispatch)
