"""The push inbox: acknowledge a verified push once it is stored, take it in later in batches.

A platform waits a few seconds for the acknowledgement of a push and retries when it does not get
one; at a peak the push receiver must not spend those seconds on intake (routing, rules, stock).
So `POST /api/v1/push/{shop}` verifies the message (signature, contract, known SKUs), writes one
PushInbox row (`store`) and answers: the acknowledgement means "stored". A message id stored before
is refused (409), as a replay always was.

The worker (`run_inbox_loop`, a thread of `zhongshu worker`) takes pending rows in (`take_in`):
up to BATCH rows at a time (on SQLite in transactions bounded by time, so that acknowledgements
waiting for the one write lock are not held up), per shop, through the same intake as every other order
(`services.take_in_orders`), with the message's PushReceipt written in the same transaction — so a
message is taken in once even if it also came another way, and a batch that fails leaves every row
pending. A batch that fails is retried row by row, and a row that fails alone (a message naming
orders the platform will not give out yet) is tried again later with a growing pause, up to
MAX_ATTEMPTS; its error stays on the row.
"""

import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from zhongshu.channels.base import PushResult
from zhongshu.channels.models import PushInbox, PushReceipt, Shop
from zhongshu.channels.services import ReplayedPush, SyncReport, connector_for, take_in_orders
from zhongshu.core import crypto
from zhongshu.core.threads import poll
from zhongshu.orders.schemas import OrderIn

log = logging.getLogger(__name__)

BATCH = 200  # rows per take-in (at most per transaction)
MAX_ATTEMPTS = 20
INTERVAL = 0.1  # seconds between polls of an empty inbox

# On SQLite a take-in transaction holds the one write lock of the database while intake runs, and
# every acknowledgement (its insert) waits for it: at a peak a take-in transaction settles only as
# many messages as fit in SQLITE_BATCH_SECONDS, then lets the lock go for SQLITE_PAUSE before the
# next. PostgreSQL takes in the whole batch at once (the inserts do not wait for it).
SQLITE_BATCH_SECONDS = 0.05
SQLITE_PAUSE = 0.05
SQLITE_MAX_ROWS = 100  # per transaction: the pace of an idle moment must not make a peak's first one long
_pace = 0.005  # seconds per message of the last take-in transaction on SQLite (a first guess)


def store(shop: Shop, result: PushResult) -> PushInbox:
    """Write the verified message (one insert); ReplayedPush when its id was stored before."""
    orders = "[" + ",".join(o.model_dump_json() for o in result.orders) + "]"
    row = PushInbox(shop=shop, message_id=result.message_id, order_ids=[str(i) for i in result.order_ids],
                    orders_enc=crypto.encrypt(orders) if result.orders else "")  # fmt: skip
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        raise ReplayedPush(f"push message {result.message_id} was already accepted") from None
    _wake()
    return row


def take_in(limit: int = BATCH) -> int:
    """Take in up to `limit` pending messages; returns how many rows were settled (taken in or
    found already taken)."""
    rows = list(_ready(timezone.now()).select_related("shop", "shop__credential").order_by("id")[:limit])
    by_shop: dict[int, list[PushInbox]] = defaultdict(list)
    for row in rows:
        by_shop[row.shop_id].append(row)
    settled = 0
    for shop_rows in by_shop.values():
        shop = shop_rows[0].shop
        items = [item for item in (_orders_of(shop, row) for row in shop_rows) if item is not None]
        settled += (
            _settle_or_split(shop, items) if connection.vendor != "sqlite" else _settle_sqlite(shop, items)
        )
    return settled


def _ready(now):
    """The rows to take in now: pending, not given up, not waiting out a pause after a failure."""
    return PushInbox.objects.filter(taken_at__isnull=True, attempts__lt=MAX_ATTEMPTS).filter(
        Q(not_before__isnull=True) | Q(not_before__lte=now)
    )


def _settle_sqlite(shop: Shop, items: list[tuple[PushInbox, list[OrderIn]]]) -> int:
    """`items` in slices that each hold the write lock for about SQLITE_BATCH_SECONDS, at the pace of
    the last slice (seconds per message holding the lock; the wait for it is not counted), each
    after a pause in which the acknowledgements waiting for the lock go first."""
    global _pace
    settled = 0
    while items:
        size = max(1, min(int(SQLITE_BATCH_SECONDS / _pace), SQLITE_MAX_ROWS))
        chunk, items = items[:size], items[size:]
        time.sleep(SQLITE_PAUSE)
        started, waited = time.monotonic(), getattr(connection, "writer_waited", 0.0)
        settled += _settle_or_split(shop, chunk)
        held = time.monotonic() - started - (getattr(connection, "writer_waited", 0.0) - waited)
        _pace = max(held / len(chunk), 1e-4)
    return settled


