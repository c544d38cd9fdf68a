"""Labels and printing: what a package's label shows, the label PDFs (one package, a wave), the print
jobs the console sends to a platform's print component, and the printed/failed report coming back.

The receiver on zhongshu's own label follows the platform: a platform order's receiver is masked
(zhongshu.core.pii; the platform's own print component prints the real one from its encrypted
print_data), an own-shop order's is printed in clear, which needs orders.reveal_receiver and is
audited per order (orders.receiver.reveal, purpose "label").
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from zhongshu.fulfilment.common import NotFound, Writes, lock_package
from zhongshu.fulfilment.domain import PackageStatus as P
from zhongshu.fulfilment.models import Package, PackageLine, Wave
from zhongshu.orders.models import Order
from zhongshu.orders.receiver import reveal
from zhongshu.shipping import labels
from zhongshu.shipping.models import Provider, Waybill
from zhongshu.shipping.services import ShippingError, active_waybill
from zhongshu.shops.models import Platform

SIGNATURE_FLAG = "signature_required"
PRINTED, FAILED = "printed", "failed"
# packages of a wave that get no label: they do not leave (a stopped one is printed on its own once resumed)
NOT_PRINTED = (P.CANCELLED, P.STOPPED)


def is_sandbox(waybill: Waybill) -> bool:
    return waybill.provider == Provider.SANDBOX


def _receiver(order: Order, user) -> tuple[labels.Person, bool]:
    """The receiver as the label may show it, and whether it is masked."""
    region = " ".join(x for x in (order.receiver_province, order.receiver_city, order.receiver_district) if x)
    if order.shop.platform != Platform.OWN:
        masked = f"{region} {order.receiver_address_masked}".strip()
        return labels.Person(order.receiver_name_masked, order.receiver_phone_masked, masked), True
    clear = reveal(order, user, "label")  # PermissionDenied without orders.reveal_receiver; audited
    return labels.Person(clear.name, clear.phone, f"{region} {clear.address}".strip()), False


def _sender(waybill: Waybill) -> labels.Person:
    a = waybill.account
    if a is None:
        return labels.Person("—", "", "")
    where = "".join(x for x in (a.sender_province, a.sender_city, a.sender_district, a.sender_address) if x)
    return labels.Person(a.sender_name, a.sender_phone, where)


def label_data(pkg: Package, waybill: Waybill, user) -> labels.LabelData:
    orders = list(pkg.orders.select_related("shop").order_by("pk"))
    if not orders:
        raise ShippingError("no_orders", f"P{pkg.pk} 没有订单")
    receiver, masked = _receiver(orders[0], user)
    quantities: dict[str, list] = {}
    for line in PackageLine.objects.filter(package=pkg).select_related("sku").order_by("pk"):
        title = line.sku.title or line.sku.code
        quantities.setdefault(line.sku.code, [title, 0])[1] += line.quantity
    first = orders[0]
    return labels.LabelData(
        waybill_no=waybill.waybill_no,
        carrier=waybill.get_carrier_display(),
        receiver=receiver,
        sender=_sender(waybill),
        sort_code=waybill.sort_code,
        destination=f"{first.receiver_province}{first.receiver_city}",
        items=tuple(f"{title} ×{q}" for title, q in quantities.values()),
        units=sum(q for _, q in quantities.values()),
        orders=tuple(o.channel_order_id for o in orders),
        package=f"P{pkg.pk}",
        weight_g=pkg.measured_weight_g or pkg.expected_weight_g or None,
        signature_required=SIGNATURE_FLAG in (pkg.flags or []),
        sandbox=is_sandbox(waybill),
        masked=masked,
        printed_at=timezone.localtime().strftime("%Y-%m-%d %H:%M"),
    )


def _waybill_of(pkg: Package) -> Waybill:
    waybill = active_waybill(pkg.pk)
    if waybill is None:
        raise ShippingError("no_waybill", f"P{pkg.pk} 还没有面单，请先取号")
    return waybill


def package_pdf(package_id: int, user, size: str = labels.DEFAULT_SIZE) -> tuple[bytes, str]:
    """The label of one package (which has a waybill). Raises NotFound, ShippingError, PermissionDenied
    (own-shop receiver without orders.reveal_receiver) and ValueError (unknown size)."""
    labels.size_of(size)
    pkg = Package.objects.filter(pk=package_id).first()
    if pkg is None:
        raise NotFound(f"包裹 {package_id}")
    waybill = _waybill_of(pkg)
    with transaction.atomic():  # the receiver's reveal is audited with it
        data = label_data(pkg, waybill, user)
    return labels.render([data], size), f"label-P{pkg.pk}-{waybill.waybill_no}.pdf"


def wave_packages(wave_id: int) -> list[Package]:
    """A wave's packages that leave, in seeding-slot order (the order they lie on the bench)."""
    if not Wave.objects.filter(pk=wave_id).exists():
        raise NotFound(f"波次 {wave_id}")
    return list(
        Package.objects.filter(wave_id=wave_id).exclude(status__in=NOT_PRINTED).order_by("seed_slot", "pk")
    )


