"""Backtest: a rule (or a changed condition) over stored orders gives the engine's answer order by order,
with the difference to the current version; history facts as of each order's own time; the API."""

import json
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from tests.factories import example_order, put_stock
from zhongshu.core.auth import create_token
from zhongshu.core.timeutil import SHANGHAI, local, now
from zhongshu.orders.models import Order, OrderHold
from zhongshu.orders.review import LineInfo, OrderInfo
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake
from zhongshu.rules import selectors
from zhongshu.rules.backtest import backtest
from zhongshu.rules.engine import compile_rule, evaluate
from zhongshu.rules.facts import History
from zhongshu.rules.selectors import RULE_FIELDS
from zhongshu.rules.services import RuleInvalid

ID_NUMBER = "51010719900307123X"
PICKUP = "pickup_point_review"


def payload(
    n: int | str, paid: str, hours_ago: float, address: str = "天府大道北段1700号", **changes
) -> OrderIn:
    at = (now() - timedelta(hours=hours_ago)).isoformat()
    receiver = example_order()["receiver"] | {"address": address}
    line = {"sku": "DUMPLING-500G", "quantity": 1, "unit_price": paid, "paid_amount": paid}
    body = example_order(channel_order_id=f"BT{n}", created_at=at, paid_at=at, updated_at=at, receiver=receiver,
                         lines=[line], discount="0.00", paid_amount=paid)  # fmt: skip
    return OrderIn.model_validate(body | changes)


@pytest.fixture
def orders(hub):
    """18 orders over the last 3 days: pickup-point and home addresses, 300 to 900 yuan; one 40 days old."""
    put_stock("DUMPLING-500G", "CD", 10_000)
    amounts = ["300.00", "400.00", "400.01", "450.00", "500.00", "500.01", "700.00", "900.00", "499.99"]
    made = []
    for i, paid in enumerate(amounts):
        made.append(payload(f"Y{i}", paid, 70 - i, address=f"岳麓区菜鸟驿站{i}号"))
        made.append(payload(f"H{i}", paid, 60 - i))
    made.append(payload("OLD", "900.00", 40 * 24, address="菜鸟驿站"))
    for p in made:
        intake([p], actor="test")
    return made


def info_of(order: Order) -> OrderInfo:
    """The engine's input for one stored order, built the slow, obvious way (one order at a time)."""
    lines = tuple(
        LineInfo(ln.sku.code, ln.quantity, ln.unit_price, ln.promo_price, ln.paid_amount, ln.sku.cost_price,
                 ln.sku.presale, tuple(t for t in ln.sku.tags.split(",") if t), ln.sku.supply_date)
        for ln in order.lines.select_related("sku")
    )  # fmt: skip
    return OrderInfo(
        shop=order.shop.code, platform=order.shop.platform, channel_order_id=order.channel_order_id,
        placed_at=order.placed_at, paid_at=order.paid_at, ship_by=order.ship_by,
        province=order.receiver_province or None, address=order.receiver_address, phone=order.receiver_phone,
        buyer_vip=order.buyer_vip, id_number_hash=order.id_number_hash, lines=lines, freight=order.freight,
        discount=order.discount, paid_amount=order.paid_amount, presale=order.presale, order_pk=order.pk,
    )  # fmt: skip


def engine_says(condition: dict, days: int = 30) -> set[str]:
    rule = selectors.rule(PICKUP)
    compiled = compile_rule({k: getattr(rule, k) for k in RULE_FIELDS} | {"condition": condition})
    since = now() - timedelta(days=days)
    return {
        o.channel_order_id
        for o in Order.objects.filter(placed_at__gte=since).select_related("shop")
        if evaluate([compiled], info_of(o), History(), False).matched
    }


def ids(catch) -> set[str]:
    return {c.channel_order_id for c in catch.orders}


def with_threshold(value: str) -> dict:
    condition = selectors.rule(PICKUP).condition
    return {"all": [condition["all"][0], {"fact": "order.paid_amount", "op": ">", "value": value}]}


def test_changed_threshold_equals_the_engine_order_by_order_with_the_difference(orders):
    rule = selectors.rule(PICKUP)
    proposal = with_threshold("400")
    result = backtest(rule, 30, proposal)

    assert ids(result.caught) == engine_says(proposal)
    assert ids(result.caught) == {"BTY2", "BTY3", "BTY4", "BTY5", "BTY6", "BTY7", "BTY8"}
    assert ids(result.both) == engine_says(rule.condition) == {"BTY5", "BTY6", "BTY7"}
    assert ids(result.only_new) == {"BTY2", "BTY3", "BTY4", "BTY8"}  # 400.01, 450.00, 500.00, 499.99
    assert ids(result.only_current) == set()
    assert (result.caught.count, result.caught.value) == (7, Decimal("3950.01"))
    assert (result.only_new.count, result.only_new.value) == (4, Decimal("1850.00"))
    assert result.scanned == 18  # the 40-day-old order is outside the window
    assert [c.placed_at for c in result.caught.orders] == sorted((c.placed_at for c in result.caught.orders),
                                                                  reverse=True)  # fmt: skip


