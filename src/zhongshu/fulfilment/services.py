"""The warehouse floor's use cases, one transaction each: packages from allocated orders (merged at
creation), interception when an order is cancelled or held, manual merge and split, waves and their
pick lists, picking on the PDA, the pack check (验货 + 称重) and the supervisor's override.

Every package status change goes through domain.check, writes a PackageTransition (the audit) and a
`package.status_changed` outbox event, and sets the processing-time stamp of its target. Orders
follow their packages through orders.follow (never the other way round). Stock stays with the
orders: an order's reservation is given back by the orders code when it is cancelled or held, so
the floor never touches StockLevel.reserved."""

import hashlib
import hmac
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from zhongshu.core import outbox
from zhongshu.fulfilment import domain, selectors
from zhongshu.fulfilment.domain import PackageStatus as P
from zhongshu.fulfilment.models import (
    Package,
    PackageLine,
    PackageOrder,
    PackageTransition,
    PackagingType,
    Wave,
    WavePickRow,
    WaveStrategy,
)
from zhongshu.inventory.models import Warehouse
from zhongshu.orders.follow import follow_packages
from zhongshu.orders.models import Order, OrderLine
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


class _Writes:
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
        PackageTransition.objects.bulk_create(self.transitions)
        outbox.write(self.events)


def _lock(package_id: int) -> Package:
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


def _follow(pkgs, w: _Writes, reason: str) -> None:
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


def _stop(pkg: Package, w: _Writes, code: str, reason: str, pull: bool = True) -> None:
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


# --- packages from orders (and back) ------------------------------------------------------------


def sync_order(order_id: int, actor: str = SYSTEM) -> None:
    """Bring an order's packages in line with the order, idempotently (the outbox consumer calls it
    on every order status change, at least once): an allocated order has live packages holding
    exactly its lines at its warehouse (else they are made, merged into a matching pending package
    when the merge key allows); a cancelled, held or re-queued order is taken out of its pending
    package, and a package already in a wave (or packed) is stopped with the reason (拦截)."""
    with transaction.atomic():
        order = (
            Order.objects.select_for_update(of=("self",))
            .select_related("shop", "warehouse")
            .filter(pk=order_id)
            .first()
        )
        if order is None:
            return
        w = _Writes(actor)
        live = list(
            Package.objects.select_for_update(of=("self",))
            .filter(package_orders__order=order)
            .exclude(status__in=domain.FINISHED)
            .order_by("pk")
        )
        if order.status == S.ALLOCATED and order.warehouse_id:
            lines = list(OrderLine.objects.filter(order=order).select_related("sku"))
            shares = _shares(order, lines)
            if _holds_exactly(order, shares, live):
                return
            for pkg in live:
                _detach(pkg, order, w, "order_changed", "订单已变更（收货信息、商品或仓库），包裹重新生成")
            for warehouse, parts in shares.items():
                _package_order(order, warehouse, parts, w)
        elif order.status in INTERCEPT:
            code, why = INTERCEPT[order.status]
            for pkg in live:
                _detach(pkg, order, w, code, f"{order.shop.code}/{order.channel_order_id} {why}，拦截")
        else:
            return
        w.flush()


def make_packages(actor: str = SYSTEM) -> int:
    """Packages for every allocated order without a live one (a backfill; the consumer is the
    normal path). Returns how many orders were packaged."""
    ids = list(
        Order.objects.filter(status=S.ALLOCATED, warehouse__isnull=False)
        .exclude(package_orders__package__status__in=list(domain.RESERVING))
        .values_list("pk", flat=True)
        .order_by("pk")
    )
    for oid in ids:
        sync_order(oid, actor)
    return len(ids)


