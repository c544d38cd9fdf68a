"""The review hook of intake: pure checks over plain data that may hold an order before allocation.

The rules engine registers its evaluator here; with no checks registered every order passes.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
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


@dataclass(frozen=True)
class Hold:
    code: str
    reason: str


@dataclass
class Review:
    holds: list[Hold] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


Check = Callable[[OrderInfo], Review]
_checks: list[Check] = []


def register(check: Check) -> Check:
    if check not in _checks:
        _checks.append(check)
    return check


def review(order: OrderInfo) -> Review:
    out = Review()
    for check in _checks:
        r = check(order)
        out.holds += r.holds
        out.flags += [f for f in r.flags if f not in out.flags]
    return out
