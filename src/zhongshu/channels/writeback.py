"""Write-back to the shops (R-CH6, R-INV5): sellable stock per SKU by each shop's strategy, shipments.

Stock: each active shop with a connector and credentials gets `sellable(...)` of the SKU's total
available stock; a value equal to the last one pushed successfully is not sent again. StockPush
keeps the last value the shop has (or NEVER_PUSHED) and the last error. HTTP calls run outside any
transaction; each record is its own small write, so a task run twice sends nothing twice.
"""

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from zhongshu.catalog.models import Sku
from zhongshu.channels.base import Connector, ConnectorError, RateLimited, TransientError
from zhongshu.channels.models import Shop, StockPush
from zhongshu.channels.registry import platforms
from zhongshu.channels.services import ensure_fresh_token
from zhongshu.core import outbox
from zhongshu.inventory.selectors import stock_of
from zhongshu.orders.labels import carrier_label

log = logging.getLogger(__name__)

NEVER_PUSHED = -1  # StockPush.quantity when every push so far failed (differs from any sellable value)


def sellable(total_available: int, share_percent: int, buffer: int, cap: int | None) -> int:
    """The shop's quantity: floor(total × share %) minus the buffer kept back, never negative, at most cap."""
    share = max(total_available, 0) * max(share_percent, 0) // 100
    quantity = max(share - max(buffer, 0), 0)
    return quantity if cap is None else min(quantity, cap)


class WritebackFailed(ConnectorError):
    """One or more shops could not be updated; the failures are recorded (StockPush.last_error)."""


@dataclass
class StockPushReport:
    pushed: list[tuple[str, str, int]] = field(default_factory=list)  # (shop, sku, quantity)
    unchanged: int = 0
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (shop, sku, error)


def push_stock_for_skus(sku_codes) -> StockPushReport:
    """Push each SKU's sellable quantity to every shop whose value changed; raises WritebackFailed after recording."""
    report = StockPushReport()
    shops = list(
        Shop.objects.filter(active=True, credential__isnull=False, platform__in=platforms())
        .select_related("credential")
        .order_by("code")
    )
    skus = list(Sku.objects.filter(code__in=set(sku_codes)).order_by("code"))
    if not shops or not skus:
        return report
    totals = {sku.code: stock_of(sku.code)["total"]["available"] for sku in skus}
    for shop in shops:
        _push_shop(shop, skus, totals, report)
    if report.failed:
        raise WritebackFailed(f"stock push failed for {len(report.failed)} shop/SKU pair(s)")
    return report


def _push_shop(shop: Shop, skus: list[Sku], totals: dict[str, int], report: StockPushReport) -> None:
    last = {p.sku_id: p for p in StockPush.objects.filter(shop=shop, sku__in=skus)}
    conn: Connector | None = None
    for sku in skus:
        qty = sellable(totals[sku.code], shop.stock_share_percent, shop.stock_buffer, shop.stock_cap)
        prev = last.get(sku.pk)
        if prev is not None and prev.quantity == qty:
            report.unchanged += 1
            if prev.last_error:
                StockPush.objects.filter(pk=prev.pk).update(last_error="")
            continue
        try:
            conn = conn or ensure_fresh_token(shop, timezone.now())
            conn.push_stock(sku.code, qty)
        except ConnectorError as exc:
            _record_failure(shop, sku, prev, exc)
            report.failed.append((shop.code, sku.code, str(exc)))
        else:
            StockPush.objects.update_or_create(
                shop=shop, sku=sku, defaults={"quantity": qty, "pushed_at": timezone.now(), "last_error": ""}
            )
            report.pushed.append((shop.code, sku.code, qty))


def _record_failure(shop: Shop, sku: Sku, prev: StockPush | None, exc: Exception) -> None:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    log.warning("stock push of %s to shop %s failed: %s", sku.code, shop.code, error)
    if prev is not None:
        StockPush.objects.filter(pk=prev.pk).update(last_error=error)
    else:
        StockPush.objects.get_or_create(
            shop=shop,
            sku=sku,
            defaults={"quantity": NEVER_PUSHED, "pushed_at": timezone.now(), "last_error": error},
        )


def confirm_shipment(order, carrier: str, tracking_no: str, actor: str = "system:fulfilment") -> None:
    """Tell the order's platform it shipped (carrier + tracking number); the outcome is an outbox event."""
    shop = Shop.objects.select_related("credential").get(pk=order.shop_id)
    try:
        conn = ensure_fresh_token(shop, timezone.now())
        _with_retry(lambda: conn.confirm_shipment(order.channel_order_id, carrier, tracking_no))
    except ConnectorError as exc:
        _shipment_event(order, shop, carrier, tracking_no, actor, error=f"{type(exc).__name__}: {exc}")
        raise
    _shipment_event(order, shop, carrier, tracking_no, actor)


def record_shipment_failure(order, carrier: str, tracking_no: str, actor: str, error: str) -> None:
    """A ship confirmation that could not even be attempted (e.g. the shop is not connected): the same
    `channel.shipment_failed` event a refused call writes, for the dashboard and the alerts."""
    _shipment_event(order, Shop.objects.get(pk=order.shop_id), carrier, tracking_no, actor, error=error)


def _shipment_event(order, shop: Shop, carrier: str, tracking_no: str, actor: str, error: str = "") -> None:
    ok = not error
    summary = f"{shop.code}/{order.channel_order_id}: 发货回传{'成功' if ok else '失败'} {carrier_label(carrier)} {tracking_no}"
    payload = {
        "subject": f"order:{order.pk}",
        "order_id": order.pk,
        "shop": shop.code,
        "channel_order_id": order.channel_order_id,
        "carrier": carrier,
        "tracking_no": tracking_no,
        "error": error[:2000],
        "summary": (summary + (f" ({error})" if error else ""))[:400],
    }
    topic = "channel.shipment_confirmed" if ok else "channel.shipment_failed"
    with transaction.atomic():
        outbox.write([outbox.event(topic, key=f"order:{order.pk}", payload=payload, actor=actor)])


def _with_retry(fn) -> None:
    """A few quick retries on throttling and transient failures; the caller is waiting."""
    for attempt in Retrying(
        retry=retry_if_exception_type((RateLimited, TransientError)),
        wait=wait_exponential(multiplier=0.2, max=2),
        stop=stop_after_attempt(3),
        reraise=True,
    ):
        with attempt:
            fn()
