"""Django's SQLite backend with one change: the write transactions of one process queue on a lock
of their own before `BEGIN IMMEDIATE`.

SQLite has one writer at a time; a second `BEGIN IMMEDIATE` waits in SQLite's busy handler, which
polls with growing sleeps (1, 2, 5 … 100 ms). With a web worker's threads all writing (the packing
bench at 20 checks/s, bench/fulfilment.py), waiters sleep through the moments the lock is free and
others take it first: a few waits grow to seconds (measured: p99 lock wait 1.6–2.1 s while a
transaction holds the lock for ~10–30 ms). Threads of one process now wait on a threading.Lock
instead, which wakes the next waiter the moment the holder commits; then one waiter per process
takes an flock on `<database>.writer` (the other web worker, the background worker), polled every
millisecond. SQLite's own lock is then free when BEGIN IMMEDIATE asks (a tool outside the hub still
meets the busy handler as before). The wait is bounded by the same `timeout` option as SQLite's own,
then the same "database is locked" error — or, in a request with a time budget (core/overload.py),
by what is left of it, then BudgetExhausted (503 + Retry-After; nothing was begun, nothing written).

ENGINE "zhongshu.core.sqlite" (settings._database); PostgreSQL is untouched."""

import fcntl
import threading
import time

from django.db.backends.sqlite3 import base
from django.db.utils import OperationalError

from zhongshu.core.overload import BudgetExhausted, remaining

_WRITERS: dict = {}  # database file → its lock
_WRITERS_GUARD = threading.Lock()


def _writer_lock(name: str):
    with _WRITERS_GUARD:
        return _WRITERS.setdefault(str(name), threading.Lock())


class DatabaseWrapper(base.DatabaseWrapper):
    _writer = None  # the process lock this connection holds while in a write transaction
    _file = None  # its open lock file (the processes' queue), kept while the connection lives
    writer_waited = 0.0  # seconds this connection waited for it, in all (read by Server-Timing)

    def _start_transaction_under_autocommit(self):
        if self.is_in_memory_db():
            return super()._start_transaction_under_autocommit()
        name = str(self.settings_dict["NAME"])
        lock = _writer_lock(name)
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
        left = remaining()  # the request's budget, if any
        budgeted = left is not None and left < timeout
        if budgeted:
            if left <= 0:
                raise BudgetExhausted("the database's write lock")
            timeout = left
        start = time.perf_counter()
        got = lock.acquire(timeout=timeout)
        if got:
            self._writer = lock
            got = self._lock_file(name, start + timeout)
        self.writer_waited += time.perf_counter() - start
        if not got:
            self._release_writer()
            if budgeted:
                raise BudgetExhausted("the database's write lock")
            raise OperationalError(f"database is locked (another writer held it for over {timeout:.0f} s)")
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_writer()
            raise

    def _lock_file(self, name: str, deadline: float) -> bool:
        """The processes' turn: an exclusive flock on `<database>.writer`, polled every millisecond
        (one waiter per process, the others queue on the thread lock), so a writer of another process
        goes in about a millisecond after the holder leaves instead of after SQLite's next sleep."""
        if self._file is None:
            self._file = open(f"{name}.writer", "a+b")  # noqa: SIM115 - kept open with the connection
        while True:
            try:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.perf_counter() > deadline:
                    return False
                time.sleep(0.001)

    def _release_writer(self) -> None:
        lock, self._writer = self._writer, None
        if lock is not None:
            if self._file is not None:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            lock.release()

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._release_writer()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._release_writer()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._release_writer()
            if self._file is not None:
                self._file.close()
                self._file = None
