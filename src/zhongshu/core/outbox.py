"""Transactional outbox: events are rows written with the change; a relay delivers them after commit.

Delivery is at least once, in id order, one relay at a time (PostgreSQL: a transaction-scoped
advisory lock, released even if the process dies; SQLite: the write transaction itself), so events
that share a key (a SKU, an order) reach every consumer in the order they were written. Consumers must be
idempotent: they receive the event row and may see it again after a crash.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from zhongshu.core import bulk
from zhongshu.core.models import OutboxEvent

log = logging.getLogger(__name__)

Consumer = Callable[[OutboxEvent], None]


@dataclass(frozen=True)
class _Registration:
    name: str
    topic_prefix: str
    handler: Callable
    batch: bool = False


_consumers: list[_Registration] = []


def consumer(name: str, topic_prefix: str = "", batch: bool = False) -> Callable:
    """Register an idempotent in-process consumer for topics starting with topic_prefix.

    batch=True: the handler takes a list of events — every matching event of a relay batch, in id
    order, in one call after the batch's other deliveries (a consumer that brings state in line with
    the rows, such as packages following their orders, does its work once per batch instead of once
    per event). If that call fails, the events are handed over one at a time and only the one that
    fails is kept for a retry (the other consumers may then see it again: they are idempotent)."""

    def register(fn: Callable) -> Callable:
        if not any(r.name == name for r in _consumers):
            _consumers.append(_Registration(name, topic_prefix, fn, batch))
        return fn

    return register


def event(topic: str, key: str, payload: dict, actor: str = "") -> OutboxEvent:
    """An unsaved outbox row; write it with `write` inside the use case's transaction."""
    return bulk.new(OutboxEvent, topic=topic, key=key, payload=payload, actor=actor[:128])


def write(events: Iterable[OutboxEvent]) -> None:
    """Insert events in the current transaction and wake the relay once it commits. Their ids (the
    relay's order) follow the order given; the instances are not given them back."""
    rows = list(events)
    if not rows:
        return
    bulk.insert(rows, ids=False)
    transaction.on_commit(wake_relay)


# --- relay -----------------------------------------------------------------------------------

_waker: Callable[[], object] | None = None


def set_waker(fn: Callable[[], object]) -> None:
    """Composition: the queue module installs how the relay is woken after a commit."""
    global _waker
    _waker = fn


def wake_relay() -> None:
    (_waker or relay)()


# On SQLite a relay batch holds the one write lock of the database while the consumers run: a
# batch stops after this many seconds and the relay pauses before the next, so that the writes
# waiting for the lock (order intake, a push's acknowledgement: a request each) get their turn
# instead of waiting out hundreds of deliveries. A batch reads at most SQLITE_FETCH events (it
# rarely gets through more in its time) and is followed by the pause whenever more may be waiting.
SQLITE_BATCH_SECONDS = 0.05
SQLITE_PAUSE = 0.05
SQLITE_FETCH = 100
# in a short batch the batch consumers run every this many events, so their work counts in the budget
SHORT_BATCH_CONSUMER_EVERY = 20

# At a peak (`set_busy`: the worker installs "pushes are waiting to be taken in") the relay yields
# on every database: batches as short as on SQLite, BUSY_PAUSE between them, so that the pushes'
# acknowledgements and their take-in get the CPU first; the deliveries catch up after the peak.
BUSY_PAUSE = 0.2

_busy: Callable[[], bool] | None = None


def set_busy(fn: Callable[[], bool] | None) -> None:
    """Composition: what tells the relay to yield (asked once per batch)."""
    global _busy
    _busy = fn


# One relay at a time in a process: the worker's relay loop and the periodic safety net (or a "relay
# now" task) would otherwise take turns with each other's batches, and on SQLite one's pause was the
# other's batch: the writes the pause is for found the lock held ~85 % of a push storm (measured with
# ZHONGSHU_SQLITE_SLOW_WRITER_MS). Reentrant: a relay run by a consumer's commit in the same thread
# (HUEY immediate) goes on. Across processes, PostgreSQL's advisory lock (_relay_lock) does the same.
_running = threading.RLock()


def relay(batch: int = 500, max_attempts: int = 20) -> int:
    """Deliver pending events to every consumer; returns how many were delivered (0 at once when
    another thread of this process is relaying: it delivers them)."""
    if not _running.acquire(blocking=False):
        return 0
    try:
        return _relay(batch, max_attempts)
    finally:
        _running.release()


