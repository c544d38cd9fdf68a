"""What the platform waybill providers share: the channel errors as waybill refusals, and a batch
call that keeps the other packages' numbers when the platform refuses the whole call for one of them.

The platforms' clients (signing, envelopes, HTTP status) live in `zhongshu.channels.<platform>`; a
provider only builds the request body and reads the answer. Their errors arrive as ConnectorError:

- TransientError / RateLimited (timeouts, 5xx, throttling, malformed answers) → `provider_unavailable`,
  retryable;
- AuthError (token expired, authorisation revoked) → `auth_failed`;
- a business refusal → `insufficient_balance` / `address_unreachable` when its code or words say so,
  else `invalid_request`. The platforms' exact codes for these two are not all public: the words
  (余额不足, 超区, 不可达 …) are matched as well (the per-provider codes are listed in each module).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable

from zhongshu.channels.base import AuthError, ConnectorError, RateLimited, TransientError
from zhongshu.shipping.providers.base import (
    ADDRESS_UNREACHABLE,
    AUTH_FAILED,
    INSUFFICIENT_BALANCE,
    INVALID_REQUEST,
    UNAVAILABLE,
    Outcome,
    WaybillError,
    WaybillRequest,
)

BALANCE_WORDS = ("余额不足", "单号不足", "单号库存不足", "面单库存不足", "可用单号不足", "balance")
UNREACHABLE_WORDS = (
    "超区",
    "不可达",
    "不可收派",
    "不可以收派",
    "不支持派送",
    "无法派送",
    "不在服务范围",
    "unreachable",
)


def refusal(
    code: str, text: str, balance: Iterable[str] = (), unreachable: Iterable[str] = ()
) -> WaybillError:
    """A business refusal by the platform's code (or its words) as a stable waybill error."""
    if code in set(balance) or any(w in text for w in BALANCE_WORDS):
        return WaybillError(INSUFFICIENT_BALANCE, f"面单余额不足（{code}）{text}".strip())
    if code in set(unreachable) or any(w in text for w in UNREACHABLE_WORDS):
        return WaybillError(ADDRESS_UNREACHABLE, f"收件地址超区或不可达（{code}）{text}".strip())
    return WaybillError(INVALID_REQUEST, f"{code} {text}".strip())


def from_connector(
    exc: ConnectorError, balance: Iterable[str] = (), unreachable: Iterable[str] = ()
) -> WaybillError:
    """A channel client's error as a waybill error (timeouts and 5xx retryable)."""
    if isinstance(exc, (TransientError, RateLimited)):
        return WaybillError(UNAVAILABLE, f"面单服务暂不可用：{exc}", retryable=True)
    if isinstance(exc, AuthError):
        return WaybillError(AUTH_FAILED, f"店铺授权失效，请重新授权：{exc}")
    return refusal(exc.code, str(exc), balance, unreachable)


def isolating(
    call: Callable[[list[WaybillRequest]], list[Outcome]], requests: list[WaybillRequest]
) -> list[Outcome]:
    """`call` for the batch; when the platform refuses the whole call (not retryable) and the batch has
    more than one package, each is asked alone, so one bad address does not cost the others their
    numbers. A retryable failure marks every package of the batch retryable."""
    try:
        return call(requests)
    except WaybillError as exc:
        if exc.retryable or len(requests) == 1:
            return [Outcome(r.object_id, error=exc) for r in requests]
    return [outcome for r in requests for outcome in isolating(call, [r])]


def in_order(requests: list[WaybillRequest], found: dict[str, Outcome]) -> list[Outcome]:
    """One outcome per request in request order; a request the answer left out is an error."""
    missing = WaybillError(UNAVAILABLE, "面单服务的回答缺少这个包裹，请重试", retryable=True)
    return [found.get(r.object_id) or Outcome(r.object_id, error=missing) for r in requests]


def compact(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def parse_print_data(value) -> dict:
    """print_data as the platforms return it: a JSON string (encryptedData, signature, templateURL…)
    or an object; anything else is kept under `raw`."""
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value or "{}")
    except (TypeError, ValueError):
        return {"raw": str(value)}
    return parsed if isinstance(parsed, dict) else {"raw": value}


def carrier_code(table: dict[str, str], carrier: str) -> str:
    """The service's code for a hub carrier code; unknown carriers are sent as they are."""
    return table.get(carrier.upper(), carrier)
