"""抖店 open-platform signatures: API requests (HMAC-SHA256) and push messages (event-sign).

Requests (op.jinritemai.com "API调用指南", sign_method=hmac-sha256): the business parameters are
serialised as `param_json` — JSON with keys sorted (recursively) and no spaces — and

    sign = hex(HMAC-SHA256(key=app_secret,
                           msg=app_secret + "app_key" + app_key + "method" + method
                               + "param_json" + param_json + "timestamp" + timestamp + "v" + v
                               + app_secret))

Push messages (消息推送) carry the header `event-sign` = hex(md5(app_key + body + app_secret)); the
newer consoles can switch a subscription to HMAC-SHA256 (header `sign-method: hmac-sha256`), then
event-sign = hex(HMAC-SHA256(key=app_secret, msg=app_key + body + app_secret)).
"""

import hashlib
import hmac
import json

VERSION = "2"
SIGN_METHOD = "hmac-sha256"


def param_json(params: dict) -> str:
    """The business parameters as the platform signs them: sorted keys, compact, UTF-8 kept."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sign(
    app_key: str, app_secret: str, method: str, params_json: str, timestamp: str, v: str = VERSION
) -> str:
    """The `sign` of one API call."""
    pattern = f"app_key{app_key}method{method}param_json{params_json}timestamp{timestamp}v{v}"
    return _hmac_sha256(app_secret, app_secret + pattern + app_secret)


def event_sign(app_key: str, app_secret: str, body: bytes, method: str = "md5") -> str:
    """The `event-sign` header of a push message (md5 by default, or hmac-sha256)."""
    payload = app_key.encode() + body + app_secret.encode()
    if method.lower() == SIGN_METHOD:
        return hmac.new(app_secret.encode(), payload, hashlib.sha256).hexdigest()
    return hashlib.md5(payload).hexdigest()  # noqa: S324  (the platform's algorithm, not ours)


def _hmac_sha256(key: str, message: str) -> str:
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()
