"""Handling orders from the workbench (订单工作台): hold with a reason, cancel (stock released), ship
from another warehouse (re-reserve), correct the receiver (re-route), a staff note and tags.

Release of a hold is the exception queue's approve_orders. Each use case is one transaction through
the shared Batch machinery (orders/batch.py): rows locked in pk order, reservations changed in
memory, one flush; every change is an OrderTransition (a status change, or a note on the same status)
and an `order.status_changed` outbox event, so the audit timeline shows who did what and why. Audit
texts carry no personal data (the receiver's name, phone and address are never written into them).
"""

from dataclasses import dataclass

from zhongshu.core.pii import scrub
from zhongshu.orders.decisions import DecisionBatch, DecisionRefused, Decisions, _decide
from zhongshu.orders.models import OrderHold
from zhongshu.orders.states import REROUTABLE, OrderStatus

S = OrderStatus

MANUAL_HOLD = "manual_hold"  # the hold code of a hold placed by a person in the workbench
# Statuses an order can be stopped or cancelled in by hand (the state machine has the edges).
HOLDABLE = frozenset({S.PENDING_PAYMENT, S.PAID, S.ALLOCATED, S.BACKORDERED, S.PICKING, S.PACKED, S.ON_HOLD})
CANCELLABLE = HOLDABLE
# The receiver can be corrected until picking starts; a held order stays held (its reviewer approves).
RECEIVER_EDITABLE = REROUTABLE | {S.PENDING_PAYMENT, S.ON_HOLD}
MAX_TAGS, MAX_TAG = 10, 20


@dataclass
class ReceiverEdit:
    """A person's correction of the receiver; None leaves a field as it is."""

    name: str | None = None
    phone: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    address: str | None = None


def hold_orders(order_ids: list[int], actor: str, reason: str, code: str = MANUAL_HOLD) -> Decisions:
    """Stop these orders with a reason (they go to the exception queue); a reservation is given back."""
    if not reason.strip():
        raise DecisionRefused("挂起需要填写原因")
    return _decide(
        order_ids, actor, set(), lambda b, k: b.hold(k, code, reason.strip()), batch_class=HandlingBatch
    )


def cancel_any_orders(order_ids: list[int], actor: str, reason: str) -> Decisions:
    """Cancel these orders in whatever status before shipping; their reservation is given back and
    their holds released (the floor intercepts packages on the status change)."""
    if not reason.strip():
        raise DecisionRefused("取消订单需要填写原因")
    return _decide(
        order_ids, actor, set(), lambda b, k: b.cancel_any(k, reason.strip()), batch_class=HandlingBatch
    )


def change_warehouse(order_ids: list[int], actor: str, warehouse: str) -> Decisions:
    """Ship these orders (paid, allocated or backordered) from `warehouse`: the old reservation is
    given back and the whole order reserved there; an order the warehouse cannot ship keeps its own."""
    return _decide(order_ids, actor, set(), lambda b, k: b.move_to(k, warehouse), batch_class=HandlingBatch)


def edit_receiver(order_id: int, change: ReceiverEdit, actor: str) -> Decisions:
    """Correct the receiver of one order before picking; a paid, allocated or backordered order is
    routed and reserved again (the province may have changed). All or nothing."""
    return _decide(
        [order_id], actor, set(), lambda b, k: b.edit_receiver(k, change), all_or_nothing=True,
        batch_class=HandlingBatch,
    )  # fmt: skip


def note_orders(order_ids: list[int], actor: str, note: str = "", tags: list[str] | None = None) -> Decisions:
    """Set the staff note (when given) and add tags to these orders; audited."""
    note = scrub(note.strip())[:400]
    tags = [t.strip()[:MAX_TAG] for t in tags or [] if t.strip()]
    if not note and not tags:
        raise DecisionRefused("请填写备注或标签")
    return _decide(order_ids, actor, set(), lambda b, k: b.note(k, note, tags), batch_class=HandlingBatch)


class HandlingBatch(DecisionBatch):
    """A batch in which people handle orders in any status (not only the held ones)."""

    def hold(self, key: tuple, code: str, why: str) -> str | None:
        order = self.orders[key]
        if order.status not in HOLDABLE:
            return f"状态为 {order.get_status_display()}，不能挂起"
        self._release(key, order)
        order.warehouse = None
        self.new_holds.append(OrderHold(order=order, code=code, reason=why[:400], created_at=self.now))
        self._move(order, S.ON_HOLD, f"[{code}] 人工挂起：{why}")
        self.dirty.add(key)
        return None

    def cancel_any(self, key: tuple, why: str) -> str | None:
        order = self.orders[key]
        if order.status not in CANCELLABLE:
            return f"状态为 {order.get_status_display()}，不能取消"
        self._release_holds(key, "人工取消")
        self._release(key, order)
        self._move(order, S.CANCELLED, f"人工取消：{why}")
        self.dirty.add(key)
        return None

    def move_to(self, key: tuple, warehouse: str) -> str | None:
        order = self.orders[key]
        if order.status not in REROUTABLE:
            return f"状态为 {order.get_status_display()}，不能改仓（挂起的订单在放行时指定仓库）"
        held, split, before = self.held.get(key), order.split, order.warehouse
        self._release(key, order)
        refused = self._cannot_ship_from(key, warehouse)
        if refused:
            if held:  # keep what it had
                self._reserve(key, order, held)
                order.split = split
            order.warehouse = before
            return refused
        self._allocate_at(key, order, warehouse)
        self.dirty.add(key)
        return None

    def edit_receiver(self, key: tuple, change: ReceiverEdit) -> str | None:
        order = self.orders[key]
        if order.status not in RECEIVER_EDITABLE:
            return f"状态为 {order.get_status_display()}，拣货开始后不能修改收货人（请先挂起拦截）"
        changed = []
        if change.name is not None and change.name.strip() and change.name.strip() != order.receiver_name:
            order.receiver_name = change.name.strip()
            changed.append("姓名")
        if change.phone is not None and change.phone.strip() and change.phone.strip() != order.receiver_phone:
            order.receiver_phone = change.phone.strip()
            changed.append("电话")
        address = {
            "province": change.province, "city": change.city, "district": change.district,
            "address": change.address,
        }  # fmt: skip
        current = {
            "province": order.receiver_province, "city": order.receiver_city,
            "district": order.receiver_district, "address": order.receiver_address,
        }  # fmt: skip
        wanted = {k: (v.strip() if v is not None else current[k]) for k, v in address.items()}
        if wanted != current:
            self._edit_address(order, wanted)
            changed.append("地址")
        if not changed:
            return "收货人没有变化"
        order.index_receiver()
        self._note(order, f"人工修改收货人（{'、'.join(changed)}）")
        if order.status in REROUTABLE:
            self.reallocate(key, "收货人修改后重新路由")
        self.dirty.add(key)
        return None

    def note(self, key: tuple, note: str, tags: list[str]) -> str | None:
        order = self.orders[key]
        parts = []
        if note:
            order.staff_note = note
            parts.append(f"备注：{note}")
        new_tags = [t for t in tags if t not in (order.tags or [])]
        if new_tags:
            order.tags = (list(order.tags or []) + new_tags)[:MAX_TAGS]
            parts.append(f"标签：{'、'.join(new_tags)}")
        if not parts:
            return "标签已存在"
        self._note(order, "；".join(parts))
        self.dirty.add(key)
        return None
