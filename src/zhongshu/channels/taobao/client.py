"""The TOP gateway call: sign, send, and turn the platform's answers into the connector errors.

Requests go to `/router/rest` as POST with every parameter, system (method, app_key, session,
timestamp, format, v, sign_method, sign) and API, in the form body (the SDKs put the system ones in
the query string; the gateway reads both, and a body keeps the session out of URL logs). Errors come back with HTTP 200 as
`{"error_response": {"code", "msg", "sub_code", "sub_msg"}}`:

- code 4–8 (user/session/partner/app call limited, frequency exceeded), sub_code
  `accesscontrol.limited-by-*` or `*call-limited`: throttled → RateLimited ("This ban will last for
  N more seconds" gives the wait);
- code 26/27/53 or sub_code invalid-sessionkey / session-expired / session-not-exist: the session
  (access token) is missing, invalid or expired → AuthError;
- code 10 (service unavailable) or sub_code `isp.*` (platform-side failure) → TransientError;
- anything else (25 invalid signature, 29 invalid app key, 41 invalid arguments, isv.* business
  errors) → ConnectorError with the platform's code.
"""

import json
import re
from datetime import datetime
from functools import cache

import httpx

from zhongshu.channels.base import AuthError, ConnectorError, RateLimited, TransientError
from zhongshu.channels.http import json_answer, read_timeout, transport_errors
from zhongshu.channels.taobao.signing import sign
from zhongshu.core.timeutil import SHANGHAI

GATEWAY = "https://eco.taobao.com/router/rest"
SIGN_METHOD = "hmac-sha256"
TIMEOUT = 30.0  # seconds for an answer (settings.PLATFORM_TIMEOUT overrides); 5 to connect
THROTTLED_CODES = {"4", "5", "6", "7", "8"}
SESSION_CODES = {"26", "27", "53"}
SESSION_SUBCODES = {"invalid-sessionkey", "session-expired", "session-not-exist"}
_BAN = re.compile(r"last for (\d+) more seconds")


@cache
def _http() -> httpx.Client:
    """One pooled, thread-safe HTTP client per process (building one costs an SSL context)."""
    return httpx.Client(timeout=httpx.Timeout(read_timeout(TIMEOUT), connect=5.0))


def response_key(method: str) -> str:
    """taobao.trades.sold.increment.get → trades_sold_increment_get_response."""
    return method.removeprefix("taobao.").replace(".", "_") + "_response"


class TopClient:
    def __init__(
        self, app_key: str, secret: str, base_url: str = "", session: str = "", sign_method: str = SIGN_METHOD
    ):
        self.app_key, self.secret, self.session, self.sign_method = app_key, secret, session, sign_method
        self.url = f"{base_url.rstrip('/')}/router/rest" if base_url else GATEWAY

    def call(self, method: str, params: dict | None = None, with_session: bool = True) -> dict:
        """Call one TOP API; returns the body under `<method>_response`."""
        system = {
            "method": method,
            "app_key": self.app_key,
            "timestamp": datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
            "format": "json",
            "v": "2.0",
            "sign_method": self.sign_method,
        }
        if with_session:
            system["session"] = self.session
        body = {k: str(v) for k, v in (params or {}).items() if v not in (None, "")}
        system["sign"] = sign({**system, **body}, self.secret, self.sign_method)
        data = self._send(method, system, body)
        if "error_response" in data:
            raise error_from(method, data["error_response"])
        return data.get(response_key(method)) or {}

    def _send(self, method: str, query: dict, body: dict) -> dict:
        with transport_errors(method):
            resp = _http().post(self.url, data={**query, **body})
        data = json_answer(method, resp, only_200=False)
        if resp.status_code != 200 or not isinstance(data, dict):
            raise ConnectorError(f"{method}: HTTP {resp.status_code}", code=str(resp.status_code))
        return data


def error_from(method: str, err: dict) -> ConnectorError:
    """The connector error for a TOP error_response."""
    code, sub = str(err.get("code", "")), str(err.get("sub_code") or "")
    text = f"{method}: {code} {err.get('msg', '')} {sub} {err.get('sub_msg') or ''}".strip()
    if code in THROTTLED_CODES or sub.startswith("accesscontrol.limited") or sub.endswith("call-limited"):
        ban = _BAN.search(str(err.get("sub_msg") or ""))
        return RateLimited(text, code=code, retry_after=float(ban.group(1)) if ban else 1.0)
    if code in SESSION_CODES or sub in SESSION_SUBCODES:
        return AuthError(text, code=code)
    if code == "10" or sub.startswith("isp."):
        return TransientError(text, code=code)
    return ConnectorError(text, code=code)


def parse_json_field(value) -> dict:
    """TOP returns some results (token_result) as a JSON string inside the JSON answer."""
    if isinstance(value, dict):
        return value
    try:
        return json.loads(value or "{}")
    except ValueError as exc:
        raise TransientError("malformed JSON in a TOP result field") from exc
