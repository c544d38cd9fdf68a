"""Warehouse choice: pure functions over plain data, no ORM (reused by rules dry-run and load tests)."""

from dataclasses import dataclass, field

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
