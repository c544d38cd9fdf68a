"""Channel use cases: authorise a shop, pull its changed orders into intake, accept push messages.

The pull walks modified-time windows from the shop's cursor (minus the connector's overlap, so
late writes on the platform are re-read; intake de-duplicates) up to now minus the platform's
lag, each window no longer than the platform allows. The cursor advances only after a window's
orders are committed, so an outage or crash resumes where it stopped (R-CH5).
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from zhongshu.channels import breaker
from zhongshu.channels.base import (
    AuthError,
    Connector,
    Credentials,
    PushResult,
    RateLimited,
    TokenSet,
    TransientError,
)
from zhongshu.channels.models import PushReceipt, Shop, ShopCredential, SyncState
from zhongshu.channels.registry import connector_class
from zhongshu.core.models import Notification
from zhongshu.core.timeutil import local_day
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import check_references, intake

log = logging.getLogger(__name__)

FIRST_PULL_LOOKBACK = timedelta(days=1)
REFRESH_AHEAD = timedelta(minutes=30)
BATCH = 500


class ReplayedPush(ValueError):
    """A push message id seen before (or outside the accepted time window)."""


@dataclass
class SyncReport:
    shop: str
    windows: int = 0
    received: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    held: int = 0  # stored while the circuit breaker is open, taken in when it drains
    rejected: list[str] = field(default_factory=list)  # channel order ids with unknown SKUs
    cursor: datetime | None = None


def connector_for(shop: Shop) -> Connector:
    cred = shop.credential
    creds = Credentials(
        app_key=cred.app_key,
        app_secret=cred.app_secret,
        access_token=cred.access_token,
        refresh_token=cred.refresh_token,
        expires_at=cred.expires_at,
        platform_shop_id=cred.platform_shop_id,
        base_url=cred.api_base_url,
        push_secret=cred.push_secret,
        message_secret=cred.message_secret,
    )
    return connector_class(shop.platform)(shop.code, creds)


def save_tokens(shop: Shop, tokens: TokenSet) -> None:
    """Store a fresh token set (encrypted) and clear the re-authorisation flag."""
    cred = ShopCredential.objects.select_for_update().get(shop=shop)
    cred.access_token, cred.refresh_token = tokens.access_token, tokens.refresh_token
    cred.expires_at, cred.refresh_expires_at = tokens.expires_at, tokens.refresh_expires_at
    cred.platform_shop_id = tokens.platform_shop_id or cred.platform_shop_id
    cred.needs_reauth = False
    cred.save()


def authorize(shop_code: str, code: str, redirect_uri: str) -> None:
    """OAuth callback: exchange the authorisation code for tokens."""
    shop = Shop.objects.select_related("credential").get(code=shop_code)
    tokens = connector_for(shop).exchange_code(code, redirect_uri)
    with transaction.atomic():
        save_tokens(shop, tokens)


def ensure_fresh_token(shop: Shop, now: datetime) -> Connector:
    """Refresh the access token before it expires; AuthError marks the shop for re-authorisation."""
    conn = connector_for(shop)
    expires = shop.credential.expires_at
    if expires is None or expires - now > REFRESH_AHEAD:
        return conn
    try:
        tokens = _retrying(conn.refresh)
    except AuthError as exc:
        _needs_reauth(shop, exc)
        raise
    with transaction.atomic():
        save_tokens(shop, tokens)
    shop.credential.refresh_from_db()
    return connector_for(shop)


def sync_shop(shop_code: str, now: datetime | None = None, until: datetime | None = None) -> SyncReport:
    """Pull every order changed since the shop's cursor (or a back-fill range) into intake."""
    now = now or timezone.now()
    shop = Shop.objects.select_related("credential").get(code=shop_code)
    state, _ = SyncState.objects.get_or_create(shop=shop)
    SyncState.objects.filter(pk=state.pk).update(last_run_at=now)
    report = SyncReport(shop=shop_code)
    try:
        conn = ensure_fresh_token(shop, now)
        start = (state.cursor or now - FIRST_PULL_LOOKBACK) - conn.overlap
        end_limit = min(until or now, now) - conn.lag
        while start < end_limit:
            end = min(start + conn.max_window, end_limit)
            orders = _retrying(lambda s=start, e=end: list(conn.pull_changed(s, e)))
            take_in_orders(shop, orders, report, observed_at=now)
            _advance(state, end, now, len(orders))
            report.windows += 1
            report.cursor = end
            start = end
    except AuthError as exc:
        _needs_reauth(shop, exc)
        _failed(state, now, exc)
        raise
    except Exception as exc:
        _failed(state, now, exc)
        raise
    SyncState.objects.filter(pk=state.pk).update(last_success_at=now, last_error="")
    return report