def _shares(order: Order, lines: list[OrderLine]) -> dict[Warehouse, list[tuple[OrderLine, int]]]:
    """What each warehouse ships of the order, as (line, quantity): all lines at its warehouse, or for
    a split order (拆单) each warehouse's part of the plan, spread over the lines of each SKU."""
    if not order.split:
        return {order.warehouse: [(ln, ln.quantity) for ln in lines]}
    warehouses = Warehouse.objects.in_bulk(list(order.split), field_name="code")
    left = {ln.pk: ln.quantity for ln in lines}
    out: dict[Warehouse, list[tuple[OrderLine, int]]] = {}
    for code in sorted(order.split, key=lambda c: c != order.warehouse.code):  # the order's own first
        for sku, qty in order.split[code].items():
            for ln in lines:
                n = min(qty, left[ln.pk]) if ln.sku.code == sku else 0
                if n:
                    out.setdefault(warehouses[code], []).append((ln, n))
                    left[ln.pk] -= n
                    qty -= n
    return out


def _holds_exactly(order: Order, shares: dict, live: list[Package]) -> bool:
    """The live packages hold exactly the order's current lines, each at the warehouse that ships it
    (nothing to do)."""
    if not live:
        return False
    if PackageLine.objects.filter(package__in=live, order_line__isnull=True).exists():
        return False  # some order's lines were replaced under the package
    held: dict[tuple[int, int], int] = defaultdict(int)
    for wh, line_id, q in PackageLine.objects.filter(package__in=live, order_line__order=order).values_list(
        "package__warehouse_id", "order_line_id", "quantity"
    ):
        held[(wh, line_id)] += q
    return dict(held) == {(wh.pk, ln.pk): q for wh, parts in shares.items() for ln, q in parts}


def _detach(pkg: Package, order: Order, w: _Writes, code: str, reason: str) -> None:
    """Take an order out of a package: while pending its lines simply leave (the package is cancelled
    when nothing is left); from a wave on, the package is stopped (拦截) with the reason."""
    if pkg.status == P.PENDING:
        mine = PackageLine.objects.filter(package=pkg).filter(order_line__order=order)
        orphans = PackageLine.objects.filter(package=pkg, order_line__isnull=True)
        mine.delete()
        orphans.delete()
        PackageOrder.objects.filter(package=pkg, order=order).delete()
        if not PackageLine.objects.filter(package=pkg).exists():
            w.move(pkg, P.CANCELLED, reason)
        else:
            _refresh(pkg)
            w.event(pkg, "package.unmerged", f"{order.shop.code}/{order.channel_order_id} 移出：{reason}")
    else:
        _stop(pkg, w, code, reason)
    pkg.save()


def _package_order(
    order: Order, warehouse: Warehouse, parts: list[tuple[OrderLine, int]], w: _Writes
) -> Package:
    """Put an allocated order's lines (`parts`: all of them, or a split order's part) in a package at
    `warehouse`: a pending package with the same merge key (合单) takes it, else a new one."""
    carrier = _carrier(order.flags)
    cold = any(ln.sku.cold_chain for ln, _ in parts)
    cross = selectors.merge_across_shops()
    me = _candidate(None, order.shop, warehouse.code, carrier, [order], cold, P.PENDING)
    mine = domain.merge_key(me, cross)
    target = None
    if mine is not None:
        shops = {"shop__platform": order.shop.platform} if cross else {"shop": order.shop}
        pending = (
            Package.objects.select_for_update(of=("self",))
            .filter(warehouse=warehouse, status=P.PENDING, merge_key=_key_hash(me), **shops)
            .select_related("shop", "warehouse")
            .prefetch_related("orders", "lines__sku")
            .order_by("pk")
        )
        for pkg in pending:
            c = _package_candidate(pkg)
            if c is not None and domain.merge_key(c, cross) == mine:
                target = pkg
                break
    if target is None:
        target = Package.objects.create(
            warehouse=warehouse, shop=order.shop, carrier=carrier, allocated_at=w.now,
            packaging=_packaging(cold),
        )  # fmt: skip
        w.created(target, f"{order.shop.code}/{order.channel_order_id} 分仓后生成包裹")
    else:
        w.event(target, "package.merged", f"合单：并入 {order.shop.code}/{order.channel_order_id}")
    PackageOrder.objects.create(package=target, order=order)
    PackageLine.objects.bulk_create(
        [PackageLine(package=target, order_line=ln, sku=ln.sku, quantity=q) for ln, q in parts]
    )
    _refresh(target)
    target.save()
    return target


