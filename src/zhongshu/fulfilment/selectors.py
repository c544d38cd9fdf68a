"""Reads of the warehouse floor that feed the pure domain: the weigh tolerance, barcodes and bin
locations, each as the plain data fulfilment.domain takes."""

from collections.abc import Iterable

from django.db.models import Count, Prefetch, Q, Sum

from zhongshu.catalog.models import Sku, SkuBarcode
from zhongshu.fulfilment.domain import Tolerance, WaveKind, WaveStrategyInfo, normalize_code
from zhongshu.fulfilment.models import (
    FulfilmentSettings,
    Package,
    PackageLine,
    PackageOrder,
    PackagingType,
    WarehouseStaff,
    Wave,
    WavePickRow,
    WaveStrategy,
)
from zhongshu.inventory.models import StockLevel


def weigh_tolerance() -> Tolerance:
    """The weigh check's tolerance from the settings row (the domain's 50 g / 5 % without one)."""
    row = FulfilmentSettings.objects.first()
    if row is None:
        return Tolerance()
    return Tolerance(row.weigh_over_g, row.weigh_over_pct, row.weigh_under_g, row.weigh_under_pct)


def merge_across_shops() -> bool:
    row = FulfilmentSettings.objects.first()
    return bool(row and row.merge_across_shops)


def barcodes(sku_codes: Iterable[str]) -> dict[str, str]:
    """code → SKU code for these SKUs: their barcodes (their merchant codes scan anyway)."""
    rows = SkuBarcode.objects.filter(sku__code__in=list(sku_codes)).values_list("code", "sku__code")
    return dict(rows)


def barcodes_of(codes: Iterable[str]) -> dict[str, str]:
    """code → SKU code for those of these codes that are barcodes (of any SKU)."""
    return dict(SkuBarcode.objects.filter(code__in=list(codes)).values_list("code", "sku__code"))


def sku_of_code(code: str) -> str | None:
    """The SKU code a scanned code names (a merchant code or a barcode), or None."""
    code = normalize_code(code)
    own = Sku.objects.filter(code=code).values_list("code", flat=True).first()
    if own is not None:
        return own  # the merchant code wins (a barcode never equals another SKU's code)
    return SkuBarcode.objects.filter(code=code).values_list("sku__code", flat=True).first()


def locations(warehouse_id: int, sku_codes: Iterable[str]) -> dict[str, str]:
    """SKU code → bin location (货位) in one warehouse; SKUs without one are left out."""
    rows = StockLevel.objects.filter(warehouse_id=warehouse_id, sku__code__in=list(sku_codes)).exclude(
        location=""
    )
    return dict(rows.values_list("sku__code", "location"))


def strategy_info(strategy: WaveStrategy) -> WaveStrategyInfo:
    return WaveStrategyInfo(
        kind=WaveKind(strategy.kind),
        max_packages=strategy.max_packages,
        carrier=strategy.carrier,
        min_packages=strategy.min_packages,
    )


def active_strategies() -> list[WaveStrategy]:
    """The enabled wave strategies in the order scheduled wave creation tries them."""
    return list(WaveStrategy.objects.filter(active=True).order_by("priority", "code"))


def packages(status: str | None = None, warehouse: str | None = None):
    """Packages for the API and the console, newest first, with what their summary shows."""
    qs = Package.objects.select_related("warehouse").prefetch_related(
        Prefetch(
            "package_orders", queryset=PackageOrder.objects.select_related("order__shop").order_by("pk")
        ),
        Prefetch("lines", queryset=PackageLine.objects.select_related("sku").order_by("pk")),
        "waybills",
    )
    if status:
        qs = qs.filter(status=status)
    if warehouse:
        qs = qs.filter(warehouse__code=warehouse)
    return qs.order_by("-id")


