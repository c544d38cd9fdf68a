"""The warehouse floor's pure decisions (zhongshu.fulfilment.domain). No database."""

import itertools
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zhongshu.fulfilment import domain as d
from zhongshu.fulfilment.domain import (
    MergeCandidate,
    PackageStatus,
    PickRow,
    PlannedPackage,
    Receiver,
    ScanSession,
    Tolerance,
    WaveKind,
    WavePackage,
    WaveStrategyInfo,
)

S = PackageStatus

# ---------------------------------------------------------------- state machine

EDGES = {
    ("pending", "waved"), ("pending", "stopped"), ("pending", "cancelled"),
    ("waved", "pending"), ("waved", "picking"), ("waved", "packed"), ("waved", "stopped"), ("waved", "cancelled"),
    ("picking", "picked"), ("picking", "packed"), ("picking", "stopped"), ("picking", "cancelled"),
    ("picked", "packed"), ("picked", "stopped"), ("picked", "cancelled"),
    ("packed", "shipped"), ("packed", "stopped"), ("packed", "cancelled"),
    ("stopped", "pending"), ("stopped", "packed"), ("stopped", "cancelled"),
}  # fmt: skip


def test_status_values():
    assert [s.value for s in S] == [
        "pending", "waved", "picking", "picked", "packed", "shipped", "stopped", "cancelled",
    ]  # fmt: skip


@pytest.mark.parametrize(("current", "target"), list(itertools.product([s.value for s in S], repeat=2)))
def test_every_pair_is_allowed_exactly_when_an_edge(current, target):
    if (current, target) in EDGES:
        d.check(current, target)
    else:
        with pytest.raises(d.IllegalTransition, match=f"package {current} → {target} is not allowed"):
            d.check(current, target)


def test_a_new_package_starts_pending_only():
    d.check(None, "pending")
    for s in S:
        if s != S.PENDING:
            with pytest.raises(d.IllegalTransition, match=f"a new package cannot start as {s.value}"):
                d.check(None, s)


def test_unknown_statuses_are_refused():
    with pytest.raises(d.IllegalTransition, match="unknown package status 'lost'"):
        d.check("pending", "lost")
    with pytest.raises(d.IllegalTransition, match="unknown package status 'lost'"):
        d.check("lost", "pending")
    with pytest.raises(d.IllegalTransition, match="unknown package status 'lost'"):
        d.check(None, "lost")


def test_status_sets():
    assert d.STOPPABLE == {"pending", "waved", "picking", "picked", "packed"}
    assert d.CANCELLABLE == {"pending", "waved", "picking", "picked", "packed", "stopped"}
    assert d.MERGEABLE == {"pending"}
    assert d.SPLITTABLE == {"pending", "stopped"}
    assert d.CHECKABLE == {"waved", "picking", "picked"}
    assert d.IN_WAVE == {"waved", "picking", "picked"}
    assert d.FINISHED == {"shipped", "cancelled"}
    assert d.RESERVING == set(S) - d.FINISHED
    # the sets agree with the table
    for s in d.STOPPABLE:
        assert S.STOPPED in d.TRANSITIONS[s]
    for s in d.CANCELLABLE:
        assert S.CANCELLED in d.TRANSITIONS[s]
    for s in d.CHECKABLE:
        assert S.PACKED in d.TRANSITIONS[s]
    for s in d.FINISHED:
        assert d.TRANSITIONS[s] == frozenset()


@pytest.mark.parametrize(
    ("statuses", "order_status"),
    [
        ([], None),
        (["cancelled"], None),
        (["pending"], None),
        (["waved", "pending"], None),
        (["stopped"], None),
        (["picking"], "picking"),
        (["picked", "pending"], "picking"),
        (["packed", "waved"], "picking"),
        (["packed", "stopped"], "picking"),
        (["shipped", "stopped"], "picking"),
        (["packed"], "packed"),
        (["packed", "shipped", "cancelled"], "packed"),
        (["shipped", "cancelled"], "shipped"),
        (["shipped", "shipped"], "shipped"),
    ],
)
def test_orders_follow_their_packages(statuses, order_status):
    assert d.order_status_for(statuses) == order_status


# ---------------------------------------------------------------- receiver normalisation / merge