def backfill(shop_code: str, start: datetime, end: datetime) -> SyncReport:
    """Re-pull a past range (the cursor is not moved back; intake ignores what is already known)."""
    shop = Shop.objects.select_related("credential").get(code=shop_code)
    conn = ensure_fresh_token(shop, timezone.now())
    report = SyncReport(shop=shop_code)
    while start < end:
        stop = min(start + conn.max_window, end)
        orders = _retrying(lambda s=start, e=stop: list(conn.pull_changed(s, e)))
        take_in_orders(shop, orders, report)
        report.windows += 1
        start = stop
    return report


def accept_push(shop_code: str, headers: dict, body: bytes, verified: PushResult | None = None) -> SyncReport:
    """Verify a platform push (signature, replay), then take its orders in through intake.

    `verified`: what the connector's verify_push already returned for this very message (the push
    endpoint checks first to answer 401/422 precisely), so the body is not verified twice.
    """
    shop = Shop.objects.select_related("credential").get(code=shop_code)
    conn = connector_for(shop)
    result = verified or conn.verify_push(headers, body)  # raises on a bad signature or stale timestamp
    return accept_message(shop, result.message_id, result.orders, result.order_ids, conn)


def accept_message(
    shop: Shop,
    message_id: str,
    orders: Sequence[OrderIn] = (),
    order_ids: Sequence[str] = (),
    conn: Connector | None = None,
    retry_fetch: bool = True,
) -> SyncReport:
    """Take in the orders of one platform message once (an HTTP push or a Taobao TMC message).

    Orders the message only names are fetched first (no HTTP inside the transaction); the receipt
    that refuses a replay is written in the same transaction as the intake, so a message whose
    processing fails leaves no receipt and the platform's retry is taken. `retry_fetch=False` gives
    a failed fetch straight back (for a platform that redelivers the message itself).
    """
    if PushReceipt.objects.filter(shop=shop, message_id=message_id).exists():
        raise ReplayedPush(f"push message {message_id} was already accepted")
    conn = conn or connector_for(shop)
    fetch = (lambda i: _retrying(lambda: conn.fetch_one(i))) if retry_fetch else conn.fetch_one
    orders = [*orders, *(fetch(i) for i in order_ids)]
    report = SyncReport(shop=shop.code)
    try:
        with transaction.atomic():
            PushReceipt.objects.create(shop=shop, message_id=message_id)
            take_in_orders(shop, orders, report, observed_at=timezone.now())
    except IntegrityError as exc:
        if "one_receipt_per_message" in str(exc) or "pushreceipt" in str(exc).lower():
            raise ReplayedPush(f"push message {message_id} was already accepted") from None
        raise
    return report


# --- helpers ---------------------------------------------------------------------------------


def _retrying(fn):
    """Retry throttling and transient platform failures with exponential backoff; auth errors stop."""
    for attempt in Retrying(
        retry=retry_if_exception_type((RateLimited, TransientError)),
        wait=wait_exponential(multiplier=0.2, max=5),
        stop=stop_after_attempt(6),
        reraise=True,
    ):
        with attempt:
            return fn()
    raise AssertionError("unreachable")


