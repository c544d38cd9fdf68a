"""Order use cases. Intake: create or update orders idempotently, review, route and reserve, in one
transaction per call (a call may carry one order from the API or a batch from an import)."""

import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone

from zhongshu.catalog.models import Sku
from zhongshu.channels.models import Shop
from zhongshu.core import bulk, outbox
from zhongshu.core.pii import id_number_hash, mask_id_number
from zhongshu.inventory import services as stock
from zhongshu.inventory.domain import StockInfo
from zhongshu.inventory.models import StockLevel, Warehouse
from zhongshu.orders.models import Order, OrderHold, OrderLine, OrderTransition
from zhongshu.orders.review import Hold, LineInfo, OrderInfo, review, route
from zhongshu.orders.review import carrier as choose_carrier
from zhongshu.orders.review import prepare as prepare_review
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.states import REROUTABLE, RESERVING, OrderStatus, check
from zhongshu.routing.address import resolve_province
from zhongshu.routing.domain import choose_warehouse
from zhongshu.routing.selectors import routing_table

log = logging.getLogger(__name__)
S = OrderStatus

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
PEER_KEYS = ("id_number_hash", "receiver_phone_hash", "receiver_address_hash")  # blind indexes
CARRIER_FLAG = "carrier:"
ORDER_FIELDS = [
    "status", "channel_status", "warehouse", "preferred_warehouse", "placed_at", "paid_at", "channel_updated_at",
    "ship_by", "scheduled_delivery", "buyer_ref", "buyer_nick", "buyer_vip", "id_number_hash", "id_number_masked",
    "receiver_name", "receiver_phone", "receiver_province", "receiver_city", "receiver_district",
    "receiver_address", "lines_amount", "freight", "discount", "paid_amount", "presale", "remark", "flags",
    "updated_at",
]  # fmt: skip


@dataclass
class IntakeResult:
    order: Order
    outcome: str
    holds: list[Hold]


class ReferenceErrors(ValueError):
    """Orders that name a shop or SKU the hub does not know; errors per payload index."""

    def __init__(self, errors: dict[int, list[dict]]):
        super().__init__(f"{len(errors)} order(s) reference unknown shops or SKUs")
        self.errors = errors


def check_references(payloads: list[OrderIn]) -> dict[int, list[dict]]:
    """Unknown shop codes and SKU codes, per payload index, as [{loc, field, msg}]."""
    shops = set(
        Shop.objects.filter(code__in={p.shop for p in payloads}, active=True).values_list("code", flat=True)
    )
    codes = {ln.sku for p in payloads for ln in p.lines}
    return _reference_errors(
        payloads, shops, set(Sku.objects.filter(code__in=codes).values_list("code", flat=True))
    )


def _reference_errors(payloads: list[OrderIn], shops: set[str], skus: set[str]) -> dict[int, list[dict]]:
    errors: dict[int, list[dict]] = {}
    for i, p in enumerate(payloads):
        errs = (
            [] if p.shop in shops else [{"loc": ["shop"], "field": "shop", "msg": f"unknown shop '{p.shop}'"}]
        )
        errs += [
            {"loc": ["lines", n, "sku"], "field": f"lines[{n}].sku", "msg": f"unknown SKU '{ln.sku}'"}
            for n, ln in enumerate(p.lines)
            if ln.sku not in skus
        ]
        if errs:
            errors[i] = errs
    return errors


def intake(payloads: list[OrderIn], actor: str) -> list[IntakeResult]:
    """Upsert orders by (shop, channel_order_id) and updated_at; review, route, reserve; one transaction.

    Raises ReferenceErrors (nothing written) when any payload names an unknown shop or SKU.
    """

    def run() -> list[IntakeResult]:
        batch = _Batch.for_payloads(payloads, actor)
        errors = _reference_errors(payloads, set(batch.shops), set(batch.skus))
        if errors:
            raise ReferenceErrors(errors)  # rolls the transaction back: nothing written
        results = [batch.process(p) for p in payloads]
        batch.flush()
        return results

    return _atomic_with_retry(run)


def retry_backorders(sku_codes: set[str], actor: str = "system", limit: int = 500) -> int:
    """Allocate backordered orders that hold these SKUs, oldest payment first; returns how many."""
    keys = list(
        Order.objects.filter(status=S.BACKORDERED, lines__sku__code__in=sku_codes)
        .order_by("paid_at", "id")
        .values_list("shop__code", "channel_order_id")
        .distinct()[:limit]
    )
    if not keys:
        return 0

    def run() -> int:
        batch = _Batch(set(keys), set(sku_codes), actor)
        done = sum(batch.retry_allocation(k) for k in keys if k in batch.orders)
        batch.flush()
        return done

    return _atomic_with_retry(run)