def test_normalize_text():
    assert d.normalize_text("  张　三 ") == "张三"  # ideographic space
    assert d.normalize_text("ＡＢＣ１２３") == "abc123"  # full-width → half-width, case-folded
    assert d.normalize_text("1号楼-2单元 (东门)，301室。") == "1号楼2单元东门301室"
    assert d.normalize_text("") == ""
    assert d.normalize_text(None) == ""


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("138 0000 1111", "13800001111"),
        ("+86 138-0000-1111", "13800001111"),
        ("0086 13800001111", "13800001111"),
        ("８６１３８００００１１１１", "13800001111"),
        ("86138000011110", "86138000011110"),  # not +86 and a mobile number: kept
        ("8602012345678", "8602012345678"),  # 86 followed by a non-mobile: kept
        ("13800001111-1234", "138000011111234"),  # a privacy number's extension stays
        ("", ""),
        (None, ""),
    ],
)
def test_normalize_phone(raw, normal):
    assert d.normalize_phone(raw) == normal


def rk(address, province="广东省", city="深圳市", district="南山区", name="张三", phone="13800001111"):
    return d.receiver_key(Receiver(name, phone, province, city, district, address))


def test_receiver_key_strips_repeated_regions():
    key = rk("科技园1号")
    assert key == d.ReceiverKey("张三", "13800001111", "广东省", "深圳", "南山", "科技园1号")
    for address in (
        "广东省深圳市南山区科技园1号",
        "广东深圳南山区科技园1号",
        "深圳市南山区 科技园１号",
        "南山区科技园1号",
        "南山科技园1号",
        "广东省 深圳市 南山区 科技园 1 号",
    ):
        assert rk(address) == key, address
    assert rk("科技园1号", province="广东", city="深圳", district="南山") == key
    assert rk("科技园2号") != key
    assert rk("科技园1号", city="广州市") != key  # same street, other city


def test_receiver_key_without_province_strips_any_province_name():
    assert (
        rk("广西南宁市青秀区民族大道1号", province="", city="", district="").detail
        == "南宁市青秀区民族大道1号"
    )
    assert rk("新疆维吾尔自治区乌鲁木齐市1号", province="", city="", district="").detail == "乌鲁木齐市1号"
    assert rk("内蒙古呼和浩特市1号", province="", city="", district="").detail == "呼和浩特市1号"
    assert rk("北京市朝阳区1号", province="", city="", district="").detail == "朝阳区1号"


def test_receiver_key_strips_only_its_own_province():
    assert rk("广东省深圳市1号", province="广西壮族自治区", city="", district="").detail == "广东省深圳市1号"


def test_receiver_key_keeps_a_name_that_is_only_a_suffix():
    # a city literally named like a suffix is not emptied
    assert rk("市1号", province="", city="市", district="").city == "市"


def cand(id, address="科技园1号", **kw):
    receiver = kw.pop("receiver", Receiver("张三", "13800001111", "广东省", "深圳市", "南山区", address))
    base = dict(shop="tb1", platform="taobao", warehouse="GZ", carrier="SF")
    base.update(kw)
    return MergeCandidate(id=id, receiver=receiver, **base)


def ids(groups):
    return [[c.id for c in g] for g in groups]


def test_merge_groups_same_receiver_shop_warehouse_carrier():
    cands = [
        cand(1),
        cand(2, address="广东省深圳市南山区 科技园１号"),
        cand(3, address="科技园9号"),  # another address
        cand(4, presale=True),  # presale never with spot
        cand(5, held=True),
        cand(6, refund_requested=True),
        cand(7, cold_chain=True),
        cand(8, warehouse="CD"),
        cand(9, carrier="YTO"),
        cand(10, shop="tb2"),
        cand(11, status="waved"),  # the merge window is closed
        cand(12, receiver=Receiver("李四", "13800001111", "广东省", "深圳市", "南山区", "科技园1号")),
        cand(13, receiver=Receiver("张三", "13900001111", "广东省", "深圳市", "南山区", "科技园1号")),
        cand(14),
    ]
    assert ids(d.merge_groups(cands)) == [[1, 2, 14]]


def test_presale_merges_with_presale_and_cold_with_cold():
    cands = [
        cand(1, presale=True),
        cand(2),
        cand(3, presale=True),
        cand(4, cold_chain=True),
        cand(5, cold_chain=True),
    ]
    assert ids(d.merge_groups(cands)) == [[1, 3], [4, 5]]


