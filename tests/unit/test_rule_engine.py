"""The rules engine's pure parts: validation with paths, preview text, evaluator thresholds, diff."""

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal

import pytest

from zhongshu.core.timeutil import SHANGHAI
from zhongshu.orders.review import LineInfo, OrderInfo
from zhongshu.rules.actions import outcome, validate_actions
from zhongshu.rules.conditions import describe, validate
from zhongshu.rules.diff import diff
from zhongshu.rules.engine import compile_rule, evaluate, history_needs
from zhongshu.rules.facts import FACTS, History, deviation_percent
from zhongshu.rules.templates import TEMPLATES

D = Decimal
RULES = [compile_rule(t) for t in TEMPLATES]
NO_HISTORY = History()


def line(**kw) -> LineInfo:
    base = dict(sku="A", quantity=1, unit_price=D("39.90"), promo_price=None, paid_amount=D("39.90"),
                cost_price=D("20.00"), presale=False, tags=("frozen",))  # fmt: skip
    return LineInfo(**(base | kw))


def order(*lines: LineInfo, **kw) -> OrderInfo:
    lines = lines or (line(),)
    total = sum((ln.paid_amount for ln in lines), start=D("0.00"))
    base = dict(shop="mp", platform="own", channel_order_id="X1", placed_at=datetime(2026, 11, 27, 20, tzinfo=SHANGHAI),
                paid_at=None, ship_by=None, province="四川省", address="天府大道北段1700号", phone="13800138000",
                buyer_vip=False, id_number_hash="", lines=lines, freight=D("0.00"), discount=D("0.00"),
                paid_amount=total, presale=False)  # fmt: skip
    return OrderInfo(**(base | kw))


def codes(o: OrderInfo, history: History = NO_HISTORY, peak: bool = False) -> tuple[list[str], list[str]]:
    d = evaluate(RULES, o, history, peak)
    return [h.code for h in d.outcome.holds], d.outcome.flags


def test_plain_order_matches_nothing():
    assert codes(order()) == ([], [])


@pytest.mark.parametrize("count, held", [(3, False), (4, True), (5, True)])
def test_brushing_from_the_fourth_order_of_an_id_number(count, held):
    assert codes(order(id_number_hash="h"), History(same_id_number_today=count))[0] == (
        ["brushing"] if held else []
    )


@pytest.mark.parametrize("address", ["菜鸟驿站 岳麓区", "小区代收点3号"])
@pytest.mark.parametrize("paid, held", [("499.99", False), ("500.00", False), ("500.01", True)])
def test_pickup_point_review_above_500(address, paid, held):
    o = order(line(unit_price=D("100.00"), paid_amount=D(paid)), address=address)
    assert codes(o)[0] == (["manual_review/pickup_point_review"] if held else [])


def test_pickup_point_needs_the_word_in_the_address():
    assert codes(order(line(paid_amount=D("900.00"), unit_price=D("100.00"))))[0] == []


@pytest.mark.parametrize("price, flagged", [("199.99", False), ("200.00", False), ("200.01", True)])
def test_signature_required_flag_above_200_is_not_a_hold(price, flagged):
    o = order(line(), line(sku="B", unit_price=D(price), paid_amount=D(price)))
    assert codes(o) == ([], ["signature_required"] if flagged else [])


@pytest.mark.parametrize(
    "promo, held", [("85.01", False), ("85.00", False), ("84.99", True), ("10.00", True)]
)
def test_price_deviation_promo_more_than_15_percent_below_cost(promo, held):
    o = order(
        line(unit_price=D("120.00"), promo_price=D(promo), paid_amount=D(promo), cost_price=D("100.00"))
    )
    assert codes(o)[0] == (["price_deviation"] if held else [])


def test_price_deviation_notice_names_the_order_only():
    o = order(line(promo_price=D("1.00"), paid_amount=D("1.00"), cost_price=D("100.00")))
    [notice] = evaluate(RULES, o, History(), False).outcome.notices
    assert (notice.rule, notice.audience) == ("price_deviation", "operations")
    assert "mp/X1" in notice.title and "13800138000" not in notice.title + notice.body


def test_deviation_fact_is_two_sided_and_exact():
    assert deviation_percent(line(promo_price=D("115.00"), cost_price=D("100.00"))) == D("15")
    assert deviation_percent(line(promo_price=D("84.99"), cost_price=D("100.00"))) == D("15.01")
    assert deviation_percent(line(promo_price=None)) is None
    assert deviation_percent(line(promo_price=D("1.00"), cost_price=D("0.00"))) is None


@pytest.mark.parametrize("supply, held", [(date(2026, 12, 1), False), (date(2026, 12, 2), True)])
def test_presale_supply_after_ship_by_is_held(supply, held):
    ship_by = datetime(2026, 12, 1, 23, 30, tzinfo=SHANGHAI)  # 15:30 UTC: still 1 Dec in Shanghai
    o = order(line(presale=True, supply_date=supply), ship_by=ship_by, presale=True)
    assert codes(o)[0] == (["presale_supply_late"] if held else [])
    assert codes(replace(o, ship_by=None))[0] == []


@pytest.mark.parametrize("paid, held", [("39.90", False), ("39.89", True), ("39.91", True)])
def test_price_mismatch_to_the_fen(paid, held):
    o = order(line(), freight=D("8.00"), discount=D("8.00"), paid_amount=D(paid))
    assert codes(o)[0] == (["price_mismatch"] if held else [])


