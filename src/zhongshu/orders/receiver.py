"""The receiver's personal data: search by phone through the blind indexes, and the clear receiver
for the roles that need it (the waybill label, correcting an address), each time audited.

Orders keep the receiver's name, phone and street address encrypted (core.fields); every screen,
export and log shows the masks. Seeing them in clear needs orders.reveal_receiver (roles 运营, 仓库),
exporting them in clear orders.export_receiver (no role by default); both write an outbox event that
becomes an audit timeline entry (who, when, which order or how many, why).
"""

import re
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_noop

from zhongshu.core import outbox
from zhongshu.core.pii import normal_phone, phone_hash, phone_tail_hash
from zhongshu.core.roles import REVEAL_RECEIVER
from zhongshu.orders.models import Order

# why the receiver is shown: the audit records the Chinese; the page shows it in the UI language
PURPOSES = {"view": gettext_noop("查看"), "label": gettext_noop("打印面单"), "edit": gettext_noop("修改地址")}
_TAIL = re.compile(r"\d{4}")
_PHONE = re.compile(r"\+?\d{5,20}")


@dataclass(frozen=True)
class ClearReceiver:
    name: str
    phone: str
    province: str
    city: str
    district: str
    address: str


def phone_filter(term: str) -> Q | None:
    """Orders whose receiver phone is `term` (exact, any spacing), or ends with it when it is 4 digits;
    None when the term is no phone or tail."""
    term = normal_phone(term)
    if _TAIL.fullmatch(term):
        return Q(receiver_phone_tail_hash=phone_tail_hash(term))
    if _PHONE.fullmatch(term):
        return Q(receiver_phone_hash=phone_hash(term))
    return None


def by_phone(orders: QuerySet[Order], term: str) -> QuerySet[Order]:
    """`orders` whose receiver phone is `term` or ends with these 4 digits (none for other terms)."""
    found = phone_filter(term)
    return orders.filter(found) if found is not None else orders.none()


def reveal(order: Order, user, purpose: str = "view") -> ClearReceiver:
    """The clear receiver of an order for a user holding orders.reveal_receiver; audited."""
    if not user.has_perm(REVEAL_RECEIVER):
        raise PermissionDenied(f"需要权限 {REVEAL_RECEIVER}")
    doing = PURPOSES.get(purpose, purpose)
    audit(
        "order.receiver_revealed", f"order:{order.pk}", user.get_username(),
        f"查看收货人明文（{doing}）", order_id=order.pk, purpose=purpose,
    )  # fmt: skip
    return ClearReceiver(
        order.receiver_name, order.receiver_phone, order.receiver_province, order.receiver_city,
        order.receiver_district, order.receiver_address,
    )  # fmt: skip


def audit_export(actor: str, orders: int, where: str) -> None:
    """Record an export of clear receivers (who, how many orders, from where)."""
    audit(
        "order.receivers_exported", "export:orders", actor,
        f"导出 {orders} 单收货人明文（{where}）", orders=orders, where=where,
    )  # fmt: skip


def audit(topic: str, subject: str, actor: str, summary: str, **details) -> None:
    with transaction.atomic():
        ev = outbox.event(
            topic, key=subject, actor=actor, payload={"subject": subject, "summary": summary, **details}
        )
        outbox.write([ev])
