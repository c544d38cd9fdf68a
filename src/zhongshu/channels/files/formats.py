"""What every platform's export mapping shares: the format description that detection matches, and
the assembly of one order's rows into the intake contract (OrderIn's JSON shape)."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from zhongshu.channels.files.fields import Cells
from zhongshu.core.money import ZERO
from zhongshu.routing.address import resolve_province

# A later lifecycle stage wins over an earlier one stamped with the same time: exports carry no
# modification time for a cancel or refund, so the stage breaks the tie (by microseconds).
STAGE = {"pending_payment": 0, "paid": 1, "refund_requested": 2, "refunded": 3, "cancelled": 3}


@dataclass(frozen=True)
class ExportFormat:
    platform: str  # Shop.platform this export belongs to
    label: str
    signature: frozenset[str]  # columns that all appear in this export's header, and together in no other
    order_id: tuple[str, ...]  # the column(s) holding the order number that groups rows
    build: Callable[[str, list[Cells]], dict | None]  # (shop, the order's rows) → contract dict
    columns: dict[str, str]  # contract field → column, to name it in a validation error
    line_columns: dict[str, str]  # contract line field → column


@dataclass(frozen=True)
class Line:
    sku: str
    title: str
    quantity: int
    unit_price: Decimal
    paid_amount: Decimal

    def contract(self) -> dict:
        return {"sku": self.sku, "title": self.title[:256] or None, "quantity": self.quantity,
                "unit_price": str(self.unit_price), "paid_amount": str(self.paid_amount)}  # fmt: skip


def unit_price(total: Decimal, quantity: int) -> Decimal:
    return (total / quantity).quantize(Decimal("0.01"))


def updated_at(times: list[datetime | None], status: str) -> datetime | None:
    """The latest time the rows show, nudged by the lifecycle stage (see STAGE)."""
    known = [t for t in times if t is not None]
    return max(known) + timedelta(microseconds=STAGE[status]) if known else None


def receiver(name: str, phone: str, province: str, city: str, district: str, address: str) -> dict:
    """Receiver of the contract; a masked province (`**`, `四*`) is recovered from city and address."""
    return {
        "name": name[:64],
        "phone": phone,
        "province": resolve_province(province, city, district, address),
        "city": city[:32] or None,
        "district": district[:32] or None,
        "address": address[:256],
    }


@dataclass
class Draft:
    """One order's values read from its rows; `contract()` is None when a row already had errors."""

    shop: str
    order_id: str
    status: str | None
    created: datetime | None
    paid_at: datetime | None
    times: list[datetime | None]
    receiver: dict
    lines: list[Line | None]
    freight: Decimal | None
    paid: Decimal | None
    buyer_nick: str = ""
    remark: str = ""

    def contract(self, rows: list[Cells]) -> dict | None:
        if any(c.errors for c in rows) or None in self.lines or self.status is None:
            return None
        goods = sum((ln.paid_amount for ln in self.lines if ln), start=ZERO)
        freight, paid = self.freight or ZERO, self.paid if self.paid is not None else ZERO
        return {
            "shop": self.shop,
            "channel_order_id": self.order_id,
            "status": self.status,
            "created_at": self.created,
            "paid_at": self.paid_at,
            "updated_at": updated_at([self.created, self.paid_at, *self.times], self.status),
            "buyer": {"nick": self.buyer_nick[:64]} if self.buyer_nick else None,
            "receiver": self.receiver,
            "lines": [ln.contract() for ln in self.lines if ln],
            "freight": str(freight),
            "discount": str(max(goods + freight - paid, ZERO)),
            "paid_amount": str(paid),
            "remark": self.remark[:512] or None,
        }


def combine_status(statuses: list[str | None]) -> str | None:
    """An order's status from its line rows: a refund in progress, else the most active line's."""
    if None in statuses or not statuses:
        return None
    for status in ("refund_requested", "paid", "pending_payment", "refunded"):
        if status in statuses:
            return status
    return "cancelled"
