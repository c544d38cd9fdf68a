"""Use cases out the door: get a package's waybill (idempotent), ship it (the outbound scan), and
confirm the shipment to the order's platform (after commit, in the worker, retried; failures visible).

The provider is called outside any transaction (a platform call may take seconds); its answer is
stored in a short one. The same package asks with the same object id, so a retry after a crash or a
double click gets the same number from the platform, never a second one.
"""

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from zhongshu.channels.models import ShopCredential
from zhongshu.core import outbox
from zhongshu.fulfilment.common import FloorError, NotFound, Writes, follow_orders, lock_package
from zhongshu.fulfilment.domain import PackageStatus as P
from zhongshu.fulfilment.models import Package, PackageLine, PackageOrder
from zhongshu.inventory import services as stock
from zhongshu.orders.models import Order
from zhongshu.shipping import providers
from zhongshu.shipping.models import (
    DEFAULT_PROVIDER,
    CarrierCode,
    Provider,
    ShipConfirmation,
    Waybill,
    WaybillAccount,
)
from zhongshu.shipping.providers.base import (
    Account,
    Address,
    Item,
    Party,
    WaybillError,
    WaybillRequest,
)

log = logging.getLogger(__name__)
SYSTEM = "system:shipping"
# A waybill may be taken once the package exists and until it leaves (many warehouses print first).
WAYBILL_OK = frozenset({P.PENDING, P.WAVED, P.PICKING, P.PICKED, P.PACKED})


class ShippingError(FloorError):
    """A waybill or ship action refused; nothing was written but the audit. `code` is stable."""


@dataclass(frozen=True)
class Shipped:
    package: Package
    waybill: Waybill
    already: bool = False  # scanned again: nothing changed


# --- waybills -------------------------------------------------------------------------------------


def active_waybill(package_id: int) -> Waybill | None:
    return Waybill.objects.filter(package_id=package_id, status=Waybill.Status.ACTIVE).first()


def object_id(pkg: Package) -> str:
    """The idempotency key a provider sees for this package (stable; a re-issue after a cancel gets
    a new one so the provider gives a new number)."""
    cancelled = Waybill.objects.filter(package=pkg, status=Waybill.Status.CANCELLED).count()
    return f"ZSP{pkg.pk}" + (f"-{cancelled}" if cancelled else "")


def account_for(pkg: Package, carrier: str = "") -> WaybillAccount:
    """The shop's waybill account for the carrier asked, else the package's carrier, else the shop's
    default account."""
    accounts = WaybillAccount.objects.filter(shop_id=pkg.shop_id, active=True)
    wanted = carrier or pkg.carrier
    account = (
        accounts.filter(carrier=wanted).first() if wanted else accounts.order_by("-default", "pk").first()
    )
    if account is None:
        what = f"快递 {wanted} 的" if wanted else ""
        raise ShippingError("no_waybill_account", f"店铺 {pkg.shop} 没有{what}面单账号，请在“面单账号”中添加")
    return account


def waybill_request(pkg: Package, account: WaybillAccount) -> WaybillRequest:
    orders = list(Order.objects.filter(package_orders__package=pkg).order_by("pk"))
    lines = list(PackageLine.objects.filter(package=pkg).select_related("sku", "order_line"))
    return _request(pkg, account, orders, lines, object_id(pkg))


def _request(pkg: Package, account: WaybillAccount, orders: list, lines: list, key: str) -> WaybillRequest:
    if not orders:
        raise ShippingError("no_orders", f"包裹 P{pkg.pk} 没有订单")
    first = orders[0]
    items = tuple(
        Item((ln.order_line.title if ln.order_line_id and ln.order_line.title else ln.sku.title), ln.quantity)
        for ln in lines
    )
    return WaybillRequest(
        object_id=key,
        package_id=pkg.pk,
        carrier=account.carrier,
        platform=pkg.shop.platform,
        channel_order_ids=tuple(o.channel_order_id for o in orders),
        sender=Party(
            account.sender_name,
            account.sender_phone,
            Address(
                account.sender_province, account.sender_city, account.sender_district, account.sender_address
            ),
        ),
        receiver=Party(
            first.receiver_name,
            first.receiver_phone,
            Address(
                first.receiver_province, first.receiver_city, first.receiver_district, first.receiver_address
            ),
        ),
        items=items,
        weight_g=pkg.measured_weight_g or pkg.expected_weight_g,
        flags=tuple(pkg.flags or ()),
    )


