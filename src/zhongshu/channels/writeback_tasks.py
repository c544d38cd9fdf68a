"""Background stock write-back, coalesced per SKU.

A stock change asks for a push of its SKU `COALESCE_SECONDS` from now, unless one is already pending:
the pending mark is a dedupe key in the queue's own storage (`put_if_empty`: SQLite `INSERT OR
ABORT`, Redis `HSETNX`), so a burst of changes of one SKU costs one push, whichever worker saw them.
The task removes the mark before it reads the stock, so a change during the push schedules the next
one and the shop always ends with the final value.
"""

import time

from huey.contrib.djhuey import HUEY, db_task

from zhongshu.channels.writeback import push_stock_for_skus

COALESCE_SECONDS = 1.0
STALE_SECONDS = 120.0  # a mark older than this lost its task (a crashed worker): schedule again


def pending_key(sku_code: str) -> str:
    return f"zhongshu:stock-push:{sku_code}"


def schedule_stock_push(sku_code: str) -> bool:
    """Schedule one push of this SKU unless one is already pending; True when a task was scheduled."""
    now = time.time()
    key = pending_key(sku_code)
    if not HUEY.put_if_empty(key, now):
        since = HUEY.get(key, peek=True)
        if isinstance(since, float) and now - since < STALE_SECONDS:
            return False
        HUEY.put(key, now)
    push_stock_task.schedule(args=(sku_code,), delay=COALESCE_SECONDS)
    return True


@db_task(retries=5, retry_delay=10)
def push_stock_task(sku_code: str) -> None:
    """Push the SKU's sellable quantity to every shop (safe to run twice: unchanged values are skipped)."""
    HUEY.get(pending_key(sku_code))  # pop the mark: later changes schedule the next push
    push_stock_for_skus([sku_code])  # WritebackFailed → huey retries; failures are recorded first