def test_cross_shop_merge_within_one_platform():
    cands = [cand(1, shop="tb1"), cand(2, shop="tb2"), cand(3, shop="jd1", platform="jd")]
    assert ids(d.merge_groups(cands)) == []
    assert ids(d.merge_groups(cands, cross_shop=True)) == [[1, 2]]
    assert d.merge_key(cands[0], cross_shop=True) == d.merge_key(cands[1], cross_shop=True)
    assert d.merge_key(cands[0]) != d.merge_key(cands[1])


def test_merge_key_none_for_the_never_merged():
    assert d.merge_key(cand(1)) is not None
    assert d.merge_key(cand(1, held=True)) is None
    assert d.merge_key(cand(1, refund_requested=True)) is None
    for status in set(S) - {S.PENDING}:
        assert d.merge_key(cand(1, status=status)) is None
    assert d.merge_key(cand(1, receiver=Receiver("", "13800001111", "", "", "", "1号"))) is None
    assert d.merge_key(cand(1, receiver=Receiver("张三", "", "", "", "", "1号"))) is None
    assert d.merge_key(cand(1, receiver=Receiver("张三", "13800001111", "广东省", "", "", "广东省"))) is None


def test_merge_groups_order_follows_first_member():
    cands = [
        cand(1, address="a路1号"),
        cand(2, address="b路1号"),
        cand(3, address="b路1号"),
        cand(4, address="a路1号"),
    ]
    assert ids(d.merge_groups(cands)) == [[1, 4], [2, 3]]
    assert d.merge_groups([]) == []
    assert d.merge_groups([cand(1)]) == []


# ---------------------------------------------------------------- split planner


def test_split_single_warehouse_when_possible_prefers_preferred():
    stock = {"GZ": {"a": 5, "b": 5}, "CD": {"a": 5, "b": 5}}
    assert d.plan_split({"a": 2, "b": 1}, stock, ["GZ", "CD"], "CD") == [
        PlannedPackage("CD", {"a": 2, "b": 1})
    ]
    assert d.plan_split({"a": 2, "b": 1}, stock, ["GZ", "CD"]) == [PlannedPackage("GZ", {"a": 2, "b": 1})]
    assert d.plan_split({"a": 2, "b": 1}, stock, ["CD", "GZ"], "XX") == [
        PlannedPackage("CD", {"a": 2, "b": 1})
    ]


def test_split_two_warehouses_most_from_preferred():
    stock = {"GZ": {"a": 2, "b": 1}, "CD": {"a": 5}, "SH": {"a": 5, "b": 5}}
    # SH alone ships it: one package beats the preferred warehouse
    assert d.plan_split({"a": 3, "b": 2}, stock, ["GZ", "CD", "SH"], "GZ") == [
        PlannedPackage("SH", {"a": 3, "b": 2})
    ]
    stock = {"GZ": {"a": 2, "b": 1}, "CD": {"a": 5}, "SH": {"a": 1, "b": 5}}
    # two packages either way (GZ+CD cannot cover b); GZ+SH gives GZ its 3 units, CD+SH none
    assert d.plan_split({"a": 3, "b": 2}, stock, ["GZ", "CD", "SH"], "GZ") == [
        PlannedPackage("GZ", {"a": 2, "b": 1}),
        PlannedPackage("SH", {"a": 1, "b": 1}),
    ]
    assert d.plan_split({"a": 3, "b": 2}, stock, ["GZ", "CD", "SH"], "CD") == [
        PlannedPackage("CD", {"a": 3}),
        PlannedPackage("SH", {"b": 2}),
    ]
    assert d.plan_split({"a": 3, "b": 2}, stock, ["GZ", "CD", "SH"]) == [
        PlannedPackage("GZ", {"a": 2, "b": 1}),
        PlannedPackage("SH", {"a": 1, "b": 1}),
    ]


