"""Aware datetimes everywhere: UTC in the database, Asia/Shanghai on screen."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

SHANGHAI = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    return timezone.now()


def local(dt: datetime) -> datetime:
    return dt.astimezone(SHANGHAI)


def local_day(dt: datetime) -> date:
    """Calendar day in Asia/Shanghai (brushing rules count per local day)."""
    return dt.astimezone(SHANGHAI).date()


def require_aware(dt: datetime, field: str) -> datetime:
    if dt.tzinfo is None or dt.tzinfo.utcoffset(dt) is None:
        raise ValueError(f"{field}: a time zone offset is required")
    return dt
