"""The worker's checks: every CHECK_SECONDS the load is measured and the switches set (R-PEAK2), and
promotion windows started or ended. Huey's periodic tasks run at most once a minute, so the minute's
task runs a check and schedules one more CHECK_SECONDS later."""

import logging

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

from zhongshu.peak import services

log = logging.getLogger(__name__)
CHECK_SECONDS = 30


def _run() -> None:
    services.tick_promotions()
    p = services.check()
    if p.degraded:
        log.warning("degraded: %s", p.reason)


@db_task()
def peak_check() -> None:
    _run()


@db_periodic_task(crontab(minute="*"))
def peak_check_periodic() -> None:
    _run()
    if not HUEY.immediate:
        peak_check.schedule(delay=CHECK_SECONDS)