def plain_account(account: WaybillAccount) -> Account:
    return Account(
        shop=account.shop.code,
        platform=account.shop.platform,
        carrier=account.carrier,
        branch_code=account.branch_code,
        customer_code=account.customer_code,
        template_url=account.template_url,
        partner_id=account.partner_id,
        check_word=account.check_word,
    )


def _connection(account: WaybillAccount, provider_code: str):
    """The shop's channel client for a platform waybill service (signing, token); None otherwise."""
    if provider_code in (Provider.SANDBOX, Provider.SF):
        return None
    from zhongshu.channels.services import ensure_fresh_token

    return ensure_fresh_token(account.shop, timezone.now())


def issue_waybill(package_id: int, actor: str, provider: str = "", carrier: str = "") -> Waybill:
    """The package's waybill: the active one if it has one, else a new number from the provider of
    its shop's account for the carrier. WaybillError → ShippingError (409) with the provider's reason."""
    existing = active_waybill(package_id)
    if existing is not None:
        return existing
    pkg = Package.objects.select_related("shop", "warehouse").filter(pk=package_id).first()
    if pkg is None:
        raise NotFound(f"包裹 {package_id}")
    if pkg.status not in WAYBILL_OK:
        raise ShippingError("not_shippable", f"P{pkg.pk} 状态为 {pkg.get_status_display()}，不能取号")
    account = account_for(pkg, carrier)
    code = provider or account.provider
    request = waybill_request(pkg, account)
    try:
        service = providers.provider_for(code, plain_account(account), _connection(account, code))
        [outcome] = service.get([request])
        if outcome.error:
            raise outcome.error
    except WaybillError as exc:
        _note(pkg, actor, "package.waybill_failed", f"取号失败 [{exc.code}] {exc.detail}", {"code": exc.code})
        raise ShippingError(exc.code, f"取号失败：{exc.detail}") from exc
    return _store(pkg.pk, account, code, outcome.result, request.object_id, actor)


def issue_waybills(package_ids, actor: str):
    """Waybills for many packages (a wave), batched per provider: see `shipping.batch`."""
    from zhongshu.shipping.batch import issue_waybills as issue

    return issue(package_ids, actor)


def _store(
    package_id: int, account: WaybillAccount, code: str, result, object_id: str, actor: str
) -> Waybill:
    try:
        with transaction.atomic():
            pkg = lock_package(package_id)
            existing = active_waybill(pkg.pk)
            if existing is not None:  # a concurrent request stored it first (same object id → same number)
                return existing
            waybill = _waybill_row(pkg, account, code, result, object_id, actor)
            waybill.save()
            if pkg.carrier != waybill.carrier:
                pkg.carrier = waybill.carrier
                pkg.save(update_fields=["carrier", "updated_at"])
            w = Writes(actor)
            _issued_event(w, pkg, waybill, code)
            w.flush()
            return waybill
    except IntegrityError:
        existing = active_waybill(package_id)
        if existing is None:
            raise
        return existing


def _waybill_row(
    pkg: Package, account: WaybillAccount, code: str, result, object_id: str, actor: str
) -> Waybill:
    return Waybill(
        package=pkg,
        account=account,
        provider=code,
        carrier=result.carrier or account.carrier,
        waybill_no=result.waybill_no,
        object_id=object_id,
        sort_code=result.sort_code[:128],
        print_data=result.print_data,
        created_by=actor[:128],
    )


def _issued_event(w: Writes, pkg: Package, waybill: Waybill, code: str) -> None:
    w.event(
        pkg,
        "package.waybill_issued",
        f"取号 {waybill.get_carrier_display()} {waybill.waybill_no}（{waybill.get_provider_display()}）",
        {"carrier": waybill.carrier, "waybill_no": waybill.waybill_no, "provider": code},
    )