def test_split_ties_go_to_the_earlier_warehouses():
    stock = {"A": {"x": 1, "y": 1}, "B": {"x": 9, "z": 1}, "C": {"x": 9, "z": 1}}
    lines = {"x": 3, "y": 1, "z": 1}
    assert d.plan_split(lines, stock, ["A", "C", "B"], "A") == [
        PlannedPackage("A", {"x": 1, "y": 1}),
        PlannedPackage("C", {"x": 2, "z": 1}),
    ]
    assert d.plan_split(lines, stock, ["B", "A", "C"], "A") == [
        PlannedPackage("B", {"x": 2, "z": 1}),
        PlannedPackage("A", {"x": 1, "y": 1}),
    ]


def test_split_takes_the_rest_in_warehouse_order():
    stock = {"A": {"x": 1, "y": 1}, "B": {"x": 1, "z": 1}, "C": {"x": 5, "w": 1}}
    lines = {"x": 4, "y": 1, "z": 1, "w": 1}
    # the preferred A first, then C (listed first) takes the rest of x before B
    assert d.plan_split(lines, stock, ["C", "B", "A"], "A") == [
        PlannedPackage("C", {"x": 3, "w": 1}),
        PlannedPackage("B", {"z": 1}),
        PlannedPackage("A", {"x": 1, "y": 1}),
    ]
    assert d.plan_split(lines, stock, ["C", "B", "A"], "B") == [
        PlannedPackage("C", {"x": 3, "w": 1}),
        PlannedPackage("B", {"x": 1, "z": 1}),
        PlannedPackage("A", {"y": 1}),
    ]


def test_split_impossible_and_empty():
    stock = {"GZ": {"a": 1}, "CD": {"a": 1}}
    assert d.plan_split({"a": 3}, stock, ["GZ", "CD"]) is None
    assert d.plan_split({"a": 2}, stock, ["GZ"]) is None  # CD is not a candidate
    assert d.plan_split({"b": 1}, stock, ["GZ", "CD"]) is None
    assert d.plan_split({}, stock, ["GZ", "CD"]) == []
    assert d.plan_split({"a": 1}, {}, []) is None
    assert d.plan_split({"a": 2}, stock, ["GZ", "CD"]) == [
        PlannedPackage("GZ", {"a": 1}),
        PlannedPackage("CD", {"a": 1}),
    ]


def test_split_ignores_negative_stock_and_duplicate_warehouses():
    # a negative figure (an oversold row) counts as 0, never against another warehouse's stock
    stock = {"GZ": {"a": -5, "b": 1}, "CD": {"a": 3}}
    assert d.plan_split({"a": 2, "b": 1}, stock, ["GZ", "CD"]) == [
        PlannedPackage("GZ", {"b": 1}),
        PlannedPackage("CD", {"a": 2}),
    ]
    stock = {"GZ": {"a": -5}, "CD": {"a": 2}}
    assert d.plan_split({"a": 2}, stock, ["GZ", "CD", "CD"]) == [PlannedPackage("CD", {"a": 2})]
    assert d.plan_split({"a": 3}, {"CD": {"a": 2}, "GZ": {"a": 1}}, ["CD", "CD", "GZ"]) == [
        PlannedPackage("CD", {"a": 2}),
        PlannedPackage("GZ", {"a": 1}),
    ]


@pytest.mark.parametrize("qty", [0, -1])
def test_split_refuses_non_positive_lines(qty):
    with pytest.raises(ValueError, match="line quantities must be positive"):
        d.plan_split({"a": qty}, {"GZ": {"a": 5}}, ["GZ"])


WAREHOUSES = ["W0", "W1", "W2", "W3"]
SKUS = ["a", "b", "c"]


@st.composite
def split_cases(draw, max_wh=4, max_qty=4, max_stock=5):
    n = draw(st.integers(1, max_wh))
    whs = draw(st.permutations(WAREHOUSES))[:n]
    skus = draw(st.lists(st.sampled_from(SKUS), min_size=1, max_size=3, unique=True))
    lines = {s: draw(st.integers(1, max_qty)) for s in skus}
    stock = {w: {s: draw(st.integers(0, max_stock)) for s in SKUS} for w in WAREHOUSES}
    preferred = draw(st.sampled_from([*whs, None, "ZZ"]))
    return lines, stock, whs, preferred


