"""One writer at a time per process on SQLite, instead of every thread polling SQLite's lock.

SQLite has one write lock per file. Writers that find it taken sleep and poll (1 ms … 100 ms
steps), so under load a transaction can lose the race again and again: intake at a peak showed
single orders waiting seconds behind luckier ones when eight web threads polled at once. Use cases
that write (`atomic_with_retry`, the push inbox) take this thread lock first, so within a process
the threads queue on a lock that wakes the next waiter when it is released, and only one thread
per process (the web workers, the background worker) meets SQLite's polling. A lock across the
processes (flock) was tried and dropped: a busy background worker re-took it before a woken web
worker ran, and starved the requests. PostgreSQL needs none of this (row locks).
"""

import contextlib
import threading

from django.db import connection

_thread_lock = threading.Lock()


@contextlib.contextmanager
def sqlite_writer():
    """Hold this process's write turn around a write transaction on SQLite (no-op elsewhere, or
    when an outer transaction already holds SQLite's write lock)."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with _thread_lock:
        yield
