"""The available-stock formula (R-INV1), pure."""

import math
from dataclasses import dataclass
from decimal import Decimal


@dataclass
class StockInfo:
    sku: str
    warehouse: str
    physical: int
    reserved: int
    in_transit: int
    in_transit_coefficient: Decimal

    @property
    def usable_in_transit(self) -> int:
        """In-transit units counted as sellable: floor(in_transit × coefficient), exact in Decimal."""
        return math.floor(Decimal(self.in_transit) * self.in_transit_coefficient)

    @property
    def supply(self) -> int:
        return self.physical + self.usable_in_transit

    @property
    def available(self) -> int:
        """available = physical − reserved + in_transit × coefficient (whole units, rounded down)."""
        return self.supply - self.reserved


def total(rows: list[StockInfo]) -> dict:
    return {
        "physical": sum(r.physical for r in rows),
        "reserved": sum(r.reserved for r in rows),
        "in_transit": sum(r.in_transit for r in rows),
        "available": sum(r.available for r in rows),
    }