def test_raised_threshold_moves_orders_to_only_current(orders):
    result = backtest(selectors.rule(PICKUP), 30, with_threshold("600"))
    assert ids(result.caught) == engine_says(with_threshold("600")) == {"BTY6", "BTY7"}
    assert ids(result.only_current) == {"BTY5"}
    assert ids(result.both) == {"BTY6", "BTY7"}
    assert ids(result.only_new) == set()


def test_current_version_catches_what_intake_held(orders):
    result = backtest(selectors.rule(PICKUP), 30)
    since = now() - timedelta(days=30)
    held = set(
        OrderHold.objects.filter(code=f"manual_review/{PICKUP}", order__placed_at__gte=since).values_list(
            "order__channel_order_id", flat=True
        )
    )
    assert ids(result.caught) == ids(result.both) == held == {"BTY5", "BTY6", "BTY7"}
    assert result.only_new.count == result.only_current.count == 0
    assert backtest(selectors.rule(PICKUP), 60).scanned == 19


def test_history_facts_are_counted_as_of_each_orders_own_time(hub):
    """Five orders of one ID number in a day: intake held the 4th and 5th (brushing); the backtest of
    the current rule finds exactly those, and "> 2" adds the 3rd only."""
    put_stock("DUMPLING-500G", "CD", 100)
    buyer = {"id": "u1", "nick": "n", "id_number": ID_NUMBER, "vip": False}
    yesterday = local(now()).date() - timedelta(days=1)
    start = datetime.combine(yesterday, time(9), tzinfo=SHANGHAI)  # 09:00–09:40, one Shanghai day
    hours_ago = [(now() - (start + timedelta(minutes=10 * i))).total_seconds() / 3600 for i in range(5)]
    for i, h in enumerate(hours_ago):
        intake([payload(f"ID{i}", "50.00", h, buyer=buyer)], actor="test")
    held = set(OrderHold.objects.filter(code="brushing").values_list("order__channel_order_id", flat=True))
    assert held == {"BTID3", "BTID4"}

    rule = selectors.rule("brushing")
    assert ids(backtest(rule, 2).caught) == held
    proposal = {"all": [{"fact": "orders_same_id_number_today", "op": ">", "value": "2"}]}
    result = backtest(rule, 2, proposal)
    assert (ids(result.only_new), ids(result.both), ids(result.only_current)) == ({"BTID2"}, held, set())


def test_invalid_proposal_names_the_path(orders):
    with pytest.raises(RuleInvalid) as exc:
        backtest(
            selectors.rule(PICKUP), 30, {"all": [{"fact": "order.paid_amount", "op": ">", "value": "x"}]}
        )
    assert exc.value.errors[0]["path"] == "condition.all[0].value"


def test_api_backtest(orders, client):
    user = get_user_model().objects.create_user("ops", password="x")
    user.user_permissions.add(Permission.objects.get(codename="view_rule"))  # a dry run: reading is enough
    auth = {"HTTP_AUTHORIZATION": f"Bearer {create_token('ops', scope='read')}"}
    url = f"/api/v1/rules/{PICKUP}/backtest"
    r = client.post(
        url, {"days": 30, "condition": with_threshold("400")}, content_type="application/json", **auth
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["caught"], body["value"], body["proposed"]) == (7, "3950.01", True)
    assert {o["channel_order_id"] for o in body["orders"]} == {"BTY2", "BTY3", "BTY4", "BTY5", "BTY6", "BTY7",
                                                               "BTY8"}  # fmt: skip
    assert set(body["orders"][0]) == {
        "order_id",
        "shop",
        "channel_order_id",
        "placed_at",
        "paid_amount",
        "status",
    }
    assert (body["only_new"]["count"], body["only_current"]["count"], body["both"]["count"]) == (4, 0, 3)
    assert {o["channel_order_id"] for o in body["only_new"]["orders"]} == {"BTY2", "BTY3", "BTY4", "BTY8"}

    bad = {"days": 30, "condition": {"all": [{"fact": "nope", "op": ">", "value": "1"}]}}
    r = client.post(url, bad, content_type="application/json", **auth)
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"].startswith("condition.all[0]")
    r = client.post("/api/v1/rules/nope/backtest", {"days": 30}, content_type="application/json", **auth)
    assert r.status_code == 404


def test_console_backtest_page(orders, client):
    user = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_order"))
    client.force_login(user)
    page = client.get(f"/console/exceptions/backtest?rule={PICKUP}&days=30").content.decode()
    assert 'data-figure="caught">3<' in page and "mp/BTY5" in page
    condition = json.dumps(with_threshold("400"))
    r = client.post("/console/exceptions/backtest", {"rule": PICKUP, "days": "30", "condition": condition})
    assert 'data-figure="caught">7<' in r.content.decode()