# --- manual merge and split (audited on the timeline) -------------------------------------------


def merge_packages(package_id: int, with_ids: list[int], actor: str) -> Package:
    """合单 by hand: the other pending packages join this one (they end cancelled, "合并至 P…"). Only
    packages of the same warehouse and receiver, same presale and cold chain, none held; shops of one
    platform may meet (a person decides)."""
    others_ids = sorted({int(i) for i in with_ids} - {int(package_id)})
    if not others_ids:
        raise FloorError("nothing_to_merge", "请选择要合并的其他包裹")
    with transaction.atomic():
        pkgs = {
            p.pk: p
            for p in Package.objects.select_for_update(of=("self",))
            .filter(pk__in=[package_id, *others_ids])
            .select_related("shop", "warehouse")
            .order_by("pk")
        }
        missing = [i for i in [package_id, *others_ids] if i not in pkgs]
        if missing:
            raise NotFound(f"包裹 {missing[0]}")
        target, others = pkgs[package_id], [pkgs[i] for i in others_ids]
        keys = set()
        for p in [target, *others]:
            if p.status not in domain.MERGEABLE:
                raise FloorError(
                    "not_mergeable", f"P{p.pk} 状态为 {p.get_status_display()}，只有待生成波次的包裹可以合并"
                )
            c = _package_candidate(p)
            key = domain.merge_key(replace(c, carrier=""), cross_shop=True) if c else None
            if key is None:
                raise FloorError("not_mergeable", f"P{p.pk} 不可合并（挂起、退款中或收货信息不完整）")
            keys.add(key)
        if len(keys) > 1:
            raise FloorError("not_mergeable", "收货人、地址、仓库、预售或冷链不一致，不能合并")
        w = _Writes(actor)
        for p in others:
            PackageLine.objects.filter(package=p).update(package=target)
            for link in PackageOrder.objects.filter(package=p):
                PackageOrder.objects.get_or_create(package=target, order_id=link.order_id)
            PackageOrder.objects.filter(package=p).delete()
            w.move(p, P.CANCELLED, f"合并至 P{target.pk}")
            p.save()
        _refresh(target)
        target.save()
        w.event(target, "package.merged", f"人工合单：并入 {', '.join(f'P{p.pk}' for p in others)}")
        w.flush()
        return target


def split_package(package_id: int, parts: list[dict[str, int]], actor: str) -> list[Package]:
    """拆单 by hand: `parts` (sku → quantity each) cover the package's lines exactly; the first part
    stays in this package, each other becomes a new package (stopped too if this one is)."""
    parts = [{sku: q for sku, q in part.items() if q} for part in parts]
    if len(parts) < 2 or any(not part for part in parts) or any(q < 0 for p in parts for q in p.values()):
        raise FloorError("bad_split", "至少拆成两个包裹，每个包裹至少一件商品")
    with transaction.atomic():
        pkg = _lock(package_id)
        if pkg.status not in domain.SPLITTABLE:
            raise FloorError("not_splittable", f"P{pkg.pk} 状态为 {pkg.get_status_display()}，不能拆分")
        lines = list(PackageLine.objects.filter(package=pkg).select_related("sku").order_by("pk"))
        total: dict[str, int] = defaultdict(int)
        for part in parts:
            for sku, q in part.items():
                total[sku] += q
        if dict(total) != _lines_map(lines):
            raise FloorError("bad_split", "拆分后的数量必须与包裹明细完全一致")
        return _split(pkg, _assign(lines, parts), actor, "人工拆单")


