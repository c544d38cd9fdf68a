"""Background work of the channels: the per-shop pull, back-fills, and the scheduler that starts them.

Two runs of one shop never overlap. The lock is one the operating system or the database drops by
itself when its holder dies, so a killed worker can never leave a shop stuck:

- PostgreSQL: a session advisory lock keyed by (namespace, hashtext(shop)); it goes with the
  connection when the process dies, and it holds across all worker machines.
- SQLite (one machine by nature): an exclusive `flock` on a file under ZHONGSHU_HOME; the kernel
  releases it when the process dies. A SQLite write transaction would also serialise, but held for
  a whole pull (HTTP calls included) it would block every other writer of the hub.

The scheduler (`run_sync_scheduler`, a thread of `zhongshu worker`) enqueues a sync for each shop
that is due. It claims a shop by moving `last_run_at` with a compare-and-set update, so several
workers running schedulers enqueue each due shop once, not once per worker.
"""

import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, connection
from django.db.models import Q
from django.utils import timezone
from huey import crontab
from huey.constants import EmptyData
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from zhongshu.channels import breaker, history, inbox, services
from zhongshu.channels.base import ConnectorError
from zhongshu.channels.models import Platform, Shop, SyncRun, SyncState
from zhongshu.channels.registry import platforms

__all__ = ["backfill_task", "due_shops", "run_backfill", "run_sync", "run_sync_scheduler", "schedule_due",
           "shop_lock", "sync_shop_task"]  # fmt: skip

log = logging.getLogger(__name__)

LOCK_NAMESPACE = 0x7A73  # "zs": the first key of the two-key advisory locks of the channels
PUSH_ONLY = {Platform.OWN}  # the own shop sends its orders (API, signed webhooks): nothing to pull
SYNC_TASK_EXPIRES = 120  # seconds: a sync still queued after this is dropped (the next tick enqueues anew)
# seconds between two evaluations of the circuit breakers by one scheduler
BREAKER_TICK = float(os.environ.get("ZHONGSHU_BREAKER_TICK_SECONDS", "5"))


# --- the per-shop lock -------------------------------------------------------------------------


@contextmanager
def shop_lock(shop_code: str, purpose: str = "sync") -> Iterator[bool]:
    """Yield True when this caller holds the shop's lock for `purpose`, False when another run does."""
    name = f"{purpose}:{shop_code}"
    locker = _advisory_lock if connection.vendor == "postgresql" else _file_lock
    with locker(name) as held:
        yield held


@contextmanager
def _advisory_lock(name: str) -> Iterator[bool]:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s, hashtext(%s))", [LOCK_NAMESPACE, name])
        held = bool(cur.fetchone()[0])
    try:
        yield held
    finally:
        if held:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", [LOCK_NAMESPACE, name])