def brute_force(lines, stock, whs, preferred):
    """(packages, preferred units) of the best plan over EVERY allocation, or None."""
    per_sku = []
    for sku, q in lines.items():
        options = [
            alloc
            for alloc in itertools.product(*(range(min(q, max(0, stock[w][sku])) + 1) for w in whs))
            if sum(alloc) == q
        ]
        per_sku.append(options)
    best = None
    for combo in itertools.product(*per_sku):
        used = {w for alloc in combo for w, n in zip(whs, alloc, strict=True) if n}
        pref = sum(n for alloc in combo for w, n in zip(whs, alloc, strict=True) if w == preferred)
        score = (len(used), -pref)
        best = score if best is None or score < best else best
    return None if best is None else (best[0], -best[1])


@settings(max_examples=300, deadline=None)
@given(split_cases(max_wh=4, max_qty=3, max_stock=3))
def test_split_is_optimal_against_brute_force(case):
    lines, stock, whs, preferred = case
    plan = d.plan_split(lines, stock, whs, preferred)
    best = brute_force(lines, stock, whs, preferred)
    if best is None:
        assert plan is None
    else:
        pref = sum(sum(p.lines.values()) for p in plan if p.warehouse == preferred)
        assert (len(plan), pref) == best


@settings(max_examples=500, deadline=None)
@given(split_cases(max_qty=20, max_stock=25))
def test_split_invariants(case):
    lines, stock, whs, preferred = case
    plan = d.plan_split(lines, stock, whs, preferred)
    total = {s: sum(stock[w][s] for w in whs) for s in lines}
    if plan is None:
        assert any(total[s] < q for s, q in lines.items())  # None only when truly impossible
        return
    # covers every line exactly
    shipped = {}
    for p in plan:
        for s, q in p.lines.items():
            shipped[s] = shipped.get(s, 0) + q
    assert shipped == dict(lines)
    # never more than available; one package per warehouse, each non-empty, candidates only
    assert len({p.warehouse for p in plan}) == len(plan)
    for p in plan:
        assert p.warehouse in whs
        assert p.lines and all(q > 0 for q in p.lines.values())
        for s, q in p.lines.items():
            assert q <= stock[p.warehouse][s]
    # in warehouse order
    assert [p.warehouse for p in plan] == [w for w in whs if w in {p.warehouse for p in plan}]
    # no plan with fewer packages exists
    for size in range(1, len(plan)):
        for ws in itertools.combinations(whs, size):
            assert any(sum(stock[w][s] for w in ws) < q for s, q in lines.items())


# ---------------------------------------------------------------- waves

T0 = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


def wp(id, lines, carrier="SF", hours=None):
    return WavePackage(id, lines, carrier, None if hours is None else T0 + timedelta(hours=hours))


def test_package_kind():
    assert d.package_kind(wp(1, {"a": 1})) == WaveKind.SINGLE_UNIT
    assert d.package_kind(wp(1, {"a": 2})) == WaveKind.SINGLE_SKU
    assert d.package_kind(wp(1, {"a": 1, "b": 1})) == WaveKind.MULTI
    assert d.package_kind(wp(1, {"a": 1, "b": 0})) == WaveKind.SINGLE_UNIT  # zero lines do not count
    with pytest.raises(ValueError, match="package 1 has no lines"):
        d.package_kind(wp(1, {}))


POOL = [
    wp(1, {"a": 1}, hours=5),
    wp(2, {"a": 2}, hours=1),
    wp(3, {"a": 1, "b": 1}, hours=3),
    wp(4, {"b": 1}, carrier="YTO", hours=2),
    wp(5, {"c": 1}),  # no ship_by: last
    wp(6, {"a": 3}, hours=4),
    wp(7, {"b": 2, "c": 1}, hours=0),
    wp(8, {"a": 1}, hours=1),
]


def wave_ids(kind, **kw):
    return [p.id for p in d.select_wave(POOL, WaveStrategyInfo(kind, **kw))]


def test_select_wave_by_kind_sorted_by_ship_by():
    assert wave_ids(WaveKind.SINGLE_UNIT) == [8, 4, 1, 5]
    assert wave_ids(WaveKind.SINGLE_SKU) == [2, 6]
    assert wave_ids(WaveKind.MULTI) == [7, 3]
    # 爆款: a is in 4 single-SKU packages (1, 2, 6, 8), b in 1, c in 1
    assert wave_ids(WaveKind.HOT) == [2, 8, 6, 1]


