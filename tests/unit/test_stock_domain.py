"""The available-stock formula (R-INV1): in-transit × coefficient counts in whole units, rounded down,
so half a unit on the way is never sold."""

from decimal import Decimal

import pytest

from zhongshu.inventory.domain import StockInfo, total


def info(physical=10, reserved=0, in_transit=0, coefficient="0.5") -> StockInfo:
    return StockInfo("A", "CD", physical, reserved, in_transit, Decimal(coefficient))


@pytest.mark.parametrize(
    "in_transit, coefficient, usable",
    [(0, "0.5", 0), (1, "0.5", 0), (3, "0.5", 1), (4, "0.5", 2), (7, "0.3", 2), (10, "0.3", 3),
     (3, "0.34", 1), (3, "0.33", 0), (9, "0.999", 8), (5, "1", 5), (5, "0", 0)],
)  # fmt: skip
def test_usable_in_transit_is_rounded_down_exactly(in_transit, coefficient, usable):
    s = info(in_transit=in_transit, coefficient=coefficient)
    assert s.usable_in_transit == usable and isinstance(s.usable_in_transit, int)


def test_supply_and_available():
    s = info(physical=10, reserved=4, in_transit=5, coefficient="0.5")  # 2.5 in transit → 2
    assert (s.supply, s.available) == (12, 8)
    assert info(physical=1, reserved=3).available == -2  # oversold stays visible


def test_total_sums_each_column():
    rows = [info(10, 4, 5, "0.5"), info(3, 1, 3, "0.5"), info(0, 0, 1, "0.9")]
    assert total(rows) == {"physical": 13, "reserved": 5, "in_transit": 9, "available": 8 + 3 + 0}
    assert total([]) == {"physical": 0, "reserved": 0, "in_transit": 0, "available": 0}