def unmerge_order(package_id: int, order_id: int, actor: str) -> list[Package]:
    """Take one order out of a merged package into a package of its own (pending or stopped)."""
    with transaction.atomic():
        pkg = _lock(package_id)
        if pkg.status not in domain.SPLITTABLE:
            raise FloorError("not_splittable", f"P{pkg.pk} 状态为 {pkg.get_status_display()}，不能拆分")
        lines = list(
            PackageLine.objects.filter(package=pkg).select_related("sku", "order_line").order_by("pk")
        )
        mine = [(ln, ln.quantity) for ln in lines if ln.order_line and ln.order_line.order_id == order_id]
        rest = [(ln, ln.quantity) for ln in lines if (ln, ln.quantity) not in mine]
        if not mine or not rest:
            raise FloorError("bad_split", "该订单不在此包裹中，或包裹只有这一个订单")
        return _split(pkg, [rest, mine], actor, "人工取消合单")


def _assign(lines: list[PackageLine], parts: list[dict[str, int]]) -> list[list[tuple[PackageLine, int]]]:
    """Give each part units of the package's lines, in line order (a line may be cut in two)."""
    left = {ln.pk: ln.quantity for ln in lines}
    out = []
    for part in parts:
        taken = []
        for sku, q in part.items():
            for ln in lines:
                if q and ln.sku.code == sku and left[ln.pk]:
                    n = min(q, left[ln.pk])
                    taken.append((ln, n))
                    left[ln.pk] -= n
                    q -= n
        out.append(taken)
    return out


def _split(pkg: Package, groups: list[list[tuple[PackageLine, int]]], actor: str, why: str) -> list[Package]:
    w = _Writes(actor)
    result = [pkg]
    new_lines, kept = [], []
    for i, group in enumerate(groups):
        if i == 0:
            kept = group
            continue
        part = Package.objects.create(
            warehouse_id=pkg.warehouse_id, shop_id=pkg.shop_id, carrier=pkg.carrier, packaging=pkg.packaging,
            allocated_at=pkg.allocated_at, paid_at=pkg.paid_at,
        )  # fmt: skip
        w.created(part, f"{why}：自 P{pkg.pk} 拆出")
        if pkg.status == P.STOPPED:
            w.move(part, P.STOPPED, pkg.stop_reason)
            part.stop_code, part.stop_reason = pkg.stop_code, pkg.stop_reason
        new_lines += [
            PackageLine(package=part, order_line_id=ln.order_line_id, sku=ln.sku, quantity=n)
            for ln, n in group
        ]
        result.append(part)
    PackageLine.objects.filter(package=pkg).delete()
    PackageLine.objects.bulk_create(
        [PackageLine(package=pkg, order_line_id=ln.order_line_id, sku=ln.sku, quantity=n) for ln, n in kept]
        + new_lines
    )
    for p in result:
        order_ids = set(OrderLine.objects.filter(package_lines__package=p).values_list("order_id", flat=True))
        PackageOrder.objects.filter(package=p).exclude(order_id__in=order_ids).delete()
        have = set(PackageOrder.objects.filter(package=p).values_list("order_id", flat=True))
        PackageOrder.objects.bulk_create([PackageOrder(package=p, order_id=o) for o in order_ids - have])
        _refresh(p)
        p.save()
    w.event(pkg, "package.split", f"{why}：拆为 {', '.join(f'P{p.pk}' for p in result)}")
    w.flush()
    return result


# --- waves (波次), picking -----------------------------------------------------------------------


def create_wave(
    warehouse: str, strategy: str | None = None, max_packages: int | None = None, actor: str = SYSTEM
) -> Wave:
    """A wave of a warehouse's pending packages by a strategy (else the first active strategy, in
    priority order, that yields one), its pick list sorted by bin location. FloorError
    `no_package_ready` when nothing qualifies: an empty wave is never made."""
    return create_waves(warehouse, strategy, max_packages, actor, limit=1)[0]


