"""One signed call to the 抖店 open-platform gateway, with its errors mapped to the connector's.

Every call is `POST {gateway}/{method with dots as slashes}` with the public parameters in the
query (method, app_key, access_token, timestamp, v=2, sign_method, sign) and `param_json` as the
JSON body. The answer is `{code, msg, sub_code, sub_msg, data, log_id}`; code 10000 is success.
Error codes (op.jinritemai.com "平台基础错误码汇总"): 20000/20001 service unavailable or timed out
(retry), 60000 throttled, 40003 with `isv.access-token-*` / `isv.signature-invalid`,
30001 `dop.authorization-*` and 50001 `dop.token-generate-failed:*` are authorisation failures.
No retries here: the sync service retries RateLimited and TransientError.
"""

import time

import httpx

from zhongshu.channels.base import ConnectorError, Credentials, TransientError
from zhongshu.channels.douyin.signing import SIGN_METHOD, VERSION, param_json, sign
from zhongshu.channels.http import json_answer, numeric_code, platform_error, transport_errors

GATEWAY = "https://openapi-fxg.jinritemai.com"
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
SUCCESS = 10000
THROTTLED = 60000
TRANSIENT = {20000, 20001}
_client: httpx.Client | None = None
AUTH_SUB_CODES = (
    "isv.access-token-",
    "isv.signature-",
    "isv.app-id-",
    "isv.authorization-type-invalid",
    "dop.authorization-",
    "dop.token-generate-failed",
)


def call(creds: Credentials, method: str, params: dict, with_token: bool = True) -> dict:
    """Call one API method; returns its `data` or raises AuthError/RateLimited/TransientError/ConnectorError."""
    body = param_json(params)
    query = signed_query(creds, method, body, with_token)
    url = f"{(creds.base_url or GATEWAY).rstrip('/')}/{method.replace('.', '/')}"
    with transport_errors(f"douyin {method}"):
        response = _http().post(
            url, params=query, content=body.encode(), headers={"Content-Type": "application/json"}
        )
    return _data(method, response)


def _http() -> httpx.Client:
    """One pooled client per process, made on first use (building a TLS context per call costs ~0.2 s)."""
    global _client
    if _client is None:
        _client = httpx.Client(timeout=TIMEOUT)
    return _client


def signed_query(creds: Credentials, method: str, body: str, with_token: bool) -> dict[str, str]:
    timestamp = str(int(time.time()))
    query = {
        "method": method,
        "app_key": creds.app_key,
        "timestamp": timestamp,
        "v": VERSION,
        "sign_method": SIGN_METHOD,
        "sign": sign(creds.app_key, creds.app_secret, method, body, timestamp),
    }
    if with_token:
        query["access_token"] = creds.access_token
    return query


def _data(method: str, response: httpx.Response) -> dict:
    envelope = json_answer(f"douyin {method}", response)
    if not isinstance(envelope, dict) or "code" not in envelope:
        raise TransientError(f"douyin {method}: answer without a code")
    if envelope["code"] == SUCCESS:
        return envelope.get("data") or {}
    raise error_for(method, envelope)


def error_for(method: str, envelope: dict) -> ConnectorError:
    """The connector error for a platform error answer; `.code` is the sub_code (or the code)."""
    code, sub = numeric_code(envelope.get("code")), str(envelope.get("sub_code") or "")
    text = f"douyin {method}: {code} {envelope.get('msg', '')} {sub} {envelope.get('sub_msg', '')}".strip()
    return platform_error(
        text,
        sub or str(code),
        throttled=code == THROTTLED,
        transient=code in TRANSIENT,
        auth=sub.startswith(AUTH_SUB_CODES),
    )
