"""The sync circuit breaker (R-PEAK3), per shop and for all shops.

Signal: the new-order sync delay of a shop is the larger of
- the pull's cursor lag (now − cursor) of a shop the hub pulls, and
- the delay of the orders it took in last (receipt time − the platform's modification time,
  `OrderIn.updated_at`), as long as that observation is recent (within the sustain period);
the delay of "all shops" is the smallest delay among the shops that have one (two at least): every
channel late means the hub itself is behind.

States (one `Breaker` row per scope, moved only under that row's lock):
- closed → open: the delay stayed above `threshold_seconds` for `sustain_seconds` (15 and 5 minutes
  by default, editable in the console). While open every order the channels take in
  (`services.take_in_orders`: pulls, pushes, back-fills) is stored as a `HeldOrder` — encrypted, in
  platform-timestamp order, no allocation or rules — and the customer notice hook is called.
- open → draining: the delay is back below the threshold. Each tick takes in the next held orders in
  (platform_ts, id) order, at most `drain_per_minute`, through the same intake; new orders are still
  held behind them so the order of taking in stays the platform's.
- draining → closed: nothing held is left; draining → open: the delay stayed above the threshold
  for the sustain period again (one late observation, e.g. a pull listing orders from the outage,
  does not stop the drain).
Every transition writes an outbox event `channel.breaker.<opened|recovering|closed>` (the audit
trail; notify's consumer turns it into a red alert on every active alert channel).

Several workers: `tick` runs in each worker's sync scheduler. A transition locks the global row,
then the shop's row (always in that order); a drain holds the global row's lock for its batch, so two
workers never drain at once and never take a held order twice (it is marked in the same transaction
as its intake).
"""

import logging
import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from zhongshu.channels.models import Breaker, HeldOrder, Shop, SyncState
from zhongshu.core import crypto, outbox
from zhongshu.core.models import Notification
from zhongshu.core.pii import scrub
from zhongshu.orders.schemas import OrderIn

log = logging.getLogger(__name__)

S = Breaker.State
MAX_DRAIN_BATCH = 500
DRAIN_WINDOW = 5.0  # seconds: the most drain allowance that builds up while idle (no burst after a pause)
MAX_ATTEMPTS = 3  # a held order failing this often is left for a person (its error is on the row)
TOPIC = "channel.breaker."


# --- the customer notice hook ------------------------------------------------------------------

CustomerNotice = Callable[[str, str], object]  # (scope, "opened" | "closed")


def _log_notice(scope: str, what: str) -> None:
    log.warning("customer notice (no notice module installed): breaker %s %s", scope, what)


_customer_notice: CustomerNotice = _log_notice


def set_customer_notice(fn: CustomerNotice) -> None:
    """Composition: the customer-notices module installs how customers are told (called after commit)."""
    global _customer_notice
    _customer_notice = fn


def _tell_customers(scope: str, what: str) -> None:
    log.info("breaker %s %s: customer notice hook called", scope, what)
    try:
        _customer_notice(scope, what)
    except Exception:  # noqa: BLE001 - a notice must not undo the transition
        log.exception("customer notice for breaker %s failed", scope)


# --- intake side: observe and hold -------------------------------------------------------------


def observe(shop: Shop, orders: Sequence[OrderIn], now: datetime | None = None) -> None:
    """Record the delay of orders just received from the shop's platform (the breaker's signal): that
    of the newest one, so an overlapping pull's re-reads of older orders do not count as late."""
    if not orders:
        return
    now = now or timezone.now()
    delay = max(0, int((now - max(o.updated_at for o in orders)).total_seconds()))
    if not Breaker.objects.filter(scope=shop.code).update(observed_delay_seconds=delay, observed_at=now):
        Breaker.objects.get_or_create(scope=shop.code, defaults={"shop": shop, "observed_delay_seconds": delay,
                                                                 "observed_at": now})  # fmt: skip


def holding(shop: Shop) -> bool:
    """Whether orders of the shop are held now (its breaker or the global one is not closed)."""
    return (
        Breaker.objects.filter(Q(scope=shop.code) | Q(scope=Breaker.GLOBAL)).exclude(state=S.CLOSED).exists()
    )


def hold(shop: Shop, orders: Sequence[OrderIn]) -> int:
    """Store the orders durably, untouched, to be taken in when the breaker drains (a version stored
    before is ignored: pulls overlap); how many were given."""
    rows = [
        HeldOrder(shop=shop, channel_order_id=o.channel_order_id, platform_ts=o.updated_at,
                  payload_enc=crypto.encrypt(o.model_dump_json()))
        for o in orders
    ]  # fmt: skip
    with transaction.atomic():
        HeldOrder.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


