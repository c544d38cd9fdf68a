"""The machinery every order use case shares: one transaction that locks the orders and stock rows
it touches, decides in memory (route, reserve, release, move status) and writes once (flush)."""

import logging
import random
import time
from collections import defaultdict

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from zhongshu.catalog.models import Sku
from zhongshu.core import bulk, outbox
from zhongshu.inventory import services as stock
from zhongshu.inventory.models import Warehouse
from zhongshu.orders.models import Order, OrderHold, OrderLine, OrderTransition
from zhongshu.orders.review import Hold, LineInfo, OrderInfo, route
from zhongshu.orders.review import carrier as choose_carrier
from zhongshu.orders.review import prepare as prepare_review
from zhongshu.orders.states import REROUTABLE, RESERVING, OrderStatus, check
from zhongshu.routing.domain import NEXT_WAREHOUSE, Allocation, choose_warehouse, plan_split
from zhongshu.routing.selectors import routing_table
from zhongshu.shops.models import Shop

log = logging.getLogger(__name__)
S = OrderStatus

PEER_KEYS = ("id_number_hash", "receiver_phone_hash", "receiver_address_hash")  # blind indexes
CARRIER_FLAG = "carrier:"
ORDER_FIELDS = [
    "status", "channel_status", "warehouse", "preferred_warehouse", "placed_at", "paid_at", "channel_updated_at",
    "ship_by", "scheduled_delivery", "buyer_ref", "buyer_nick", "buyer_vip", "id_number_hash", "id_number_masked",
    "receiver_name", "receiver_phone", "receiver_province", "receiver_city", "receiver_district",
    "receiver_address", "lines_amount", "freight", "discount", "paid_amount", "presale", "remark", "flags",
    "split", "staff_note", "tags", "updated_at",
]  # fmt: skip


class Conflict(RuntimeError):
    """Another transaction holds rows this one needs and cannot wait for: roll back, start over."""


def atomic_with_retry(fn, attempts: int = 8):
    for attempt in range(attempts):
        try:
            with transaction.atomic():
                return fn()
        except (IntegrityError, OperationalError, Conflict) as exc:
            # A concurrent intake created the same order, PostgreSQL broke a deadlock, or another
            # transaction holds an order this one needs: start over; the next attempt sees its rows.
            # The pause grows and is random, so the transactions that met do not meet again in step.
            if attempt == attempts - 1 or not _retryable(exc):
                raise
            time.sleep(random.uniform(0.005, min(0.01 * 2**attempt, 0.5)))
    raise AssertionError("unreachable")


def _retryable(exc: Exception) -> bool:
    text = str(exc).lower()
    return (
        isinstance(exc, Conflict)
        or "order_unique_per_shop" in text
        or "unique" in text
        or "deadlock" in text
        or "could not serialize" in text
    )


