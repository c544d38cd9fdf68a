"""Sending webhook deliveries: claim the due ones, sign them (Standard Webhooks), POST them, record.

Runs in the worker (webhooks/tasks.py), never inside a transaction: each batch is claimed in one short
write (a lease, so two workers never send the same delivery at once), sent with no transaction open,
then recorded in another short write.

Order: deliveries to one subscriber that share an order key (an order, or a SKU for stock) go out one
after the other: a delivery waits while an earlier one of the same key to the same subscriber is
still pending (delivered or dead releases it). Keys of different orders never wait for each other.

Retries (settings.WEBHOOK_RETRY_SCHEDULE, seconds before each attempt): immediately, 5 s, 5 min,
30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h, each with ±10 % jitter; after the last failed attempt the
delivery is a dead letter (replayed by hand). Any 2xx is success; 410 Gone disables the subscriber
(its pending deliveries become dead letters); other answers, timeouts and refused connections retry.

Signing: https://www.standardwebhooks.com/ (spec: github.com/standard-webhooks/standard-webhooks,
`spec/standard-webhooks.md`): headers `webhook-id`, `webhook-timestamp` (Unix seconds of the attempt),
`webhook-signature: v1,<base64 HMAC-SHA256 over "id.timestamp.body" with the decoded secret>`, made by
the `standardwebhooks` package itself.
"""

import logging
import random
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import zip_longest

import httpx
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from standardwebhooks import Webhook

from zhongshu.core import degrade, outbox, pii
from zhongshu.webhooks.guard import UnsafeUrl, check_url
from zhongshu.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookMessage

log = logging.getLogger(__name__)
D = WebhookDelivery.Status

DEFAULT_SCHEDULE = (0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
JITTER = 0.1
SCAN = 5000  # a subscriber's oldest pending deliveries looked at per scan
BATCH = 100
LEASE_SECONDS = 120
NON_CRITICAL_SWITCH = "webhooks_noncritical"  # registered by zhongshu.peak.switches


def retry_schedule() -> tuple[float, ...]:
    return tuple(getattr(settings, "WEBHOOK_RETRY_SCHEDULE", None) or DEFAULT_SCHEDULE)


def delay_before(attempt_index: int) -> float:
    """Seconds to wait before attempt number `attempt_index` (0-based), with jitter."""
    base = retry_schedule()[attempt_index]
    return base * (1 + random.uniform(-JITTER, JITTER)) if base else 0.0


@dataclass
class Outcome:
    delivery_id: int
    ok: bool
    status_code: int | None
    error: str
    gone: bool = False


# --- choosing and claiming -------------------------------------------------------------------------


def _heads():
    """(id, next_attempt_at, lease_until) of the pending deliveries that are first of all their keys
    to their subscriber. Each active subscriber's oldest SCAN pending deliveries are looked at, so a
    subscriber with a large backlog (down for hours) never holds up the others; the subscribers'
    heads are interleaved, oldest first within each. (Within one subscriber, deliveries beyond its
    oldest SCAN pending ones wait until some of those are settled.)"""
    per_endpoint = []
    endpoints = WebhookEndpoint.objects.filter(active=True)
    if not degrade.is_on(NON_CRITICAL_SWITCH):  # degraded: non-critical subscribers wait (R-PEAK2)
        endpoints = endpoints.filter(critical=True)
    for endpoint_id in endpoints.order_by("pk").values_list("pk", flat=True):
        rows = (
            WebhookDelivery.objects.filter(endpoint_id=endpoint_id, status=D.PENDING)
            .order_by("id")
            .values_list("id", "message__keys", "next_attempt_at", "lease_until")[:SCAN]
        )
        blocked: set[str] = set()
        heads = []
        for pk, keys, next_at, lease in rows:
            keys = keys or ()
            if not any(k in blocked for k in keys):
                heads.append((pk, next_at, lease))
            blocked.update(keys)
        per_endpoint.append(heads)
    for row in zip_longest(*per_endpoint):
        yield from (h for h in row if h is not None)


def due_ids(now, limit: int = BATCH) -> list[int]:
    """Pending deliveries that may go now: due, not held by a sender, first pending of all their keys."""
    chosen = []
    for pk, next_at, lease in _heads():
        if (next_at is None or next_at <= now) and (lease is None or lease < now):
            chosen.append(pk)
            if len(chosen) >= limit:
                break
    return chosen


def claim(ids: list[int], now) -> list[WebhookDelivery]:
    """Lease these deliveries to this sender (those another sender got first are left out)."""
    if not ids:
        return []
    owner = uuid.uuid4().hex
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk__in=ids, status=D.PENDING).filter(
            Q(lease_until__isnull=True) | Q(lease_until__lt=now)
        ).update(lease_until=now + timedelta(seconds=LEASE_SECONDS), lease_owner=owner)
    return list(
        WebhookDelivery.objects.select_related("message", "endpoint")
        .filter(pk__in=ids, lease_owner=owner, status=D.PENDING)
        .order_by("id")
    )


