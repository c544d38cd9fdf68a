"""Warehouse choice, pure: the preferred warehouse, the fallback order, the shortfall reported for the
transfer alert, and the two shortage policies."""

import pytest

from zhongshu.routing.domain import (
    NEXT_WAREHOUSE,
    WAIT_FOR_TRANSFER,
    PlannedPackage,
    RoutingTable,
    Shortfall,
    choose_warehouse,
    plan_split,
)

TABLE = RoutingTable(
    province_region={"四川省": "西南", "湖南省": "华中", "广东省": "华南"},
    region_warehouse={"西南": "CD", "华中": "WH"},
    default_warehouse="SH",
    warehouse_order=("SH", "WH", "CD"),
)
WAIT = RoutingTable(**{**TABLE.__dict__, "shortage_policy": WAIT_FOR_TRANSFER})


def stock(**by_warehouse: dict) -> dict:
    return {(sku, wh): n for wh, skus in by_warehouse.items() for sku, n in skus.items()}


def test_preferred_by_region_else_default():
    assert TABLE.shortage_policy == NEXT_WAREHOUSE
    assert [TABLE.preferred(p) for p in ("四川省", "湖南省", "广东省", "火星", None)] == [
        "CD",
        "WH",
        "SH",
        "SH",
        "SH",
    ]


def test_candidates_preferred_first_then_priority():
    assert TABLE.candidates("四川省") == ["CD", "SH", "WH"]
    assert TABLE.candidates("湖南省") == ["WH", "SH", "CD"]
    assert TABLE.candidates(None) == ["SH", "WH", "CD"]
    assert TABLE.candidates("四川省", preferred="WH") == ["WH", "SH", "CD"]  # a rule's active warehouse
    assert TABLE.candidates("四川省", preferred="GONE") == ["CD", "SH", "WH"]  # inactive: ignored
    assert TABLE.candidates("四川省", preferred=None) == ["CD", "SH", "WH"]


def test_the_preferred_warehouse_ships_when_it_has_everything():
    a = choose_warehouse(TABLE, "四川省", {"A": 2, "B": 1}, stock(CD={"A": 2, "B": 1}, SH={"A": 9, "B": 9}))
    assert (a.warehouse, a.preferred, a.shortfalls, a.backordered) == ("CD", "CD", [], False)


def test_short_preferred_falls_to_the_next_complete_warehouse_and_reports_the_shortfall():
    avail = stock(CD={"A": 1, "B": 5}, SH={"A": 9}, WH={"A": 2, "B": 1})
    a = choose_warehouse(TABLE, "四川省", {"A": 2, "B": 1}, avail)
    assert (a.warehouse, a.preferred, a.backordered) == ("WH", "CD", False)  # SH has no B
    assert a.shortfalls == [Shortfall("A", "CD", 1)]


def test_the_shortfall_of_an_empty_or_oversold_preferred_warehouse_is_the_whole_need():
    # nothing there (no row) or a negative available (oversold): the transfer alert asks for the
    # whole quantity, never more
    avail = stock(CD={"B": -3}, SH={"A": 5, "B": 5})
    a = choose_warehouse(TABLE, "四川省", {"A": 2, "B": 4}, avail)
    assert a.warehouse == "SH"
    assert a.shortfalls == [Shortfall("A", "CD", 2), Shortfall("B", "CD", 4)]


def test_nobody_has_it_all_backorders_at_the_preferred_warehouse():
    avail = stock(CD={"A": 2}, SH={"B": 1}, WH={"A": 1, "B": 1})
    a = choose_warehouse(TABLE, "四川省", {"A": 2, "B": 1}, avail)
    assert (a.warehouse, a.preferred, a.backordered) == (None, "CD", True)
    assert a.shortfalls == [Shortfall("B", "CD", 1)]


def test_wait_for_transfer_never_ships_from_another_warehouse():
    avail = stock(CD={"A": 1}, SH={"A": 9})
    a = choose_warehouse(WAIT, "四川省", {"A": 3}, avail)
    assert (a.warehouse, a.preferred, a.shortfalls) == (None, "CD", [Shortfall("A", "CD", 2)])
    assert choose_warehouse(WAIT, "四川省", {"A": 1}, avail).warehouse == "CD"


def test_exactly_enough_is_enough():
    a = choose_warehouse(TABLE, "湖南省", {"A": 3}, stock(WH={"A": 3}))
    assert (a.warehouse, a.shortfalls) == ("WH", [])
    a = choose_warehouse(TABLE, "湖南省", {"A": 3}, stock(WH={"A": 2}, SH={"A": 3}))
    assert (a.warehouse, a.shortfalls) == ("SH", [Shortfall("A", "WH", 1)])


def test_a_rule_named_warehouse_is_tried_first():
    avail = stock(CD={"A": 5}, WH={"A": 5})
    assert choose_warehouse(TABLE, "四川省", {"A": 1}, avail, preferred="WH").warehouse == "WH"
    assert choose_warehouse(TABLE, "四川省", {"A": 1}, avail, preferred="XX").warehouse == "CD"


def test_plan_split_refuses_a_line_without_units_naming_why():
    with pytest.raises(ValueError, match="^line quantities must be positive$"):
        plan_split({"A": 0}, {"GZ": {"A": 5}}, ["GZ"])


def test_plan_split_passes_over_a_warehouse_it_has_no_stock_figures_for():
    plan = plan_split({"A": 2}, {"GZ": {"A": 1}, "CD": {"A": 1}}, ["XX", "GZ", "CD"], preferred="XX")
    assert plan == [PlannedPackage("GZ", {"A": 1}), PlannedPackage("CD", {"A": 1})]