def create_waves(
    warehouse: str,
    strategy: str | None = None,
    max_packages: int | None = None,
    actor: str = SYSTEM,
    limit: int | None = None,
) -> list[Wave]:
    """Waves one after another (each as `create_wave` would make it) from one read of the pending
    packages, until none qualifies or `limit` waves are made; FloorError `no_package_ready` when not
    even one qualifies."""
    if max_packages is not None and max_packages < 1:
        raise FloorError("bad_request", "每波最多包裹数至少为 1")
    wh = Warehouse.objects.filter(code=warehouse).first()
    if wh is None:
        raise NotFound(f"仓库 {warehouse}")
    if strategy:
        chosen = WaveStrategy.objects.filter(code=strategy).first()
        if chosen is None:
            raise NotFound(f"波次策略 {strategy}")
        strategies = [chosen]
    else:
        strategies = selectors.active_strategies()
    infos = [selectors.strategy_info(st) for st in strategies]
    if max_packages:
        infos = [replace(info, max_packages=max_packages) for info in infos]
    with transaction.atomic():
        # plain rows, not models: a warehouse may have thousands of pending packages
        pending = list(
            Package.objects.select_for_update(of=("self",))
            .filter(warehouse=wh, status=P.PENDING)
            .order_by("pk")
            .values_list("pk", "carrier", "ship_by")
        )
        lines: dict[int, dict[str, int]] = defaultdict(dict)
        sku_ids: dict[str, int] = {}
        for pid, code, sku_id, q in PackageLine.objects.filter(
            package__warehouse=wh, package__status=P.PENDING
        ).values_list("package_id", "sku__code", "sku_id", "quantity"):
            lines[pid][code] = lines[pid].get(code, 0) + q
            sku_ids[code] = sku_id
        wps = [domain.WavePackage(pk, lines[pk], carrier, ship_by) for pk, carrier, ship_by in pending]
        wps = [wp for wp in wps if wp.lines]
        ready = len(wps)
        locations = selectors.locations(wh.pk, set(sku_ids))
        w = _Writes(actor)
        waves: list[Wave] = []
        while limit is None or len(waves) < limit:
            plan, used = None, None
            for st, info in zip(strategies, infos, strict=True):
                plan = domain.plan_wave(wps, info, locations)
                if plan.packages:
                    used = st
                    break
            if used is None:
                break
            wave = Wave.objects.create(warehouse=wh, strategy=used, kind=used.kind, created_by=w.actor)
            WavePickRow.objects.bulk_create(
                [
                    WavePickRow(
                        wave=wave, position=i, location=r.location, sku_id=sku_ids[r.sku], quantity=r.quantity
                    )
                    for i, r in enumerate(plan.pick_list, start=1)
                ]
            )
            slots = {s.package_id: s.slot for s in plan.slots}
            chosen_pkgs = list(Package.objects.filter(pk__in=[wp.id for wp in plan.packages]).order_by("pk"))
            for pkg in chosen_pkgs:
                w.move(pkg, P.WAVED, f"生成波次 W{wave.pk}（{used.name}）")
                pkg.wave, pkg.seed_slot = wave, slots.get(pkg.pk)
            # the same values for every package of the wave (a pending package has no stop), one UPDATE
            Package.objects.filter(pk__in=[p.pk for p in chosen_pkgs]).update(
                status=P.WAVED, wave=wave, seed_slot=None, waved_at=w.now, stop_code="", stop_reason="",
                updated_at=w.now,
            )  # fmt: skip
            if slots:
                Package.objects.bulk_update(
                    [p for p in chosen_pkgs if p.seed_slot is not None], ["seed_slot"]
                )
            taken = {wp.id for wp in plan.packages}
            wps = [wp for wp in wps if wp.id not in taken]
            waves.append(wave)
        if not waves:
            names = "、".join(s.name for s in strategies) or "无启用的策略"
            raise FloorError(
                "no_package_ready",
                f"仓库 {warehouse} 没有可生成波次的包裹（待生成波次 {ready} 个；策略：{names}）",
            )
        w.flush()
        return waves


