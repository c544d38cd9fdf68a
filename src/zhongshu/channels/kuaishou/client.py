"""Signed calls to the 快手电商开放平台 gateway and its OAuth endpoints, errors mapped to the connector's.

API calls (open.kwaixiaodian.com "API调用说明") go to `{gateway}/{method with dots as slashes}`
with appkey, method, version=1, access_token, timestamp (ms), signMethod and sign in the query.
Each method has its HTTP verb, as the Node SDK kuaishou-merchant-open-api 1.0.1 lists them
(crywolfx/kuaishou-merchant-open-api@db2dd88 packages/common/constant/api.default.method.ts:1, used
at packages/main.ts:171): the reads open.order.cursor.list, open.order.detail and
open.item.list.get are GET with `param` (the business JSON) in the query too (main.ts:199); the
others are POST, Content-Type application/x-www-form-urlencoded, `param` in the body. Answers are
`{"result": 1, "data": …}` on success, else `{"result": <code>, "error_msg": …}`.

OAuth ("APP授权说明", pageSign e1d9e229…): `GET /oauth2/access_token` (app_id, app_secret,
grant_type=code, code) and `POST /oauth2/refresh_token` with app_id, app_secret,
grant_type=refresh_token and refresh_token in the query string, as that SDK sends it (main.ts:141),
answer `{result: 1, access_token, refresh_token, expires_in, …}` or `{result, error, error_msg}`;
result 100200100…100200107 are the documented OAuth errors, and 100200102 (access_denied) is also
what any API call answers for a bad token. No retries here: the sync service retries RateLimited
and TransientError.
"""

import time

import httpx

from zhongshu.channels.base import ConnectorError, Credentials, TransientError
from zhongshu.channels.http import (
    hide_query_secrets,
    json_answer,
    numeric_code,
    platform_error,
    transport_errors,
)
from zhongshu.channels.kuaishou.signing import HMAC_SHA256, VERSION, param_json, sign

GATEWAY = "https://openapi.kwaixiaodian.com"
TIMEOUT = httpx.Timeout(10.0, connect=5.0)
SUCCESS = 1
ACCESS_DENIED = 100200102  # documented: invalid/expired/used token, revoked authorisation
OAUTH_ERRORS = range(100200100, 100200108)  # documented 授权错误码 (invalid_request … invalid_openid)
OAUTH_SERVER_ERROR = 100200500
# Not found in public documentation (chosen for the double, see the report): the gateway's
# signature refusal, and throttling. 802006 is the daily-quota code seen in public client code.
SIGN_INVALID = 24
THROTTLED = {802006, 802007}
# the methods sent as GET (the Node SDK's table, see above); every other one is POST
GET_METHODS = frozenset({"open.order.cursor.list", "open.order.detail", "open.item.list.get"})
_client: httpx.Client | None = None


def call(creds: Credentials, method: str, params: dict, sign_method: str = HMAC_SHA256) -> dict:
    """Call one API method; returns its `data` or raises AuthError/RateLimited/TransientError/ConnectorError."""
    body = param_json(params)
    query = signed_query(creds, method, body, sign_method)
    url = f"{_base(creds)}/{method.replace('.', '/')}"
    if method in GET_METHODS:
        return _data(method, _send("GET", url, params={**query, "param": body}))
    return _data(method, _send("POST", url, params=query, data={"param": body}))


def oauth(creds: Credentials, path: str, params: dict) -> dict:
    """One OAuth endpoint call (access_token by GET, refresh_token by POST), the parameters in the query."""
    args = {"app_id": creds.app_key, "app_secret": creds.app_secret, **params}
    url = f"{_base(creds)}/oauth2/{path}"
    response = _send("GET" if path == "access_token" else "POST", url, params=args)
    envelope = _envelope(f"oauth2/{path}", response)
    if envelope.get("result") != SUCCESS:
        raise error_for(f"oauth2/{path}", envelope)
    return envelope


def signed_query(creds: Credentials, method: str, body: str, sign_method: str) -> dict[str, str]:
    query = {
        "appkey": creds.app_key,
        "method": method,
        "version": VERSION,
        "access_token": creds.access_token,
        "timestamp": str(int(time.time() * 1000)),
        "signMethod": sign_method,
    }
    query["sign"] = sign({**query, "param": body}, sign_secret(creds), sign_method)
    return query


def sign_secret(creds: Credentials) -> str:
    """The app's signSecret: kept in the credential's push secret, else the app secret (see connector)."""
    return creds.push_secret or creds.app_secret


def _base(creds: Credentials) -> str:
    return (creds.base_url or GATEWAY).rstrip("/")


def _http() -> httpx.Client:
    """One pooled client per process (a TLS context per call costs ~0.2 s)."""
    global _client
    if _client is None:
        hide_query_secrets()  # the OAuth endpoints take the app secret, refresh token and code in the query
        _client = httpx.Client(timeout=TIMEOUT)
    return _client


def _send(verb: str, url: str, **kwargs) -> httpx.Response:
    with transport_errors(f"kuaishou {httpx.URL(url).path}"):
        return _http().request(verb, url, **kwargs)


def _envelope(what: str, response: httpx.Response) -> dict:
    envelope = json_answer(f"kuaishou {what}", response)
    if not isinstance(envelope, dict) or "result" not in envelope:
        raise TransientError(f"kuaishou {what}: answer without a result")
    return envelope


def _data(method: str, response: httpx.Response) -> dict:
    envelope = _envelope(method, response)
    if envelope["result"] == SUCCESS:
        return envelope.get("data") or {}
    raise error_for(method, envelope)


def error_for(what: str, envelope: dict) -> ConnectorError:
    """The connector error for an error answer; `.code` is the platform's result code."""
    code = numeric_code(envelope.get("result"))
    text = f"kuaishou {what}: {code} {envelope.get('error', '')} {envelope.get('error_msg', '')}".strip()
    return platform_error(
        text,
        str(code),
        throttled=code in THROTTLED,
        transient=code == OAUTH_SERVER_ERROR,
        auth=code in OAUTH_ERRORS or code == SIGN_INVALID,
    )
