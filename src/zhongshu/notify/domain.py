"""The alert decision, pure: is a value in breach, and what does a rule's state call for now."""

from datetime import datetime, timedelta
from decimal import Decimal

FIRING, REMINDER, RESOLVED = "firing", "reminder", "resolved"

_COMPARE = {
    "gt": lambda v, t: v > t,
    "gte": lambda v, t: v >= t,
    "lt": lambda v, t: v < t,
    "lte": lambda v, t: v <= t,
}


def breached(value: Decimal | None, comparison: str, threshold: Decimal) -> bool:
    """True when the value crosses the threshold; a missing value (no data) never does."""
    return value is not None and _COMPARE[comparison](value, threshold)


def decide(firing: bool, last_sent_at: datetime | None, in_breach: bool, now: datetime,
           cooldown: timedelta) -> str | None:  # fmt: skip
    """The notice due: FIRING on entering breach, REMINDER while in breach once the cooldown since the
    last notice has passed, RESOLVED on leaving it, None otherwise (deduplication)."""
    if in_breach and not firing:
        return FIRING
    if in_breach and (last_sent_at is None or now - last_sent_at >= cooldown):
        return REMINDER
    if firing and not in_breach:
        return RESOLVED
    return None
