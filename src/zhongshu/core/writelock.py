"""One writer at a time on SQLite, in arrival order, instead of SQLite's own busy wait.

SQLite has one write lock per file. Writers that find it taken sleep and poll (1 ms … 100 ms
steps), so under load a transaction can lose the race again and again: intake at a peak showed
single orders waiting seconds behind luckier ones. Use cases that write (`atomic_with_retry`) take
this lock first: a thread lock inside the process, then an exclusive `flock` on a file beside the
database across the web workers and the background worker — blocked waiters sleep in the kernel
and are woken when it is released, no polling. PostgreSQL needs none of this (row locks).
"""

import contextlib
import fcntl
import os
import threading
from pathlib import Path

from django.db import connection

_thread_lock = threading.Lock()
_files: dict[str, int] = {}


def _lock_fd(db_path: str) -> int:
    fd = _files.get(db_path)
    if fd is None:
        fd = os.open(str(Path(db_path).with_suffix(".writelock")), os.O_RDWR | os.O_CREAT, 0o600)
        _files[db_path] = fd
    return fd


@contextlib.contextmanager
def sqlite_writer():
    """Hold the hub's write turn around a write transaction on SQLite (no-op elsewhere, or when an
    outer transaction already holds SQLite's write lock)."""
    name = str(connection.settings_dict.get("NAME") or "")
    if connection.vendor != "sqlite" or connection.in_atomic_block or not name or name.startswith(":"):
        yield
        return
    with _thread_lock:
        fd = _lock_fd(name)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
