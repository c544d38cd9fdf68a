"""JOS request signing (京东宙斯开放平台, protocol v2.0).

Every gateway call carries the system parameters `method`, `app_key`, `access_token`, `timestamp`
('yyyy-MM-dd HH:mm:ss', Beijing time, at most 6 minutes off the gateway clock) and `v` = "2.0",
plus the business parameters as one JSON string in `360buy_param_json`. The signature is
upper-case hex MD5 of app_secret + every parameter except `sign` sorted by name and
concatenated as name+value + app_secret. Empty values take no part.
"""

import hashlib
from collections.abc import Mapping
from datetime import datetime

from zhongshu.core.timeutil import SHANGHAI

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def sign(params: Mapping[str, str], app_secret: str) -> str:
    """The JOS `sign` of a parameter set (the `sign` key itself is ignored)."""
    body = "".join(f"{k}{v}" for k, v in sorted(params.items()) if k != "sign" and v not in (None, ""))
    return hashlib.md5(f"{app_secret}{body}{app_secret}".encode()).hexdigest().upper()


def jos_time(dt: datetime) -> str:
    """An aware datetime as JOS writes times: Beijing wall-clock, second precision."""
    return dt.astimezone(SHANGHAI).strftime(TIME_FORMAT)


def parse_jos_time(text: str) -> datetime:
    """A JOS time string ('2026-03-10 14:05:00', Beijing time) as an aware datetime."""
    return datetime.strptime(text.strip(), TIME_FORMAT).replace(tzinfo=SHANGHAI)
