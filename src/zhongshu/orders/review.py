"""The hooks of intake: pure checks over plain data that may hold an order before allocation, and
routers that may name the preferred warehouse of an order being allocated.

The rules engine registers its evaluators here; with nothing registered every order passes and the
region table (routing.selectors.routing_table) alone chooses the warehouse.
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
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
    weight_g: int = 0  # per unit (catalog)
    cold_chain: bool = False


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
    # (id_number_hash, phone hash, address hash, placed_at) of orders new in the same intake batch (not
    # yet in the database) that share this order's ID number, phone or address (blind indexes, as
    # stored: core.pii): history facts count them.
    batch_peers: tuple[tuple[str, str, str, datetime], ...] = ()
    # Order.flags at allocation (e.g. route:X set by a review rule); empty while the order is reviewed
    flags: tuple[str, ...] = ()
    warehouse: str | None = None  # the warehouse it ships from, once allocated (carrier choice)


@dataclass(frozen=True)
class Hold:
    code: str
    reason: str


@dataclass
class Review:
    holds: list[Hold] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


Check = Callable[[OrderInfo, dict], Review]
Router = Callable[[OrderInfo, dict], str | None]
Prepare = Callable[[dict], None]
_checks: list[Check] = []
_routers: list[Router] = []
_preparers: list[Prepare] = []


def register(check: Check, prepare: Prepare | None = None) -> Check:
    """Add a check; `prepare` runs once per intake batch and may load what every order shares
    (e.g. the current rules) into the batch's context, which the check then receives."""
    if check not in _checks:
        _checks.append(check)
        _add_preparer(prepare)
    return check


def register_router(router: Router, prepare: Prepare | None = None) -> Router:
    """Add a router: it returns the code of the preferred warehouse of an order, or None to leave the
    choice to the next router and finally to the region table. `prepare` as for `register` (one
    function registered for both runs once per batch)."""
    if router not in _routers:
        _routers.append(router)
        _add_preparer(prepare)
    return router


def _add_preparer(prepare: Prepare | None) -> None:
    if prepare is not None and prepare not in _preparers:
        _preparers.append(prepare)


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


def route(
    order: OrderInfo, context: dict | None = None, flags: list[str] | tuple[str, ...] = ()
) -> str | None:
    """The preferred warehouse the first router names for an order being allocated (`flags`: the
    order's flags so far), or None: the region table decides. Whether the warehouse exists and is
    active is checked by routing (routing.domain.RoutingTable.candidates)."""
    if not _routers:
        return None
    context = prepare() if context is None else context
    flags = tuple(flags or ())
    if order.flags != flags:
        order = replace(order, flags=flags)
    for router in _routers:
        code = router(order, context)
        if code:
            return code
    return None


Carrier = Callable[[OrderInfo, dict], "str | None"]
_carriers: list[Carrier] = []


def register_carrier(chooser: Carrier) -> Carrier:
    """Add a carrier chooser: names the carrier of an allocated order, or None."""
    if chooser not in _carriers:
        _carriers.append(chooser)
    return chooser


def carrier(order: OrderInfo, context: dict | None = None) -> str | None:
    """The carrier the first chooser names for an allocated order (order.warehouse set), or None."""
    if not _carriers:
        return None
    context = prepare() if context is None else context
    for chooser in _carriers:
        code = chooser(order, context)
        if code:
            return code
    return None
