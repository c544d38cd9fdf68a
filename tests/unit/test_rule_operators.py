"""The evaluator operator by operator: each comparison, group and quantifier on a case that holds and
one that does not, so that a swapped operator (not_contains behaving as contains, and/or) fails."""

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest

from zhongshu.core.timeutil import SHANGHAI
from zhongshu.rules.engine import compile_rule, evaluate, history_needs
from zhongshu.rules.facts import Env, History

from .test_rule_engine import line, order

D = Decimal


def rule(condition, **kw) -> dict:
    return {
        "code": "r",
        "name": "R",
        "condition": condition,
        "actions": [{"type": "flag", "flag": "x"}],
        **kw,
    }


def holds(condition, o=None, history: History | None = None, peak: bool = False) -> bool:
    return compile_rule(rule(condition)).test(Env(o or order(), history or History(), peak))


def cmp(fact, op, value=None, **kw) -> dict:
    node = {"fact": fact, "op": op, **kw}
    return node if value is None else {**node, "value": value}


# --- text facts with a single value --------------------------------------------------------------


@pytest.mark.parametrize(
    "op, value, expected",
    [
        ("contains", "驿站", True),
        ("contains", "代收点", False),
        ("not_contains", "驿站", False),
        ("not_contains", "代收点", True),
        ("=", "菜鸟驿站 岳麓区", True),
        ("=", "菜鸟驿站", False),
        ("≠", "菜鸟驿站", True),
        ("≠", "菜鸟驿站 岳麓区", False),
        ("!=", "菜鸟驿站", True),
        ("==", "菜鸟驿站 岳麓区", True),
    ],
)
def test_text_operators(op, value, expected):
    assert holds(cmp("receiver.address", op, value), order(address="菜鸟驿站 岳麓区")) is expected


@pytest.mark.parametrize(
    "op, value, expected",
    [
        ("in", ["mp", "tb"], True),
        ("in", ["tb", "jd"], False),
        ("not_in", ["tb", "jd"], True),
        ("not_in", ["mp", "tb"], False),
    ],
)
def test_in_and_not_in_on_a_single_value_fact(op, value, expected):
    assert holds(cmp("shop.code", op, value), order(shop="mp")) is expected


@pytest.mark.parametrize("op, value", [("in", ["CD"]), ("not_in", ["CD"]), ("contains", "CD"),
                                       ("not_contains", "CD"), ("=", "CD"), ("≠", "CD")])  # fmt: skip
def test_an_unknown_value_never_matches(op, value):
    # order.warehouse is None outside carrier rules: neither "in" nor "not in", neither = nor ≠
    assert holds(cmp("order.warehouse", op, value), order()) is False
    assert holds(cmp("order.warehouse", op, value), order(warehouse="CD")) is (op in ("in", "contains", "="))


@pytest.mark.parametrize(
    "op, value, expected",
    [("=", "100", True), ("=", "100.01", False), ("≠", "100", False), ("≠", "99", True),
     (">", "99.99", True), (">", "100", False), ("≥", "100", True), ("≥", "100.01", False),
     ("<", "100.01", True), ("<", "100", False), ("≤", "100", True), ("≤", "99.99", False),
     (">=", "100", True), ("<=", "99.99", False), ("in", ["1", "100"], True), ("not_in", ["100.00"], False)],
)  # fmt: skip
def test_money_operators_compare_exactly(op, value, expected):
    assert holds(cmp("order.paid_amount", op, value), order(paid_amount=D("100.00"))) is expected


@pytest.mark.parametrize("op", ["=", "≠", ">", "≥", "<", "≤"])
def test_a_missing_money_value_never_matches(op):
    assert holds(cmp("line.promo_price", op, "10"), order(line(promo_price=None))) is False


# --- tags: a set of texts per line ---------------------------------------------------------------


@pytest.mark.parametrize(
    "op, value, expected",
    [
        ("=", "frozen", True),
        ("=", "fragile", False),
        ("≠", "frozen", False),
        ("≠", "fragile", True),
        ("contains", "gift", True),
        ("contains", "fragile", False),
        ("not_contains", "gift", False),
        ("not_contains", "fragile", True),
        ("in", ["fragile", "frozen"], True),
        ("in", ["fragile", "liquid"], False),
        ("not_in", ["fragile", "liquid"], True),
        ("not_in", ["fragile", "gift"], False),
    ],
)
def test_tag_operators(op, value, expected):
    o = order(line(tags=("frozen", "gift")))
    assert holds(cmp("line.tags", op, value), o) is expected


@pytest.mark.parametrize("op", ["in", "not_in"])
def test_tags_unknown_never_match(op):
    assert holds(cmp("line.tags", op, ["frozen"]), order(line(tags=None))) is False


# --- booleans --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "vip, is_true, is_false", [(True, True, False), (False, False, True), (None, False, False)]
)
def test_is_true_and_is_false(vip, is_true, is_false):
    o = order(buyer_vip=vip)
    assert holds(cmp("buyer.vip", "is_true"), o) is is_true
    assert holds(cmp("buyer.vip", "is_false"), o) is is_false


def test_peak_mode_fact_sees_the_switch():
    assert holds(cmp("peak_mode", "is_true"), peak=True) is True
    assert holds(cmp("peak_mode", "is_true"), peak=False) is False
    [r] = [compile_rule(rule(cmp("peak_mode", "is_true")))]
    assert evaluate([r], order(), History(), True).outcome.flags == ["x"]
    assert evaluate([r], order(), History(), False).matched == []


# --- groups ----------------------------------------------------------------------------------------

