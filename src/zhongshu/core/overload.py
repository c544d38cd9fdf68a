"""Overload: a request that could not start within its deadline is answered 503 at once.

Concurrency is bounded by gunicorn (workers × threads); what is beyond it waits in the worker's
queue. Unbounded, that queue turns a peak into 30-second hangs and client time-outs while the
server works on requests whose clients have already given up. So the time a request waited before
a thread took it up is measured, and one that waited longer than QUEUE_DEADLINE_MS
(`ZHONGSHU_QUEUE_DEADLINE_MS`, default 500; 0 turns the check off) is answered
`503 Service Unavailable` with `Retry-After` before any session, authentication or database work —
an answer of well under a millisecond, so shedding keeps up with any offered rate and the accepted
requests keep the server's full throughput.

How long the request waited, first found wins:
- `StampingThreadWorker` (zhongshu/server.py: gunicorn's gthread worker, used by `zhongshu serve`)
  measures from the moment it queued the connection for a thread (accepted, or a kept-alive
  connection became readable) to the moment a thread took it up — the time a slow client takes to
  send its request is not counted — and sheds in the worker itself with `busy_bytes`, before Django;
- `X-Request-Start` set by a reverse proxy in front (nginx: `proxy_set_header X-Request-Start
  "t=${msec}";`), in seconds, milliseconds or microseconds since the epoch, with or without `t=`.

A request that started in time can still wait afterwards: for SQLite's one write lock, or for a
row another transaction holds on PostgreSQL. So an API request also has a time budget,
REQUEST_BUDGET_MS (`ZHONGSHU_REQUEST_BUDGET_MS`, default 1000; 0 turns it off), counted from the
moment it was queued: its deadline. Every wait inside it is capped by what is left —
- SQLite: the wait for the write lock before `BEGIN IMMEDIATE` (zhongshu.core.sqlite);
- PostgreSQL: each transaction's `lock_timeout` and `statement_timeout` (`set_config(…, true)`, as
  SET LOCAL: gone with the transaction), set from what is left at its first statement and set again
  when a later statement finds them 100 ms or more out of date —
and when it runs out, `BudgetExhausted` is raised: the transaction rolls back (nothing half
written; nothing committed before is touched) and the request is answered `503` + `Retry-After`
(the API's exception handler, zhongshu.api; `process_exception` below for anything else). A request
without a measured queue start (runserver, the test client without `X-Request-Start`), console
pages (a person's import may take longer) and the worker process have no budget: the databases'
normal timeouts apply.
"""

import json
import threading
import time
from contextlib import contextmanager, nullcontext

from django.conf import settings
from django.db import OperationalError, connection
from django.http import JsonResponse

_local = threading.local()


class BudgetExhausted(Exception):  # noqa: N818 - reads as what happened, like Django's Http404
    """The request's time budget ran out while it waited for the database; its transaction is rolled
    back and the request answered 503 + Retry-After."""

    def __init__(self, waiting_for: str):
        super().__init__(f"the request's time budget ran out waiting for {waiting_for}")
        self.waiting_for = waiting_for


def remaining() -> float | None:
    """Seconds left of the current request's budget (≤ 0: none left), or None: no budget here."""
    deadline = getattr(_local, "deadline", None)
    return None if deadline is None else deadline - time.monotonic()


def set_deadline(deadline: float | None) -> None:
    """The request's deadline on time.monotonic()'s clock (None: no budget)."""
    _local.deadline = deadline


@contextmanager
def at_most(seconds: float):
    """Waits inside the block are capped at `seconds` (and by the request's budget, if sooner):
    BudgetExhausted past it. For a write that may be skipped rather than wait."""
    before = getattr(_local, "deadline", None)
    cap = time.monotonic() + seconds
    _local.deadline = cap if before is None else min(before, cap)
    try:
        yield
    finally:
        _local.deadline = before


def stamp_wait(waited_ms: float | None) -> None:
    """The worker thread that took a connection up records how long it had waited in the queue."""
    _local.waited_ms = waited_ms


def waited_ms(meta: dict) -> float | None:
    """How long the request waited before it started (ms), or None when nobody said."""
    waited = getattr(_local, "waited_ms", None)
    if waited is not None:
        return waited
    since = parse_request_start(meta.get("HTTP_X_REQUEST_START", ""))
    return None if since is None else (time.time() - since) * 1000


def parse_request_start(value: str) -> float | None:
    value = value.strip().removeprefix("t=")
    try:
        t = float(value)
    except ValueError:
        return None
    if t > 1e14:  # microseconds
        return t / 1e6
    if t > 1e11:  # milliseconds
        return t / 1e3
    return t if t > 0 else None


PUSH_PATH = "/api/v1/push/"


def queue_deadline_ms(path: str) -> float:
    """How long a request to this path may wait for a thread (0: no limit)."""
    if settings.QUEUE_DEADLINE_MS <= 0:
        return 0
    if path.startswith(PUSH_PATH) and settings.PUSH_QUEUE_DEADLINE_MS > 0:
        return max(settings.QUEUE_DEADLINE_MS, settings.PUSH_QUEUE_DEADLINE_MS)
    return settings.QUEUE_DEADLINE_MS