# --- sending -----------------------------------------------------------------------------------


def headers_for(secret: str, message_id: str, body: bytes, at: datetime) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": "zhongshu-webhooks/1",
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


def endpoint_refusal(ep: WebhookEndpoint) -> str:
    """Why this subscriber's URL may not be called now ("" when it may): checked again at delivery
    time, since the name may resolve elsewhere by now."""
    try:
        check_url(ep.url)
    except UnsafeUrl as exc:
        return str(exc)
    return ""


def send_one(client: httpx.Client, d: WebhookDelivery, secret: str, refusal: str) -> Outcome:
    if refusal:
        return Outcome(d.pk, False, None, refusal)
    body = d.message.body.encode()
    headers = headers_for(secret, d.message.message_id, body, datetime.now(UTC))
    try:
        resp = client.post(d.endpoint.url, content=body, headers=headers)
    except Exception as exc:  # noqa: BLE001 - timeouts, refused connections, a URL httpx will not take
        return Outcome(d.pk, False, None, pii.scrub(f"{type(exc).__name__}: {exc}"))
    if 200 <= resp.status_code < 300:
        return Outcome(d.pk, True, resp.status_code, "")
    text = pii.scrub(resp.text[:200]) if resp.content else ""
    gone = resp.status_code == 410
    return Outcome(d.pk, False, resp.status_code, f"HTTP {resp.status_code} {text}".strip(), gone)


# --- recording ---------------------------------------------------------------------------------


def record(claimed: list[WebhookDelivery], outcomes: list[Outcome]) -> None:
    """Write the outcomes: the successes in one statement per status code, the failures one by one."""
    by_id = {d.pk: d for d in claimed}
    now = timezone.now()
    schedule = retry_schedule()
    delivered: dict[int, list[int]] = defaultdict(list)
    failed: list[WebhookDelivery] = []
    gone: set[int] = set()
    for o in outcomes:
        if o.ok:
            delivered[o.status_code].append(o.delivery_id)
            continue
        d = by_id[o.delivery_id]
        d.attempts += 1
        d.last_attempt_at, d.last_status_code, d.last_error = now, o.status_code, o.error[:500]
        if o.gone:
            d.status = D.DEAD
            gone.add(d.endpoint_id)
        elif d.attempts >= len(schedule):
            d.status = D.DEAD
        else:
            d.next_attempt_at = now + timedelta(seconds=delay_before(d.attempts))
        failed.append(d)
    released = {"lease_until": None, "lease_owner": ""}
    with transaction.atomic():
        for code, ids in delivered.items():
            WebhookDelivery.objects.filter(pk__in=ids).update(
                status=D.DELIVERED, delivered_at=now, attempts=F("attempts") + 1, last_attempt_at=now,
                last_status_code=code, last_error="", **released,
            )  # fmt: skip
        for d in failed:
            WebhookDelivery.objects.filter(pk=d.pk).update(
                status=d.status, attempts=d.attempts, last_attempt_at=now, last_status_code=d.last_status_code,
                last_error=d.last_error, next_attempt_at=d.next_attempt_at, **released,
            )  # fmt: skip
        for endpoint_id in gone:
            log.warning("webhook subscriber %s answered 410 Gone: disabled", endpoint_id)
            reason = f"对方返回 410 Gone，已自动停用（{timezone.localtime(now):%Y-%m-%d %H:%M}）"
            WebhookEndpoint.objects.filter(pk=endpoint_id).update(active=False, disabled_reason=reason)
            WebhookDelivery.objects.filter(endpoint_id=endpoint_id, status=D.PENDING).update(
                status=D.DEAD, last_error="订阅已停用（410 Gone）", **released
            )
            outbox.write([outbox.event("webhooks.endpoint_disabled", key=f"webhook:{endpoint_id}",
                                       actor="system:webhooks",
                                       payload={"subject": f"webhook:{endpoint_id}",
                                                "summary": f"推送订阅 {endpoint_id} {reason}"})])  # fmt: skip


