"""Intake: create or update orders idempotently, review, route and reserve, in one transaction per
call (a call may carry one order from the API or a batch from an import)."""

import time
from dataclasses import dataclass
from decimal import Decimal

from zhongshu.catalog.models import Sku
from zhongshu.core import bulk
from zhongshu.core.metrics import record_intake
from zhongshu.core.pii import id_number_hash, mask_id_number
from zhongshu.orders.batch import PEER_KEYS, Batch, atomic_with_retry
from zhongshu.orders.models import Order, OrderHold, OrderLine
from zhongshu.orders.review import Hold, review
from zhongshu.orders.review import prepare as prepare_review
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.states import REROUTABLE, OrderStatus
from zhongshu.routing.address import resolve_province
from zhongshu.shops.models import Shop

S = OrderStatus

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


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
    return reference_errors(
        payloads, shops, set(Sku.objects.filter(code__in=codes).values_list("code", flat=True))
    )


def reference_errors(payloads: list[OrderIn], shops: set[str], skus: set[str]) -> dict[int, list[dict]]:
    """The payloads naming a shop not in `shops` or a SKU not in `skus`, as check_references."""
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
        batch = IntakeBatch.for_payloads(payloads, actor)
        errors = reference_errors(payloads, set(batch.shops), set(batch.skus))
        if errors:
            raise ReferenceErrors(errors)  # rolls the transaction back: nothing written
        results = [batch.process(p) for p in payloads]
        batch.flush()
        return results

    started = time.perf_counter()
    results = atomic_with_retry(run)
    record_intake(results, time.perf_counter() - started)  # /metrics
    return results


class IntakeBatch(Batch):
    """A batch that takes in orders from a channel: upsert, follow the channel's status, review."""

    @classmethod
    def for_payloads(cls, payloads: list[OrderIn], actor: str) -> "IntakeBatch":
        keys = {(p.shop, p.channel_order_id) for p in payloads}
        return cls(keys, {ln.sku for p in payloads for ln in p.lines}, actor)

    def process(self, p: OrderIn) -> IntakeResult:
        key = (p.shop, p.channel_order_id)
        order = self.orders.get(key)
        if order is not None and p.updated_at <= order.channel_updated_at:
            return IntakeResult(order, UNCHANGED, self._active_holds(key))
        is_new = order is None
        if is_new:
            order = bulk.new(Order, shop=self.shops[p.shop], channel_order_id=p.channel_order_id, flags=[])
            self.orders[key] = order
            self.new_orders.append(order)
        before = _fingerprint(order, self.lines[key]) if not is_new else None
        self._infos.pop(key, None)  # the payload changes what the rules see
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

    def _hold(self, key: tuple, order: Order, holds: list[Hold]) -> None:
        order.warehouse = None
        for h in holds:
            self.new_holds.append(
                bulk.new(OrderHold, order=order, code=h.code, reason=h.reason, created_at=self.now)
            )
        self._move(order, S.ON_HOLD, "；".join(f"[{h.code}] {h.reason}" for h in holds))

    def _only_refund_hold(self, key: tuple) -> bool:
        return {h.code for h in self._active_holds(key)} == {"refund_requested"}

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
            bulk.new(
                OrderLine, sku=self.skus[ln.sku], title=ln.title or self.skus[ln.sku].title, quantity=ln.quantity,
                unit_price=ln.unit_price, promo_price=ln.promo_price, paid_amount=ln.paid_amount,
            )
            for ln in p.lines
        ]  # fmt: skip

    def _set_lines(self, key: tuple, order: Order, p: OrderIn, replace: bool) -> None:
        if not replace:
            return
        self.lines[key] = self._payload_lines(p)
        self.replaced.add(key)


def _fingerprint(order: Order, lines: list[OrderLine]) -> tuple:
    receiver = (order.receiver_name, order.receiver_phone, order.receiver_province, order.receiver_city,
                order.receiver_district, order.receiver_address)  # fmt: skip
    return receiver, tuple((ln.sku.code, ln.quantity) for ln in lines)