def package_out(pkg) -> dict:
    lines: dict[str, int] = {}
    for ln in pkg.lines.all():
        lines[ln.sku.code] = lines.get(ln.sku.code, 0) + ln.quantity
    return {
        "id": str(pkg.pk),
        "status": pkg.status,
        "warehouse": pkg.warehouse.code,
        "carrier": pkg.carrier or None,
        "orders": [
            {"shop": link.order.shop.code, "channel_order_id": link.order.channel_order_id}
            for link in pkg.package_orders.all()
        ],
        "lines": [{"sku": sku, "quantity": q} for sku, q in lines.items()],
        "expected_weight_g": pkg.expected_weight_g,
        "measured_weight_g": pkg.measured_weight_g,
        "flags": list(pkg.flags or []),
        "stop_code": pkg.stop_code or None,
        "stop_reason": pkg.stop_reason or None,
        "wave": str(pkg.wave_id) if pkg.wave_id else None,
        "waybill_no": active_waybill_no(pkg),
    }


def active_waybill_no(pkg) -> str | None:
    """The package's active waybill number (the shipping app's table, read through the relation:
    the floor never imports it); None before a waybill is taken."""
    return next((w.waybill_no for w in pkg.waybills.all() if w.status == "active"), None)


def wave_every_minutes() -> int:
    row = FulfilmentSettings.objects.first()
    return row.wave_every_minutes if row else 0


def packaging_of(value: str) -> PackagingType | None:
    """An active packaging type by its name (or its id, as the console's select sends it)."""
    value = str(value).strip()
    active = PackagingType.objects.filter(active=True)
    found = active.filter(name=value).first()
    if found is None and value.isdigit():
        found = active.filter(pk=int(value)).first()
    return found


def active_packagings() -> list[PackagingType]:
    return list(PackagingType.objects.filter(active=True).order_by("weight_g", "name"))


def staff_warehouses(user) -> frozenset[int] | None:
    """The ids of the warehouses a floor user works in (仓库人员); None = every warehouse (a
    superuser, or a row with 所有仓库); empty for a user without a row or without warehouses."""
    if user.is_superuser:
        return None
    row = WarehouseStaff.objects.filter(user=user).first()
    if row is None:
        return frozenset()
    if row.all_warehouses:
        return None
    return frozenset(row.warehouses.values_list("pk", flat=True))


def package_of_scan(code: str, warehouses: frozenset[int] | None = None) -> Package | None:
    """The package a packer scans: its id (`P12` or `12`) or any of its orders' channel order ids
    (the newest live package of that order); only in `warehouses` (ids) unless None."""
    code = normalize_code(code)
    digits = code[1:] if code[:1] in ("P", "p") else code
    mine = (
        Package.objects.all() if warehouses is None else Package.objects.filter(warehouse_id__in=warehouses)
    )
    if digits.isdigit() and len(digits) < 18:
        pkg = mine.filter(pk=int(digits)).select_related("warehouse").first()
        if pkg is not None:
            return pkg
    return (
        mine.filter(package_orders__order__channel_order_id=code)
        .exclude(status__in=["shipped", "cancelled"])
        .select_related("warehouse")
        .order_by("-pk")
        .first()
    )


def open_waves(warehouse_id: int | None, user, warehouses: frozenset[int] | None = None) -> list[Wave]:
    """The PDA's wave list: open waves (of one warehouse, or all of `warehouses`, ids; None = every
    warehouse) and the ones this user is picking."""
    qs = Wave.objects.select_related("warehouse", "strategy").filter(
        Q(status=Wave.Status.OPEN) | Q(status=Wave.Status.CLAIMED, picker=user)
    )
    if warehouse_id:
        qs = qs.filter(warehouse_id=warehouse_id)
    if warehouses is not None:
        qs = qs.filter(warehouse_id__in=warehouses)
    waves = list(qs.annotate(n_packages=Count("packages", distinct=True)).order_by("created_at", "pk"))
    totals = dict(
        WavePickRow.objects.filter(wave__in=waves)
        .values("wave_id")
        .annotate(units=Sum("quantity"))
        .values_list("wave_id", "units")
    )
    for wave in waves:
        wave.units = totals.get(wave.pk) or 0
    return waves
