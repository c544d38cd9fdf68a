"""美团外卖/闪购 open-platform signature (`sig`), the same for API calls and for pushes.

    sig = md5(request URL without query + "?" + "k1=v1&k2=v2…" + app_secret), lower-case hex

The pairs are every system and application parameter except `sig` itself, sorted by name, with
their raw (not URL-encoded) values; an empty value still takes part, as `k=`. That is the
official Java SDK (waimai_open_java_sdk 1.0.12, `URLFactory.concatParams`, which appends
"&" + key + "=" + value for every key; `SignGenerator.genSig` is the MD5 hex) — sources kept in
imrobin/meituan-openapi-java-sdk@e413d59 doc/meituan-java-sdk-sources/
waimai_open_java_sdk-1.0.12-SNAPSHOT-sources.jar, com/sankuai/meituan/waimai/opensdk/factory/
URLFactory.java:369-382 — and the public push receiver Code-Fly/MeituanAPI@5316f21
src/com/meituan/utils/SigUtil.java (`sortParams`, an empty value as `k=`). The URL is the full
address called (https://waimaiopen.meituan.com/api/v1/order/getOrderDetail); for a push it is the
merchant's callback URL the platform posts to. tests/unit/channels/test_sdk_vectors.py holds
vectors computed by running both.

A push's form values may arrive URL-encoded twice: that receiver decodes each value once more
after the form decoding (Code-Fly/MeituanAPI src/com/base/utils/MapUtil.java `getParameterMap(
request, true)` → `URLDecoder.decode`, used by its OrderPushCallBack). `push_params` accepts
whichever of the two readings the `sig` matches.
"""

import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import unquote_plus


def base_string(url: str, params: Mapping[str, object], secret: str) -> str:
    pairs = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sig" and params[k] is not None)
    return f"{url}?{pairs}{secret}"


def sig(url: str, params: Mapping[str, object], secret: str) -> str:
    """The `sig` of a call (or a push) to `url` with `params`."""
    return hashlib.md5(base_string(url, params, secret).encode()).hexdigest()  # noqa: S324  (platform's)


def push_params(url: str, params: Mapping[str, str], secret: str) -> dict[str, str] | None:
    """A push's parameters as signed: the form values, or the same decoded once more; None if `sig` fits neither."""
    given = str(params.get("sig", "")).lower()
    if not given:
        return None
    once = dict(params)
    twice = {k: v if k == "sig" else unquote_plus(v) for k, v in params.items()}
    for reading in (once, twice) if twice != once else (once,):
        if hmac.compare_digest(given, sig(url, reading, secret)):
            return reading
    return None