def _lock_wave(wave_id: int) -> Wave:
    wave = Wave.objects.select_for_update(of=("self",)).filter(pk=wave_id).first()
    if wave is None:
        raise NotFound(f"波次 {wave_id}")
    return wave


def claim_wave(wave_id: int, user, actor: str) -> Wave:
    """One picker per wave: an open wave is claimed (its packages go picking, their orders too);
    claiming it again as the same user changes nothing, as someone else is refused."""
    with transaction.atomic():
        wave = _lock_wave(wave_id)
        if wave.status == Wave.Status.CLAIMED and wave.picker_id == user.pk:
            return wave
        if wave.status != Wave.Status.OPEN:
            raise FloorError("wave_taken", f"波次 W{wave.pk} 已被领取或已结束")
        w = _Writes(actor)
        wave.status, wave.picker, wave.claimed_at = Wave.Status.CLAIMED, user, w.now
        wave.save(update_fields=["status", "picker", "claimed_at"])
        pkgs = list(Package.objects.select_for_update(of=("self",)).filter(wave=wave, status=P.WAVED))
        for pkg in pkgs:
            w.move(pkg, P.PICKING, f"波次 W{wave.pk} 由 {user.get_username()} 领取")
        Package.objects.bulk_update(pkgs, ["status", "updated_at"])
        _follow(pkgs, w, f"波次 W{wave.pk} 开始拣货")
        w.flush()
        return wave


def record_pick(wave_id: int, sku: str, quantity: int, actor: str) -> WavePickRow:
    """Units of a SKU taken from its location; never more than the pick list asks."""
    with transaction.atomic():
        wave = _lock_wave(wave_id)
        if wave.status != Wave.Status.CLAIMED:
            raise FloorError("wave_not_claimed", f"波次 W{wave.pk} 未在拣货中")
        row = _pick_row(wave, sku)
        if quantity < 1 or row.picked + quantity > row.quantity:
            raise FloorError("surplus_item", f"{sku} 应拣 {row.quantity} 件，已拣 {row.picked} 件")
        row.picked += quantity
        row.save(update_fields=["picked"])
        return row


def _pick_row(wave: Wave, sku: str) -> WavePickRow:
    row = (
        WavePickRow.objects.select_for_update(of=("self",))
        .select_related("sku")
        .filter(wave=wave, sku__code=selectors.sku_of_code(sku) or domain.normalize_code(sku))
        .first()
    )
    if row is None:
        raise FloorError("wrong_sku", f"{sku} 不在波次 W{wave.pk} 的拣货单上")
    return row


def report_shortage(wave_id: int, sku: str, missing: int, actor: str) -> list[Package]:
    """The location has fewer units than the pick list: packages needing the SKU are stopped (the
    last seeded first) until they account for the missing units, they leave the wave, and a recount
    of that location is asked for (an event on the stock's timeline)."""
    with transaction.atomic():
        wave = _lock_wave(wave_id)
        if wave.status not in (Wave.Status.OPEN, Wave.Status.CLAIMED):
            raise FloorError("wave_not_claimed", f"波次 W{wave.pk} 已结束")
        row = _pick_row(wave, sku)
        if missing < 1 or missing > row.quantity - row.picked:
            raise FloorError("bad_request", f"{row.sku.code} 还应拣 {row.quantity - row.picked} 件")
        w = _Writes(actor)
        location, code = row.location, row.sku.code
        reason = f"拣货缺货：{code} 货位 {location or '未设置'} 少 {missing} 件"
        pkgs = list(
            Package.objects.select_for_update(of=("self",))
            .filter(wave=wave, status__in=list(domain.IN_WAVE))
            .filter(pk__in=PackageLine.objects.filter(sku=row.sku).values("package_id"))
            .order_by("-seed_slot", "-pk")
        )
        stopped, covered = [], 0
        for pkg in pkgs:
            if covered >= missing:
                break
            covered += sum(ln.quantity for ln in pkg.lines.all() if ln.sku_id == row.sku_id)
            _stop(pkg, w, "shortage", reason)
            pkg.save()
            stopped.append(pkg)
        WavePickRow.objects.filter(pk=row.pk).update(short=row.short + missing)
        w.events.append(
            outbox.event(
                "stock.recount_requested",
                key=f"stock:{code}",
                actor=w.actor,
                payload={
                    "subject": f"stock:{code}",
                    "sku": code,
                    "warehouse": wave.warehouse.code,
                    "location": location,
                    "summary": f"请盘点 {wave.warehouse.code} 货位 {location or '未设置'} 的 {code}（波次 W{wave.pk} 缺 {missing} 件）",
                },
            )
        )
        w.flush()
        return stopped


