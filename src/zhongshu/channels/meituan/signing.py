"""美团外卖/闪购 open-platform signature (`sig`), the same for API calls and for pushes.

Documented rule (open-shangou.meituan.com 开发者文档 "签名算法", and the official Java SDK
com.opensdk.meituan `URLFactoryMeituan.genUrlForGenSig` / `SignGenerator.genSig`):

    sig = md5(request URL without query + "?" + "k1=v1&k2=v2…" + app_secret), lower-case hex

where the pairs are every system and application parameter except `sig` itself, sorted by name,
with their raw (not URL-encoded) values; empty values are left out. The URL is the full address
called (https://waimaiopen.meituan.com/api/v1/order/getOrderDetail); for a push it is the
merchant's callback URL the platform posts to.
"""

import hashlib
from collections.abc import Mapping


def base_string(url: str, params: Mapping[str, object], secret: str) -> str:
    pairs = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sig" and _present(params[k]))
    return f"{url}?{pairs}{secret}"


def sig(url: str, params: Mapping[str, object], secret: str) -> str:
    """The `sig` of a call (or a push) to `url` with `params`."""
    return hashlib.md5(base_string(url, params, secret).encode()).hexdigest()  # noqa: S324  (platform's)


def _present(value: object) -> bool:
    return value is not None and str(value) != ""
