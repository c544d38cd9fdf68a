"""One signed call to the PDD gateway and the translation of its answers into our errors.

Every API is `POST {base}/api/router` with form parameters `type`, `client_id`, `timestamp`,
`data_type=JSON`, `version=V1`, `access_token` (when authorised) and `sign`. A success is
`{"<name>_response": {...}}`; a failure is
`{"error_response": {"error_code", "error_msg", "sub_code", "sub_msg", "request_id"}}`.
The client does not retry: the sync service retries RateLimited / TransientError.
"""

import logging
import time
from decimal import Decimal

import httpx

from zhongshu.channels.base import AuthError, ConnectorError, Credentials, RateLimited, TransientError
from zhongshu.channels.http import json_answer, read_timeout, transport_errors
from zhongshu.channels.pdd.signing import GATEWAY_PATH, PRODUCTION_BASE, signed

log = logging.getLogger(__name__)

# access_token expired / invalid / not authorised for this shop
AUTH_CODES = {10019, 10020, 10021, 10035}
# platform throttling (调用过于频繁 / 当前接口已被限流)
THROTTLE_CODES = {70031, 70032, 70033, 70034}
SIGNATURE_CODE = 20004  # 签名验证失败


class PddClient:
    timeout = 15.0

    def __init__(self, credentials: Credentials, timeout: float | None = None):
        self.credentials = credentials
        self.url = (credentials.base_url or PRODUCTION_BASE).rstrip("/") + GATEWAY_PATH
        self.timeout = timeout or read_timeout(self.timeout)

    def call(self, api: str, params: dict | None = None, authorised: bool = True) -> dict:
        """Call `api` (e.g. pdd.order.information.get); the body of its `*_response` object."""
        wire = signed(self._common(api, authorised) | (params or {}), self.credentials.app_secret)
        with transport_errors(api):
            resp = _http().post(self.url, data=wire, timeout=self.timeout)
        return _answer(api, resp, token_call=not authorised)

    def _common(self, api: str, authorised: bool) -> dict:
        common = {
            "type": api,
            "client_id": self.credentials.app_key,
            "timestamp": int(time.time()),
            "data_type": "JSON",
            "version": "V1",
        }
        if authorised:
            common["access_token"] = self.credentials.access_token
        return common


def _http() -> httpx.Client:
    """One pooled client per process (keep-alive; TLS set up once, not per call)."""
    global _client
    if _client is None:
        _client = httpx.Client()
    return _client


_client: httpx.Client | None = None


def _answer(api: str, resp: httpx.Response, token_call: bool) -> dict:
    body = json_answer(api, resp, only_200=False, parse_float=Decimal)
    if not isinstance(body, dict):
        raise TransientError(f"{api}: unexpected answer")
    if "error_response" in body:
        raise _error(api, body["error_response"] or {}, token_call)
    if resp.status_code >= 400:
        raise ConnectorError(f"{api}: HTTP {resp.status_code}", code=str(resp.status_code))
    inner = next((v for k, v in body.items() if k.endswith("_response")), None)
    if not isinstance(inner, dict):
        raise TransientError(f"{api}: answer without a *_response object")
    return inner


def _error(api: str, err: dict, token_call: bool) -> ConnectorError:
    code = _int(err.get("error_code"))
    text = f"{api}: {err.get('error_msg', '')} {err.get('sub_msg') or ''}".strip()
    label = "" if code is None else str(code)
    log.info("pdd %s answered error %s (sub_code %s)", api, code, err.get("sub_code"))
    if code in THROTTLE_CODES or "频繁" in text or "rate limit" in text.lower():
        return RateLimited(text, code=label, retry_after=1.0)
    if code is not None and 50000 <= code < 60000:
        return TransientError(text, code=label)  # platform system errors (系统异常)
    if code in AUTH_CODES or (token_call and code != SIGNATURE_CODE):
        return AuthError(text, code=label)
    return ConnectorError(text, code=label)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