def take_in_orders(
    shop: Shop, orders: list[OrderIn], report: SyncReport, observed_at: datetime | None = None
) -> None:
    """The one way channel orders come in (pulls, pushes, back-fills): known SKUs checked, then intake,
    or stored as they are while the circuit breaker is open (`breaker`). `observed_at`: the time new
    orders were received, for the breaker's delay signal (back-fills re-read the past: not observed)."""
    report.received += len(orders)
    if observed_at is not None:
        breaker.observe(shop, orders, observed_at)
    holding = breaker.holding(shop) if orders else False
    for i in range(0, len(orders), BATCH):
        batch = orders[i : i + BATCH]
        if not holding:
            batch = _drop_known(shop, batch, report)
        bad = check_references(batch)
        good = [o for n, o in enumerate(batch) if n not in bad]
        for n in bad:
            report.rejected.append(batch[n].channel_order_id)
        if bad:
            _notify_rejected(shop, [batch[n] for n in bad], bad)
        if holding:
            report.held += breaker.hold(shop, good) if good else 0
            continue
        for r in intake(good, actor=f"sync:{shop.code}") if good else []:
            setattr(report, r.outcome, getattr(report, r.outcome) + 1)


def _drop_known(shop: Shop, orders: list[OrderIn], report: SyncReport) -> list[OrderIn]:
    """Leave out the orders the hub already has at this modification time or later (one unlocked
    read): each pull re-reads an overlap window, which at a peak is hundreds of known orders, and
    intake would lock them and their SKUs' stock only to find nothing changed. Counted unchanged."""
    known = dict(
        Order.objects.filter(
            shop=shop, channel_order_id__in=[o.channel_order_id for o in orders]
        ).values_list("channel_order_id", "channel_updated_at")
    )
    fresh = [o for o in orders if o.channel_order_id not in known or o.updated_at > known[o.channel_order_id]]
    report.unchanged += len(orders) - len(fresh)
    return fresh


def _notify_rejected(shop: Shop, orders: list[OrderIn], errors: dict) -> None:
    detail = "; ".join(
        f"{o.channel_order_id}: {e['field']} {e['msg']}"
        for o, errs in zip(orders, errors.values(), strict=True)
        for e in errs
    )
    Notification.objects.get_or_create(
        dedupe_key=f"sync-rejected:{shop.code}:{','.join(sorted(o.channel_order_id for o in orders))}"[:200],
        defaults={
            "level": Notification.Level.WARNING,
            "code": "sync_rejected",
            "title": f"店铺 {shop.code}: {len(orders)} 个订单无法导入（未知商品编码）",
            "body": f"请在商品中添加对应的商家编码后补拉：{detail}"[:4000],
        },
    )


def _advance(state: SyncState, cursor: datetime, now: datetime, pulled: int) -> None:
    today = local_day(now)
    same_day = state.pulled_day == today
    state.pulled_today = (state.pulled_today if same_day else 0) + pulled
    state.pulled_day, state.cursor = today, cursor
    SyncState.objects.filter(pk=state.pk).update(
        cursor=cursor, pulled_today=state.pulled_today, pulled_day=today
    )


def _failed(state: SyncState, now: datetime, exc: Exception) -> None:
    SyncState.objects.filter(pk=state.pk).update(
        last_error=f"{type(exc).__name__}: {exc}"[:2000], last_error_at=now
    )
    log.warning("sync of shop %s failed: %s", state.shop_id, exc)


def _needs_reauth(shop: Shop, exc: Exception) -> None:
    ShopCredential.objects.filter(shop=shop).update(needs_reauth=True)
    Notification.objects.get_or_create(
        dedupe_key=f"reauth:{shop.code}:{local_day(timezone.now())}",
        defaults={
            "level": Notification.Level.CRITICAL,
            "code": "reauthorize",
            "title": f"店铺 {shop.name}（{shop.code}）授权失效，请重新授权",
            "body": str(exc)[:2000],
        },
    )
