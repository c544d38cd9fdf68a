"""Waves take only what is on the shelves (fulfilment.domain.on_hand): physical stock minus what the
floor already holds is shared out earliest ship_by first; a package that does not fit whole waits."""

from datetime import datetime

from zhongshu.fulfilment.domain import WavePackage, on_hand


def pkg(pid, ship_by_day=None, **lines):
    return WavePackage(pid, lines, "", datetime(2026, 12, ship_by_day) if ship_by_day else None)


def ids(packages):
    return [p.id for p in packages]


def test_everything_fits_in_input_order():
    ps = [pkg(1, A=1), pkg(2, A=2, B=1)]
    assert ids(on_hand(ps, {"A": 3, "B": 1}, {})) == [1, 2]


def test_the_floor_holds_part_of_the_physical_stock():
    ps = [pkg(1, A=2)]
    assert ids(on_hand(ps, {"A": 3}, {"A": 1})) == [1]
    assert ids(on_hand(ps, {"A": 3}, {"A": 2})) == []


def test_earliest_ship_by_first_then_input_order_none_last():
    ps = [pkg(1, None, A=1), pkg(2, 9, A=1), pkg(3, 8, A=1), pkg(4, 8, A=1)]
    assert ids(on_hand(ps, {"A": 2}, {})) == [3, 4]
    assert ids(on_hand(ps, {"A": 3}, {})) == [2, 3, 4]


def test_a_package_that_does_not_fit_whole_waits_and_a_smaller_one_behind_it_goes():
    ps = [pkg(1, 1, A=1, B=2), pkg(2, 2, A=1)]
    assert ids(on_hand(ps, {"A": 1, "B": 1}, {})) == [2]
    assert ids(on_hand(ps, {"A": 2, "B": 2}, {})) == [1, 2]


def test_a_sku_without_a_stock_row_or_reserved_in_transit_is_not_picked():
    assert ids(on_hand([pkg(1, A=1), pkg(2, C=1)], {"A": 1}, {})) == [1]
    assert ids(on_hand([pkg(1, A=1)], {"A": 0}, {})) == []


def test_exactly_the_free_quantity_fits():
    assert ids(on_hand([pkg(1, A=2), pkg(2, A=1)], {"A": 3}, {})) == [1, 2]
    assert ids(on_hand([pkg(1, A=2), pkg(2, A=1)], {"A": 2}, {})) == [1]
