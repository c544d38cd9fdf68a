"""One signed call to the 美团外卖/闪购 open platform, with its errors mapped to the connector's.

Every call goes to `{base}/api/v1/{path}` (production base https://waimaiopen.meituan.com) with the
system parameters app_id, timestamp (unix seconds), access_token (服务商应用 calls on behalf of a
store) and `sig` (see signing.py). Reads are GET with the parameters in the query; writes are POST
with an application/x-www-form-urlencoded body. Answers are `{"data": …}` on success and
`{"data": "ng", "error": {"code": …, "msg": …}}` on failure; money is yuan as JSON numbers, read
here as Decimal (never float). The OAuth token endpoint answers `{status, access_token, expires_in,
refresh_token, re_expires_in, message}` (status 0 = success).

Error codes: 703 签名验证错误 is the platform's; the rate-limit and token codes below are the
ones this project's double uses (the public error table was not available to verify them), so
each is matched together with its HTTP fallbacks (429, 5xx). No retries here: the sync service
retries RateLimited and TransientError.
"""

import json
import time
from decimal import Decimal

import httpx
from django.conf import settings

from zhongshu.channels.base import AuthError, ConnectorError, Credentials, TransientError
from zhongshu.channels.http import json_answer, numeric_code, platform_error, transport_errors
from zhongshu.channels.meituan.signing import sig

GATEWAY = "https://waimaiopen.meituan.com"
PREFIX = "/api/v1/"
TIMEOUT = 10.0  # seconds to wait for an answer; settings.MEITUAN_TIMEOUT overrides
CONNECT_TIMEOUT = 5.0
SIGNATURE_INVALID = 703
RATE_LIMITED = {711}  # 接口调用频率超过限制 (double's code, see module doc)
TOKEN_INVALID = {1001, 1002}  # access_token 无效 / 已过期 (double's codes)
AUTH_CODES = {SIGNATURE_INVALID, 701, *TOKEN_INVALID}  # 701: app_id 不存在
TRANSIENT = {700}  # 系统繁忙/服务异常
_client: httpx.Client | None = None


def url_of(creds: Credentials, path: str) -> str:
    return f"{(creds.base_url or GATEWAY).rstrip('/')}{PREFIX}{path}"


def signed(creds: Credentials, url: str, params: dict, with_token: bool = True) -> dict[str, str]:
    """The parameters of one call with app_id, timestamp, access_token and sig added."""
    out = {k: _text(v) for k, v in params.items() if v is not None}
    out.update(app_id=creds.app_key, timestamp=str(int(time.time())))
    if with_token and creds.access_token:
        out["access_token"] = creds.access_token
    out["sig"] = sig(url, out, creds.app_secret)
    return out


def call(creds: Credentials, path: str, params: dict, post: bool = False, with_token: bool = True):
    """Call one API; returns its `data` or raises AuthError/RateLimited/TransientError/ConnectorError."""
    url = url_of(creds, path)
    query = signed(creds, url, params, with_token)
    envelope = _send(path, url, query, post)
    if isinstance(envelope, dict) and envelope.get("error"):
        raise error_for(path, envelope["error"])
    if not isinstance(envelope, dict) or "data" not in envelope:
        raise TransientError(f"meituan {path}: answer without data")
    if envelope["data"] == "ng":
        raise ConnectorError(f"meituan {path}: failed without an error object")
    return envelope["data"]


def token_call(creds: Credentials, params: dict) -> dict:
    """POST oauth/token (authorization_code or refresh_token grant); the token answer itself."""
    url = url_of(creds, "oauth/token")
    envelope = _send("oauth/token", url, signed(creds, url, params, with_token=False), post=True)
    if not isinstance(envelope, dict):
        raise TransientError("meituan oauth/token: answer is not an object")
    if envelope.get("error"):
        raise error_for("oauth/token", envelope["error"])
    status = int(envelope.get("status") or 0)
    if status != 0 or not envelope.get("access_token"):
        raise AuthError(f"meituan oauth/token: {status} {envelope.get('message', '')}".strip(), str(status))
    return envelope


def _send(path: str, url: str, query: dict[str, str], post: bool):
    timeout = httpx.Timeout(float(getattr(settings, "MEITUAN_TIMEOUT", TIMEOUT)), connect=CONNECT_TIMEOUT)
    with transport_errors(f"meituan {path}"):
        if post:
            response = _http().post(url, data=query, timeout=timeout)
        else:
            response = _http().get(url, params=query, timeout=timeout)
    return json_answer(f"meituan {path}", response, parse_float=Decimal)  # yuan stays exact


def error_for(path: str, error) -> ConnectorError:
    """The connector error for a platform `error` object; `.code` is the platform's code."""
    error = error if isinstance(error, dict) else {"msg": str(error)}
    code = numeric_code(error.get("code"))
    text = f"meituan {path}: {code} {error.get('msg', '')}".strip()
    return platform_error(
        text, str(code), throttled=code in RATE_LIMITED, transient=code in TRANSIENT, auth=code in AUTH_CODES
    )


def _http() -> httpx.Client:
    """One pooled client per process (the pull fetches details from several threads)."""
    global _client
    if _client is None:
        _client = httpx.Client(timeout=TIMEOUT, limits=httpx.Limits(max_connections=16))
    return _client


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return str(value)
