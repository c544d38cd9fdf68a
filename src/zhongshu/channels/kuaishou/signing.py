"""快手电商开放平台 request signatures (open.kwaixiaodian.com "API调用说明", pageSign 8cca5d25…).

The signed parameters are access_token, appkey, method, param, signMethod, timestamp and version
(those present), sorted by name and joined as `k=v&k=v`; then `&signSecret=<signSecret>` is
appended and the whole string is signed:

    MD5:          sign = md5_hex(string)                      (lower-case hex)
    HMAC_SHA256:  sign = base64(HMAC-SHA256(key=signSecret, msg=string))

`param` is the business parameters as one JSON string, signed exactly as sent. The signSecret is a
signing factor only and never travels in the request. The Node SDK kuaishou-merchant-open-api 1.0.1
builds the same string (crywolfx/kuaishou-merchant-open-api@db2dd88 packages/main.ts:159-160,
`generateSign`); signs it sent are checked in tests/unit/channels/test_sdk_vectors.py.
"""

import base64
import hashlib
import hmac
import json

VERSION = "1"
MD5 = "MD5"
HMAC_SHA256 = "HMAC_SHA256"
SIGNED_KEYS = ("access_token", "appkey", "method", "param", "signMethod", "timestamp", "version")


def param_json(params: dict) -> str:
    """Business parameters as the `param` string: compact JSON, UTF-8 kept."""
    return json.dumps(params, separators=(",", ":"), ensure_ascii=False)


def sign_string(params: dict[str, str], sign_secret: str) -> str:
    pairs = sorted((k, v) for k, v in params.items() if k in SIGNED_KEYS and v is not None)
    return "&".join(f"{k}={v}" for k, v in pairs) + f"&signSecret={sign_secret}"


def sign(params: dict[str, str], sign_secret: str, method: str = HMAC_SHA256) -> str:
    """The `sign` of one call; `method` is the signMethod (MD5 or HMAC_SHA256)."""
    text = sign_string(params, sign_secret).encode()
    if method == HMAC_SHA256:
        digest = hmac.new(sign_secret.encode(), text, hashlib.sha256).digest()
        return base64.b64encode(digest).decode()
    if method == MD5:
        return hashlib.md5(text).hexdigest()  # noqa: S324  (the platform's algorithm, not ours)
    raise ValueError(f"unknown signMethod {method}")