def finish_wave(wave_id: int, actor: str) -> Wave:
    """Picking done: every row picked (shortages reported first); the packages go picked."""
    with transaction.atomic():
        wave = _lock_wave(wave_id)
        if wave.status != Wave.Status.CLAIMED:
            raise FloorError("wave_not_claimed", f"波次 W{wave.pk} 未在拣货中")
        left = [r for r in wave.pick_rows.select_related("sku") if r.picked < r.quantity]
        if left:
            listed = "，".join(f"{r.sku.code} 还差 {r.quantity - r.picked}" for r in left)
            raise FloorError("missing_items", f"拣货未完成：{listed}")
        w = _Writes(actor)
        wave.status, wave.done_at = Wave.Status.DONE, w.now
        wave.save(update_fields=["status", "done_at"])
        pkgs = list(Package.objects.select_for_update(of=("self",)).filter(wave=wave, status=P.PICKING))
        for pkg in pkgs:
            w.move(pkg, P.PICKED, f"波次 W{wave.pk} 拣货完成")
        Package.objects.bulk_update(pkgs, ["status", "picked_at", "updated_at"])
        w.flush()
        return wave


# --- the pack check (验货 + 称重) and the supervisor ------------------------------------------


def check_scans(package_id: int, scans: list[str], actor: str) -> CheckResult:
    """The packing bench while the packer scans (the PDA page): the scans so far against the package.
    Nothing is written when they pass (`ok`, with `missing_items` until every unit is in); a refused
    scan (wrong_sku, surplus_item, count_not_allowed) is audited like the final check's refusal."""
    with transaction.atomic():
        pkg = _lock(package_id)
        if pkg.status not in domain.CHECKABLE:
            return CheckResult(
                False, pkg.status, "not_pickable", f"P{pkg.pk} 状态为 {pkg.get_status_display()}，不能验货"
            )
        expected = _lines_map(PackageLine.objects.filter(package=pkg).select_related("sku"))
        scan = domain.check_scans(expected, selectors.barcodes(expected), scans)
        if scan.ok or scan.code == domain.ScanError.MISSING_ITEMS:
            return CheckResult(True, pkg.status, scan.code, scan.detail)
        w = _Writes(actor)
        w.event(pkg, "package.check_refused", f"验货未通过 [{scan.code}] {scan.detail}", {"code": scan.code})
        w.flush()
        return CheckResult(False, pkg.status, scan.code, scan.detail)


