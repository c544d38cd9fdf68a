"""Base of the local platform doubles: a real HTTP server on 127.0.0.1 that a test drives.

A platform double subclasses `PlatformDouble`, implements `handle(request) -> Response` with the
platform's real contract (signature check, paging, windows, error codes), and uses the failure
switches below, which every double honours before calling `handle`:

- `fail_next(n, status=500, body=b"...")`  the next n requests get that answer
- `throttle_next(n)`                        the next n requests get the platform's rate-limit error
                                            (the double's `rate_limited()` response)
- `delay_next(n, seconds)`                  the next n requests are answered after a pause (timeouts)
- `delay_share(share, seconds)`             that share of the requests likewise: every (1/share)-th,
                                            the first included; `delayed` counts the answers paused
                                            either way
- `outage(seconds)` / `end_outage()`        every request fails with 503 until it ends
- `malformed_next(n)`                       the next n answers are cut-off JSON
`requests` records every request (method, path, query, headers, body) for assertions. `reset()`
forgets them and the switches, so one running server can serve a whole test module.

`OAuthDouble` adds what the platforms that grant OAuth tokens share: a clock `now` that tests step,
one-use authorisation codes, and access and refresh tokens that expire on that clock.
"""

import json
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")  # every platform's clock


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        """Body parsed as application/x-www-form-urlencoded (single values)."""
        return {k: v[-1] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    def json(self):
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(
        default_factory=lambda: {"Content-Type": "application/json; charset=utf-8"}
    )

    @classmethod
    def json(cls, data, status: int = 200) -> "Response":
        return cls(status, json.dumps(data, ensure_ascii=False).encode())


class PlatformDouble:
    """Start with `with Double() as d:`; `d.url` is its base URL."""

    def __init__(self):
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.reset()

    def reset(self) -> None:
        """Forget every recorded request and failure switch (a double reused across tests forgets its
        data too); the server keeps running."""
        self.requests: list[Request] = []
        self._fail: list[Response] = []
        self._throttle = 0
        self._delay: list[float] = []
        self._delay_share: tuple[float, float] = (0.0, 0.0)
        self.delayed = 0
        self._malformed = 0
        self._outage_until = 0.0

    # --- failure switches ---
    def fail_next(self, n: int = 1, status: int = 500, body: bytes = b'{"error":"internal"}') -> None:
        with self._lock:
            self._fail += [Response(status, body)] * n

    def throttle_next(self, n: int = 1) -> None:
        with self._lock:
            self._throttle += n

    def delay_next(self, n: int, seconds: float) -> None:
        with self._lock:
            self._delay += [seconds] * n

    def delay_share(self, share: float, seconds: float) -> None:
        with self._lock:
            self._delay_share = (share, seconds)

    def malformed_next(self, n: int = 1) -> None:
        with self._lock:
            self._malformed += n

    def outage(self, seconds: float = 3600) -> None:
        self._outage_until = time.monotonic() + seconds

    def end_outage(self) -> None:
        self._outage_until = 0.0

    # --- to implement ---
    def handle(self, request: Request) -> Response:
        raise NotImplementedError

    def rate_limited(self, request: Request) -> Response:
        return Response.json({"error": "rate limited"}, status=429)

    # --- for implementations ---
    def run_next(self, hooks: list[Callable]) -> None:
        """Run (and drop) the first of a test's hooks, if any: what changes on the platform meanwhile."""
        if hooks:
            hooks.pop(0)(self)

    # --- plumbing ---
    def _dispatch(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request)
            delay = self._delay.pop(0) if self._delay else 0.0
            share, seconds = self._delay_share
            if not delay and share and (len(self.requests) - 1) % max(1, round(1 / share)) == 0:
                delay = seconds
            self.delayed += bool(delay)
            fail = self._fail.pop(0) if self._fail else None
            throttle = self._throttle > 0
            self._throttle -= throttle
            malformed = self._malformed > 0
            self._malformed -= malformed
        if delay:
            time.sleep(delay)
        if time.monotonic() < self._outage_until:
            return Response(503, b'{"error":"service unavailable"}')
        if fail is not None:
            return fail
        if throttle:
            return self.rate_limited(request)
        response = self.handle(request)
        if malformed:
            response = Response(
                response.status, response.body[: max(1, len(response.body) // 2)], response.headers
            )
        return response

    def __enter__(self) -> "PlatformDouble":
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(
                    self.command,
                    parts.path,
                    {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                resp = double._dispatch(req)
                self.send_response(resp.status)
                for k, v in resp.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(resp.body)))
                # one request per connection: a pooled keep-alive connection can never reach a
                # double of an earlier test that is already shut down
                self.send_header("Connection", "close")
                self.close_connection = True
                self.end_headers()
                self.wfile.write(resp.body)

            do_GET = do_POST = do_PUT = _serve

            def log_message(self, *args) -> None:  # keep test output clean
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A client that gave up (its timeout) before a delayed answer is no error of the double."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def page_of(rows: list, number: int, size: int) -> list:
    """Page `number` (the first is 1) of `rows`, `size` rows a page."""
    return rows[(number - 1) * size : number * size]


class OAuthDouble(PlatformDouble):
    """A platform that grants OAuth tokens, on its own clock `now` (tests step it): authorisation codes
    are used once, access tokens live `access_ttl`, refresh tokens `refresh_ttl` and are spent when used."""

    access_ttl = timedelta(days=1)
    refresh_ttl = timedelta(days=30)

    def reset(self) -> None:
        super().reset()
        self.now = datetime.now(SHANGHAI)
        self.codes: set[str] = set()
        self.access_tokens: dict[str, datetime] = {}
        self.refresh_tokens: dict[str, datetime] = {}

    def issue_tokens(self) -> dict:
        """A new token pair as the platform's token API answers it (with access_token and refresh_token)."""
        raise NotImplementedError

    def issue_code(self) -> str:
        code = uuid.uuid4().hex
        self.codes.add(code)
        return code

    def grant(self, access: str, refresh: str) -> None:
        """Make `access` and `refresh` valid tokens from `now` on."""
        self.access_tokens[access] = self.now + self.access_ttl
        self.refresh_tokens[refresh] = self.now + self.refresh_ttl

    def redeem_code(self, code: str | None) -> bool:
        """Whether `code` was issued and not used yet; it is used now."""
        if code not in self.codes:
            return False
        self.codes.discard(code)
        return True

    def spend_refresh_token(self, token: str | None) -> str:
        """'' for a refresh token that was valid (it is spent now), else 'unknown' or 'expired'."""
        expiry = self.refresh_tokens.pop(token, None)
        if expiry is None:
            return "unknown"
        return "expired" if self.now >= expiry else ""

    def access_token_fault(self, token: str) -> str:
        """'' for a valid access token, else 'missing', 'unknown' or 'expired'."""
        if not token:
            return "missing"
        if token not in self.access_tokens:
            return "unknown"
        return "expired" if self.now >= self.access_tokens[token] else ""