def test_select_wave_carrier_max_and_min():
    assert wave_ids(WaveKind.SINGLE_UNIT, carrier="SF") == [8, 1, 5]
    assert wave_ids(WaveKind.SINGLE_UNIT, carrier="YTO") == [4]
    assert wave_ids(WaveKind.SINGLE_UNIT, carrier="ZTO") == []
    assert wave_ids(WaveKind.SINGLE_UNIT, max_packages=2) == [8, 4]
    assert wave_ids(WaveKind.SINGLE_UNIT, max_packages=1) == [8]
    assert wave_ids(WaveKind.SINGLE_SKU, min_packages=2) == [2, 6]
    assert wave_ids(WaveKind.SINGLE_SKU, min_packages=3) == []
    assert wave_ids(WaveKind.SINGLE_SKU, min_packages=0) == [2, 6]
    assert wave_ids(WaveKind.HOT, max_packages=2) == [2, 8]
    assert wave_ids(WaveKind.HOT, carrier="YTO") == [4]
    assert wave_ids(WaveKind.HOT, min_packages=5) == []
    assert wave_ids(WaveKind.HOT, min_packages=4) == [2, 8, 6, 1]
    with pytest.raises(ValueError, match="max_packages must be at least 1"):
        wave_ids(WaveKind.MULTI, max_packages=0)


def test_select_wave_accepts_plain_string_kinds_and_keeps_input_order_on_ties():
    pool = [wp(3, {"a": 1}, hours=1), wp(1, {"b": 1}, hours=1), wp(2, {"c": 1})]
    assert [p.id for p in d.select_wave(pool, WaveStrategyInfo("single_unit"))] == [3, 1, 2]


def test_hot_ties_go_to_the_more_urgent_then_the_sku_code():
    pool = [
        wp(1, {"b": 1}, hours=5),
        wp(2, {"b": 1}, hours=6),
        wp(3, {"a": 1}, hours=4),
        wp(4, {"a": 1}, hours=9),
    ]
    assert [p.id for p in d.select_wave(pool, WaveStrategyInfo(WaveKind.HOT))] == [3, 4]
    pool = [wp(1, {"b": 1}, hours=5), wp(2, {"a": 1}, hours=5)]
    assert [p.id for p in d.select_wave(pool, WaveStrategyInfo(WaveKind.HOT))] == [2]
    pool = [wp(1, {"b": 1}), wp(2, {"a": 1})]  # neither has a ship_by
    assert [p.id for p in d.select_wave(pool, WaveStrategyInfo(WaveKind.HOT))] == [2]
    assert d.select_wave([wp(1, {"a": 1, "b": 1})], WaveStrategyInfo(WaveKind.HOT)) == []


def test_location_natural_order():
    locations = ["B-1", "", "A-10-1", "a-2-10", "A-01-11", "A-2-9", "A-1-3", "  ", "A", "A-01-3"]
    ordered = sorted(locations, key=d.location_key)
    assert ordered == ["A", "A-01-3", "A-1-3", "A-01-11", "A-2-9", "a-2-10", "A-10-1", "B-1", "", "  "]
    assert d.location_key(None) == d.location_key("") == (1, ())


def test_pick_list_totals_by_location():
    packages = [
        wp(1, {"a": 1, "b": 2}), wp(2, {"a": 3}), wp(3, {"z": 2, "c": 1, "d": 1, "e": 0}), wp(4, {"b": 1}),
        wp(5, {"y": 1, "x": 1}),
    ]  # fmt: skip
    locations = {"a": "A-2-10", "b": "A-01-03", "c": "", "d": " B-1 ", "y": "A-2-10", "x": "A-2-10"}
    assert d.pick_list(packages, locations) == [
        PickRow("A-01-03", "b", 3),
        PickRow("A-2-10", "a", 4),
        PickRow("A-2-10", "x", 1),  # one bin, several SKUs: by SKU code
        PickRow("A-2-10", "y", 1),
        PickRow("B-1", "d", 1),
        PickRow("", "c", 1),
        PickRow("", "z", 2),
    ]
    assert d.pick_list([], locations) == []