def check_package(package_id: int, scans: list[str], weight_g: int, actor: str) -> CheckResult:
    """The packing bench: every unit scanned (codes or `code*count`), then the weight. A refused scan
    (wrong_sku, surplus_item, missing_items) changes nothing but the audit; a weight outside the
    tolerance stops the package with both weights in the reason; otherwise it is packed and its
    orders follow. A package not in a wave, stopped, cancelled or packed is `not_pickable`."""
    with transaction.atomic():
        pkg = _lock(package_id)
        if pkg.status not in domain.CHECKABLE:
            return CheckResult(
                False, pkg.status, "not_pickable", f"P{pkg.pk} 状态为 {pkg.get_status_display()}，不能验货"
            )
        lines = list(PackageLine.objects.filter(package=pkg).select_related("sku"))
        expected = _lines_map(lines)
        w = _Writes(actor)
        scan = domain.check_scans(expected, _barcodes(expected, scans), scans)
        if not scan.ok:
            w.event(
                pkg, "package.check_refused", f"验货未通过 [{scan.code}] {scan.detail}", {"code": scan.code}
            )
            w.flush()
            return CheckResult(False, pkg.status, scan.code, scan.detail)
        weighed = domain.weigh_check(pkg.expected_weight_g, weight_g, selectors.weigh_tolerance())
        pkg.measured_weight_g = weight_g
        if not weighed.ok:
            _stop(pkg, w, WEIGHT_STOP, weighed.reason, pull=False)
            pkg.save()
            w.flush()
            return CheckResult(False, pkg.status, WEIGHT_STOP, weighed.reason)
        w.move(pkg, P.PACKED, f"验货称重通过：{weight_g} 克（预计 {pkg.expected_weight_g} 克）")
        pkg.save()
        _follow([pkg], w, f"包裹 P{pkg.pk} 已打包")
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
        pkg = _lock(package_id)
        if pkg.status != P.STOPPED or pkg.stop_code != WEIGHT_STOP:
            raise FloorError("not_weight_stop", f"P{pkg.pk} 不是称重异常拦截的包裹")
        w = _Writes(actor)
        was = pkg.stop_reason
        w.move(pkg, P.PACKED, f"主管放行称重异常{('：' + note) if note else ''}（{was}）")
        pkg.save()
        _follow([pkg], w, f"包裹 P{pkg.pk} 已打包（主管放行）")
        w.flush()
        return pkg


def resume_package(package_id: int, actor: str, note: str = "") -> Package:
    """A supervisor sends a stopped package back to pending (to be waved and picked again); refused
    while one of its orders is no longer shippable (cancelled, held)."""
    with transaction.atomic():
        pkg = _lock(package_id)
        if pkg.status != P.STOPPED:
            raise FloorError("not_stopped", f"P{pkg.pk} 未被拦截")
        blocked = pkg.orders.exclude(status__in=[S.ALLOCATED, S.PICKING, S.PACKED])
        if blocked.exists():
            raise FloorError("order_not_shippable", "包裹中有已取消或挂起的订单，请先拆分或取消包裹")
        w = _Writes(actor)
        w.move(pkg, P.PENDING, f"主管恢复{('：' + note) if note else ''}")
        pkg.wave, pkg.seed_slot = None, None
        pkg.save()
        w.flush()
        return pkg


def cancel_package(package_id: int, actor: str, reason: str) -> Package:
    """Cancel a package before shipping (the orders keep or release their stock themselves)."""
    with transaction.atomic():
        pkg = _lock(package_id)
        if pkg.status not in domain.CANCELLABLE:
            raise FloorError("not_cancellable", f"P{pkg.pk} 状态为 {pkg.get_status_display()}，不能取消")
        w = _Writes(actor)
        _pull_from_wave(pkg)
        w.move(pkg, P.CANCELLED, reason)
        pkg.save()
        w.flush()
        return pkg


def scheduled_waves(actor: str = "system:waves") -> list[Wave]:
    """Scheduled wave creation (a setting: every N minutes, 0 = by hand only): for each active
    warehouse whose last wave is at least N minutes old, waves by every active strategy in order
    until none qualifies."""
    every = selectors.wave_every_minutes()
    if not every:
        return []
    since = timezone.now() - timedelta(minutes=every)
    made = []
    for wh in Warehouse.objects.filter(active=True).order_by("code"):
        if Wave.objects.filter(warehouse=wh, created_at__gt=since).exists():
            continue
        for st in selectors.active_strategies():
            try:
                made += create_waves(wh.code, st.code, actor=actor)
            except FloorError:
                pass
    return made