class Batch:
    """The state of one transaction: loaded rows, in-memory decisions, then one flush."""

    def __init__(
        self, keys: set[tuple[str, str]], sku_codes: set[str], actor: str, skip_locked: bool = False
    ):
        """skip_locked: leave out the orders another transaction holds (PostgreSQL) instead of waiting,
        for a caller that already holds stock rows (waiting could deadlock)."""
        self.actor = actor
        self.now = timezone.now()
        self.shops = {s.code: s for s in Shop.objects.filter(code__in={k[0] for k in keys}, active=True)}
        self.warehouses = {w.code: w for w in Warehouse.objects.all()}
        self.orders = self._load_orders(keys, skip_locked)
        self.lines: dict[tuple, list[OrderLine]] = defaultdict(list)
        self.holds: dict[tuple, list[OrderHold]] = defaultdict(list)
        if self.orders:
            by_id = {o.pk: k for k, o in self.orders.items()}
            for ln in OrderLine.objects.filter(order_id__in=list(by_id)).select_related("sku"):
                self.lines[by_id[ln.order_id]].append(ln)
            for h in OrderHold.objects.filter(order_id__in=list(by_id), released_at__isnull=True):
                self.holds[by_id[h.order_id]].append(h)
        sku_codes = sku_codes | {ln.sku.code for lns in self.lines.values() for ln in lns}
        self.skus = {s.code: s for s in Sku.objects.filter(code__in=sku_codes)}
        self.table = routing_table(list(self.warehouses.values()))
        self.stock = stock.lock_stock({s.pk for s in self.skus.values()})
        self.rows_by_pk = {r.pk: r for r in self.stock.values()}
        self.available = {k: stock.info(r).available for k, r in self.stock.items()}
        self.deltas: dict[int, int] = defaultdict(int)
        self.new_orders: list[Order] = []
        self.dirty: set[tuple] = set()
        self.replaced: set[tuple] = set()
        self.transitions: list[tuple[Order, str, str, str]] = []
        self.new_holds: list[OrderHold] = []
        self.released_holds: list[OrderHold] = []
        self.shortfalls: list = []
        # new orders of this batch by ID-number hash / phone / address: history facts of the rules
        # must see them before they are in the database
        self.peers: dict[tuple[str, str], list[Order]] = defaultdict(list)
        self.review_context: dict | None = None
        self._infos: dict[tuple, tuple[Order, list, OrderInfo]] = {}  # see _info
        self._line_infos: dict[tuple, LineInfo] = {}  # see _line_info
        # What each order holds reserved right now: [(warehouse, {sku: qty})], one entry per warehouse
        # (several for a split order); kept in step with deltas.
        self.held: dict[tuple, list[tuple[str, dict[str, int]]]] = {
            k: holding(o, self.lines[k])
            for k, o in self.orders.items()
            if o.status in RESERVING and o.warehouse is not None
        }

    def _load_orders(self, keys: set[tuple[str, str]], skip_locked: bool) -> dict[tuple, Order]:
        ids_by_shop = defaultdict(set)
        for shop, cid in keys:
            ids_by_shop[shop].add(cid)
        # The warehouse is attached by id, not joined: when PostgreSQL hands over a row another
        # transaction changed while this one waited for the lock, joined columns are those of the row
        # before the change (no warehouse for an order just allocated), which would hide what it holds.
        warehouses = {w.pk: w for w in self.warehouses.values()}
        out = {}
        for shop, cids in ids_by_shop.items():
            qs = Order.objects.select_for_update(of=("self",), skip_locked=skip_locked).select_related("shop")
            for o in qs.filter(shop__code=shop, channel_order_id__in=cids).order_by("pk"):
                o.warehouse = warehouses.get(o.warehouse_id)
                out[(shop, o.channel_order_id)] = o
        return out

    # --- allocating -----------------------------------------------------------------------------

    def reallocate(self, key: tuple, reason: str) -> None:
        """Release and route again an order that is paid, allocated or backordered."""
        order = self.orders[key]
        if order.status not in REROUTABLE:
            return
        self._release(key, order)
        self._allocate(key, order, reason)
        self.dirty.add(key)

    def retry_allocation(self, key: tuple) -> bool:
        """Allocate a backordered order if some warehouse can now ship it; otherwise change nothing."""
        order = self.orders[key]
        needs = sku_needs(self.lines[key])
        _, parts = self._plan(key, order, needs)
        if order.status != S.BACKORDERED or parts is None:
            return False
        self._allocate(key, order, "补货后重新分配")
        self.dirty.add(key)
        return True

    def deallocate(self, key: tuple, reason: str) -> None:
        """Take the reservation back from an allocated order (stock counted lower than reserved)."""
        order = self.orders[key]
        self._release(key, order)
        order.warehouse = None
        self._move(order, S.BACKORDERED, reason)
        self.dirty.add(key)

    def _route(self, key: tuple, order: Order) -> str | None:
        """The preferred warehouse routing rules name (None: the region table decides)."""
        if self.review_context is None:
            self.review_context = prepare_review()  # once per batch: the current rules
        return route(self._info(key, order), self.review_context, order.flags)

    def _plan(
        self, key: tuple, order: Order, needs: dict[str, int]
    ) -> tuple[Allocation, list[tuple[str, dict[str, int]]] | None]:
        """Where the order would ship from: one warehouse, or (拆单, when none can ship it all and the
        shop allows splitting) the fewest warehouses of the plan, preferred first; None: backordered."""
        preferred = self._route(key, order)
        province = order.receiver_province or None
        choice = choose_warehouse(self.table, province, needs, self.available, preferred)
        if not choice.backordered:
            return choice, [(choice.warehouse, needs)]
        if not order.shop.allow_split or self.table.shortage_policy != NEXT_WAREHOUSE:
            return choice, None  # wait_for_transfer: the other warehouses are not asked
        candidates = self.table.candidates(province, preferred)
        available = {w: {sku: self.available.get((sku, w), 0) for sku in needs} for w in candidates}
        plan = plan_split(needs, available, candidates, choice.preferred)
        return choice, [(p.warehouse, dict(p.lines)) for p in plan] if plan else None

    def _allocate(self, key: tuple, order: Order, why: str | None) -> None:
        needs = sku_needs(self.lines[key])
        choice, parts = self._plan(key, order, needs)
        order.split = {}
        order.preferred_warehouse = self.warehouses.get(choice.preferred)
        for sf in choice.shortfalls:
            self.shortfalls.append(
                (self.skus[sf.sku], self.warehouses[sf.warehouse], sf.quantity, choice.warehouse)
            )
        if parts is None:
            order.warehouse = None
            short = "、".join(f"{s.sku}缺{s.quantity}" for s in choice.shortfalls)
            self._move(order, S.BACKORDERED, why or f"库存不足（{short}），等待补货/调拨")
            return
        self._reserve(key, order, parts)
        self._choose_carrier(key, order)
        if len(parts) > 1:
            order.split = {wh: n for wh, n in parts}
            detail = "拆单发货：" + " + ".join(
                f"{wh}（{'、'.join(f'{sku}×{q}' for sku, q in n.items())}）" for wh, n in parts
            )
        else:
            detail = f"分配至 {parts[0][0]}" + (
                f"（首选 {choice.preferred} 缺货）" if choice.shortfalls else ""
            )
        self._move(order, S.ALLOCATED, f"{why}，{detail}" if why else detail)

    def _reserve(self, key: tuple, order: Order, parts: list[tuple[str, dict[str, int]]]) -> None:
        """Reserve each warehouse's part; the order's warehouse is the first (the preferred one)."""
        for wh, n in parts:
            for sku, qty in n.items():
                self.deltas[self.stock[(sku, wh)].pk] += qty
                self.available[(sku, wh)] -= qty
        order.warehouse = self.warehouses[parts[0][0]]
        self.held[key] = parts

    def _choose_carrier(self, key: tuple, order: Order) -> None:
        """Carrier rules name the carrier of the allocated order (flag carrier:Y); a carrier a
        review rule already chose is kept."""
        flags = [f for f in order.flags or [] if not f.startswith(CARRIER_FLAG)]
        chosen = [f for f in order.flags or [] if f.startswith(CARRIER_FLAG)]
        if not chosen:
            code = choose_carrier(self._info(key, order), self.review_context)
            chosen = [CARRIER_FLAG + code] if code else []
        order.flags = sorted(flags + chosen)

    def _release(self, key: tuple, order: Order) -> None:
        """Give back whatever the order holds reserved, in each warehouse it holds stock in."""
        for wh, needs in self.held.pop(key, []):
            for sku, qty in needs.items():
                self.deltas[self.stock[(sku, wh)].pk] -= qty
                self.available[(sku, wh)] += qty
        order.split = {}

    def _info(self, key: tuple, order: Order) -> OrderInfo:
        """The order as the rules see it. Review, routing and the carrier rule ask for it in turn
        while one order is decided; it is built once per order and batch (the lines and peers do not
        change meanwhile) and only its warehouse brought up to date."""
        warehouse = order.warehouse.code if order.warehouse else None
        memo = self._infos.get(key)
        if memo is not None and memo[0] is order and memo[1] is self.lines[key]:
            info = memo[2]
            return info if info.warehouse == warehouse else _with_warehouse(info, warehouse)
        info = self._build_info(key, order)
        self._infos[key] = (order, self.lines[key], info)
        return info

    def _build_info(self, key: tuple, order: Order) -> OrderInfo:
        candidates = {
            id(o): o
            for attr in PEER_KEYS
            for o in self.peers.get((attr, getattr(order, attr)), ())
            if o is not order
        }
        peers = tuple(
            (o.id_number_hash, o.receiver_phone_hash, o.receiver_address_hash, o.placed_at)
            for o in candidates.values()
        )
        return OrderInfo(
            shop=order.shop.code, platform=order.shop.platform, channel_order_id=order.channel_order_id,
            placed_at=order.placed_at, paid_at=order.paid_at, ship_by=order.ship_by,
            province=order.receiver_province or None, address=order.receiver_address, phone=order.receiver_phone,
            buyer_vip=order.buyer_vip, id_number_hash=order.id_number_hash,
            lines=tuple(self._line_info(ln) for ln in self.lines[key]),
            freight=order.freight, discount=order.discount, paid_amount=order.paid_amount, presale=order.presale,
            region=self.table.province_region.get(order.receiver_province) or None, order_pk=order.pk,
            batch_peers=peers, warehouse=order.warehouse.code if order.warehouse else None,
        )  # fmt: skip

    def _line_info(self, ln: OrderLine) -> LineInfo:
        """A line as the rules see it; the same SKU, quantity and prices on many orders of a batch
        are one LineInfo (it is frozen)."""
        sku = ln.sku
        key = (sku.pk, ln.quantity, ln.unit_price, ln.promo_price, ln.paid_amount)
        info = self._line_infos.get(key)
        if info is None:
            info = self._line_infos[key] = LineInfo(
                sku.code, ln.quantity, ln.unit_price, ln.promo_price, ln.paid_amount, sku.cost_price,
                sku.presale, tuple(t for t in sku.tags.split(",") if t), sku.supply_date, sku.weight_g,
                sku.cold_chain,
            )  # fmt: skip
        return info

    def _move(self, order: Order, target: str, reason: str) -> None:
        current = order.status or None
        check(current, target)
        self.transitions.append((order, current or "", target, reason))
        order.status = target

    def _note(self, order: Order, reason: str) -> None:
        self.transitions.append((order, order.status, order.status, reason))

    def _active_holds(self, key: tuple) -> list[Hold]:
        order = self.orders[key]
        stored = [Hold(h.code, h.reason) for h in self.holds[key] if h not in self.released_holds]
        return stored + [Hold(h.code, h.reason) for h in self.new_holds if h.order is order]

    def _release_holds(self, key: tuple, why: str) -> None:
        order = self.orders[key]
        for h in self.holds[key]:
            h.released_at, h.released_by = self.now, f"{self.actor}: {why}"
            self.released_holds.append(h)
        self.new_holds = [h for h in self.new_holds if h.order is not order]

    # --- writing -------------------------------------------------------------------------------

    def flush(self) -> None:
        bulk.insert(self.new_orders)
        dirty = [self.orders[k] for k in self.dirty]
        if dirty:
            Order.objects.bulk_update(dirty, ORDER_FIELDS)
        created = {id(o) for o in self.new_orders}
        stale = [self.orders[k].pk for k in self.replaced if id(self.orders[k]) not in created]
        if stale:
            OrderLine.objects.filter(order_id__in=stale).delete()
        new_lines = []
        for key in self.replaced:
            order_id = self.orders[key].pk  # the order has its pk now
            for ln in self.lines[key]:
                ln.order_id = order_id
                new_lines.append(ln)
        bulk.insert(new_lines, ids=False)
        events = stock.change_reserved(self.rows_by_pk, self.deltas, "orders", self.actor)
        bulk.insert(
            [
                bulk.new(
                    OrderTransition,
                    order=o,
                    from_status=f,
                    to_status=t,
                    actor=self.actor,
                    reason=r[:400],
                    at=self.now,
                )
                for o, f, t, r in self.transitions
            ],
            ids=False,
        )
        for h in self.new_holds:
            h.order = h.order  # binds order_id now that the order has its pk
        bulk.insert(self.new_holds)
        if self.released_holds:
            OrderHold.objects.bulk_update(self.released_holds, ["released_at", "released_by"])
        if self.shortfalls:
            stock.raise_transfer_alerts(
                [
                    (sku, wh, qty, self.warehouses.get(src) if src else None)
                    for sku, wh, qty, src in self.shortfalls
                ],
                self.actor,
            )
        outbox.write([transition_event(o, f, t, r, self.actor) for o, f, t, r in self.transitions] + events)