def test_plan_wave_seeds_multi_item_waves_only():
    plan = d.plan_wave(POOL, WaveStrategyInfo(WaveKind.MULTI), {"b": "A-1", "c": "A-2", "a": "B-1"})
    assert [p.id for p in plan.packages] == [7, 3]
    assert plan.pick_list == [PickRow("A-1", "b", 3), PickRow("A-2", "c", 1), PickRow("B-1", "a", 1)]
    assert plan.slots == [d.SeedSlot(1, 7, {"b": 2, "c": 1}), d.SeedSlot(2, 3, {"a": 1, "b": 1})]
    single = d.plan_wave(POOL, WaveStrategyInfo(WaveKind.SINGLE_SKU), {})
    assert [p.id for p in single.packages] == [2, 6]
    assert single.pick_list == [PickRow("", "a", 5)]
    assert single.slots == []
    empty = d.plan_wave(POOL, WaveStrategyInfo(WaveKind.SINGLE_SKU, carrier="YTO"), {})
    assert empty == d.WavePlan([], [], [])


# ---------------------------------------------------------------- weigh check


def test_expected_weight():
    assert d.expected_weight({"a": 2, "b": 1}, {"a": 150, "b": 300}, 40) == 640
    assert d.expected_weight({"a": 2, "x": 5}, {"a": 150}) == 300
    assert d.expected_weight({}, {}, 25) == 25


@pytest.mark.parametrize(
    ("expected", "measured", "ok", "allowed"),
    [
        (1000, 1000, True, Decimal(50)),
        (1000, 1050, True, Decimal(50)),  # 50 g bound is larger than 5 % = 50: exactly at it
        (1000, 1051, False, Decimal(50)),
        (1000, 950, True, Decimal(50)),
        (1000, 949, False, Decimal(50)),
        (2000, 2100, True, Decimal(100)),  # 5 % = 100 g > 50 g
        (2000, 2101, False, Decimal(100)),
        (2000, 1900, True, Decimal(100)),
        (2000, 1899, False, Decimal(100)),
        (100, 150, True, Decimal(50)),  # small parcel: the grams win over 5 g
        (100, 151, False, Decimal(50)),
        (100, 50, True, Decimal(50)),
        (100, 49, False, Decimal(50)),
        (1010, 1060, True, Decimal("50.5")),
        (1010, 1061, False, Decimal("50.5")),
        (0, 50, True, Decimal(50)),
        (0, 51, False, Decimal(50)),
    ],
)
def test_weigh_check_default_tolerance(expected, measured, ok, allowed):
    outcome = d.weigh_check(expected, measured)
    assert (outcome.ok, outcome.allowed_g, outcome.expected_g, outcome.measured_g) == (
        ok, allowed, expected, measured,
    )  # fmt: skip
    assert outcome.deviation_g == measured - expected
    assert outcome.code == ("" if ok else "weight_out_of_tolerance")


def test_weigh_check_over_and_under_separately():
    tol = Tolerance(over_g=10, over_pct=Decimal("0"), under_g=100, under_pct=Decimal("20"))
    assert d.weigh_check(1000, 1010, tol).ok
    assert not d.weigh_check(1000, 1011, tol).ok
    assert d.weigh_check(1000, 800, tol).ok  # 20 % = 200 g > 100 g
    assert not d.weigh_check(1000, 799, tol).ok
    assert d.weigh_check(1000, 799, tol).allowed_g == Decimal(200)
    assert d.weigh_check(1000, 1011, tol).allowed_g == Decimal(10)
    assert Tolerance() == Tolerance(50, Decimal(5), 50, Decimal(5))


def test_weigh_reason_carries_both_weights():
    assert (
        d.weigh_check(1000, 1120).reason == "称重超重：预计 1000 克，实称 1120 克，相差 120 克（允许 50 克）"
    )
    assert (
        d.weigh_check(2020, 1800).reason == "称重偏轻：预计 2020 克，实称 1800 克，相差 220 克（允许 101 克）"
    )
    assert (
        d.weigh_check(1010, 800).reason == "称重偏轻：预计 1010 克，实称 800 克，相差 210 克（允许 50.5 克）"
    )


def test_weigh_refuses_negative_weights():
    with pytest.raises(ValueError, match="weights cannot be negative"):
        d.weigh_check(100, -1)
    with pytest.raises(ValueError, match="weights cannot be negative"):
        d.weigh_check(-1, 100)
    assert d.weigh_check(10, 0).ok  # a weight of 0 is a measurement (within 50 g of 10 g)


