"""The review hook of intake: pure checks over plain data that may hold an order before allocation.

The rules engine registers its evaluator here; with no checks registered every order passes.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class LineInfo:
    sku: str
    quantity: int
    unit_price: Decimal
    promo_price: Decimal | None
    paid_amount: Decimal
    cost_price: Decimal
    presale: bool
    tags: tuple[str, ...] = ()
    supply_date: date | None = None  # expected arrival of a presale SKU (catalog)


@dataclass(frozen=True)
class OrderInfo:
    shop: str
    platform: str
    channel_order_id: str
    placed_at: datetime
    paid_at: datetime | None
    ship_by: datetime | None
    province: str | None
    address: str
    phone: str
    buyer_vip: bool
    id_number_hash: str
    lines: tuple[LineInfo, ...]
    freight: Decimal
    discount: Decimal
    paid_amount: Decimal
    presale: bool
    region: str | None = None  # the routing region of the province (华中, 西南, …)
    order_pk: int | None = None  # None while the order is new in this intake batch
    # (id_number_hash, phone, address, placed_at) of orders new in the same intake batch (not yet in
    # the database) that share this order's ID number, phone or address: history facts count them.
    batch_peers: tuple[tuple[str, str, str, datetime], ...] = ()


@dataclass(frozen=True)
class Hold:
    code: str
    reason: str


@dataclass
class Review:
    holds: list[Hold] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


Check = Callable[[OrderInfo, dict], Review]
Prepare = Callable[[dict], None]
_checks: list[Check] = []
_preparers: list[Prepare] = []


def register(check: Check, prepare: Prepare | None = None) -> Check:
    """Add a check; `prepare` runs once per intake batch and may load what every order shares
    (e.g. the current rules) into the batch's context, which the check then receives."""
    if check not in _checks:
        _checks.append(check)
        if prepare is not None:
            _preparers.append(prepare)
    return check


def prepare() -> dict:
    """A fresh context for one intake batch (one transaction)."""
    context: dict = {}
    for fn in _preparers:
        fn(context)
    return context


def review(order: OrderInfo, context: dict | None = None) -> Review:
    context = prepare() if context is None else context
    out = Review()
    for check in _checks:
        r = check(order, context)
        out.holds += r.holds
        out.flags += [f for f in r.flags if f not in out.flags]
    return out
