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
"""

import json
import threading
import time

from django.conf import settings
from django.http import JsonResponse

_local = threading.local()


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


class QueueDeadlineMiddleware:
    """First in the chain: 503 + Retry-After for a request that waited past the deadline."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        deadline = settings.QUEUE_DEADLINE_MS
        if deadline > 0:
            waited = waited_ms(request.META)
            if waited is not None and waited > deadline:
                return busy(waited)
        return self.get_response(request)


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


def busy(waited_ms: float) -> JsonResponse:
    retry = settings.QUEUE_RETRY_AFTER_S
    response = JsonResponse(_busy_body(waited_ms), status=503)
    response["Retry-After"] = str(retry)
    response["Content-Length"] = str(len(response.content))  # no chunking: this answer is final
    response._has_been_logged = True  # one log line per shed request would cost more than the answer
    return response