def test_peak_manual_review_only_in_peak_mode():
    vip = order(buyer_vip=True)
    assert codes(vip, peak=False)[0] == []
    assert codes(vip, peak=True)[0] == ["manual_review/peak_manual_review"]
    big = order(line(unit_price=D("100.00"), paid_amount=D("2000.00")))
    assert codes(big, peak=True)[0] == []
    big = order(line(unit_price=D("100.00"), paid_amount=D("2000.01")))
    assert codes(big, peak=True)[0] == ["manual_review/peak_manual_review"]


def test_dry_run_rule_matches_but_does_not_act():
    rule = compile_rule({**TEMPLATES[0], "dry_run": True})
    d = evaluate([rule], order(id_number_hash="h"), History(same_id_number_today=9), False)
    assert [r.code for r in d.dry_run] == ["brushing"] and d.outcome.holds == []


def test_all_lines_quantifier_and_tags():
    rule = compile_rule({"code": "t", "name": "t", "actions": [{"type": "add_tag", "tag": "冷链"}],
                         "condition": {"fact": "line.tags", "op": "contains", "value": "frozen", "quantifier": "all"}})  # fmt: skip
    assert evaluate([rule], order(line(), line(sku="B")), History(), False).outcome.flags == ["tag:冷链"]
    mixed = order(line(), line(sku="B", tags=("chilled",)))
    assert evaluate([rule], mixed, History(), False).outcome.flags == []


def test_history_needs_and_parametrised_facts():
    cond = {"any": [{"fact": "orders_same_phone_hours", "param": 24, "op": "≥", "value": 3},
                    {"not": {"fact": "receiver.region", "op": "in", "value": ["华中", "西南"]}}]}  # fmt: skip
    rule = compile_rule(
        {"code": "p", "name": "p", "condition": cond, "actions": [{"type": "flag", "flag": "x"}]}
    )
    assert history_needs([rule]) == {("orders_same_phone_hours", 24)}
    o = order(region="西南")
    assert evaluate([rule], o, History(same_phone_hours={24: 2}), False).matched == []
    assert evaluate([rule], o, History(same_phone_hours={24: 3}), False).outcome.flags == ["x"]
    assert evaluate([rule], replace(o, region="华东"), History(), False).outcome.flags == ["x"]


def test_other_actions_become_flags():
    acts = [{"type": "route_to_warehouse", "warehouse": "CD"}, {"type": "choose_carrier", "carrier": "SF"},
            {"type": "add_tag", "tag": "vip"}, {"type": "flag", "flag": "signature_required"}]  # fmt: skip
    out = outcome("r", acts, "mp/X1")
    assert (out.holds, out.flags) == ([], ["route:CD", "carrier:SF", "tag:vip", "signature_required"])


def test_validate_names_the_path():
    cond = {"all": [
        {"fact": "receiver.address", "op": "contains", "value": "驿站"},
        {"fact": "order.paid_amount", "op": ">", "value": 500.5},
        {"fact": "order.paid_amount", "op": "contains", "value": "5"},
        {"fact": "no.such", "op": "=", "value": "1"},
        {"fact": "orders_same_phone_hours", "op": ">", "value": "3"},
        {"fact": "buyer.vip", "op": "is_true", "quantifier": "all"},
        {"any": []},
        "text",
    ]}  # fmt: skip
    paths = [e["path"] for e in validate(cond)]
    assert paths == ["condition.all[1].value", "condition.all[2].op", "condition.all[3].fact",
                     "condition.all[4].param", "condition.all[5].quantifier", "condition.all[6].any",
                     "condition.all[7]"]  # fmt: skip
    assert validate(TEMPLATES[1]["condition"]) == []
    assert [e["path"] for e in validate_actions([{"type": "hold"}, {"type": "boom"}])] == [
        "actions[0].reason",
        "actions[1].type",
    ]


def test_every_template_validates_and_every_fact_has_labels():
    for t in TEMPLATES:
        assert validate(t["condition"]) == [] and validate_actions(t["actions"]) == [], t["code"]
    assert all(f.zh and f.en and f.type and f.scope in ("order", "line", "history") for f in FACTS.values())


def test_describe_in_chinese_and_english():
    t = TEMPLATES[1]
    assert describe(t["condition"], "zh", t["actions"]) == (
        "当 （收货地址 包含 驿站 或 收货地址 包含 代收点） 且 实付金额 > 500 时 → 人工审核"
    )
    assert describe(t["condition"], "en", t["actions"]) == (
        "When (Address contains 驿站 or Address contains 代收点) and Paid amount > 500 → manual review"
    )
    cond = {"fact": "orders_same_phone_hours", "param": 24, "op": ">", "value": "3"}
    assert describe(cond) == "当 同手机号近 24 小时订单数 > 3 时"
    assert describe(TEMPLATES[2]["condition"]) == "当 任一商品行的单价 > 200 时"


def test_diff_lists_changed_leaves():
    before = {"priority": 10, "condition": {"all": [{"fact": "f", "op": ">", "value": "3"}]}}
    after = {"priority": 10, "condition": {"all": [{"fact": "f", "op": ">", "value": "5"}]}}
    assert diff(before, after) == [{"path": "condition.all[0].value", "from": "3", "to": "5"}]
    assert diff(after, after) == []