T = cmp("shop.code", "=", "mp")
F = cmp("shop.code", "=", "tb")


@pytest.mark.parametrize(
    "parts, all_, any_",
    [
        ([T], True, True),
        ([F], False, False),
        ([T, T], True, True),
        ([T, F], False, True),
        ([F, T], False, True),
        ([F, F], False, False),
        ([T, T, T], True, True),
        ([T, T, F], False, True),
        ([F, T, T], False, True),
        ([F, F, T], False, True),
        ([F, F, F], False, False),
        ([T, T, T, F], False, True),
    ],
)
def test_all_and_any_groups_of_every_size(parts, all_, any_):
    assert holds({"all": parts}) is all_
    assert holds({"any": parts}) is any_
    assert holds({"not": {"all": parts}}) is (not all_)
    assert holds({"not": {"any": parts}}) is (not any_)


@pytest.mark.parametrize("condition", [{}, None])
def test_an_empty_condition_matches_every_order(condition):
    r = compile_rule(rule(condition))
    assert r.test(Env(order(), History(), False)) is True
    assert r.needs == frozenset()
    assert evaluate([r], order(), History(), False).outcome.flags == ["x"]


# --- line quantifiers ------------------------------------------------------------------------------


def test_any_line_looks_at_every_line_and_no_lines_match_nothing():
    c = cmp("line.unit_price", ">", "200")
    cheap, dear = line(unit_price=D("10.00")), line(sku="B", unit_price=D("300.00"))
    assert holds(c, order(cheap, dear)) is True
    assert holds(c, order(dear, cheap)) is True
    assert holds(c, order(cheap, cheap)) is False
    assert holds(c, replace(order(), lines=())) is False
    assert holds({**c, "quantifier": "any"}, order(cheap, dear)) is True


def test_all_lines_needs_every_line_and_at_least_one():
    c = cmp("line.unit_price", ">", "200", quantifier="all")
    cheap, dear = line(unit_price=D("10.00")), line(sku="B", unit_price=D("300.00"))
    assert holds(c, order(dear, dear)) is True
    assert holds(c, order(cheap, dear)) is False
    assert holds(c, order(dear, cheap)) is False
    assert holds(c, replace(order(), lines=())) is False


@pytest.mark.parametrize("quantifier", ["any", "all"])
def test_line_facts_that_read_the_order(quantifier):
    # the presale supply date is compared with the order's ship-by date: the getter needs the order
    ship_by = datetime(2026, 12, 1, 12, tzinfo=SHANGHAI)
    late = line(presale=True, supply_date=date(2026, 12, 2))
    o = order(late, late, ship_by=ship_by)
    c = cmp("line.presale_supply_late", "is_true", quantifier=quantifier)
    assert holds(c, o) is True
    assert holds(c, replace(o, ship_by=None)) is False


# --- compiled rule fields, history needs, merged outcome -------------------------------------------


def test_compile_rule_keeps_the_fields_and_defaults():
    r = compile_rule(rule(T))
    assert (r.code, r.name, r.version, r.priority, r.dry_run, r.peak_only, r.rule_id) == (
        "r", "R", 0, 100, False, False, None
    )  # fmt: skip
    r = compile_rule(rule(T, version=3, priority=5, dry_run=True, peak_only=True, id=42))
    assert (r.version, r.priority, r.dry_run, r.peak_only, r.rule_id) == (3, 5, True, True, 42)
    assert r.actions == ({"type": "flag", "flag": "x"},)


def test_peak_only_rules_act_only_in_peak_mode():
    r = compile_rule(rule(T, peak_only=True))
    assert evaluate([r], order(), History(), False).matched == []
    assert evaluate([r], order(), History(), True).matched == [r]


def test_history_needs_look_inside_not_and_groups():
    cond = {"not": {"all": [cmp("orders_same_address_hours", ">", "2", param=6), T,
                            cmp("orders_same_id_number_today", ">", "1")]}}  # fmt: skip
    r = compile_rule(rule(cond))
    assert history_needs([r]) == {("orders_same_address_hours", 6), ("orders_same_id_number_today", None)}
    assert holds(cond, history=History(same_address_hours={6: 3}, same_id_number_today=2)) is False
    assert holds(cond, history=History(same_address_hours={6: 2}, same_id_number_today=2)) is True


def test_outcomes_of_several_rules_merge_without_duplicates():
    acts_a = [{"type": "hold", "reason": "a", "code": "h1"}, {"type": "flag", "flag": "f1"},
              {"type": "pause_shipping_and_notify", "reason": "stop", "code": "h2"}]  # fmt: skip
    acts_b = [{"type": "hold", "reason": "b", "code": "h1"}, {"type": "hold", "reason": "c", "code": "h3"},
              {"type": "flag", "flag": "f1"}, {"type": "flag", "flag": "f2"},
              {"type": "pause_shipping_and_notify", "reason": "stop too"}]  # fmt: skip
    a = compile_rule({**rule(T, actions=acts_a), "code": "a"})
    b = compile_rule({**rule(T, actions=acts_b), "code": "b"})
    out = evaluate([a, b], order(), History(), False).outcome
    assert [(h.code, h.reason) for h in out.holds] == [
        ("h1", "a"),
        ("h2", "stop"),
        ("h3", "c"),
        ("b", "stop too"),
    ]
    assert out.flags == ["f1", "f2"]
    assert [(n.rule, n.body) for n in out.notices] == [("a", "stop"), ("b", "stop too")]
    assert "mp/X1" in out.notices[0].title
