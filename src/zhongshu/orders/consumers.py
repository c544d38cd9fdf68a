"""Consumers of outbox events owned by orders: backorders are retried when stock is added.

The retry does not run inside the relay's transaction: that transaction delivers a batch of events to
every consumer and would hold the SKU's stock rows (and the orders it retries) until the whole batch
commits, while intake waits for the same rows. Instead the consumer notes the SKU; once the relay's
transaction commits, every SKU noted in it is retried once, each in its own short transaction. A
process that dies between the commit and the retry loses nothing for long: the periodic retry
(orders.tasks) sweeps every SKU that backorders wait for.
"""

import logging
import threading

from django.db import transaction

from zhongshu.core.models import OutboxEvent
from zhongshu.core.outbox import consumer
from zhongshu.orders.services import retry_backorders

log = logging.getLogger(__name__)
ACTOR = "system:backorder-retry"

_noted = threading.local()


@consumer("orders.backorder_retry", topic_prefix="stock.changed")
def retry_when_stock_added(ev: OutboxEvent) -> None:
    delta = ev.payload.get("delta", {})
    if delta.get("physical", 0) > 0 or delta.get("in_transit", 0) > 0 or delta.get("reserved", 0) < 0:
        note_for_retry(ev.payload["sku"])


def note_for_retry(sku: str) -> None:
    """Retry this SKU's backorders after the current transaction commits (once per SKU)."""
    if not hasattr(_noted, "skus"):
        _noted.skus = set()
    _noted.skus.add(sku)
    # one callback per note: the first to run takes every noted SKU, the others find none (a callback
    # registered in a savepoint that rolls back is dropped; the SKU then goes with the next one)
    transaction.on_commit(_retry_noted)


def _retry_noted() -> None:
    skus, _noted.skus = _noted.skus, set()
    if skus:
        retry_each(skus)


def retry_each(skus: set[str]) -> int:
    """Retry each SKU's backorders in its own transaction; a failure is logged and the rest go on."""
    done = 0
    for sku in sorted(skus):
        try:
            done += retry_backorders({sku}, actor=ACTOR)
        except Exception:  # noqa: BLE001 - one SKU's failure must not stop the others; the sweep retries
            log.exception("backorder retry of %s failed", sku)
    return done