def budget_ms(path: str) -> float:
    """The time budget of a request to this path, from its queueing (0: none)."""
    budget = settings.REQUEST_BUDGET_MS
    if budget <= 0 or not path.startswith("/api/"):
        return 0
    if path.startswith(PUSH_PATH):
        return max(budget, queue_deadline_ms(path) + 500)
    return budget


class QueueDeadlineMiddleware:
    """First in the chain: 503 + Retry-After for a request that waited past the deadline; for an API
    request that started in time, its time budget (the deadline of every wait inside it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        waited = waited_ms(request.META)
        if waited is None:
            return self.get_response(request)  # nothing to judge by
        if 0 < queue_deadline_ms(request.path_info) < waited:
            return busy(waited)
        budget = budget_ms(request.path_info)
        if budget <= 0:
            return self.get_response(request)
        set_deadline(time.monotonic() + (budget - waited) / 1000)
        guard = connection.execute_wrapper(_pg_budget) if connection.vendor == "postgresql" else nullcontext()
        try:
            with guard:
                return self.get_response(request)
        finally:
            set_deadline(None)

    def process_exception(self, request, exception):
        if isinstance(exception, BudgetExhausted):
            return budget_exhausted(exception)
        if remaining() is not None and _stopped_by_timeout(exception):
            # a statement that does not pass the execute wrappers (COPY: core/bulk.py), stopped by the
            # transaction's budget timeouts; the atomic block has rolled it back
            return budget_exhausted(BudgetExhausted("the database"))
        return None


_CONTROL = ("ROLLBACK", "RELEASE SAVEPOINT")  # transaction control: never refused
_RESET_AFTER = 0.1  # s: a transaction's timeouts are set again when this much older than the budget left


def _pg_budget(execute, sql, params, many, context):
    """PostgreSQL, in a request with a budget: a transaction's lock and statement timeouts are what is
    left of the budget; a statement stopped by them raises BudgetExhausted (the atomic block rolls
    the transaction back)."""
    left = remaining()
    db = context["connection"]
    # psycopg.pq.TransactionStatus: 0 IDLE (the next statement begins the transaction), 2 INTRANS,
    # 3 INERROR (failed: only a rollback is left)
    status = db.connection.info.transaction_status
    if left is None or not db.in_atomic_block or status == 3 or sql.startswith(_CONTROL):
        return execute(sql, params, many, context)  # no budget, or a rollback under way: let it run
    if left <= 0:
        raise BudgetExhausted("the database")
    now = time.monotonic()
    if status == 0 or (status == 2 and getattr(db, "_budget_set_at", 0) + _RESET_AFTER < now):
        ms = str(max(1, int(left * 1000)))
        context["cursor"].cursor.execute(
            "SELECT set_config('lock_timeout', %s, true), set_config('statement_timeout', %s, true)",
            [ms, ms],
        )
        db._budget_set_at = now
    try:
        return execute(sql, params, many, context)
    except OperationalError as exc:
        if _stopped_by_timeout(exc):
            raise BudgetExhausted("the database") from exc
        raise


def _stopped_by_timeout(exc: BaseException) -> bool:
    """PostgreSQL stopped a statement at its lock_timeout or statement_timeout."""
    return isinstance(exc, OperationalError) and type(exc.__cause__).__name__ in (
        "LockNotAvailable",
        "QueryCanceled",
    )


def _busy_body(waited_ms: float) -> dict:
    return {
        "detail": "server busy: the request could not start in time; retry later",
        "waited_ms": round(waited_ms),
        "retry_after_s": settings.QUEUE_RETRY_AFTER_S,
    }


def busy_bytes(waited_ms: float) -> bytes:
    """The whole HTTP/1.1 answer, for the web server to send without the application."""
    body = json.dumps(_busy_body(waited_ms)).encode()
    head = (
        "HTTP/1.1 503 Service Unavailable\r\nServer: zhongshu\r\nConnection: keep-alive\r\n"
        f"Content-Type: application/json\r\nRetry-After: {settings.QUEUE_RETRY_AFTER_S}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def budget_exhausted(exc: BudgetExhausted) -> JsonResponse:
    """503 + Retry-After for a request whose budget ran out; nothing of it was written."""
    retry = settings.QUEUE_RETRY_AFTER_S
    body = {
        "detail": f"server busy: {exc}; nothing was written; retry later",
        "budget_ms": round(settings.REQUEST_BUDGET_MS),
        "retry_after_s": retry,
    }
    response = JsonResponse(body, status=503)
    response["Retry-After"] = str(retry)
    return response


def busy(waited_ms: float) -> JsonResponse:
    retry = settings.QUEUE_RETRY_AFTER_S
    response = JsonResponse(_busy_body(waited_ms), status=503)
    response["Retry-After"] = str(retry)
    response["Content-Length"] = str(len(response.content))  # no chunking: this answer is final
    response._has_been_logged = True  # one log line per shed request would cost more than the answer
    return response
