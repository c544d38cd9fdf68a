"""The condition language: every validation error with its path AND its message, the limits at their
edges, and the plain-language preview of each kind of node (NOT, all-lines, lists, parameters)."""

import pytest

from zhongshu.rules.conditions import MAX_HOURS, describe, validate

T = {"fact": "shop.code", "op": "=", "value": "mp"}
F = {"fact": "shop.code", "op": "=", "value": "tb"}
SHAPE = "must be a group {all|any|not} or a comparison {fact, op, value}"
MONEY = 'must be a number as text or integer with at most 2 decimals, e.g. "500"'
NUMBER = 'must be a number as text or integer with at most 4 decimals, e.g. "500"'
DATE = 'must be a date "YYYY-MM-DD"'
TEXT = "must be a non-empty text of at most 200 characters"


def c(fact, op, value=None, **kw) -> dict:
    node = {"fact": fact, "op": op, **kw}
    return node if value is None else {**node, "value": value}


def errors(condition, path="condition") -> list[tuple[str, str]]:
    return [(e["path"], e["msg"]) for e in validate(condition, path)]


# --- valid conditions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "node",
    [
        c("order.paid_amount", ">", "500"),
        c("order.paid_amount", ">=", 500),
        c("order.paid_amount", "<=", "0.01"),
        c("order.paid_amount", "==", "-12.5"),
        c("order.paid_amount", "!=", "999999999999.99"),
        c("order.weight_kg", "≥", "1.2345"),
        c("line.promo_below_cost_percent", ">", "15.0001"),
        c("order.ship_by", "<", "2026-12-01"),
        c("buyer.vip", "is_true"),
        c("buyer.vip", "is_false"),
        c("receiver.address", "contains", "驿站"),
        c("receiver.address", "not_contains", "x" * 200),
        c("receiver.region", "in", ["华中", "西南"]),
        c("shop.platform", "not_in", ["jd"]),
        c("shop.code", "in", [str(i) for i in range(500)]),
        c("line.tags", "contains", "frozen", quantifier="all"),
        c("line.unit_price", ">", "200", quantifier="any"),
        c("orders_same_phone_hours", ">", "3", param=1),
        c("orders_same_address_hours", ">", "3", param=MAX_HOURS),
        {"not": T},
        {"all": [T, F, {"any": [T, {"not": F}]}]},
    ],
)
def test_valid_conditions_have_no_errors(node):
    assert errors(node) == []


# --- each error, with its path and message -------------------------------------------------------


