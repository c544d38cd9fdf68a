"""Background threads of a process (the worker's loops, the message listeners)."""

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