def cancel_waybill(package_id: int, actor: str, reason: str = "") -> Waybill:
    """Give the package's number back to the provider (before it ships) and mark it cancelled."""
    waybill = active_waybill(package_id)
    if waybill is None:
        raise ShippingError("no_waybill", f"P{package_id} 没有有效面单")
    pkg = waybill.package
    if pkg.status == P.SHIPPED:
        raise ShippingError("already_shipped", f"P{pkg.pk} 已发货，面单不能取消")
    account = waybill.account
    if account is not None:
        try:
            service = providers.provider_for(
                waybill.provider, plain_account(account), _connection(account, waybill.provider)
            )
            service.cancel(waybill.carrier, waybill.waybill_no, object_id=waybill.object_id)
        except WaybillError as exc:
            raise ShippingError(exc.code, f"取消面单失败：{exc.detail}") from exc
    with transaction.atomic():
        pkg = lock_package(pkg.pk)
        Waybill.objects.filter(pk=waybill.pk).update(
            status=Waybill.Status.CANCELLED, cancelled_at=timezone.now()
        )
        w = Writes(actor)
        w.event(pkg, "package.waybill_cancelled", f"取消面单 {waybill.waybill_no} {reason}".strip(),
                {"waybill_no": waybill.waybill_no})  # fmt: skip
        w.flush()
    waybill.refresh_from_db()
    return waybill


def _note(pkg: Package, actor: str, topic: str, summary: str, payload: dict) -> None:
    with transaction.atomic():
        w = Writes(actor)
        w.event(pkg, topic, summary, payload)
        w.flush()


# --- the outbound scan (出库扫描) ----------------------------------------------------------------


def package_for_waybill(waybill_no: str) -> int:
    code = (waybill_no or "").strip()
    waybill = Waybill.objects.filter(waybill_no=code, status=Waybill.Status.ACTIVE).first()
    if waybill is None:
        raise NotFound(f"运单号 {code}")
    return waybill.package_id


def ship_package(package_id: int, actor: str) -> Shipped:
    """The outbound scan: a packed package with a waybill leaves. Its stock is consumed (physical and
    reserved both down, once), it and its orders become `shipped`, and each order's ship confirmation
    to its platform is queued for after commit. Scanning a shipped package again changes nothing."""
    with transaction.atomic():
        pkg = lock_package(package_id)
        waybill = active_waybill(pkg.pk)
        if pkg.status == P.SHIPPED and waybill is not None:
            return Shipped(pkg, waybill, already=True)
        if pkg.status != P.PACKED:
            raise ShippingError(
                "not_packed", f"P{pkg.pk} 状态为 {pkg.get_status_display()}，验货称重后才能出库"
            )
        if waybill is None:
            raise ShippingError("no_waybill", f"P{pkg.pk} 还没有面单，请先取号")
        w = Writes(actor)
        lines = list(PackageLine.objects.filter(package=pkg).values_list("sku_id", "quantity"))
        rows = stock.lock_stock({sku for sku, _ in lines})
        by_id = {r.pk: r for r in rows.values() if r.warehouse_id == pkg.warehouse_id}
        row_of = {r.sku_id: r.pk for r in by_id.values()}
        quantities: dict[int, int] = {}
        for sku_id, q in lines:
            quantities[row_of[sku_id]] = quantities.get(row_of[sku_id], 0) + q
        try:
            w.events += stock.consume_reserved(
                by_id, quantities, f"出库 P{pkg.pk} {waybill.waybill_no}", actor
            )
        except stock.OversellError as exc:  # reserved on in-transit stock that has not arrived
            raise ShippingError(
                "not_on_hand",
                f"P{pkg.pk} 的商品实物库存不足（预留的可能是在途未到货的库存），不能出库：{exc}",
            ) from exc
        w.move(pkg, P.SHIPPED, f"出库扫描 {waybill.get_carrier_display()} {waybill.waybill_no}")
        pkg.save()
        follow_orders([pkg], w, f"包裹 P{pkg.pk} 已出库 {waybill.waybill_no}")
        w.events += _queue_confirmations(pkg, waybill, actor)
        w.flush()
        return Shipped(pkg, waybill)


