"""Background sending of webhooks (Huey). After a commit that made deliveries, `request_dispatch`
enqueues one dispatch (deduplicated by a mark in the queue's storage, as channels/writeback_tasks.py
does); a dispatch sends what is due, then schedules a wake-up for the earliest retry (one pending
wake-up at a time). A periodic task every minute is the safety net. In the queue's immediate mode
(tests, one-off scripts) the dispatch runs at once in the committing thread, after the commit."""

import time

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from zhongshu.webhooks import dispatch

DISPATCH_MARK = "zhongshu:webhook-dispatch"
WAKE_MARK = "zhongshu:webhook-wake"
STALE_SECONDS = 120.0
RUN_SECONDS = 50.0  # one task sends for at most this long, then hands over to the next


def request_dispatch() -> None:
    """Send pending deliveries soon (called after commit)."""
    if HUEY.immediate:
        dispatch.dispatch_due()
        return
    now = time.time()
    if not HUEY.put_if_empty(DISPATCH_MARK, now):
        since = HUEY.get(DISPATCH_MARK, peek=True)
        if isinstance(since, float) and now - since < STALE_SECONDS:
            return  # one is already queued
        HUEY.put(DISPATCH_MARK, now)
    dispatch_webhooks()


def _wake_later() -> None:
    """Schedule a dispatch for the earliest pending retry, unless one is scheduled no later."""
    delay = dispatch.next_due_in()
    if delay is None or HUEY.immediate:
        return
    eta = time.time() + delay
    pending = HUEY.get(WAKE_MARK, peek=True)
    if isinstance(pending, float) and time.time() - STALE_SECONDS < pending <= eta + 0.5:
        return
    HUEY.put(WAKE_MARK, eta)
    wake_webhooks.schedule(delay=max(delay, 0.5))


@db_task()
def dispatch_webhooks() -> int:
    HUEY.get(DISPATCH_MARK)  # pop the mark: commits from now on queue the next dispatch
    started = time.monotonic()
    sent = dispatch.dispatch_due(RUN_SECONDS)
    if time.monotonic() - started >= RUN_SECONDS:
        request_dispatch()  # the time limit ended the run with work left: go on in a fresh task
    else:
        _wake_later()
    return sent


@db_task()
def wake_webhooks() -> int:
    HUEY.get(WAKE_MARK)
    sent = dispatch.dispatch_due()
    _wake_later()
    return sent


@db_periodic_task(crontab(minute="*"))
def dispatch_webhooks_periodic() -> int:
    """Safety net: a lost wake-up or a crashed sender's lease (expired) is picked up within a minute."""
    sent = dispatch.dispatch_due()
    _wake_later()
    return sent


@db_periodic_task(crontab(minute="17", hour="3"))
def purge_delivered_webhooks() -> int:
    """Nightly: forget deliveries delivered more than settings.WEBHOOK_KEEP_DAYS ago (dead letters stay)."""
    return dispatch.purge_delivered()