@given(st.integers(0, 100_000), st.integers(0, 100_000))
def test_weigh_ok_iff_within_either_bound(expected, measured):
    deviation = abs(measured - expected)
    ok = deviation <= 50 or deviation * 100 <= 5 * expected
    assert d.weigh_check(expected, measured).ok is ok


# ---------------------------------------------------------------- scan check

BARCODES = {"6901": "a", "6902": "b", "6903": "b", "6999": "z"}


def test_scan_session_happy_path_with_barcodes_and_merchant_codes():
    s = ScanSession({"a": 1, "b": 2}, BARCODES)
    assert s.missing() == {"a": 1, "b": 2}
    assert s.scan("6902") == d.ScanOutcome(True, "", "b", "b 1/2")
    assert not s.complete
    assert s.scan(" b ") == d.ScanOutcome(True, "", "b", "b 2/2")  # the merchant code is a barcode
    assert s.missing() == {"a": 1}
    assert s.finish() == d.ScanOutcome(False, "missing_items", "", "还缺：a × 1", {"a": 1})
    assert s.scan("６９０１").ok  # full-width digits from an IME
    assert s.complete
    assert s.finish() == d.ScanOutcome(True)


def test_scan_refusals_change_nothing():
    s = ScanSession({"a": 1, "b": 2}, BARCODES)
    assert s.scan("6999") == d.ScanOutcome(False, "wrong_sku", "z", "z 不是这个包裹里的商品")
    assert s.scan("0000") == d.ScanOutcome(False, "wrong_sku", "", "0000 不是这个包裹里的商品")
    assert s.scan("a").ok
    assert s.scan("6901") == d.ScanOutcome(False, "surplus_item", "a", "a 多了：应有 1 件，已扫 1 件")
    assert s.scanned == {"a": 1}


def test_zero_lines_are_not_in_the_package():
    s = ScanSession({"a": 1, "b": 0}, {})
    assert s.scan("b").code == "wrong_sku"
    assert s.missing() == {"a": 1}


def test_typed_counts_only_above_five():
    s = ScanSession({"a": 6, "b": 5}, {})
    assert s.scan("b", 2) == d.ScanOutcome(False, "count_not_allowed", "b", "b 只有 5 件，请逐件扫描")
    assert s.scan("a", 7) == d.ScanOutcome(False, "surplus_item", "a", "a 多了：应有 6 件，已扫 0 件")
    assert s.scan("a", 5).ok
    assert s.scan("a", 2).code == "surplus_item"
    assert s.scan("a", 1).ok
    assert s.scanned == {"a": 6}
    with pytest.raises(ValueError, match="count must be at least 1"):
        s.scan("b", 0)


@pytest.mark.parametrize(
    ("entry", "parsed"),
    [("6901", ("6901", 1)), ("6901*12", ("6901", 12)), (" 6901 * 3 ", ("6901", 3)), ("*3", ("*3", 1)),
     ("a*b", ("a*b", 1)), ("6901*", ("6901*", 1)), ("A*B*2", ("A*B", 2)), ("６９０１＊２", ("6901", 2))],
)  # fmt: skip
def test_parse_scan(entry, parsed):
    assert d.parse_scan(entry) == parsed


def test_check_scans():
    expected = {"a": 1, "b": 7}
    assert d.check_scans(expected, BARCODES, ["6901", "b*7"]) == d.ScanOutcome(True)
    assert d.check_scans(expected, BARCODES, ["6901", "6902*6", "6903"]).ok
    assert d.check_scans(expected, BARCODES, ["6999", "6901"]).code == "wrong_sku"
    assert d.check_scans(expected, BARCODES, ["6901", "6901"]).code == "surplus_item"
    assert d.check_scans(expected, BARCODES, ["6901", "b*8"]).code == "surplus_item"
    outcome = d.check_scans(expected, BARCODES, ["b*6"])
    assert (outcome.code, outcome.missing) == ("missing_items", {"a": 1, "b": 1})
    assert d.check_scans(expected, BARCODES, []).missing == {"a": 1, "b": 7}
    # the first refusal wins over what is missing
    assert d.check_scans(expected, BARCODES, ["6999"]).code == "wrong_sku"


def test_the_domain_imports_no_django():
    code = "import sys, zhongshu.fulfilment.domain; print(sorted(m for m in sys.modules if m.startswith('django')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