@pytest.mark.parametrize(
    "node, expected",
    [
        ("text", [("condition", SHAPE)]),
        ([T], [("condition", SHAPE)]),
        ({}, [("condition", "must have one of the keys all, any, not or fact")]),
        ({"value": "1"}, [("condition", "must have one of the keys all, any, not or fact")]),
        ({"all": [T], "any": [T]}, [("condition", "a group has exactly one key: all, any or not")]),
        ({"not": T, "fact": "shop.code"}, [("condition", "a group has exactly one key: all, any or not")]),
        ({"all": []}, [("condition.all", "must be a non-empty list")]),
        ({"any": T}, [("condition.any", "must be a non-empty list")]),
        ({"not": "x"}, [("condition.not", SHAPE)]),
        ({"not": {"not": c("no.such", "=", "1")}},
         [("condition.not.not.fact", "unknown fact 'no.such' (see GET /api/v1/rules/facts)")]),
        (c(["shop.code"], "=", "1"),
         [("condition.fact", "unknown fact ['shop.code'] (see GET /api/v1/rules/facts)")]),
        ({**T, "foo": 1, "bar": 2}, [("condition.bar", "unknown key"), ("condition.foo", "unknown key")]),
        (c("buyer.vip", ">", "1"),
         [("condition.op", "'>' is not an operator for buyer.vip (bool); use one of: is_true is_false")]),
        (c("order.ship_by", "in", ["2026-12-01"]),
         [("condition.op", "'in' is not an operator for order.ship_by (date); use one of: = ≠ > ≥ < ≤")]),
        (c("shop.code", ["="], "1"), [("condition.op", "['='] is not an operator for shop.code (text); "
                                                       "use one of: = ≠ contains not_contains in not_in")]),
        (c("receiver.region", "contains", "华"), [("condition.op", "'contains' is not an operator for "
                                                   "receiver.region (choice); use one of: = ≠ in not_in")]),
        (c("order.paid_amount", ">", 500.5), [("condition.value", MONEY)]),
        (c("order.paid_amount", ">", "1.234"), [("condition.value", MONEY)]),
        (c("order.paid_amount", ">", True), [("condition.value", MONEY)]),
        (c("order.paid_amount", ">", "1e3"), [("condition.value", MONEY)]),
        (c("order.paid_amount", ">", "1234567890123"), [("condition.value", MONEY)]),
        (c("order.weight_kg", ">", "1.23456"), [("condition.value", NUMBER)]),
        (c("line.promo_below_cost_percent", ">", "1.23456"), [("condition.value", NUMBER)]),
        (c("order.ship_by", ">", "2026-12-1"), [("condition.value", DATE)]),
        (c("order.ship_by", ">", "2026-13-01"), [("condition.value", DATE)]),
        (c("order.ship_by", ">", "2026-12-01T08"), [("condition.value", DATE)]),
        (c("order.ship_by", ">", 20261201), [("condition.value", DATE)]),
        (c("receiver.address", "contains", ""), [("condition.value", TEXT)]),
        (c("receiver.address", "contains", "  "), [("condition.value", TEXT)]),
        (c("receiver.address", "contains", "x" * 201), [("condition.value", TEXT)]),
        (c("receiver.address", "contains", 5), [("condition.value", TEXT)]),
        (c("receiver.address", "contains"), [("condition.value", TEXT)]),
        (c("receiver.region", "=", "火星"),
         [("condition.value", "must be one of 华北, 东北, 华东, 华中, 华南, 西南, 西北, 港澳台")]),
        (c("buyer.vip", "is_true", "yes"), [("condition.value", "is_true takes no value")]),
        (c("buyer.vip", "is_false", False), [("condition.value", "is_false takes no value")]),
        (c("shop.code", "in", []), [("condition.value", "in needs a list of 1 to 500 values")]),
        (c("shop.code", "not_in", "mp"), [("condition.value", "not_in needs a list of 1 to 500 values")]),
        (c("shop.code", "in", [str(i) for i in range(501)]),
         [("condition.value", "in needs a list of 1 to 500 values")]),
        (c("shop.code", "in", ["mp", ""]), [("condition.value", TEXT)]),
        (c("line.unit_price", ">", "1", quantifier="some"), [("condition.quantifier", "must be any or all")]),
        (c("order.paid_amount", ">", "1", quantifier="any"),
         [("condition.quantifier", "only line facts take a quantifier")]),
        (c("orders_same_phone_hours", ">", "3"),
         [("condition.param", f"orders_same_phone_hours needs param: hours, 1 to {MAX_HOURS}")]),
        (c("orders_same_phone_hours", ">", "3", param=0),
         [("condition.param", f"orders_same_phone_hours needs param: hours, 1 to {MAX_HOURS}")]),
        (c("orders_same_phone_hours", ">", "3", param=MAX_HOURS + 1),
         [("condition.param", f"orders_same_phone_hours needs param: hours, 1 to {MAX_HOURS}")]),
        (c("orders_same_phone_hours", ">", "3", param=True),
         [("condition.param", f"orders_same_phone_hours needs param: hours, 1 to {MAX_HOURS}")]),
        (c("orders_same_phone_hours", ">", "3", param="24"),
         [("condition.param", f"orders_same_phone_hours needs param: hours, 1 to {MAX_HOURS}")]),
        (c("shop.code", "=", "mp", param=24), [("condition.param", "shop.code takes no param")]),
        (c("order.paid_amount", ">", "x", quantifier="all", param=1),
         [("condition.value", MONEY), ("condition.quantifier", "only line facts take a quantifier"),
          ("condition.param", "order.paid_amount takes no param")]),
    ],
)  # fmt: skip
def test_each_error_names_its_path_and_says_what_is_wrong(node, expected):
    assert errors(node) == expected


def test_errors_inside_groups_carry_the_full_path():
    cond = {"any": [T, {"all": [F, {"not": c("shop.code", "in", [])}]}, "x"]}
    assert errors(cond, "rules[2].condition") == [
        ("rules[2].condition.any[1].all[1].not.value", "in needs a list of 1 to 500 values"),
        ("rules[2].condition.any[2]", SHAPE),
    ]


def _nots(node, n: int) -> dict:
    for _ in range(n):
        node = {"not": node}
    return node


def test_nesting_limit_is_ten_levels():
    assert errors(_nots(T, 9)) == []  # the comparison is the 10th level
    assert errors(_nots(T, 10)) == [("condition" + ".not" * 10, "groups nest at most 10 deep")]
    assert errors({"all": [_nots(T, 8)]}) == []
    assert errors({"all": [_nots(T, 9)]}) == [
        ("condition.all[0]" + ".not" * 9, "groups nest at most 10 deep")
    ]


