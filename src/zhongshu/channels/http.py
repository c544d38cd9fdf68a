"""HTTP answers of the platform gateways as the connector errors, shared by every platform client.

A timeout, a dropped connection, HTTP 429, a 5xx or an unreadable body is what the sync service
retries (RateLimited, TransientError); each client keeps only its platform's envelope and codes,
and says here which class a refusal belongs to (`platform_error`).
"""

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import httpx

from zhongshu.channels.base import AuthError, ConnectorError, RateLimited, TransientError


def read_timeout(default: float) -> float:
    """Seconds to wait for a platform's answer: `default`, unless settings.PLATFORM_TIMEOUT says otherwise."""
    from django.conf import settings

    return getattr(settings, "PLATFORM_TIMEOUT", 0) or default


@contextmanager
def transport_errors(what: str) -> Iterator[None]:
    """A timeout or connection failure inside the block as TransientError; `what` names the call."""
    try:
        yield
    except httpx.TimeoutException as exc:
        raise TransientError(f"{what}: timed out") from exc
    except httpx.TransportError as exc:
        raise TransientError(f"{what}: {type(exc).__name__}") from exc


def json_answer(
    what: str,
    response: httpx.Response,
    only_200: bool = True,
    parse_float: Callable[[str], Decimal] | None = None,
) -> Any:
    """The decoded JSON body of a platform answer, or the error its HTTP status or body stands for.

    429 → RateLimited, 5xx → TransientError, any other status but 200 → ConnectorError, each with
    the status as `.code` (with `only_200=False` the body of any other status is read and left to
    the caller); an unreadable body → TransientError.
    """
    status = response.status_code
    if status == 429:
        raise RateLimited(f"{what}: HTTP 429", "429")
    if status >= 500:
        raise TransientError(f"{what}: HTTP {status}", str(status))
    if only_200 and status != 200:
        raise ConnectorError(f"{what}: HTTP {status}", str(status))
    try:
        return json.loads(response.content, parse_float=parse_float)
    except ValueError as exc:
        raise TransientError(f"{what}: malformed JSON answer (HTTP {status})") from exc


def numeric_code(value: Any) -> int:
    """A platform's numeric error code; 0 when it is missing or not a number."""
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def platform_error(
    text: str, code: str, throttled: bool = False, transient: bool = False, auth: bool = False
) -> ConnectorError:
    """The error for a platform's refusal by what its code means, checked in this order; else ConnectorError."""
    if throttled:
        return RateLimited(text, code, retry_after=1.0)
    if transient:
        return TransientError(text, code)
    if auth:
        return AuthError(text, code)
    return ConnectorError(text, code)


# OAuth endpoints that take the app secret, refresh token or code in the query string (JD, Kuaishou)
SECRET_PARAMS = ("app_secret", "refresh_token", "code")


class _RedactQuery(logging.Filter):
    """Keep secrets out of httpx's request log line, which prints the full URL."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(a) if isinstance(a, httpx.URL) else a for a in record.args)
        return True


def _redacted(url: httpx.URL) -> httpx.URL:
    for name in SECRET_PARAMS:
        if name in url.params:
            url = url.copy_set_param(name, "***")
    return url


_REDACT = _RedactQuery()


def hide_query_secrets() -> None:
    """Mask SECRET_PARAMS in httpx's request log (idempotent); call before sending them in a query."""
    logging.getLogger("httpx").addFilter(_REDACT)
