"""Background work of the monitor: the minute's health sample (the KPI report's availability)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from zhongshu.monitor import health


@db_periodic_task(crontab(minute="*"))
def record_health() -> bool:
    """Record one health sample; returns whether the hub was available this minute."""
    return health.record_sample().ok