REFUND_HOLD = "refund_requested"
# Written into OrderHold.released_by after the actor: the exception queue's monthly figures read them.
APPROVED_MARK, EDITED_MARK, CANCELLED_MARK = "人工放行", "修改后放行", "人工取消"


@dataclass
class OrderEdit:
    """A person's change to a held order: receiver address (province, city, district, address),
    line SKU swaps {line id: SKU code}, and a warehouse to ship from (else routing decides)."""

    address: dict | None = None
    skus: dict[int, str] | None = None
    warehouse: str | None = None


@dataclass
class Decisions:
    """Order ids decided, and those left alone with the reason."""

    done: list[int]
    skipped: dict[int, str]


def approve_orders(order_ids: list[int], actor: str, note: str = "") -> Decisions:
    """Release the holds of these on-hold orders and route and reserve them as intake would."""
    return _decide(order_ids, actor, set(), lambda b, k: b.approve(k, note))


def cancel_orders(order_ids: list[int], actor: str, reason: str) -> Decisions:
    """Cancel these on-hold orders after review (they hold no stock: nothing is released)."""
    return _decide(order_ids, actor, set(), lambda b, k: b.cancel(k, reason))


def edit_and_approve(order_id: int, change: OrderEdit, actor: str, note: str = "") -> Decisions:
    """Edit a held order (address, SKUs, warehouse), then approve it; all or nothing."""

    def step(batch: "_Batch", key: tuple) -> str | None:
        refused = batch._not_decidable(key) or batch.edit(key, change)
        return refused or batch.approve(key, note, change.warehouse, EDITED_MARK)

    return _decide([order_id], actor, set((change.skus or {}).values()), step, all_or_nothing=True)


class DecisionRefused(ValueError):
    """An all-or-nothing decision that could not be made; nothing was written."""


def _decide(
    order_ids: list[int], actor: str, sku_codes: set[str], step, all_or_nothing: bool = False
) -> Decisions:
    rows = Order.objects.filter(pk__in=order_ids).values_list("pk", "shop__code", "channel_order_id")
    keys = {pk: (shop, cid) for pk, shop, cid in rows}
    skipped = {pk: "订单不存在" for pk in order_ids if pk not in keys}

    def run() -> Decisions:
        batch = _Batch(set(keys.values()), sku_codes, actor[:100])
        done, left = [], dict(skipped)
        for pk in sorted(keys):
            why = step(batch, keys[pk]) if keys[pk] in batch.orders else "订单不存在"
            if why and all_or_nothing:
                raise DecisionRefused(why)  # rolls back whatever step changed
            if why is None:
                done.append(pk)
            else:
                left[pk] = why
        batch.flush()
        return Decisions(done, left)

    return _atomic_with_retry(run)


def stocktake(
    sku: Sku, warehouse: Warehouse, physical: int, in_transit: int, coefficient: Decimal, actor: str
) -> None:
    """Set counted stock. When it falls below what is reserved, the newest allocated orders are
    moved back to backordered until the reservations fit; when it rises, backorders are retried
    (by the stock.changed consumer)."""
    supply = StockInfo(sku.code, warehouse.code, physical, 0, in_transit, coefficient).supply
    victims = list(
        Order.objects.filter(status=S.ALLOCATED, warehouse=warehouse, lines__sku=sku)
        .order_by("-paid_at", "-id")
        .values_list("shop__code", "channel_order_id")
        .distinct()
    )

    def run() -> None:
        row = StockLevel.objects.filter(sku=sku, warehouse=warehouse).first()
        if row is not None and row.reserved > supply:
            batch = _Batch(set(victims), {sku.code}, actor)
            excess = batch.stock[(sku.code, warehouse.code)].reserved - supply
            for key in victims:
                if excess <= 0:
                    break
                if key in batch.orders and batch.orders[key].status == S.ALLOCATED:
                    excess -= batch.held.get(key, ("", {}))[1].get(sku.code, 0)
                    batch.deallocate(key, f"盘点后 {sku.code}@{warehouse.code} 库存不足，释放锁库")
            batch.flush()
        stock.set_stock(sku, warehouse, physical, in_transit, coefficient, actor)

    _atomic_with_retry(run)