def _settle_or_split(shop: Shop, items: list[tuple[PushInbox, list[OrderIn]]]) -> int:
    """Settle `items` in one transaction; when that fails, one by one (one bad message must not
    hold the others back)."""
    try:
        return _settle(shop, items)
    except Exception:  # noqa: BLE001
        log.warning("inbox batch of shop %s failed; taking its messages in one by one", shop.code)
    settled = 0
    for item in items:
        try:
            settled += _settle(shop, [item])
        except Exception as exc:  # noqa: BLE001
            _failed(item[0], exc)
    return settled


def _orders_of(shop: Shop, row: PushInbox) -> tuple[PushInbox, list[OrderIn]] | None:
    """The row's orders: stored whole, or fetched from the platform now (outside any transaction)."""
    try:
        orders = [OrderIn.model_validate(o) for o in json.loads(crypto.decrypt(row.orders_enc) or "[]")]
        if row.order_ids:
            conn = connector_for(shop)
            orders += [conn.fetch_one(i) for i in row.order_ids]
    except Exception as exc:  # noqa: BLE001 - the platform refused or failed: try again later
        _failed(row, exc)
        return None
    return row, orders


def _settle(shop: Shop, items: list[tuple[PushInbox, list[OrderIn]]]) -> int:
    """One transaction: receipts, intake, rows marked taken. Rows another worker settled meanwhile,
    or whose message was taken in another way, are marked without a second intake."""
    if not items:
        return 0
    with transaction.atomic():
        ids = [row.pk for row, _ in items]
        live = set(
            PushInbox.objects.select_for_update(skip_locked=True)
            .filter(pk__in=ids, taken_at__isnull=True)
            .values_list("pk", flat=True)
        )
        items = [(row, orders) for row, orders in items if row.pk in live]
        seen = set(
            PushReceipt.objects.filter(
                shop=shop, message_id__in=[r.message_id for r, _ in items]
            ).values_list("message_id", flat=True)
        )
        fresh, names = [], set()
        for row, orders in items:
            if row.message_id not in seen and row.message_id not in names:
                names.add(row.message_id)
                fresh.append((row, orders))
        PushReceipt.objects.bulk_create([PushReceipt(shop=shop, message_id=r.message_id) for r, _ in fresh])
        # the breaker's delay signal: when the platform's messages reached the hub (stored), not now
        received = max((r.received_at for r, _ in fresh), default=None)
        take_in_orders(
            shop, [o for _, orders in fresh for o in orders], SyncReport(shop=shop.code), observed_at=received
        )
        PushInbox.objects.filter(pk__in=[r.pk for r, _ in items]).update(
            taken_at=timezone.now(), orders_enc="", last_error="", not_before=None
        )
    return len(items)


def _failed(row: PushInbox, exc: Exception) -> None:
    attempts = row.attempts + 1
    pause = timedelta(seconds=min(2**attempts, 600))
    log.warning("inbox message %s of shop %s not taken in (attempt %d): %s", row.message_id, row.shop_id,
                attempts, type(exc).__name__)  # fmt: skip
    PushInbox.objects.filter(pk=row.pk).update(
        attempts=attempts, not_before=timezone.now() + pause, last_error=f"{type(exc).__name__}: {exc}"[:2000]
    )


def pending() -> int:
    return PushInbox.objects.filter(taken_at__isnull=True).count()


def waiting() -> bool:
    """Messages are waiting to be taken in now: pushes are coming in (the worker's outbox relay
    yields meanwhile, core/outbox.py `set_busy`)."""
    return _ready(timezone.now()).exists()


def run_inbox_loop(stop: threading.Event, interval: float = INTERVAL) -> None:
    """Take the inbox in until `stop` is set (a thread of `zhongshu worker`)."""
    poll(stop, take_in, interval, "inbox take-in")


# --- waking: the queue module decides (tests and one-off scripts take in at once) -------------

_waker: Callable[[], object] | None = None


def set_waker(fn: Callable[[], object] | None) -> None:
    global _waker
    _waker = fn


def _wake() -> None:
    if _waker is not None:
        _waker()
