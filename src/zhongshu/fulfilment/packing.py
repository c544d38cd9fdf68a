"""The pack check (验货 + 称重) and the supervisor's override, resume and cancel of a stopped package."""

from django.db import transaction

from zhongshu.fulfilment import domain, selectors
from zhongshu.fulfilment.common import (
    WEIGHT_STOP,
    CheckResult,
    FloorError,
    S,
    Writes,
    _lines_map,
    _pull_from_wave,
    _stop,
    follow_orders,
    lock_package,
)
from zhongshu.fulfilment.domain import PackageStatus as P
from zhongshu.fulfilment.models import (
    Package,
    PackageLine,
)

# --- the pack check (验货 + 称重) and the supervisor ------------------------------------------


def check_scans(package_id: int, scans: list[str], actor: str) -> CheckResult:
    """The packing bench while the packer scans (the PDA page): the scans so far against the package.
    Nothing is written when they pass (`ok`, with `missing_items` until every unit is in); a refused
    scan (wrong_sku, surplus_item, count_not_allowed) is audited like the final check's refusal."""
    with transaction.atomic():
        pkg = lock_package(package_id)
        if pkg.status not in domain.CHECKABLE:
            return CheckResult(
                False, pkg.status, "not_pickable", f"P{pkg.pk} 状态为 {pkg.get_status_display()}，不能验货"
            )
        expected = _lines_map(PackageLine.objects.filter(package=pkg).select_related("sku"))
        scan = domain.check_scans(expected, selectors.barcodes(expected), scans)
        if scan.ok or scan.code == domain.ScanError.MISSING_ITEMS:
            return CheckResult(True, pkg.status, scan.code, scan.detail)
        w = Writes(actor)
        w.event(pkg, "package.check_refused", f"验货未通过 [{scan.code}] {scan.detail}", {"code": scan.code})
        w.flush()
        return CheckResult(False, pkg.status, scan.code, scan.detail)


def check_package(
    package_id: int, scans: list[str], weight_g: int, actor: str, packaging: str | None = None
) -> CheckResult:
    """The packing bench: every unit scanned (codes or `code*count`), then the weight. A refused scan
    (wrong_sku, surplus_item, missing_items) changes nothing but the audit; a weight outside the
    tolerance stops the package with both weights in the reason; otherwise it is packed and its
    orders follow. A package not in a wave, stopped, cancelled or packed is `not_pickable`.

    `packaging` (an active packaging type's name or id): the box the packer chose; once the scans
    pass it replaces the package's packaging and the expected weight is recomputed with its weight
    before the weigh check (audited). Unknown or switched off: FloorError `unknown_packaging`."""
    with transaction.atomic():
        pkg = lock_package(package_id)
        if pkg.status not in domain.CHECKABLE:
            return CheckResult(
                False, pkg.status, "not_pickable", f"P{pkg.pk} 状态为 {pkg.get_status_display()}，不能验货"
            )
        box = selectors.packaging_of(packaging) if packaging else None
        if packaging and box is None:
            raise FloorError("unknown_packaging", f"包材 {packaging} 不存在或已停用")
        lines = list(PackageLine.objects.filter(package=pkg).select_related("sku"))
        expected = _lines_map(lines)
        w = Writes(actor)
        scan = domain.check_scans(expected, _barcodes(expected, scans), scans)
        if not scan.ok:
            w.event(
                pkg, "package.check_refused", f"验货未通过 [{scan.code}] {scan.detail}", {"code": scan.code}
            )
            w.flush()
            return CheckResult(False, pkg.status, scan.code, scan.detail)
        if box is not None and box.pk != pkg.packaging_id:
            was = pkg.packaging.name if pkg.packaging_id else "无"
            pkg.packaging = box
            pkg.expected_weight_g = domain.expected_weight(
                expected, {ln.sku.code: ln.sku.weight_g for ln in lines}, box.weight_g
            )
            w.event(
                pkg,
                "package.packaging_changed",
                f"包材 {was} → {box.name}，预计重量 {pkg.expected_weight_g} 克",
                {"packaging": box.name},
            )
        weighed = domain.weigh_check(pkg.expected_weight_g, weight_g, selectors.weigh_tolerance())
        pkg.measured_weight_g = weight_g
        if not weighed.ok:
            _stop(pkg, w, WEIGHT_STOP, weighed.reason, pull=False)
            pkg.save()
            w.flush()
            return CheckResult(False, pkg.status, WEIGHT_STOP, weighed.reason)
        w.move(pkg, P.PACKED, f"验货称重通过：{weight_g} 克（预计 {pkg.expected_weight_g} 克）")
        pkg.save()
        follow_orders([pkg], w, f"包裹 P{pkg.pk} 已打包")
        w.flush()
        return CheckResult(True, pkg.status)


def _barcodes(expected: dict[str, int], scans: list[str]) -> dict[str, str]:
    """The barcodes among the scans (code → SKU code); no read when every scan is a merchant code of
    the package (they always scan)."""
    codes = {domain.normalize_code(domain.parse_scan(s)[0]) for s in scans} - set(expected)
    return selectors.barcodes_of(codes) if codes else {}


def override_weight_stop(package_id: int, actor: str, note: str = "") -> Package:
    """A supervisor lets a fully scanned package stopped by the weigh check go packed (audited)."""
    with transaction.atomic():
        pkg = lock_package(package_id)
        if pkg.status != P.STOPPED or pkg.stop_code != WEIGHT_STOP:
            raise FloorError("not_weight_stop", f"P{pkg.pk} 不是称重异常拦截的包裹")
        w = Writes(actor)
        was = pkg.stop_reason
        w.move(pkg, P.PACKED, f"主管放行称重异常{('：' + note) if note else ''}（{was}）")
        pkg.save()
        follow_orders([pkg], w, f"包裹 P{pkg.pk} 已打包（主管放行）")
        w.flush()
        return pkg


def resume_package(package_id: int, actor: str, note: str = "") -> Package:
    """A supervisor sends a stopped package back to pending (to be waved and picked again); refused
    while one of its orders is no longer shippable (cancelled, held)."""
    with transaction.atomic():
        pkg = lock_package(package_id)
        if pkg.status != P.STOPPED:
            raise FloorError("not_stopped", f"P{pkg.pk} 未被拦截")
        blocked = pkg.orders.exclude(status__in=[S.ALLOCATED, S.PICKING, S.PACKED])
        if blocked.exists():
            raise FloorError("order_not_shippable", "包裹中有已取消或挂起的订单，请先拆分或取消包裹")
        w = Writes(actor)
        w.move(pkg, P.PENDING, f"主管恢复{('：' + note) if note else ''}")
        pkg.wave, pkg.seed_slot = None, None
        pkg.save()
        w.flush()
        return pkg


def cancel_package(package_id: int, actor: str, reason: str) -> Package:
    """Cancel a package before shipping (the orders keep or release their stock themselves)."""
    with transaction.atomic():
        pkg = lock_package(package_id)
        if pkg.status not in domain.CANCELLABLE:
            raise FloorError("not_cancellable", f"P{pkg.pk} 状态为 {pkg.get_status_display()}，不能取消")
        w = Writes(actor)
        _pull_from_wave(pkg)
        w.move(pkg, P.CANCELLED, reason)
        pkg.save()
        w.flush()
        return pkg
