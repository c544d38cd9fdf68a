"""What every floor use case shares: the errors, the write buffer (Writes: status moves with their
audit rows, stamps and outbox events), locks and the helpers between packages and orders."""

import hashlib
import hmac
from collections import defaultdict
from dataclasses import dataclass, replace

from django.conf import settings
from django.utils import timezone

from zhongshu.core import bulk, outbox
from zhongshu.fulfilment import domain
from zhongshu.fulfilment.domain import PackageStatus as P
from zhongshu.fulfilment.models import (
    Package,
    PackageLine,
    PackageOrder,
    PackageTransition,
    PackagingType,
    WavePickRow,
)
from zhongshu.orders.follow import follow_packages
from zhongshu.orders.models import Order
from zhongshu.orders.states import OrderStatus

S = OrderStatus
SYSTEM = "system:fulfilment"
CARRIER_FLAG = "carrier:"
STAMPS = {P.WAVED: "waved_at", P.PICKED: "picked_at", P.PACKED: "packed_at", P.SHIPPED: "shipped_at"}
# Order statuses in which the order's packages are taken back (pending) or stopped (拦截).
INTERCEPT = {
    S.CANCELLED: ("order_cancelled", "订单已取消"),
    S.ON_HOLD: ("order_held", "订单已挂起（如买家申请退款）"),
    S.BACKORDERED: ("order_backordered", "订单已退回缺货待补"),
    S.PAID: ("order_changed", "订单重新审核"),
    S.PENDING_PAYMENT: ("order_changed", "订单待付款"),
}
WEIGHT_STOP = "weight_out_of_tolerance"


