"""Django's SQLite backend with one change: the write transactions of one process queue on a lock
of their own before `BEGIN IMMEDIATE` (and so does a write outside a transaction, for its statement).

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

Writers with an answer waiting go first. A write inside a request with a time budget (an API call: a
push's acknowledgement, an order's intake) holds a shared flock on `<database>.waiting` while it waits
for its turn; a background writer (the outbox relay, the push inbox's take-in, a task) first gives way
while any such writer waits, for up to GIVE_WAY seconds, then queues as before. Measured with the push
storm (bench/run --only push): the take-in and the relay held the lock in turns, the
acknowledgements queued behind both (a lock wait of 56 ms mean, 478 ms p99) and a third were shed.

`ZHONGSHU_SQLITE_SLOW_WRITER_MS` (unset: off) logs every write that held the lock longer than that
(time in BEGIN and COMMIT given apart), with the hub's code that began it: the tool to find what makes
the others wait.

ENGINE "zhongshu.core.sqlite" (settings._database); PostgreSQL is untouched."""

import fcntl
import logging
import os
import sys
import threading
import time
import traceback

from django.db.backends.sqlite3 import base
from django.db.utils import OperationalError

from zhongshu.core.overload import BudgetExhausted, remaining

_WRITERS: dict = {}  # database file → its lock
_WRITERS_GUARD = threading.Lock()
SLOW_WRITER_MS = float(os.environ.get("ZHONGSHU_SQLITE_SLOW_WRITER_MS") or 0)
GIVE_WAY = 0.25  # seconds at most a background writer waits for the request writers waiting
log = logging.getLogger(__name__)


def _began_at() -> str:
    """The project's frames of the current stack, innermost first (where a write began): the
    standard library's and the installed packages' left out."""
    frames = [f for f in traceback.extract_stack(limit=40)[:-3]
              if "site-packages" not in f.filename and not f.filename.startswith(sys.base_prefix)]  # fmt: skip
    return " < ".join(f"{_short(f.filename)}:{f.lineno} {f.name}" for f in reversed(frames))


def _short(filename: str) -> str:
    """channels/inbox.py for the hub's own files; the last two parts of the path for the others."""
    if "/src/zhongshu/" in filename:
        return filename.rsplit("/src/zhongshu/", 1)[1]
    return "/".join(filename.rsplit("/", 2)[-2:])


def _writer_lock(name: str):
    with _WRITERS_GUARD:
        return _WRITERS.setdefault(str(name), threading.Lock())


class DatabaseWrapper(base.DatabaseWrapper):
    _writer = None  # the process lock this connection holds while in a write transaction
    _file = None  # its open lock file (the processes' queue), kept while the connection lives
    _waiting = None  # and `<database>.waiting` (request writers waiting hold it shared)
    writer_waited = 0.0  # seconds this connection waited for it, in all (read by Server-Timing)
    _held_since = _begun = _committing = 0.0
    _began = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.execute_wrappers.append(self._queued_autocommit_write)

    def _queued_autocommit_write(self, execute, sql, params, many, context):
        """A write outside a transaction (an autocommit UPDATE, say) would take SQLite's lock by itself,
        past this queue, and send the queued writers into SQLite's busy handler (sleeps up to 100 ms
        each): it queues too, for just that statement."""
        if self.in_atomic_block or self._writer is not None or self.is_in_memory_db():
            return execute(sql, params, many, context)
        if sql.lstrip()[:7].upper() not in ("INSERT ", "UPDATE ", "DELETE ", "REPLACE"):
            return execute(sql, params, many, context)
        self._take_writer()
        try:
            return execute(sql, params, many, context)
        finally:
            self._release_writer()

    def _start_transaction_under_autocommit(self):
        if self.is_in_memory_db():
            return super()._start_transaction_under_autocommit()
        self._take_writer()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._release_writer()
            raise
        self._begun = time.perf_counter()

    def _take_writer(self) -> None:
        """Wait for this database's writer turn: the process's thread lock, then the processes' file
        lock; bounded by the `timeout` option or what is left of the request's budget."""
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
        waiting = self._waiting_file(name)
        if left is not None:  # an answer waits on this write: the background writers give way
            fcntl.flock(waiting, fcntl.LOCK_SH)
        else:
            self._give_way(waiting, start + min(GIVE_WAY, timeout))
        try:
            got = lock.acquire(timeout=max(timeout - (time.perf_counter() - start), 0))
            if got:
                self._writer = lock
                got = self._lock_file(name, start + timeout)
        finally:
            if left is not None:
                fcntl.flock(waiting, fcntl.LOCK_UN)
        self._held_since = self._begun = time.perf_counter()
        self.writer_waited += self._held_since - start
        if SLOW_WRITER_MS:
            self._began = _began_at()
        if not got:
            self._release_writer()
            if budgeted:
                raise BudgetExhausted("the database's write lock")
            raise OperationalError(f"database is locked (another writer held it for over {timeout:.0f} s)")

    def _waiting_file(self, name: str) -> int:
        if self._waiting is None:
            self._waiting = open(f"{name}.waiting", "a+b")  # noqa: SIM115 - kept open with the connection
        return self._waiting.fileno()

    @staticmethod
    def _give_way(waiting: int, until: float) -> None:
        """Wait while a request writer waits (its shared lock keeps this exclusive one out), polled
        every millisecond, until `until` at most."""
        while True:
            try:
                fcntl.flock(waiting, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if time.perf_counter() >= until:
                    return
                time.sleep(0.001)
                continue
            fcntl.flock(waiting, fcntl.LOCK_UN)
            return

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
            now = time.perf_counter()
            held_ms = 1000 * (now - self._held_since)
            if SLOW_WRITER_MS and held_ms > SLOW_WRITER_MS:
                begin = 1000 * max(self._begun - self._held_since, 0)
                commit = 1000 * max(now - self._committing, 0) if self._committing > self._begun else 0
                log.warning("held the SQLite write lock %.0f ms (BEGIN %.0f, COMMIT %.0f; pid %d); began at %s",
                            held_ms, begin, commit, os.getpid(), self._began)  # fmt: skip
            if self._file is not None:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            lock.release()

    def _commit(self):
        self._committing = time.perf_counter()
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
            for attr in ("_file", "_waiting"):
                if getattr(self, attr) is not None:
                    getattr(self, attr).close()
                    setattr(self, attr, None)
