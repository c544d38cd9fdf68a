"""Background work of orders: the periodic backorder retry (the safety net of the stock consumer)."""

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from zhongshu.orders.consumers import retry_each
from zhongshu.orders.stocktake import backordered_skus


@db_periodic_task(crontab(minute="*"))
def retry_backorders_periodic() -> int:
    """Every minute: retry the backorders of every SKU with available stock (cheap when none is)."""
    return retry_each(backordered_skus())
