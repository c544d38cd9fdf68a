"""JOS request signing (京东宙斯开放平台, protocol v2.0).

Every gateway call carries the system parameters `method`, `app_key`, `access_token` (only when
there is a token), `timestamp` ('yyyy-MM-dd HH:mm:ss', Beijing time, at most 6 minutes off the
gateway clock) and `v` = "2.0", plus the business parameters as one JSON string in
`360buy_param_json`. The signature is upper-case hex MD5 of app_secret + every parameter except
`sign` sorted by name and concatenated as name+value + app_secret.

A parameter present with an empty value still takes part (its name is concatenated): three
independent signers do so — jd-sdk 1.1.1 (JD's Python SDK, PsKs/jd-sdk) jd/api/base.py:30-38,
jd-union 18.12.8.18 jd_union/api/base.py:35-52, jd 0.0.1 jd/jd/comm.py:21-30 — and they add
`access_token` only when there is one (jd-sdk base.py:197-198, jd-union base.py:222-223). So a
call without a token leaves the key out rather than sending and signing an empty one. Vectors:
tests/unit/channels/test_sdk_vectors.py.
"""

import hashlib
from collections.abc import Mapping
from datetime import datetime

from zhongshu.core.timeutil import SHANGHAI

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def sign(params: Mapping[str, str], app_secret: str) -> str:
    """The JOS `sign` of a parameter set (the `sign` key itself is ignored)."""
    body = "".join(f"{k}{v}" for k, v in sorted(params.items()) if k != "sign" and v is not None)
    return hashlib.md5(f"{app_secret}{body}{app_secret}".encode()).hexdigest().upper()


def jos_time(dt: datetime) -> str:
    """An aware datetime as JOS writes times: Beijing wall-clock, second precision."""
    return dt.astimezone(SHANGHAI).strftime(TIME_FORMAT)


def parse_jos_time(text: str) -> datetime:
    """A JOS time string ('2026-03-10 14:05:00', Beijing time) as an aware datetime."""
    return datetime.strptime(text.strip(), TIME_FORMAT).replace(tzinfo=SHANGHAI)
