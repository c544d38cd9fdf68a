"""Is a piece of non-core work switched on? (R-PEAK2: degradation under load.)

Any app may ask `is_on(name)`; the answer is the `enabled` column of the switch's row (core.models.
DegradeSwitch), cached in the process for CACHE_SECONDS so a hot path costs no query. A switch without
a row is on. The peak app (zhongshu.peak) registers the switches, measures the load and writes the rows.

`promotion_on()` tells whether a planned promotion window is running (the row PROMOTION, written by
the peak app): notify's alert rules use their tighter `peak_threshold` then.
"""

import time

CACHE_SECONDS = 5.0
PROMOTION = "promotion_mode"

_cache: dict[str, tuple[float, bool]] = {}


def is_on(name: str) -> bool:
    now = time.monotonic()
    hit = _cache.get(name)
    if hit and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    from zhongshu.core.models import DegradeSwitch

    value = DegradeSwitch.objects.filter(name=name).values_list("enabled", flat=True).first()
    on = True if value is None else value
    _cache[name] = (now, on)
    return on


def promotion_on() -> bool:
    """A promotion window is running (its row is on); no row means no promotion."""
    from zhongshu.core.models import DegradeSwitch

    now = time.monotonic()
    hit = _cache.get(PROMOTION)
    if hit and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    value = DegradeSwitch.objects.filter(name=PROMOTION).values_list("enabled", flat=True).first()
    _cache[PROMOTION] = (now, bool(value))
    return bool(value)


def forget() -> None:
    """Drop the cache (after this process changed a switch, and in tests)."""
    _cache.clear()
