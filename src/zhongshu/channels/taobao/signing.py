"""TOP request signing (淘宝开放平台 API 签名).

The signature covers every request parameter except `sign` itself (system parameters such as
`method`, `app_key`, `session`, `timestamp` and the API's own parameters), sorted by name and
concatenated as name+value with no separators:

- `md5`:          MD5(secret + pairs + secret)
- `hmac`:         HMAC-MD5(key=secret, pairs)
- `hmac-sha256`:  HMAC-SHA256(key=secret, pairs)

and written as upper-case hex. Parameters with an empty value are not sent and not signed.
"""

import hashlib
import hmac
from collections.abc import Mapping

SIGN_METHODS = ("md5", "hmac", "hmac-sha256")


def canonical(params: Mapping[str, str]) -> str:
    """The signed string: parameters sorted by name, each as name+value, `sign` and empty values left out."""
    return "".join(f"{k}{params[k]}" for k in sorted(params) if k != "sign" and params[k] not in (None, ""))


def sign(params: Mapping[str, str], secret: str, method: str = "hmac-sha256") -> str:
    """The TOP signature of a request's parameters with the app secret, upper-case hex."""
    text = canonical(params).encode()
    key = secret.encode()
    if method == "md5":
        return hashlib.md5(key + text + key).hexdigest().upper()
    if method == "hmac":
        return hmac.new(key, text, hashlib.md5).hexdigest().upper()
    if method == "hmac-sha256":
        return hmac.new(key, text, hashlib.sha256).hexdigest().upper()
    raise ValueError(f"unknown TOP sign_method '{method}'")


def verify(params: Mapping[str, str], secret: str) -> bool:
    """True when the request's `sign` matches its parameters under its `sign_method` (default md5)."""
    method = params.get("sign_method") or "md5"
    if method not in SIGN_METHODS:
        return False
    return hmac.compare_digest(sign(params, secret, method), params.get("sign") or "")
