"""Background work of the core: the outbox relay.

The worker process polls the outbox every RELAY_INTERVAL seconds (a "polling publisher"): no
wake-up can be lost, and a burst of commits costs one indexed query. Only one relay runs at a time
across all worker processes (see zhongshu.core.outbox), which keeps per-key order.
"""

import os
import socket
import threading
import time

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from zhongshu.core import outbox
from zhongshu.core.threads import poll

__all__ = ["HUEY", "relay_outbox", "relay_outbox_periodic", "run_relay_loop"]

RELAY_INTERVAL = 0.1


def relay_once() -> int:
    return outbox.relay()


@db_task()
def relay_outbox() -> int:
    """Deliver pending outbox events now (used by 'sync now' style triggers)."""
    return relay_once()


@db_periodic_task(crontab(minute="*"))
def relay_outbox_periodic() -> int:
    """Safety net when a worker runs without the relay loop."""
    return relay_once()


@db_task()
def worker_ping(pause: float = 0.0) -> dict:
    """Health check of the workers: which process and host answered (used by scale-out checks)."""
    time.sleep(pause)
    return {"pid": os.getpid(), "host": socket.gethostname()}


def run_relay_loop(stop: threading.Event, interval: float = RELAY_INTERVAL) -> None:
    """Poll and relay until `stop` is set; errors are logged and retried on the next tick."""
    poll(stop, relay_once, interval, "outbox relay")


def _wake_after_commit() -> None:
    if HUEY.immediate:  # tests and one-off scripts: deliver synchronously
        outbox.relay()


outbox.set_waker(_wake_after_commit)
