"""The exception queue's decisions: people approve, edit then approve, or cancel held orders."""

from dataclasses import dataclass

from zhongshu.orders.batch import Batch, atomic_with_retry, sku_needs
from zhongshu.orders.models import Order, OrderLine
from zhongshu.orders.states import OrderStatus
from zhongshu.routing.address import resolve_province

S = OrderStatus

REFUND_HOLD = "refund_requested"
# Delivery problems reported by the tracking service (疑难, 退签, 退回, 拒签): holds with this code prefix
# on orders that already left (shipped/delivered). They are listed in the exception queue though the
# order is not on hold; approving one marks the problem handled (the order's status stays).
DELIVERY_HOLD_PREFIX = "tracking/"
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

    def step(batch: "DecisionBatch", key: tuple) -> str | None:
        refused = batch._not_decidable(key) or batch.edit(key, change)
        return refused or batch.approve(key, note, change.warehouse, EDITED_MARK)

    return _decide([order_id], actor, set((change.skus or {}).values()), step, all_or_nothing=True)


class DecisionRefused(ValueError):
    """An all-or-nothing decision that could not be made; nothing was written."""


def _decide(
    order_ids: list[int],
    actor: str,
    sku_codes: set[str],
    step,
    all_or_nothing: bool = False,
    batch_class: type["DecisionBatch"] | None = None,
) -> Decisions:
    rows = Order.objects.filter(pk__in=order_ids).values_list("pk", "shop__code", "channel_order_id")
    keys = {pk: (shop, cid) for pk, shop, cid in rows}
    skipped = {pk: "订单不存在" for pk in order_ids if pk not in keys}

    def run() -> Decisions:
        batch = (batch_class or DecisionBatch)(set(keys.values()), sku_codes, actor[:100])
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

    return atomic_with_retry(run)


class DecisionBatch(Batch):
    """A batch in which people decide on held orders."""

    def approve(self, key: tuple, why: str = "", warehouse: str | None = None, mark: str = "") -> str | None:
        """Release the holds of an on-hold order, then route and reserve it as intake would (or at a
        warehouse a person chose). None when done, else why it was left alone (approving twice
        changes nothing)."""
        order = self.orders[key]
        if order.status != S.ON_HOLD and self._delivery_problems(key) and not warehouse:
            self._release_holds(key, mark or APPROVED_MARK)
            return None
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

    def _delivery_problems(self, key: tuple) -> bool:
        holds = self._active_holds(key)
        return bool(holds) and all(h.code.startswith(DELIVERY_HOLD_PREFIX) for h in holds)

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
            for sku, qty in sku_needs(self.lines[key]).items()
            if self.available.get((sku, warehouse), 0) < qty
        ]
        return f"仓库 {warehouse} 库存不足（{'、'.join(short)}）" if short else None

    def _allocate_at(self, key: tuple, order: Order, warehouse: str) -> None:
        """Reserve at the warehouse a person chose (checked by _cannot_ship_from first)."""
        needs = sku_needs(self.lines[key])
        for sku, qty in needs.items():
            self.deltas[self.stock[(sku, warehouse)].pk] += qty
            self.available[(sku, warehouse)] -= qty
        order.warehouse, order.split = self.warehouses[warehouse], {}
        self.held[key] = [(warehouse, needs)]
        self._move(order, S.ALLOCATED, f"人工指定发货仓 {warehouse}")