def _atomic_with_retry(fn, attempts: int = 5):
    for attempt in range(attempts):
        try:
            with transaction.atomic():
                return fn()
        except (IntegrityError, OperationalError) as exc:
            # A concurrent intake created the same order, or PostgreSQL broke a deadlock: start over;
            # the next attempt sees the other transaction's rows.
            if attempt == attempts - 1 or not _retryable(exc):
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


def _retryable(exc: Exception) -> bool:
    text = str(exc).lower()
    return (
        "order_unique_per_shop" in text
        or "unique" in text
        or "deadlock" in text
        or "could not serialize" in text
    )


class _Batch:
    """The state of one intake transaction: loaded rows, in-memory decisions, then one flush."""

    def __init__(self, keys: set[tuple[str, str]], sku_codes: set[str], actor: str):
        self.actor = actor
        self.now = timezone.now()
        self.shops = {s.code: s for s in Shop.objects.filter(code__in={k[0] for k in keys}, active=True)}
        self.orders = self._load_orders(keys)
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
        self.warehouses = {w.code: w for w in Warehouse.objects.all()}
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
        # What each order holds reserved right now: (warehouse, {sku: qty}); kept in step with deltas.
        self.held: dict[tuple, tuple[str, dict[str, int]]] = {
            k: (o.warehouse.code, _needs(self.lines[k]))
            for k, o in self.orders.items()
            if o.status in RESERVING and o.warehouse is not None
        }

    @classmethod
    def for_payloads(cls, payloads: list[OrderIn], actor: str) -> "_Batch":
        keys = {(p.shop, p.channel_order_id) for p in payloads}
        return cls(keys, {ln.sku for p in payloads for ln in p.lines}, actor)

    def _load_orders(self, keys: set[tuple[str, str]]) -> dict[tuple, Order]:
        ids_by_shop = defaultdict(set)
        for shop, cid in keys:
            ids_by_shop[shop].add(cid)
        out = {}
        for shop, cids in ids_by_shop.items():
            qs = Order.objects.select_for_update(of=("self",)).select_related("shop", "warehouse")
            for o in qs.filter(shop__code=shop, channel_order_id__in=cids).order_by("pk"):
                out[(shop, o.channel_order_id)] = o
        return out

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
        needs = _needs(self.lines[key])
        choice = choose_warehouse(
            self.table, order.receiver_province or None, needs, self.available, self._route(key, order)
        )
        if order.status != S.BACKORDERED or choice.backordered:
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

    # --- deciding ------------------------------------------------------------------------------

    def process(self, p: OrderIn) -> IntakeResult:
        key = (p.shop, p.channel_order_id)
        order = self.orders.get(key)
        if order is not None and p.updated_at <= order.channel_updated_at:
            return IntakeResult(order, UNCHANGED, self._active_holds(key))
        is_new = order is None
        if is_new:
            order = Order(shop=self.shops[p.shop], channel_order_id=p.channel_order_id, flags=[])
            self.orders[key] = order
            self.new_orders.append(order)
        before = _fingerprint(order, self.lines[key]) if not is_new else None
        self._apply(order, p)
        if is_new:
            self._index_peer(order)
        moved = not is_new and _fingerprint(order, self._payload_lines(p)) != before
        self._set_lines(key, order, p, is_new or moved)
        self._follow_channel(key, order, p, moved)
        if not is_new:
            self.dirty.add(key)
        return IntakeResult(order, CREATED if is_new else UPDATED, self._active_holds(key))

    def _follow_channel(self, key: tuple, order: Order, p: OrderIn, moved: bool) -> None:
        cur = order.status or None
        if cur in (S.SHIPPED, S.DELIVERED, S.COMPLETED):
            if p.status in ("refund_requested", "refunded"):
                self._note(order, f"平台状态 {p.status}（已发货，转售后处理）")
            return
        if cur == S.CANCELLED:
            return
        if p.status in ("cancelled", "refunded"):
            self._release(key, order)
            self._move(order, S.CANCELLED, f"平台{'退款' if p.status == 'refunded' else '取消'}")
        elif p.status == "refund_requested":
            self._release(key, order)
            self._hold(key, order, [Hold("refund_requested", "买家申请退款，暂停发货")])
        elif p.status == "pending_payment" and cur in (None, S.PENDING_PAYMENT):
            if cur is None:
                self._move(order, S.PENDING_PAYMENT, "下单")
        elif cur in (None, S.PENDING_PAYMENT):
            self._move(order, S.PAID, "付款" if cur else "接单（已付款）")
            self._review_and_allocate(key, order)
        elif cur == S.ON_HOLD and p.status == "paid" and self._only_refund_hold(key):
            self._release_holds(key, "平台撤销退款")
            self._move(order, S.PAID, "退款撤销，恢复处理")
            self._review_and_allocate(key, order)
        elif moved and cur in REROUTABLE:
            self._release(key, order)
            self._allocate(key, order, "收货地址或商品变更，重新路由")
        elif moved:
            self._note(order, "收货地址或商品变更（已进入拣货，未重新路由）")

    def _review_and_allocate(self, key: tuple, order: Order) -> None:
        if self.review_context is None:
            self.review_context = prepare_review()  # once per batch: the current rules
        result = review(self._info(key, order), self.review_context)
        order.flags = sorted(set(order.flags or []) | set(result.flags))
        if result.holds:
            self._hold(key, order, result.holds)
        else:
            self._allocate(key, order, None)

    def _route(self, key: tuple, order: Order) -> str | None:
        """The preferred warehouse routing rules name (None: the region table decides)."""
        if self.review_context is None:
            self.review_context = prepare_review()  # once per batch: the current rules
        return route(self._info(key, order), self.review_context, order.flags)

    def _allocate(self, key: tuple, order: Order, why: str | None) -> None:
        needs = _needs(self.lines[key])
        preferred = self._route(key, order)
        choice = choose_warehouse(
            self.table, order.receiver_province or None, needs, self.available, preferred
        )
        order.preferred_warehouse = self.warehouses.get(choice.preferred)
        for sf in choice.shortfalls:
            self.shortfalls.append(
                (self.skus[sf.sku], self.warehouses[sf.warehouse], sf.quantity, choice.warehouse)
            )
        if choice.backordered:
            order.warehouse = None
            short = "、".join(f"{s.sku}缺{s.quantity}" for s in choice.shortfalls)
            self._move(order, S.BACKORDERED, why or f"库存不足（{short}），等待补货/调拨")
            return
        order.warehouse = self.warehouses[choice.warehouse]
        for sku, qty in needs.items():
            row = self.stock[(sku, choice.warehouse)]
            self.deltas[row.pk] += qty
            self.available[(sku, choice.warehouse)] -= qty
        self.held[key] = (choice.warehouse, needs)
        self._choose_carrier(key, order)
        detail = f"分配至 {choice.warehouse}" + (
            f"（首选 {choice.preferred} 缺货）" if choice.shortfalls else ""
        )
        self._move(order, S.ALLOCATED, f"{why}，{detail}" if why else detail)

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
        """Give back whatever the order holds reserved."""
        wh, needs = self.held.pop(key, ("", {}))
        for sku, qty in needs.items():
            self.deltas[self.stock[(sku, wh)].pk] -= qty
            self.available[(sku, wh)] += qty

    # --- helpers -------------------------------------------------------------------------------

    def _apply(self, order: Order, p: OrderIn) -> None:
        r, b = p.receiver, p.buyer
        order.channel_status = p.status
        order.placed_at, order.paid_at, order.channel_updated_at = p.created_at, p.paid_at, p.updated_at
        order.ship_by, order.scheduled_delivery = p.ship_by, p.scheduled_delivery
        order.buyer_ref, order.buyer_nick = (b.id or "") if b else "", (b.nick or "") if b else ""
        order.buyer_vip = bool(b and b.vip)
        if b and b.id_number:
            order.id_number_hash, order.id_number_masked = (
                id_number_hash(b.id_number),
                mask_id_number(b.id_number),
            )
        order.receiver_name, order.receiver_phone, order.receiver_address = r.name, r.phone, r.address
        order.index_receiver()  # the blind indexes: batch peers are compared by them
        order.receiver_province = resolve_province(r.province, r.city, r.district, r.address) or ""
        order.receiver_city, order.receiver_district = r.city or "", r.district or ""
        order.lines_amount = sum((ln.paid_amount for ln in p.lines), start=Decimal("0.00"))
        order.freight, order.discount, order.paid_amount = p.freight, p.discount, p.paid_amount
        order.presale = p.presale or any(self.skus[ln.sku].presale for ln in p.lines)
        order.remark = p.remark or ""
        order.updated_at = self.now

    def _index_peer(self, order: Order) -> None:
        for attr in PEER_KEYS:
            if getattr(order, attr):
                self.peers[(attr, getattr(order, attr))].append(order)

    def _payload_lines(self, p: OrderIn) -> list[OrderLine]:
        return [
            OrderLine(
                sku=self.skus[ln.sku], title=ln.title or self.skus[ln.sku].title, quantity=ln.quantity,
                unit_price=ln.unit_price, promo_price=ln.promo_price, paid_amount=ln.paid_amount,
            )
            for ln in p.lines
        ]  # fmt: skip

    def _set_lines(self, key: tuple, order: Order, p: OrderIn, replace: bool) -> None:
        if not replace:
            return
        self.lines[key] = self._payload_lines(p)
        self.replaced.add(key)

    def _info(self, key: tuple, order: Order) -> OrderInfo:
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
            lines=tuple(
                LineInfo(ln.sku.code, ln.quantity, ln.unit_price, ln.promo_price, ln.paid_amount,
                         ln.sku.cost_price, ln.sku.presale, tuple(t for t in ln.sku.tags.split(",") if t),
                         ln.sku.supply_date, ln.sku.weight_g, ln.sku.cold_chain)
                for ln in self.lines[key]
            ),
            freight=order.freight, discount=order.discount, paid_amount=order.paid_amount, presale=order.presale,
            region=self.table.province_region.get(order.receiver_province) or None, order_pk=order.pk,
            batch_peers=peers, warehouse=order.warehouse.code if order.warehouse else None,
        )  # fmt: skip

    def _move(self, order: Order, target: str, reason: str) -> None:
        current = order.status or None
        check(current, target)
        self.transitions.append((order, current or "", target, reason))
        order.status = target

    def _note(self, order: Order, reason: str) -> None:
        self.transitions.append((order, order.status, order.status, reason))

    def _hold(self, key: tuple, order: Order, holds: list[Hold]) -> None:
        order.warehouse = None
        for h in holds:
            self.new_holds.append(OrderHold(order=order, code=h.code, reason=h.reason, created_at=self.now))
        self._move(order, S.ON_HOLD, "；".join(f"[{h.code}] {h.reason}" for h in holds))

    def _active_holds(self, key: tuple) -> list[Hold]:
        order = self.orders[key]
        stored = [Hold(h.code, h.reason) for h in self.holds[key] if h not in self.released_holds]
        return stored + [Hold(h.code, h.reason) for h in self.new_holds if h.order is order]

    def _only_refund_hold(self, key: tuple) -> bool:
        return {h.code for h in self._active_holds(key)} == {"refund_requested"}

    def _release_holds(self, key: tuple, why: str) -> None:
        order = self.orders[key]
        for h in self.holds[key]:
            h.released_at, h.released_by = self.now, f"{self.actor}: {why}"
            self.released_holds.append(h)
        self.new_holds = [h for h in self.new_holds if h.order is not order]

    # --- exception queue: people decide on held orders --------------------------------------------

    def approve(self, key: tuple, why: str = "", warehouse: str | None = None, mark: str = "") -> str | None:
        """Release the holds of an on-hold order, then route and reserve it as intake would (or at a
        warehouse a person chose). None when done, else why it was left alone (approving twice
        changes nothing)."""
        order = self.orders[key]
        refused = self._not_decidable(key) or (warehouse and self._cannot_ship_from(key, warehouse))
        if refused:
            return refused
        self._release_holds(key, mark or APPROVED_MARK)
        self._move(order, S.PAID, f"{mark or APPROVED_MARK}：{why}" if why else (mark or APPROVED_MARK))
        if warehouse:
            self._allocate_at(key, order, warehouse)
        else:
            self._allocate(key, order, None)
        self.dirty.add(key)
        return None

    def cancel(self, key: tuple, why: str) -> str | None:
        """Cancel an on-hold order after review; it holds no reservation, so nothing is given back."""
        order = self.orders[key]
        if order.status != S.ON_HOLD:
            return f"状态为 {order.get_status_display()}，不在异常队列"
        self._release_holds(key, CANCELLED_MARK)
        self._release(key, order)  # on_hold reserves nothing: a no-op kept so cancel never double-releases
        self._move(order, S.CANCELLED, f"{CANCELLED_MARK}：{why}" if why else CANCELLED_MARK)
        self.dirty.add(key)
        return None

    def edit(self, key: tuple, change: "OrderEdit") -> str | None:
        """Change the address (province parsed again) and/or swap line SKUs of an on-hold order."""
        order = self.orders[key]
        if order.status != S.ON_HOLD:
            return f"状态为 {order.get_status_display()}，不在异常队列"
        if change.address is not None:
            self._edit_address(order, change.address)
        if change.skus:
            missing = self._swap_skus(key, order, change.skus)
            if missing:
                return missing
        self.dirty.add(key)
        return None

    def _edit_address(self, order: Order, a: dict) -> None:
        before = order.receiver_province or "未识别"
        order.receiver_address = a.get("address") or order.receiver_address
        order.receiver_city, order.receiver_district = a.get("city") or "", a.get("district") or ""
        order.receiver_province = (
            resolve_province(a.get("province"), a.get("city"), a.get("district"), order.receiver_address)
            or ""
        )
        after = order.receiver_province or "未识别"
        self._note(
            order, f"人工修改收货地址（省份 {before} → {after}）"
        )  # no address text: audit is PII-free

    def _swap_skus(self, key: tuple, order: Order, skus: dict[int, str]) -> str | None:
        lines = self.lines[key]
        if set(skus) - {ln.pk for ln in lines}:
            return "订单行不属于该订单"
        if any(code not in self.skus for code in skus.values()):
            return "未知的商品编码"
        swapped = []
        for ln in lines:
            sku = self.skus[skus[ln.pk]] if ln.pk in skus else ln.sku
            if sku != ln.sku:
                self._note(order, f"人工换货 {ln.sku.code} → {sku.code}")
            title = ln.title if sku == ln.sku else sku.title
            swapped.append(
                OrderLine(sku=sku, title=title, quantity=ln.quantity, unit_price=ln.unit_price,
                          promo_price=ln.promo_price, paid_amount=ln.paid_amount)
            )  # fmt: skip
        self.lines[key] = swapped
        self.replaced.add(key)
        order.presale = any(ln.sku.presale for ln in swapped)
        return None

    def _not_decidable(self, key: tuple) -> str | None:
        order = self.orders[key]
        if order.status != S.ON_HOLD:
            return f"状态为 {order.get_status_display()}，不在异常队列"
        if any(h.code == REFUND_HOLD for h in self._active_holds(key)):
            return "买家申请退款中，等待平台结果（不可放行）"
        return None

    def _cannot_ship_from(self, key: tuple, warehouse: str) -> str | None:
        wh = self.warehouses.get(warehouse)
        if wh is None or not wh.active:
            return f"仓库 {warehouse} 不存在或已停用"
        short = [
            f"{sku}缺{qty - self.available.get((sku, warehouse), 0)}"
            for sku, qty in _needs(self.lines[key]).items()
            if self.available.get((sku, warehouse), 0) < qty
        ]
        return f"仓库 {warehouse} 库存不足（{'、'.join(short)}）" if short else None

    def _allocate_at(self, key: tuple, order: Order, warehouse: str) -> None:
        """Reserve at the warehouse a person chose (checked by _cannot_ship_from first)."""
        needs = _needs(self.lines[key])
        for sku, qty in needs.items():
            self.deltas[self.stock[(sku, warehouse)].pk] += qty
            self.available[(sku, warehouse)] -= qty
        order.warehouse = self.warehouses[warehouse]
        self.held[key] = (warehouse, needs)
        self._move(order, S.ALLOCATED, f"人工指定发货仓 {warehouse}")

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
            for ln in self.lines[key]:
                ln.order = self.orders[key]  # binds order_id now that the order has its pk
                new_lines.append(ln)
        bulk.insert(new_lines)
        events = stock.change_reserved(self.rows_by_pk, self.deltas, "orders", self.actor)
        bulk.insert(
            [
                OrderTransition(
                    order=o, from_status=f, to_status=t, actor=self.actor, reason=r[:400], at=self.now
                )
                for o, f, t, r in self.transitions
            ]
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


def _needs(lines: list[OrderLine]) -> dict[str, int]:
    needs: dict[str, int] = defaultdict(int)
    for ln in lines:
        needs[ln.sku.code] += ln.quantity
    return dict(needs)


def _fingerprint(order: Order, lines: list[OrderLine]) -> tuple:
    receiver = (order.receiver_name, order.receiver_phone, order.receiver_province, order.receiver_city,
                order.receiver_district, order.receiver_address)  # fmt: skip
    return receiver, tuple((ln.sku.code, ln.quantity) for ln in lines)


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