def wave_pdf(wave_id: int, user, size: str = labels.DEFAULT_SIZE) -> tuple[bytes, str]:
    """One page per package of the wave that leaves; every one needs its waybill first (refused
    naming those without, so no label is silently missing from the pile)."""
    labels.size_of(size)
    packages = wave_packages(wave_id)
    if not packages:
        raise ShippingError("empty_wave", f"波次 W{wave_id} 没有待出库的包裹")
    waybills = {
        w.package_id: w
        for w in Waybill.objects.filter(package__in=packages, status=Waybill.Status.ACTIVE).select_related(
            "account"
        )
    }
    missing = [f"P{p.pk}" for p in packages if p.pk not in waybills]
    if missing:
        raise ShippingError("no_waybill", f"{'、'.join(missing[:20])} 还没有面单，请先取号")
    with transaction.atomic():
        pages = [label_data(p, waybills[p.pk], user) for p in packages]
    return labels.render(pages, size), f"labels-W{wave_id}.pdf"


def record_print(package_id: int, status: str, printer: str, detail: str, actor: str) -> Waybill:
    """The print component's answer for a package's label: `printed` stamps the waybill's printed_at
    (the first time; a reprint keeps it), `failed` leaves it; both are on the package's timeline."""
    if status not in (PRINTED, FAILED):
        raise ShippingError("invalid_status", f"status 只能是 {PRINTED} 或 {FAILED}")
    printer, detail = printer.strip()[:128], detail.strip()[:300]
    with transaction.atomic():
        pkg = lock_package(package_id)
        waybill = _waybill_of(pkg)
        w = Writes(actor)
        where = f"（打印机 {printer}）" if printer else ""
        if status == PRINTED:
            reprint = waybill.printed_at is not None
            if not reprint:
                waybill.printed_at = w.now
                Waybill.objects.filter(pk=waybill.pk).update(printed_at=w.now)
            summary = f"{'补打' if reprint else '打印'}面单 {waybill.waybill_no}{where}"
            w.event(pkg, "package.label_printed", summary,
                    {"waybill_no": waybill.waybill_no, "printer": printer, "reprint": reprint})  # fmt: skip
        else:
            summary = f"面单打印失败 {waybill.waybill_no}{where}：{detail or '打印组件未说明原因'}"
            w.event(pkg, "package.label_print_failed", summary,
                    {"waybill_no": waybill.waybill_no, "printer": printer, "detail": detail})  # fmt: skip
        w.flush()
    return waybill


def print_jobs(packages: list[Package]) -> list[dict]:
    """What the console's print page hands to print.js: per package its waybill and print_data (no
    receiver: the platform's component decrypts its own print_data)."""
    waybills = {
        w.package_id: w for w in Waybill.objects.filter(package__in=packages, status=Waybill.Status.ACTIVE)
    }
    jobs = []
    for pkg in packages:
        w = waybills.get(pkg.pk)
        jobs.append(
            {
                "package": pkg.pk,
                "status": pkg.status,
                "waybill_no": w.waybill_no if w else "",
                "carrier": w.carrier if w else pkg.carrier,
                "carrier_name": w.get_carrier_display() if w else pkg.carrier,
                "provider": w.provider if w else "",
                "provider_name": w.get_provider_display() if w else "",
                "print_data": w.print_data if w else None,
                "printed_at": timezone.localtime(w.printed_at).strftime("%m-%d %H:%M")
                if w and w.printed_at
                else "",
            }
        )
    return jobs