# --- the loop ----------------------------------------------------------------------------------


def dispatch_due(max_seconds: float = 50.0) -> int:
    """Send what is due, batch after batch, until nothing is or `max_seconds` passed; returns how many
    attempts were made. Must not run inside a transaction (it waits on the network).

    One scan finds the deliveries that may go now (heads of their keys, due); they are independent of
    each other, so they are claimed and sent BATCH at a time before the next scan."""
    if connection.in_atomic_block:
        raise RuntimeError("webhook dispatch must not run inside a transaction")
    started = time.monotonic()
    attempts = 0
    timeout = float(getattr(settings, "WEBHOOK_TIMEOUT", 5.0))
    workers = int(getattr(settings, "WEBHOOK_CONCURRENCY", 8))
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    with (
        httpx.Client(timeout=timeout, follow_redirects=False, limits=limits, trust_env=False) as client,
        ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook") as pool,
    ):
        while time.monotonic() - started < max_seconds:
            ready = due_ids(timezone.now(), limit=SCAN)
            if not ready:
                break
            for i in range(0, len(ready), BATCH):
                claimed = claim(ready[i : i + BATCH], timezone.now())
                if claimed:
                    record(claimed, _send(client, pool, claimed))
                    attempts += len(claimed)
                if time.monotonic() - started >= max_seconds:
                    break
    return attempts


def _send(client: httpx.Client, pool: ThreadPoolExecutor, claimed: list[WebhookDelivery]) -> list[Outcome]:
    endpoints = {d.endpoint_id: d.endpoint for d in claimed}
    refusals = {pk: endpoint_refusal(ep) for pk, ep in endpoints.items()}  # once per batch
    secrets = {pk: ep.secret for pk, ep in endpoints.items()}
    args = [(d, secrets[d.endpoint_id], refusals[d.endpoint_id]) for d in claimed]
    return list(pool.map(lambda a: send_one(client, *a), args))


def next_due_in() -> float | None:
    """Seconds until a delivery that may go is due (0: one is due now), None when nothing waits."""
    now = timezone.now()
    first = None
    for _pk, next_at, lease in _heads():
        at = max(t for t in (next_at, lease, now) if t is not None)
        first = at if first is None else min(first, at)
    return None if first is None else max(0.0, (first - now).total_seconds())


def purge_delivered(keep_days: float | None = None) -> int:
    """Delete deliveries delivered more than `keep_days` (settings.WEBHOOK_KEEP_DAYS, default 30) ago,
    then the messages left without a delivery; returns the deliveries deleted. Dead letters stay."""
    days = keep_days if keep_days is not None else float(getattr(settings, "WEBHOOK_KEEP_DAYS", 30))
    cutoff = timezone.now() - timedelta(days=days)
    n, _ = WebhookDelivery.objects.filter(status=D.DELIVERED, delivered_at__lt=cutoff).delete()
    WebhookMessage.objects.filter(created_at__lt=cutoff, deliveries__isnull=True).delete()
    return n