# --- the worker side: evaluate, drain ----------------------------------------------------------


def ensure_rows() -> None:
    """One breaker row per active shop and the global one."""
    have = set(Breaker.objects.values_list("scope", flat=True))
    new = [Breaker(scope=s.code, shop=s) for s in Shop.objects.filter(active=True) if s.code not in have]
    if Breaker.GLOBAL not in have:
        new.append(Breaker(scope=Breaker.GLOBAL))
    Breaker.objects.bulk_create(new, ignore_conflicts=True)


def shop_delay(b: Breaker, now: datetime, cursor: datetime | None) -> int | None:
    """The breaker's signal for one shop in seconds (None: nothing to judge by)."""
    found = []
    if cursor is not None:
        found.append((now - cursor).total_seconds())
    fresh = timedelta(seconds=b.sustain_seconds)
    if b.observed_at is not None and now - b.observed_at <= fresh:
        found.append(b.observed_delay_seconds or 0)
    return max(0, int(max(found))) if found else None


def tick(now: datetime | None = None) -> dict[str, str]:
    """Evaluate every breaker and drain what may be drained; the state of each scope afterwards."""
    now = now or timezone.now()
    ensure_rows()
    cursors = dict(
        SyncState.objects.filter(enabled=True, shop__active=True).values_list("shop__code", "cursor")
    )
    delays: dict[str, int | None] = {}
    states: dict[str, str] = {}
    for b in Breaker.objects.exclude(scope=Breaker.GLOBAL).order_by("pk"):
        delays[b.scope] = shop_delay(b, now, cursors.get(b.scope))
        states[b.scope] = _step(b.scope, delays[b.scope], now)
    known = [d for d in delays.values() if d is not None]
    states[Breaker.GLOBAL] = _step(Breaker.GLOBAL, min(known) if len(known) > 1 else None, now)
    drain(now)
    for b in Breaker.objects.filter(state=S.DRAINING).order_by("pk"):
        states[b.scope] = _close_if_drained(b.scope, now)
    return states


def _locked(scope: str) -> tuple[Breaker, Breaker]:
    """The global row, then the scope's row, locked in that order (the same order everywhere)."""
    glob = Breaker.objects.select_for_update().get(scope=Breaker.GLOBAL)
    return glob, (glob if scope == Breaker.GLOBAL else Breaker.objects.select_for_update().get(scope=scope))


def _step(scope: str, delay: int | None, now: datetime) -> str:
    with transaction.atomic():
        _glob, b = _locked(scope)
        above = delay is not None and delay > b.threshold_seconds
        b.delay_seconds, b.evaluated_at = delay, now
        b.above_since = (b.above_since or now) if above else None
        sustained = above and now - b.above_since >= timedelta(seconds=b.sustain_seconds)
        if b.state in (S.CLOSED, S.DRAINING) and sustained:  # draining too: one late pull is no relapse
            _move(b, S.OPEN, now, "opened")
        elif b.state == S.OPEN and not above and delay is not None and not b.manual:
            _move(b, S.DRAINING, now, "recovering")
        b.save()
        return b.state


def _move(b: Breaker, state: str, now: datetime, what: str, actor: str = "breaker") -> None:
    """Change the state (row locked by the caller) and write the audited, alerted event."""
    was, b.state = b.state, state
    b.manual = state == S.OPEN and actor != "breaker"  # opened by hand: recovered by hand
    if state == S.OPEN:
        b.opened_at, b.recovering_at = now, None
    elif state == S.DRAINING:
        b.recovering_at, b.last_drain_at = now, None
    else:
        b.closed_at = now
    held = HeldOrder.objects.filter(released_at__isnull=True)
    if b.scope != Breaker.GLOBAL:
        held = held.filter(shop__code=b.scope)
    payload = {"scope": b.scope, "from": was, "to": state, "delay_seconds": b.delay_seconds,
               "threshold_seconds": b.threshold_seconds, "sustain_seconds": b.sustain_seconds,
               "held": held.count(), "at": now.isoformat()}  # fmt: skip
    outbox.write([outbox.event(TOPIC + what, f"breaker:{b.scope}", payload, actor)])
    log.warning("breaker %s: %s → %s (delay %ss)", b.scope, was, state, b.delay_seconds)
    if what in ("opened", "closed") and was != state:
        transaction.on_commit(lambda: _tell_customers(b.scope, what))


def _drainable(glob: Breaker) -> Q:
    """Held orders that may be taken in now: neither their shop's breaker nor the global one is open."""
    if glob.state == S.OPEN:
        return Q(pk__in=[])
    return Q(released_at__isnull=True, attempts__lt=MAX_ATTEMPTS) & ~Q(shop__breaker__state=S.OPEN)


