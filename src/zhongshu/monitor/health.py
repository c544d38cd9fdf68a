"""The minute's health check (R-MON3 availability): recorded by the worker every minute.

A sample is "available" when the API answers its liveness URL, the worker ran the check on time
(within a minute of its schedule: a stuck or overloaded worker runs it late) and a database round
trip is quick. A minute without a sample (worker or database down) counts as unavailable in the
report (`kpi.availability`), so the figure cannot look better because nothing was measured.
"""

import time
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.db import connection
from django.utils import timezone

from zhongshu.monitor.models import HealthSample
from zhongshu.rules.selectors import runtime

API_TIMEOUT = 5.0  # seconds for the API's liveness answer
DB_SLOW_MS = 1000  # a database round trip slower than this counts as unavailable
WORKER_LATE_S = 60  # a check run this long after its minute means the worker is not keeping up
KEEP = timedelta(days=400)  # samples kept: a year of promotions to compare against


def api_health_url() -> str:
    return settings.PUBLIC_URL.rstrip("/") + "/api/v1/health"


def api_up(url: str | None = None) -> bool:
    """Whether the API answers its liveness URL with 200 in time."""
    try:
        return httpx.get(url or api_health_url(), timeout=API_TIMEOUT).status_code == 200
    except httpx.HTTPError:
        return False


def db_latency_ms() -> int:
    """Milliseconds of one database round trip."""
    start = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("SELECT 1")
        cur.fetchone()
    return round((time.perf_counter() - start) * 1000)


def record_sample(
    at: datetime | None = None, scheduled: datetime | None = None, url: str | None = None
) -> HealthSample:
    """Check the API, the worker's punctuality and the database; store and return the sample."""
    at = at or timezone.now()
    scheduled = scheduled or at.replace(second=0, microsecond=0)
    api = api_up(url)
    latency = db_latency_ms()
    worker = (at - scheduled).total_seconds() < WORKER_LATE_S
    if at.minute == 0:  # once an hour, the samples older than KEEP go (one indexed range delete)
        HealthSample.objects.filter(at__lt=at - KEEP).delete()
    return HealthSample.objects.create(
        at=at,
        api_ok=api,
        worker_ok=worker,
        db_latency_ms=latency,
        peak_mode=runtime()[1],
        ok=api and worker and latency <= DB_SLOW_MS,
    )