def test_at_most_200_conditions_counting_groups_and_nots():
    assert errors({"all": [T] * 199}) == []  # the group and 199 comparisons
    assert errors({"all": [T] * 200}) == [("condition", "at most 200 conditions")]
    assert errors({"not": {"all": [T] * 198}}) == []
    assert errors({"not": {"all": [T] * 199}}) == [("condition", "at most 200 conditions")]
    assert errors({"all": [{"any": [T] * 98}, {"any": [T] * 99}]}) == []
    assert errors({"all": [{"any": [T] * 99}, {"any": [T] * 99}]}) == [
        ("condition", "at most 200 conditions")
    ]


@pytest.mark.parametrize(
    "bad",
    ["x", {}, {"all": [], "any": []}, {"any": []}, c("no.such", "=", "1"), c("buyer.vip", ">", "1")],
)
def test_an_invalid_node_counts_as_one_condition(bad):
    msgs = [m for _, m in errors({"all": [T] * 198 + [bad]})]
    assert len(msgs) == 1 and "at most" not in msgs[0]


def test_nodes_past_the_depth_limit_count_as_one_each():
    deep = _nots({"all": [T] * 190}, 9)  # 9 nots + the group + 190 comparisons too deep = 200
    assert set(errors(deep)) == {(f"condition{'.not' * 9}.all[{i}]", "groups nest at most 10 deep")
                                 for i in range(190)}  # fmt: skip


# --- the plain-language preview --------------------------------------------------------------------


@pytest.mark.parametrize(
    "node, zh, en",
    [
        ({}, "当 任何订单 时", "When any order"),
        ({"not": {"all": [T, c("buyer.vip", "is_true")]}},
         "当 非（店铺 = mp 且 VIP 买家 = 是） 时", "When not (Shop = mp and VIP buyer is true)"),
        ({"all": [{"not": T}, F]}, "当 非（店铺 = mp） 且 店铺 = tb 时", "When not (Shop = mp) and Shop = tb"),
        ({"any": [{"all": [T, F]}, {"any": [T]}, c("buyer.vip", "is_false")]},
         "当 （店铺 = mp 且 店铺 = tb） 或 店铺 = mp 或 VIP 买家 = 否 时",
         "When (Shop = mp and Shop = tb) or Shop = mp or VIP buyer is false"),
        (c("line.tags", "contains", "frozen", quantifier="all"),
         "当 所有商品行的商品标签 包含 frozen 时", "When every line's SKU tags contains frozen"),
        (c("line.sku", "not_contains", "GIFT", quantifier="any"),
         "当 任一商品行的商品编码 不包含 GIFT 时", "When any line's SKU does not contain GIFT"),
        (c("receiver.region", "in", ["华中", "西南"]),
         "当 收货区域 属于 华中、西南 时", "When Region is one of 华中, 西南"),
        (c("shop.code", "not_in", ["mp", "tb", "jd"]),
         "当 店铺 不属于 mp、tb、jd 时", "When Shop is not one of mp, tb, jd"),
        (c("orders_same_address_hours", ">=", 2, param=6),
         "当 同地址近 6 小时订单数 ≥ 2 时", "When Orders to this address in 6 hours ≥ 2"),
        (c("orders_same_phone_hours", ">", "3"),
         "当 同手机号近 N 小时订单数 > 3 时", "When Orders with this phone in N hours > 3"),
        (c("no.such", "=", "1"), "当 no.such 时", "When no.such"),
    ],
)  # fmt: skip
def test_preview_in_chinese_and_english(node, zh, en):
    assert describe(node, "zh") == zh
    assert describe(node, "en") == en


def test_preview_with_actions_and_the_default_language():
    acts = [{"type": "hold", "reason": "查证"}, {"type": "manual_review", "reason": "x"}]
    assert describe(T, actions=acts) == "当 店铺 = mp 时 → 挂起（查证）；人工审核"
    assert describe(T, "en", acts) == "When Shop = mp → hold (查证); manual review"
    assert describe({}, "zh", []) == "当 任何订单 时"


def test_preview_in_an_unknown_language_is_all_chinese():
    node = {"all": [c("line.tags", "in", ["a", "b"]), c("buyer.vip", "is_true")]}
    assert (
        describe(node, "fr")
        == describe(node, "zh")
        == "当 任一商品行的商品标签 属于 a、b 且 VIP 买家 = 是 时"
    )
