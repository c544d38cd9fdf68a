"""Background work of the alerts: evaluate every minute, send the notices after the commit."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from zhongshu.notify import services


@db_task()
def deliver_task(delivery_ids: list[int]) -> dict[int, str]:
    return services.deliver(delivery_ids)


@db_periodic_task(crontab(minute="*"))
def evaluate_alerts() -> int:
    """Evaluate the alert rules; the notices go out in a separate task once committed."""
    pending = services.evaluate()
    if pending:
        deliver_task(pending)
    return len(pending)
