"""Packages from allocated orders (merged at creation), interception when an order is cancelled or
held, and the manual merge, unmerge and split (audited on the timeline)."""

from collections import defaultdict
from dataclasses import dataclass, replace

from django.db import transaction

from zhongshu.core import bulk
from zhongshu.fulfilment import domain, selectors
from zhongshu.fulfilment.common import (
    CARRIER_FLAG,
    INTERCEPT,
    SYSTEM,
    FloorError,
    NotFound,
    S,
    Writes,
    _candidate,
    _carrier,
    _key_hash,
    _lines_map,
    _package_candidate,
    _packaging,
    _refresh,
    _stop,
    lock_package,
)
from zhongshu.fulfilment.domain import PackageStatus as P
from zhongshu.fulfilment.models import (
    Package,
    PackageLine,
    PackageOrder,
    PackagingType,
)
from zhongshu.inventory.models import Warehouse
from zhongshu.orders.models import Order, OrderLine

# --- packages from orders (and back) ------------------------------------------------------------


def sync_order(order_id: int, actor: str = SYSTEM) -> None:
    """Bring an order's packages in line with the order, idempotently (the outbox consumer calls it
    on every order status change, at least once): an allocated order has live packages holding
    exactly its lines at its warehouse (else they are made, merged into a matching pending package
    when the merge key allows); a cancelled, held or re-queued order is taken out of its pending
    package, and a package already in a wave (or packed) is stopped with the reason (拦截)."""
    sync_orders([order_id], actor)


def sync_orders(order_ids: list[int], actor: str = SYSTEM, chunk: int = 200) -> None:
    """`sync_order` for many orders: `chunk` orders per transaction (locked in pk order), their lines
    read in one query, the settings and packaging types once, the audit rows and events written in
    one insert each per chunk — 7 statements per new package instead of 16."""
    ids = sorted({int(i) for i in order_ids})
    for start in range(0, len(ids), chunk):
        with transaction.atomic():
            orders = list(
                Order.objects.select_for_update(of=("self",))
                .select_related("shop", "warehouse")
                .filter(pk__in=ids[start : start + chunk])
                .order_by("pk")
            )
            lines: dict[int, list[OrderLine]] = defaultdict(list)
            allocated = [o.pk for o in orders if o.status == S.ALLOCATED and o.warehouse_id]
            for ln in OrderLine.objects.filter(order_id__in=allocated).select_related("sku").order_by("pk"):
                lines[ln.order_id].append(ln)
            w, ctx = Writes(actor), _Context(orders)
            todo: list[_Share] = []
            for order in orders:
                todo += _sync_one(order, lines[order.pk], w, ctx)
            _package_all(todo, w, ctx)
            w.flush()


class _Context:
    """What every order of a chunk reads alike: the cross-shop setting and the packaging types, and
    which of its orders have live packages (one query: a new order, the usual case, has none)."""

    def __init__(self, orders: list[Order]):
        self.cross = selectors.merge_across_shops()
        self._packagings: dict[bool, PackagingType | None] = {}
        self.with_live = set(
            PackageOrder.objects.filter(order__in=orders)
            .exclude(package__status__in=domain.FINISHED)
            .values_list("order_id", flat=True)
        )
        self.pending_keys: set[str] = set()  # merge keys (hashed) a pending package may hold
        self.new: list[tuple[Package, str]] = []  # packages made, not yet written, with their reason
        self.links: list[PackageOrder] = []  # and their rows (written with them)
        self.lines: list[PackageLine] = []

    def write_new(self, w: Writes) -> None:
        """INSERT the packages made since the last call, one statement per table (their events follow
        their ids); before a lookup that may find them, and at the end of the chunk."""
        if not self.new:
            return
        bulk.insert([pkg for pkg, _ in self.new])
        for pkg, reason in self.new:
            w.created(pkg, reason)
        for row in (*self.links, *self.lines):
            row.package = row.package  # binds package_id now that the package has its pk
        bulk.insert(self.links, ids=False)
        bulk.insert(self.lines, ids=False)
        self.new, self.links, self.lines = [], [], []

    def packaging(self, cold: bool) -> PackagingType | None:
        if cold not in self._packagings:
            self._packagings[cold] = _packaging(cold)
        return self._packagings[cold]


@dataclass
class _Share:
    """What one warehouse ships of an order, to be packaged, with its merge key."""

    order: Order
    warehouse: Warehouse
    parts: list[tuple[OrderLine, int]]
    carrier: str
    cold: bool
    me: domain.MergeCandidate | None
    key: str  # _key_hash(me)