def drain(now: datetime | None = None) -> int:
    """Take in the next held orders in platform-timestamp order, within the drain rate; how many."""
    from zhongshu.orders.services import intake  # noqa: PLC0415 - orders sits below; imported late for speed

    now = now or timezone.now()
    with transaction.atomic():
        glob = Breaker.objects.select_for_update().get(scope=Breaker.GLOBAL)
        rate = glob.drain_per_minute
        since = glob.last_drain_at
        elapsed = DRAIN_WINDOW if since is None else max(0.0, (now - since).total_seconds())
        allowed = min(MAX_DRAIN_BATCH, math.floor(rate * min(elapsed, DRAIN_WINDOW) / 60.0))
        if allowed < 1:
            return 0
        rows = list(HeldOrder.objects.filter(_drainable(glob)).order_by("platform_ts", "id")[:allowed])
        if not rows:
            return 0
        done = _take_in_held(rows, now, intake)
        Breaker.objects.filter(pk=glob.pk).update(last_drain_at=now)
        return done


def _take_in_held(rows: list[HeldOrder], now: datetime, intake) -> int:
    """Take the rows in through intake in one savepoint; when that fails, one by one (in order), so a
    bad row does not hold the others back: it keeps its error, and after MAX_ATTEMPTS it is left for a
    person (shown in the console and notified) and no longer keeps its breaker from closing."""
    payloads = [OrderIn.model_validate_json(crypto.decrypt(r.payload_enc)) for r in rows]
    try:
        with transaction.atomic():
            intake(payloads, actor="breaker")
    except Exception as exc:  # noqa: BLE001 - retried row by row below
        log.warning("breaker drain of %d held orders failed (%s): one by one", len(rows), type(exc).__name__)
    else:
        HeldOrder.objects.filter(pk__in=[r.pk for r in rows]).update(released_at=now)
        return len(rows)
    done = 0
    for row, payload in zip(rows, payloads, strict=True):
        try:
            with transaction.atomic():
                intake([payload], actor="breaker")
        except Exception as exc:  # noqa: BLE001 - kept on the row
            row.attempts += 1
            detail = "; ".join(
                f"{e['field']} {e['msg']}" for errs in getattr(exc, "errors", {}).values() for e in errs
            )
            row.last_error = f"{type(exc).__name__}: {exc}{': ' + detail if detail else ''}"[:2000]
            row.save(update_fields=["attempts", "last_error"])
            if row.attempts >= MAX_ATTEMPTS:
                _notify_stuck(row)
        else:
            HeldOrder.objects.filter(pk=row.pk).update(released_at=now)
            done += 1
    return done


def _notify_stuck(row: HeldOrder) -> None:
    Notification.objects.get_or_create(
        dedupe_key=f"breaker-stuck:{row.pk}",
        defaults={
            "level": Notification.Level.CRITICAL,
            "code": "breaker_stuck",
            "title": f"熔断暂存订单 {row.channel_order_id} 无法补处理，请人工核对",
            "body": scrub(row.last_error)[:2000],
        },
    )


def _close_if_drained(scope: str, now: datetime) -> str:
    with transaction.atomic():
        _glob, b = _locked(scope)
        if b.state != S.DRAINING:
            return b.state
        held = HeldOrder.objects.filter(released_at__isnull=True, attempts__lt=MAX_ATTEMPTS)
        if scope != Breaker.GLOBAL:
            held = held.filter(shop__code=scope)
        else:  # a shop whose own breaker is still open does not keep all shops waiting
            held = held.exclude(shop__breaker__state=S.OPEN)
        if not held.exists():
            _move(b, S.CLOSED, now, "closed")
            b.save()
        return b.state


# --- console actions ---------------------------------------------------------------------------


def force(scope: str, state: str, actor: str, now: datetime | None = None) -> bool:
    """Open a breaker by hand, or start its recovery (the SOP's step 4); False when already there."""
    now = now or timezone.now()
    ensure_rows()
    with transaction.atomic():
        _glob, b = _locked(scope)
        if b.state == state or state == S.CLOSED:
            return False
        _move(b, state, now, "opened" if state == S.OPEN else "recovering", actor=actor)
        b.save()
        return True


def held_counts() -> dict[str, int]:
    """Held orders not yet taken in, by shop code."""
    from django.db.models import Count  # noqa: PLC0415

    rows = HeldOrder.objects.filter(released_at__isnull=True).values("shop__code").annotate(n=Count("pk"))
    return {r["shop__code"]: r["n"] for r in rows.order_by()}
