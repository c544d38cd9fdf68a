"""Warehouse choice: pure functions over plain data, no ORM (reused by rules dry-run and load tests)."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

NEXT_WAREHOUSE = "next_warehouse"
WAIT_FOR_TRANSFER = "wait_for_transfer"


@dataclass(frozen=True)
class RoutingTable:
    province_region: dict[str, str]
    region_warehouse: dict[str, str]
    default_warehouse: str
    warehouse_order: tuple[str, ...]  # fallback order (active warehouses by priority)
    shortage_policy: str = NEXT_WAREHOUSE

    def preferred(self, province: str | None) -> str:
        region = self.province_region.get(province)  # an unknown or missing province: no region
        return self.region_warehouse.get(region, self.default_warehouse)

    def candidates(self, province: str | None, preferred: str | None = None) -> list[str]:
        """The preferred warehouse first, then the other active ones by priority. `preferred` (named
        by a routing rule) wins over the region table when it is an active warehouse."""
        first = preferred if preferred in self.warehouse_order else self.preferred(province)
        return [first] + [w for w in self.warehouse_order if w != first]


@dataclass(frozen=True)
class Shortfall:
    sku: str
    warehouse: str
    quantity: int


@dataclass
class Allocation:
    """Outcome for one order: the warehouse it ships from, or None when backordered."""

    warehouse: str | None
    preferred: str
    shortfalls: list[Shortfall] = field(default_factory=list)

    @property
    def backordered(self) -> bool:
        return self.warehouse is None


def short_lines(
    needs: dict[str, int], available: dict[tuple[str, str], int], warehouse: str
) -> list[Shortfall]:
    return [
        Shortfall(sku, warehouse, qty - max(available.get((sku, warehouse), 0), 0))
        for sku, qty in needs.items()
        if available.get((sku, warehouse), 0) < qty
    ]


def choose_warehouse(
    table: RoutingTable,
    province: str | None,
    needs: dict[str, int],
    available: dict[tuple[str, str], int],
    preferred: str | None = None,
) -> Allocation:
    """Pick one warehouse that can ship the whole order.

    The preferred warehouse (`preferred` when a routing rule named an active one, else the one of
    the receiver's region) first; when it is short, a shortfall is
    reported (for the transfer alert) and, under next_warehouse, the next warehouse that has all
    lines is taken. No warehouse able to ship it: backordered (warehouse None), never rejected.
    """
    candidates = table.candidates(province, preferred)
    preferred = candidates[0]
    missing = short_lines(needs, available, preferred)
    if not missing:
        return Allocation(preferred, preferred)
    if table.shortage_policy == NEXT_WAREHOUSE:
        for wh in candidates[1:]:
            if not short_lines(needs, available, wh):
                return Allocation(wh, preferred, missing)
    return Allocation(None, preferred, missing)


# Split (拆单): when no single warehouse can ship a whole order and the shop allows it.


@dataclass(frozen=True)
class PlannedPackage:
    warehouse: str
    lines: dict[str, int]  # sku → quantity, every quantity > 0


def plan_split(
    lines: Mapping[str, int],
    stock: Mapping[str, Mapping[str, int]],
    warehouses: Sequence[str],
    preferred: str | None = None,
) -> list[PlannedPackage] | None:
    """The fewest packages that ship every line exactly from `stock` (warehouse → sku → available),
    then the most units from `preferred`, then the earliest warehouses of `warehouses`; the rest is
    taken in warehouse order. [] for no lines; None when the warehouses together cannot ship it.
    Packages come in `warehouses` order."""
    if any(q <= 0 for q in lines.values()):
        raise ValueError("line quantities must be positive")
    if not lines:
        return []
    # A warehouse listed twice counts once; one without any of the SKUs can only add a package.
    order = [w for w in dict.fromkeys(warehouses) if any(stock.get(w, {}).get(s, 0) > 0 for s in lines)]

    def avail(w: str, sku: str) -> int:
        return max(0, stock.get(w, {}).get(sku, 0))

    def covers(ws: Sequence[str]) -> bool:
        return all(sum(avail(w, sku) for w in ws) >= q for sku, q in lines.items())

    for size in range(1, len(order) + 1):
        feasible = [ws for ws in combinations(order, size) if covers(ws)]
        if feasible:
            # combinations() yields in warehouse order, so the first best is also the earliest.
            chosen = next((ws for ws in feasible if preferred in ws), feasible[0])
            return _fill(lines, chosen, preferred, avail)
    return None


def _fill(lines, chosen: Sequence[str], preferred, avail) -> list[PlannedPackage]:
    sequence = sorted(chosen, key=lambda w: w != preferred)  # preferred first, stable otherwise
    taken: dict[str, dict[str, int]] = {w: {} for w in chosen}
    for sku, quantity in lines.items():
        left = quantity
        for w in sequence:
            n = min(left, avail(w, sku))
            if n:
                taken[w][sku] = n
                left -= n
    # Minimality of `chosen` guarantees every warehouse in it gets at least one unit.
    return [PlannedPackage(w, taken[w]) for w in chosen]
