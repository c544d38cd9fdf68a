"""HTTP transport to the JOS gateway (`/routerjson`) and the OAuth server (`/oauth2/...`).

Turns the platform's answers into the connector errors: throttling → RateLimited, 5xx, timeouts
and unreadable bodies → TransientError, invalid token → AuthError, anything else the platform
refuses → ConnectorError with the platform's code. It never retries: the sync service does.
"""

import json
from datetime import UTC, datetime

import httpx

from zhongshu.channels.base import AuthError, ConnectorError, Credentials, TransientError
from zhongshu.channels.http import (
    hide_query_secrets,
    json_answer,
    platform_error,
    read_timeout,
    transport_errors,
)
from zhongshu.channels.jd.signing import jos_time, sign

GATEWAY = "https://api.jd.com/routerjson"
OAUTH = "https://open-oauth.jd.com/oauth2"

# gateway error codes (jos.jd.com 网关系统错误码)
AUTH_CODES = {"19"}  # 无效access_token / Invalid access_token
THROTTLE_CODES = {"2"}  # 限制时间内调用失败次数 / App Call Limited


class JosClient:
    timeout = 10.0

    def __init__(self, credentials: Credentials):
        self.creds = credentials
        base = credentials.base_url.rstrip("/")
        self.gateway = f"{base}/routerjson" if base else GATEWAY
        self.oauth = f"{base}/oauth2" if base else OAUTH
        self._http: httpx.Client | None = None

    # --- gateway ---
    def call(self, method: str, business: dict) -> dict:
        """Call one JOS method; returns the body under `<method>_responce`."""
        params = {
            "method": method,
            "app_key": self.creds.app_key,
            "timestamp": jos_time(datetime.now(UTC)),
            "v": "2.0",
            "360buy_param_json": json.dumps(business, ensure_ascii=False, separators=(",", ":")),
        }
        if self.creds.access_token:  # no token: the key is left out, not sent (and signed) empty
            params["access_token"] = self.creds.access_token
        params["sign"] = sign(params, self.creds.app_secret)
        body = self._send("POST", self.gateway, data=params)
        if "error_response" in body:
            raise gateway_error(body["error_response"])
        inner = body.get(method.replace(".", "_") + "_responce")
        if not isinstance(inner, dict):
            raise TransientError(f"{method}: answer without {method} response body")
        if str(inner.get("code", "0")) != "0":
            raise ConnectorError(f"{method} refused", code=str(inner.get("code")))
        return inner

    # --- OAuth ---
    def token(self, endpoint: str, params: dict[str, str]) -> dict:
        """GET an OAuth endpoint (access_token / refresh_token); an error answer → AuthError."""
        query = {"app_key": self.creds.app_key, "app_secret": self.creds.app_secret, **params}
        body = self._send("GET", f"{self.oauth}/{endpoint}", params=query)
        if str(body.get("code", "0")) != "0" or not body.get("access_token"):
            raise AuthError(
                f"JD OAuth {endpoint} refused: {body.get('msg', '')}", code=str(body.get("code", ""))
            )
        return body

    # --- transport ---
    def _send(self, verb: str, url: str, **kwargs) -> dict:
        with transport_errors(f"JD {verb}"):
            resp = self._client().request(verb, url, **kwargs)
        body = json_answer(f"JD {verb}", resp, only_200=False)
        if not isinstance(body, dict):
            raise TransientError("JD answered JSON that is not an object")
        return body

    def _client(self) -> httpx.Client:
        if self._http is None:
            hide_query_secrets()  # the OAuth endpoints take the app secret, refresh token and code in the query
            self._http = httpx.Client(timeout=read_timeout(self.timeout))
        return self._http


def gateway_error(err: dict) -> ConnectorError:
    """{error_response: {code, zh_desc, en_desc}} as the matching connector error."""
    code = str(err.get("code", ""))
    text = f"JD error {code}: {err.get('en_desc') or err.get('zh_desc') or ''}"
    return platform_error(text, code, throttled=code in THROTTLE_CODES, auth=code in AUTH_CODES)