def _sync_one(order: Order, lines: list[OrderLine], w: Writes, ctx: _Context) -> list[_Share]:
    """Detach what no longer fits; returns what is to be packaged (the chunk's shares are packaged
    together after every order's detaching, see _package_all)."""
    if not (order.status == S.ALLOCATED and order.warehouse_id) and order.status not in INTERCEPT:
        return []
    live = (
        list(
            Package.objects.select_for_update(of=("self",))
            .filter(package_orders__order=order)
            .exclude(status__in=domain.FINISHED)
            .order_by("pk")
        )
        if order.pk in ctx.with_live
        else []
    )
    if order.status in INTERCEPT:
        code, why = INTERCEPT[order.status]
        for pkg in live:
            _detach(pkg, order, w, code, f"{order.shop.code}/{order.channel_order_id} {why}，拦截")
        return []
    shares = _shares(order, lines)
    if _holds_exactly(order, shares, live):
        return []
    for pkg in live:
        _detach(pkg, order, w, "order_changed", "订单已变更（收货信息、商品或仓库），包裹重新生成")
    todo = []
    for warehouse, parts in shares.items():
        carrier = _carrier(order.flags)
        cold = any(ln.sku.cold_chain for ln, _ in parts)
        me = _candidate(None, order.shop, warehouse.code, carrier, [order], cold, P.PENDING)
        todo.append(_Share(order, warehouse, parts, carrier, cold, me, _key_hash(me)))
    return todo


def _package_all(todo: list[_Share], w: Writes, ctx: _Context) -> None:
    """Package the chunk's shares in order. Which of their merge keys a pending package holds is read
    in one query; a share whose key none holds (nor a package made earlier in the chunk) skips the
    lookup for a package to merge into."""
    keys = {share.key for share in todo if share.key}
    if keys:
        ctx.pending_keys |= set(
            Package.objects.filter(status=P.PENDING, merge_key__in=keys).values_list("merge_key", flat=True)
        )
    for share in todo:
        target = _package_order(share, w, ctx)
        ctx.pending_keys.add(target.merge_key)
    ctx.write_new(w)


def make_packages(actor: str = SYSTEM) -> int:
    """Packages for every allocated order without a live one (a backfill; the consumer is the
    normal path). Returns how many orders were packaged."""
    ids = list(
        Order.objects.filter(status=S.ALLOCATED, warehouse__isnull=False)
        .exclude(package_orders__package__status__in=list(domain.RESERVING))
        .values_list("pk", flat=True)
        .order_by("pk")
    )
    sync_orders(ids, actor)
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


def _detach(pkg: Package, order: Order, w: Writes, code: str, reason: str) -> None:
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


def _package_order(share: _Share, w: Writes, ctx: "_Context") -> Package:
    """Put an allocated order's lines (`parts`: all of them, or a split order's part) in a package at
    `warehouse`: a pending package with the same merge key (合单) takes it, else a new one, whose
    weight, flags and dates are computed here before its one INSERT (what _refresh would find)."""
    order, warehouse, parts, carrier, cold, me = (
        share.order, share.warehouse, share.parts, share.carrier, share.cold, share.me
    )  # fmt: skip
    cross = ctx.cross
    mine = domain.merge_key(me, cross)
    target = None
    if mine is not None and share.key in ctx.pending_keys:
        ctx.write_new(w)  # a package made earlier in the chunk may be the one
        shops = {"shop__platform": order.shop.platform} if cross else {"shop": order.shop}
        pending = (
            Package.objects.select_for_update(of=("self",))
            .filter(warehouse=warehouse, status=P.PENDING, merge_key=share.key, **shops)
            .select_related("shop", "warehouse")
            .prefetch_related("orders", "lines__sku")
            .order_by("pk")
        )
        for pkg in pending:
            c = _package_candidate(pkg)
            if c is not None and domain.merge_key(c, cross) == mine:
                target = pkg
                break
    new = target is None
    if new:
        packaging = ctx.packaging(cold)
        held: dict[str, int] = defaultdict(int)
        for ln, q in parts:
            held[ln.sku.code] += q
        target = bulk.new(
            Package,
            warehouse=warehouse, shop=order.shop, carrier=carrier, allocated_at=w.now, packaging=packaging,
            expected_weight_g=domain.expected_weight(
                held, {ln.sku.code: ln.sku.weight_g for ln, _ in parts}, packaging.weight_g if packaging else 0
            ),
            merge_key=share.key,
            flags=sorted(f for f in set(order.flags or []) if not f.startswith(CARRIER_FLAG)),
            ship_by=order.ship_by, paid_at=order.paid_at,
        )  # fmt: skip
        ctx.new.append((target, f"{order.shop.code}/{order.channel_order_id} 分仓后生成包裹"))
        ctx.links.append(bulk.new(PackageOrder, package=target, order=order))
        ctx.lines += [
            bulk.new(PackageLine, package=target, order_line=ln, sku=ln.sku, quantity=q) for ln, q in parts
        ]
        return target  # written by ctx.write_new
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
        w = Writes(actor)
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
        pkg = lock_package(package_id)
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
        pkg = lock_package(package_id)
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
    w = Writes(actor)
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