class FloorError(ValueError):
    """A floor action refused; nothing was written. `code` is stable for scripts."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code, self.detail = code, detail


class NotFound(FloorError):
    def __init__(self, what: str):
        super().__init__("not_found", f"{what} 不存在")


@dataclass
class CheckResult:
    ok: bool
    status: str
    code: str = ""
    detail: str = ""


# --- the machinery every use case shares ------------------------------------------------------


class Writes:
    """Transitions and events of one use case, written once at the end."""

    def __init__(self, actor: str):
        self.actor = actor[:128]
        self.now = timezone.now()
        self.transitions: list[PackageTransition] = []
        self.events: list = []

    def move(self, pkg: Package, target: str, reason: str = "") -> None:
        current = pkg.status
        domain.check(current, target)
        pkg.status = target
        pkg.updated_at = self.now
        stamp = STAMPS.get(target)
        if stamp:
            setattr(pkg, stamp, self.now)
        if target != P.STOPPED:
            pkg.stop_code, pkg.stop_reason = "", ""
        self.transitions.append(
            PackageTransition(
                package=pkg,
                from_status=current,
                to_status=target,
                actor=self.actor,
                reason=reason[:400],
                at=self.now,
            )
        )
        self.event(
            pkg, "package.status_changed", f"{current} → {target} {reason}", {"from": current, "to": target}
        )

    def created(self, pkg: Package, reason: str) -> None:
        self.transitions.append(
            PackageTransition(
                package=pkg,
                from_status="",
                to_status=P.PENDING,
                actor=self.actor,
                reason=reason[:400],
                at=self.now,
            )
        )
        self.event(pkg, "package.status_changed", f"新建 → pending {reason}", {"from": "", "to": P.PENDING})

    def event(self, pkg: Package, topic: str, summary: str, payload: dict | None = None) -> None:
        self.events.append(
            outbox.event(
                topic,
                key=f"package:{pkg.pk}",
                actor=self.actor,
                payload={
                    "subject": f"package:{pkg.pk}",
                    "package_id": pkg.pk,
                    "warehouse_id": pkg.warehouse_id,
                    "summary": f"P{pkg.pk}: {summary}"[:400],
                    **(payload or {}),
                },
            )
        )

    def flush(self) -> None:
        bulk.insert(self.transitions)  # core.bulk: a wave writes thousands (Django's is ~3× slower)
        outbox.write(self.events)


def lock_package(package_id: int) -> Package:
    pkg = Package.objects.select_for_update(of=("self",)).filter(pk=package_id).first()
    if pkg is None:
        raise NotFound(f"包裹 {package_id}")
    return pkg


def _save(*pkgs: Package) -> None:
    for pkg in pkgs:
        pkg.save()


def _lines_map(lines) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for ln in lines:
        out[ln.sku.code] += ln.quantity
    return dict(out)


def _carrier(flags: list[str]) -> str:
    return next((f[len(CARRIER_FLAG) :] for f in flags or [] if f.startswith(CARRIER_FLAG)), "")


def _packaging(cold_chain: bool) -> PackagingType | None:
    """The default packaging: the insulated box (a name with 冷链) for cold-chain goods, else the
    lightest active one; the packer may change it at the bench."""
    active = PackagingType.objects.filter(active=True).order_by("weight_g", "name")
    if cold_chain:
        box = active.filter(name__contains="冷链").first()
        if box is not None:
            return box
    return active.first()


def _refresh(pkg: Package) -> None:
    """Recompute what a package carries from its lines and orders (expected weight, flags, dates)."""
    lines = list(PackageLine.objects.filter(package=pkg).select_related("sku"))
    orders = list(Order.objects.filter(package_orders__package=pkg))
    cold = any(ln.sku.cold_chain for ln in lines)
    if pkg.packaging is None or (cold and "冷链" not in pkg.packaging.name):
        pkg.packaging = _packaging(cold)
    weights = {ln.sku.code: ln.sku.weight_g for ln in lines}
    pkg.expected_weight_g = domain.expected_weight(
        _lines_map(lines), weights, pkg.packaging.weight_g if pkg.packaging else 0
    )
    pkg.merge_key = _key_hash(
        _candidate(pkg.pk, pkg.shop, pkg.warehouse.code, pkg.carrier, orders, cold, P.PENDING)
    )
    pkg.flags = sorted({f for o in orders for f in (o.flags or []) if not f.startswith(CARRIER_FLAG)})
    pkg.ship_by = min((o.ship_by for o in orders if o.ship_by), default=None)
    pkg.paid_at = min((o.paid_at for o in orders if o.paid_at), default=None)


def _key_hash(c: domain.MergeCandidate | None) -> str:
    """The stored merge key: a keyed hash (the receiver is personal data) of the key without the
    shop, which the lookup filters by itself (the shop, or the platform when merging across shops)."""
    key = domain.merge_key(replace(c, shop="", platform=""), cross_shop=False) if c else None
    if key is None:
        return ""
    return hmac.new(settings.PII_KEY.encode(), repr(key[1:]).encode(), hashlib.sha256).hexdigest()


def _receiver(o: Order) -> domain.Receiver:
    return domain.Receiver(
        o.receiver_name, o.receiver_phone, o.receiver_province, o.receiver_city, o.receiver_district,
        o.receiver_address,
    )  # fmt: skip


def _candidate(pkg_id, shop, warehouse: str, carrier: str, orders: list[Order], cold: bool, status: str):
    if not orders:
        return None
    first = orders[0]
    return domain.MergeCandidate(
        id=pkg_id,
        shop=shop.code,
        platform=shop.platform,
        warehouse=warehouse,
        carrier=carrier,
        receiver=_receiver(first),
        presale=any(o.presale for o in orders),
        cold_chain=cold,
        held=any(o.status == S.ON_HOLD for o in orders),
        status=status,
    )


def _package_candidate(pkg: Package) -> domain.MergeCandidate | None:
    orders = list(pkg.orders.all())
    if not orders:
        return None
    cold = any(ln.sku.cold_chain for ln in pkg.lines.all())
    return _candidate(pkg.pk, pkg.shop, pkg.warehouse.code, pkg.carrier, orders, cold, pkg.status)


def follow_orders(pkgs, w: Writes, reason: str) -> None:
    """Move the orders of these packages to the status all their packages imply (one read)."""
    mine = PackageOrder.objects.filter(package__in=[p.pk for p in pkgs]).values("order_id")
    statuses: dict[int, list[str]] = defaultdict(list)
    for oid, status in PackageOrder.objects.filter(order_id__in=mine).values_list(
        "order_id", "package__status"
    ):
        statuses[oid].append(status)
    targets = {oid: t for oid, ss in statuses.items() if (t := domain.order_status_for(ss))}
    follow_packages(targets, w.actor, reason, w.events)  # written with the packages' events


def _pull_from_wave(pkg: Package) -> None:
    """Take a package out of its wave before it is picked: its units leave the pick list."""
    if pkg.wave_id is None or pkg.status not in (P.WAVED, P.PICKING):
        return
    need = _lines_map(pkg.lines.select_related("sku"))
    rows = WavePickRow.objects.select_for_update(of=("self",)).filter(
        wave_id=pkg.wave_id, sku__code__in=list(need)
    )
    for row in rows.select_related("sku"):
        row.quantity = max(row.quantity - need[row.sku.code], 0)
        row.picked = min(row.picked, row.quantity)
        row.save(update_fields=["quantity", "picked"])
    pkg.wave, pkg.seed_slot = None, None


def _stop(pkg: Package, w: Writes, code: str, reason: str, pull: bool = True) -> None:
    """Stop (拦截) a package with a reason; `pull` takes it out of its wave's pick list (a cancel, a
    shortage), which a stop at the packing bench does not (its units are already on the bench)."""
    if pull:
        _pull_from_wave(pkg)
    if pkg.status == P.STOPPED:
        pkg.stop_reason = f"{pkg.stop_reason}；{reason}"[:400]
        w.event(pkg, "package.stop_noted", reason)
        return
    w.move(pkg, P.STOPPED, reason)
    pkg.stop_code, pkg.stop_reason = code, reason[:400]
