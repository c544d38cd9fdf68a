"""Background threads of a process (the worker's loops, the message listeners)."""

import logging
import threading
from collections.abc import Callable

from django.db import close_old_connections, connections


def start_daemon(name: str, fn: Callable[[], None]) -> threading.Thread:
    """Run `fn()` in a started daemon thread that closes its database connections when `fn` ends."""

    def run() -> None:
        try:
            fn()
        finally:
            close_old_connections()
            connections.close_all()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


def poll(stop: threading.Event, step: Callable[[], int], interval: float, what: str) -> None:
    """Call `step` until `stop` is set, waiting `interval` after a call that did nothing (it returns
    how much it did); an error is logged and the next tick tries again (a database hiccup must not
    end the loop)."""
    log = logging.getLogger(step.__module__)
    while not stop.is_set():
        try:
            done = step()
        except Exception:  # noqa: BLE001
            log.exception("%s failed", what)
            close_old_connections()
            done = 0
        if not done:
            stop.wait(interval)