def _queue_confirmations(pkg: Package, waybill: Waybill, actor: str) -> list:
    """One ship confirmation per order of the package. A split order is confirmed with its first
    package's waybill (Douyin and Kuaishou take whole orders only); later ones need none."""
    order_ids = list(PackageOrder.objects.filter(package=pkg).values_list("order_id", flat=True))
    confirmed_before = set(
        ShipConfirmation.objects.filter(order_id__in=order_ids).values_list("order_id", flat=True)
    )
    orders = Order.objects.filter(pk__in=order_ids).select_related("shop")
    codes = dict(CarrierCode.objects.filter(carrier=waybill.carrier).values_list("platform", "code"))
    events, rows = [], []
    for order in orders:
        first = order.pk not in confirmed_before
        rows.append(
            ShipConfirmation(
                order=order,
                waybill=waybill,
                carrier_code=codes.get(order.shop.platform, waybill.carrier),
                status=ShipConfirmation.Status.PENDING if first else ShipConfirmation.Status.NOT_NEEDED,
                last_error="" if first else "拆单的后续包裹：平台按整单发货，已随首个包裹回传",
            )
        )
    ShipConfirmation.objects.bulk_create(rows)
    for row in rows:
        if row.status == ShipConfirmation.Status.PENDING:
            events.append(
                outbox.event(
                    "shipping.confirm_requested",
                    key=f"order:{row.order_id}",
                    actor=actor,
                    payload={
                        "subject": f"order:{row.order_id}",
                        "order_id": row.order_id,
                        "confirmation_id": row.pk,
                        "waybill_no": waybill.waybill_no,
                        "summary": f"待回传发货 {waybill.get_carrier_display()} {waybill.waybill_no}",
                    },
                )
            )
    return events


# --- the ship confirmation (发货回传) -----------------------------------------------------------


def confirm(confirmation_id: int) -> ShipConfirmation:
    """Send one ship confirmation to the platform (in the worker, never in a transaction). Success
    or failure is recorded; a failure raises for the queue's retry and stays visible until it passes."""
    from zhongshu.channels.base import ConnectorError
    from zhongshu.channels.writeback import confirm_shipment, record_shipment_failure

    row = ShipConfirmation.objects.select_related("order__shop", "waybill").get(pk=confirmation_id)
    if row.status in (ShipConfirmation.Status.CONFIRMED, ShipConfirmation.Status.NOT_NEEDED):
        return row
    ShipConfirmation.objects.filter(pk=row.pk).update(attempts=row.attempts + 1)
    row.attempts += 1
    if not ShopCredential.objects.filter(shop_id=row.order.shop_id).exists():
        # a shop never connected to its platform (orders from files): nothing to call; stays visible
        # in the queue until the shop is authorised and the confirmation sent again (no retry loop)
        why = "店铺未连接平台（未授权），请授权后在“发货回传”中重新回传"
        _record(row, ShipConfirmation.Status.FAILED, why)
        record_shipment_failure(row.order, row.carrier_code, row.waybill.waybill_no, SYSTEM, why)
        return row
    try:
        confirm_shipment(row.order, row.carrier_code, row.waybill.waybill_no, actor=SYSTEM)
    except NotImplementedError:
        _record(row, ShipConfirmation.Status.NOT_NEEDED, "该平台没有发货回传接口")
        return row
    except ConnectorError as exc:
        _record(row, ShipConfirmation.Status.FAILED, f"{type(exc).__name__}: {exc}")
        raise
    _record(row, ShipConfirmation.Status.CONFIRMED, "")
    return row


def _record(row: ShipConfirmation, status: str, error: str) -> None:
    row.status, row.last_error = status, error[:1000]
    row.confirmed_at = timezone.now() if status == ShipConfirmation.Status.CONFIRMED else None
    row.save(update_fields=["status", "last_error", "confirmed_at", "updated_at"])


def default_provider(platform: str) -> str:
    return DEFAULT_PROVIDER.get(platform, Provider.SF)