def _with_warehouse(info: OrderInfo, warehouse: str | None) -> OrderInfo:
    """dataclasses.replace(info, warehouse=…) without its per-field work (OrderInfo is frozen and
    has no __post_init__: a copy of its fields is the same value)."""
    copy = object.__new__(OrderInfo)
    copy.__dict__.update(info.__dict__, warehouse=warehouse)
    return copy


def sku_needs(lines: list[OrderLine]) -> dict[str, int]:
    needs: dict[str, int] = defaultdict(int)
    for ln in lines:
        needs[ln.sku.code] += ln.quantity
    return dict(needs)


def holding(order: Order, lines: list[OrderLine]) -> list[tuple[str, dict[str, int]]]:
    """What a reserving order holds: its split per warehouse, or all its lines at its warehouse."""
    if order.split:
        return [(wh, {sku: int(q) for sku, q in n.items()}) for wh, n in order.split.items()]
    return [(order.warehouse.code, sku_needs(lines))]


def transition_event(order: Order, from_status: str, to_status: str, reason: str, actor: str):
    return outbox.event(
        "order.status_changed",
        key=f"order:{order.pk}",
        actor=actor,
        payload={
            "subject": f"order:{order.pk}",
            "order_id": order.pk,
            "shop": order.shop.code,
            "channel_order_id": order.channel_order_id,
            "from": from_status,
            "to": to_status,
            "warehouse": order.warehouse.code if order.warehouse else None,
            "reason": reason,
            "summary": f"{order.shop.code}/{order.channel_order_id}: {from_status or '新建'} → {to_status} {reason}",
        },
    )
