"""The package state machine: statuses, the allowed moves (check) and the order status a set of
packages implies."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class PackageStatus(StrEnum):
    PENDING = "pending"  # 待生成波次: made from allocated orders, merge window open
    WAVED = "waved"  # 已生成波次
    PICKING = "picking"  # 拣货中 (the wave is claimed)
    PICKED = "picked"  # 已拣货
    PACKED = "packed"  # 已验货称重 (打包)
    SHIPPED = "shipped"  # 已发货 (fulfilment II); after-sales from here on
    STOPPED = "stopped"  # 已拦截: a reason on the package; a supervisor resumes or cancels it
    CANCELLED = "cancelled"  # 已取消


P = PackageStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    # pending → pending is no edge: a merge or split keeps the status and writes no transition.
    P.PENDING: frozenset({P.WAVED, P.STOPPED, P.CANCELLED}),
    # → pending: the wave is dissolved or the package taken out of it before picking.
    # → packed: small warehouses pick from a printed list and verify at the packing bench.
    P.WAVED: frozenset({P.PENDING, P.PICKING, P.PACKED, P.STOPPED, P.CANCELLED}),
    P.PICKING: frozenset({P.PICKED, P.PACKED, P.STOPPED, P.CANCELLED}),
    P.PICKED: frozenset({P.PACKED, P.STOPPED, P.CANCELLED}),
    # A packed package can still be intercepted (拦截) until it is handed to the carrier.
    P.PACKED: frozenset({P.SHIPPED, P.STOPPED, P.CANCELLED}),
    P.SHIPPED: frozenset(),
    # A supervisor resolves a stop: back to pending (re-waved, re-picked), packed (a weight
    # override of a fully scanned package), or cancelled.
    P.STOPPED: frozenset({P.PENDING, P.PACKED, P.CANCELLED}),
    P.CANCELLED: frozenset(),
}

START = P.PENDING
# A stop or a cancel is possible in these (everything before the carrier has it).
STOPPABLE = frozenset({P.PENDING, P.WAVED, P.PICKING, P.PICKED, P.PACKED})
CANCELLABLE = STOPPABLE | {P.STOPPED}
# The merge window ends when the package is waved; splitting likewise needs it out of any wave.
MERGEABLE = frozenset({P.PENDING})
SPLITTABLE = frozenset({P.PENDING, P.STOPPED})
# The packing bench (验货 + 称重) accepts these; others are `not_pickable`.
CHECKABLE = frozenset({P.WAVED, P.PICKING, P.PICKED})
# In these the package belongs to a wave.
IN_WAVE = frozenset({P.WAVED, P.PICKING, P.PICKED})
# Their units are taken from the shelves (or about to be): physical stock no other wave may pick.
ON_FLOOR = frozenset({P.WAVED, P.PICKING, P.PICKED, P.PACKED})
# The package's lines hold a reservation while it is in one of these.
RESERVING = frozenset({P.PENDING, P.WAVED, P.PICKING, P.PICKED, P.PACKED, P.STOPPED})
FINISHED = frozenset({P.SHIPPED, P.CANCELLED})


class IllegalTransition(ValueError):
    pass


def check(current: str | None, target: str) -> None:
    """Raise IllegalTransition unless current → target is an edge (None = a new package)."""
    if target not in TRANSITIONS:
        raise IllegalTransition(f"unknown package status {target!r}")
    if current is None:
        if target != START:
            raise IllegalTransition(f"a new package cannot start as {target}")
        return
    if current not in TRANSITIONS:
        raise IllegalTransition(f"unknown package status {current!r}")
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(f"package {current} → {target} is not allowed")


def order_status_for(statuses: Iterable[str]) -> str | None:
    """The order status its packages imply (orders follow their packages: picking, packed, shipped),
    or None to leave the order as it is (no live package, or none past waving). Cancelled packages
    do not count; a stopped one holds the order back from packed/shipped."""
    live = [s for s in statuses if s != P.CANCELLED]
    if not live:
        return None
    if all(s == P.SHIPPED for s in live):
        return "shipped"
    if all(s in (P.PACKED, P.SHIPPED) for s in live):
        return "packed"
    if any(s in (P.PICKING, P.PICKED, P.PACKED, P.SHIPPED) for s in live):
        return "picking"
    return None