@contextmanager
def _file_lock(name: str) -> Iterator[bool]:
    folder = settings.HOME / "locks"
    folder.mkdir(exist_ok=True)
    with open(folder / f"{name.replace(':', '-')}.lock", "a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


# --- runs --------------------------------------------------------------------------------------


def run_sync(
    shop_code: str, kind: str = SyncRun.Kind.SCHEDULED, actor: str = ""
) -> services.SyncReport | None:
    """Pull the shop's changed orders now, unless another run of it holds the lock (then None). The
    run goes into the shop's history (channels/history.py keeps the ones worth remembering)."""
    started = timezone.now()
    with shop_lock(shop_code) as held:
        if not held:
            log.info("sync of shop %s skipped: another run is in progress", shop_code)
            history.record(shop_code, kind, started, skipped=True, actor=actor)
            return None
        try:
            report = services.sync_shop(shop_code)
        except Exception as exc:
            history.record(shop_code, kind, started, exc=exc, actor=actor)
            raise
    history.record(shop_code, kind, started, report=report, actor=actor)
    return report


def run_backfill(shop_code: str, start: datetime, end: datetime) -> services.SyncReport | None:
    """Re-pull [start, end) for the shop, one back-fill of a shop at a time (the cursor stays put)."""
    began = timezone.now()
    with shop_lock(shop_code, "backfill") as held:
        if not held:
            log.info("back-fill of shop %s skipped: another back-fill is in progress", shop_code)
            history.record(shop_code, SyncRun.Kind.BACKFILL, began, skipped=True)
            return None
        try:
            report = services.backfill(shop_code, start, end)
        except Exception as exc:
            history.record(shop_code, SyncRun.Kind.BACKFILL, began, exc=exc)
            raise
    history.record(shop_code, SyncRun.Kind.BACKFILL, began, report=report)
    return report


# The tasks return None: huey keeps no result for them (nobody reads one every 10 s per shop), and
# a failure is recorded on the shop's SyncState by the service. Logs carry the error's type only:
# a platform's message may quote a receiver.


# ahead of the queue's other tasks: at a peak the stock write-back (a push_stock_task per SKU) and the
# notices fill the queue, and a pull waiting behind them delays every order of the shop (measured with
# `zhongshu loadtest --paths pull`: 13 s p50 behind ~50 write-back tasks, see docs/peak.md)
SYNC_PRIORITY = 10


@db_task(expires=SYNC_TASK_EXPIRES, priority=SYNC_PRIORITY)
def sync_shop_task(shop_code: str) -> None:
    """One incremental pull of a shop."""
    HUEY.storage.pop_data(_QUEUED.format(shop_code))  # taken up: the scheduler may queue the next one
    try:
        report = run_sync(shop_code)
    except Exception as exc:  # noqa: BLE001 - recorded on SyncState; the next tick tries again
        _log_failure("sync", shop_code, exc)
        return
    if report is not None:
        log.info("sync of shop %s: %s", shop_code, _summary(report))


@db_task()
def backfill_task(shop_code: str, start: datetime, end: datetime) -> None:
    """Back-fill a past range of a shop (requested from the admin or the CLI)."""
    try:
        report = run_backfill(shop_code, start, end)
    except Exception as exc:  # noqa: BLE001 - a back-fill is asked for again by a person
        _log_failure("back-fill", shop_code, exc)
        _backfill_failed(shop_code, exc)
        return
    if report is not None:
        log.info("back-fill of shop %s %s..%s: %s", shop_code, start, end, _summary(report))
        _backfill_done(shop_code, start, end)


def _backfill_done(shop_code: str, start: datetime, end: datetime) -> None:
    """Clear the requested range shown in the admin, unless a newer request replaced it."""
    SyncState.objects.filter(shop__code=shop_code, backfill_from=start, backfill_to=end).update(
        backfill_from=None, backfill_to=None
    )


def _backfill_failed(shop_code: str, exc: Exception) -> None:
    SyncState.objects.filter(shop__code=shop_code).update(
        last_error=f"back-fill: {type(exc).__name__}: {exc}"[:2000], last_error_at=timezone.now()
    )


def _log_failure(what: str, shop_code: str, exc: Exception) -> None:
    level = logging.WARNING if isinstance(exc, ConnectorError) else logging.ERROR
    code = getattr(exc, "code", "")
    log.log(level, "%s of shop %s failed: %s %s", what, shop_code, type(exc).__name__, code)


def _summary(r: services.SyncReport) -> str:
    return (f"{r.windows} window(s), {r.received} received, {r.created} created, {r.updated} updated, "
            f"{r.unchanged} unchanged, {len(r.rejected)} rejected")  # fmt: skip


# --- scheduler ---------------------------------------------------------------------------------


def due_shops(now: datetime) -> list[SyncState]:
    """Shops to pull now: active, pulled by a connector, with a credential not awaiting
    re-authorisation, sync enabled, and last run at least `interval_seconds` ago."""
    _ensure_sync_states()
    states = SyncState.objects.select_related("shop").filter(_syncable(), enabled=True).order_by("pk")
    return [s for s in states if s.last_run_at is None or s.last_run_at + _interval(s) <= now]


def schedule_due(now: datetime | None = None) -> list[str]:
    """Enqueue one sync per due shop (claimed first, so concurrent schedulers do not double it)."""
    now = now or timezone.now()
    enqueued = []
    for state in due_shops(now):
        code = state.shop.code
        if _still_queued(code, now):
            continue
        if _claim(state, now):
            HUEY.storage.put_data(_QUEUED.format(code), str(now.timestamp()).encode())
            sync_shop_task(code)
            enqueued.append(code)
    return enqueued


# A shop's sync waiting in the queue (behind other tasks at a peak) is not queued a second time: the
# scheduler marks it in the queue's own key-value store (Huey storage: SQLite or Redis, shared by every
# worker process) and the task clears the mark when it starts. A mark older than SYNC_TASK_EXPIRES is
# ignored — the queue drops a sync that waited that long without running it.
_QUEUED = "zhongshu:sync-queued:{}"


def _still_queued(shop_code: str, now: datetime) -> bool:
    mark = HUEY.storage.peek_data(_QUEUED.format(shop_code))
    if mark is EmptyData:
        return False
    return now.timestamp() - float(mark) < SYNC_TASK_EXPIRES


def run_sync_scheduler(stop: threading.Event, tick: float = 1.0) -> None:
    """Every `tick` seconds enqueue the due shops' pulls, and every BREAKER_TICK seconds evaluate (and
    drain) the circuit breakers, until `stop` is set (a worker thread)."""
    last_breaker = 0.0
    while not stop.is_set():
        try:
            schedule_due()
            if time.monotonic() - last_breaker >= BREAKER_TICK:
                last_breaker = time.monotonic()
                breaker.tick()
        except Exception:  # noqa: BLE001 - the loop must survive a database hiccup
            log.exception("sync scheduler tick failed")
            close_old_connections()
        stop.wait(tick)


def _pulling_platforms() -> list[str]:
    return [p for p in platforms() if p not in PUSH_ONLY]


def _syncable() -> Q:
    return Q(
        shop__active=True,
        shop__platform__in=_pulling_platforms(),
        shop__credential__isnull=False,
        shop__credential__needs_reauth=False,
    )


def _interval(state: SyncState) -> timedelta:
    return timedelta(seconds=max(1, state.interval_seconds))


def _claim(state: SyncState, now: datetime) -> bool:
    same = Q(last_run_at__isnull=True) if state.last_run_at is None else Q(last_run_at=state.last_run_at)
    return SyncState.objects.filter(same, pk=state.pk).update(last_run_at=now) == 1


def _ensure_sync_states() -> None:
    missing = Shop.objects.filter(active=True, platform__in=_pulling_platforms(), sync__isnull=True)
    SyncState.objects.bulk_create([SyncState(shop=s) for s in missing], ignore_conflicts=True)


# --- the push inbox ------------------------------------------------------------------------------


@db_periodic_task(crontab(minute="*"))
def take_in_inbox_periodic() -> int:
    """Safety net when a worker runs without the inbox loop (`run_inbox_loop`)."""
    return inbox.take_in()


def _wake_inbox() -> None:
    if HUEY.immediate:  # tests and one-off scripts: take the push in at once
        inbox.take_in()


inbox.set_waker(_wake_inbox)