def _relay(batch: int, max_attempts: int) -> int:
    delivered = 0
    while True:
        busy = _busy is not None and _busy()
        done, fetched, cut = _relay_batch(batch, max_attempts, busy)
        delivered += done
        if cut:
            time.sleep(BUSY_PAUSE if busy else SQLITE_PAUSE)
        elif fetched < batch or done == 0:
            return delivered


def _relay_batch(batch: int, max_attempts: int, busy: bool = False) -> tuple[int, int, bool]:
    pending_q = OutboxEvent.objects.filter(delivered_at__isnull=True, attempts__lt=max_attempts)
    if not pending_q.exists():  # cheap poll without taking SQLite's write lock
        return 0, 0, False
    with transaction.atomic():
        if not _relay_lock():
            return 0, 0, False  # another process is relaying right now
        short = busy or connection.vendor == "sqlite"
        limit = min(batch, SQLITE_FETCH) if short else batch
        pending = list(
            OutboxEvent.objects.filter(delivered_at__isnull=True, attempts__lt=max_attempts).order_by("id")[
                :limit
            ]
        )
        blocked: set[str] = set()
        now = timezone.now()
        ok, failed, done = [], [], []
        budget = time.monotonic() + SQLITE_BATCH_SECONDS if short else None
        cut = False
        for ev in pending:
            if budget is not None and len(ok) >= SHORT_BATCH_CONSUMER_EVERY:
                done += _deliver_batches(ok, failed)  # their share of the time counts too
                ok = []
            if budget is not None and (ok or done or failed) and time.monotonic() > budget:
                cut = True  # the rest in the next batch, after the pause
                break
            if ev.key in blocked:  # keep per-key order behind a failed event
                continue
            handlers = _handlers(ev)
            try:
                if handlers:  # a savepoint only where a consumer writes (the batch consumers come later)
                    with transaction.atomic():
                        for handler in handlers:
                            handler(ev)
            except Exception as exc:  # noqa: BLE001 - a consumer failure must not stop other keys
                _failed(ev, exc, failed)
                blocked.add(ev.key)
            else:
                ev.delivered_at = now
                ok.append(ev)
        ok = done + _deliver_batches(ok, failed)
        if ok:  # one delivery time for the batch: a plain UPDATE (bulk_update's CASE per row cost ~10 ms)
            OutboxEvent.objects.filter(pk__in=[ev.pk for ev in ok]).update(delivered_at=now)
        OutboxEvent.objects.bulk_update(failed, ["attempts", "last_error"])
    more = short and len(pending) == limit and bool(ok)  # the rest follows the pause too
    return len(ok), len(pending), cut or more


RELAY_LOCK_KEY = 0x7A68_6F6E  # "zhon"


def _relay_lock() -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite: BEGIN IMMEDIATE already serialises writers
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_xact_lock(%s)", [RELAY_LOCK_KEY])
        return bool(cur.fetchone()[0])


def _handlers(ev: OutboxEvent) -> list[Callable]:
    """The event's consumers that take one event at a time, in registration order."""
    return [reg.handler for reg in _consumers if not reg.batch and ev.topic.startswith(reg.topic_prefix)]


def _deliver_batches(ok: list[OutboxEvent], failed: list[OutboxEvent]) -> list[OutboxEvent]:
    """The batch consumers, each once with its events of this batch; returns the events still ok."""
    for reg in (r for r in _consumers if r.batch):
        events = [ev for ev in ok if ev.topic.startswith(reg.topic_prefix)]
        if not events:
            continue
        try:
            with transaction.atomic():
                reg.handler(events)
        except Exception:  # noqa: BLE001 - find the event that fails, deliver the others
            log.warning("outbox batch consumer %s failed on %d events; one at a time", reg.name, len(events))
            for ev in events:
                try:
                    with transaction.atomic():
                        reg.handler([ev])
                except Exception as exc:  # noqa: BLE001
                    _failed(ev, exc, failed)
                    ev.delivered_at = None
        ok = [ev for ev in ok if ev.delivered_at is not None]
    return ok


def _failed(ev: OutboxEvent, exc: Exception, failed: list[OutboxEvent]) -> None:
    log.exception("outbox consumer failed on %s", ev, exc_info=exc)
    ev.attempts += 1
    ev.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    failed.append(ev)
