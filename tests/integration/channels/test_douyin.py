"""抖店 connector against its local double over real HTTP: signing, a full day of orders exactly once,
token refresh, throttling and 5xx while paging, a 10-minute outage back-filled, write-back, decryption
and push messages through the sync and push services."""

import json
import random
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from tests.factories import put_stock
from tests.platforms.douyin import SHANGHAI, DouyinDouble
from zhongshu.catalog.models import Sku
from zhongshu.channels.base import AuthError, ConnectorError, TransientError
from zhongshu.channels.models import PushReceipt, Shop, ShopCredential, SyncState
from zhongshu.channels.services import ReplayedPush, accept_push, authorize, connector_for, sync_shop
from zhongshu.orders.models import Order, OrderLine, OrderTransition

PRICES = {"DY-TEA-250G": 5990, "DY-CUP-01": 2900, "DY-KETTLE": 15900, "DY-GIFT-BOX": 1200}
DAY = (datetime.now(SHANGHAI) - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture(scope="module")
def platform():
    with DouyinDouble() as d:
        yield d


@pytest.fixture
def double(platform):
    platform.reset()  # one server for the module (each shutdown waits out a 0.5 s poll)
    return platform


@pytest.fixture
def shop(hub, double):
    shop = Shop.objects.create(code="dy", name="抖店旗舰店", platform="douyin")
    tokens = double.issue_tokens()
    cred = ShopCredential(
        shop=shop, api_base_url=double.url, app_key=double.app_key, platform_shop_id=double.shop_id
    )
    cred.app_secret = double.app_secret
    cred.access_token, cred.refresh_token = tokens["access_token"], tokens["refresh_token"]
    cred.expires_at = double.now + timedelta(days=7)
    cred.save()
    for code in PRICES:
        Sku.objects.create(code=code, title=code, cost_price=Decimal("10.00"))
        put_stock(code, "CD", 100_000)
        put_stock(code, "GZ", 100_000)
    return shop


def sync(double: DouyinDouble, at: datetime):
    double.now = at
    return sync_shop("dy", now=at)


def cred() -> ShopCredential:
    return ShopCredential.objects.get(shop__code="dy")


def methods(double: DouyinDouble) -> list[str]:
    return [r.query.get("method") for r in double.requests]


# --- 1. signing -------------------------------------------------------------------------------


def test_signed_calls_are_accepted_and_a_wrong_secret_is_refused_with_the_platform_code(shop, double):
    at = DAY + timedelta(hours=12)
    double.add_order(1, at - timedelta(hours=1), [("DY-TEA-250G", 2, 5990)])
    assert sync(double, at).received == 1
    search = next(r for r in double.requests if r.query["method"] == "order.searchList")
    assert (search.method, search.path, search.query["v"], search.query["sign_method"]) == (
        "POST", "/order/searchList", "2", "hmac-sha256")  # fmt: skip
    params = json.loads(search.body)
    assert search.body.decode() == json.dumps(params, sort_keys=True, separators=(",", ":"))
    assert (params["page"], params["size"], params["order_by"]) == (0, 100, "update_time")

    c = cred()
    c.app_secret = "not-the-secret"
    c.save()
    with pytest.raises(AuthError) as refused:
        sync(double, at + timedelta(minutes=1))
    assert refused.value.code == "isv.signature-invalid"
    assert cred().needs_reauth is True
    assert Order.objects.count() == 1


# --- 2. a full day, exactly once ----------------------------------------------------------------


def plan_day(double: DouyinDouble, rng: random.Random, n_orders: int) -> list[tuple[datetime, str, int]]:
    """Events (time, kind, order number) over DAY: placements, payments, cancels, refunds, edits."""
    events = []
    for n in range(1, n_orders + 1):
        placed = DAY + timedelta(seconds=rng.randrange(60, 20 * 3600))
        later = sorted(placed + timedelta(seconds=rng.randrange(60, 3 * 3600)) for _ in range(2))
        roll = rng.random()
        if roll < 0.08:
            events += [(placed, "create_pending", n)] + (
                [(later[0], rng.choice(["pay", "cancel"]), n)] * (roll < 0.06)
            )
            continue
        events.append((placed, "create", n))
        if roll < 0.14:
            events += [(later[0], "request_refund", n), (later[1], "refund", n)]  # modified twice
        elif roll < 0.17:
            events.append((later[0], "request_refund", n))
        elif roll < 0.20:
            events.append((later[0], "cancel", n))
        elif roll < 0.30:
            events += [(later[0], "edit", n), (later[1], "edit", n)]  # modified twice, same content
    return sorted(events)


EXPECTED_STATUS = {"create": "paid", "create_pending": "pending_payment", "pay": "paid", "cancel": "cancelled",
                   "request_refund": "refund_requested", "refund": "refunded", "edit": None}  # fmt: skip


def apply(double: DouyinDouble, rng: random.Random, event, expected: dict[str, str]) -> None:
    at, kind, n = event
    order_id = str(6_920_000_000_000_000_000 + n)
    if kind.startswith("create"):
        lines = [
            (code, rng.randint(1, 3), PRICES[code]) for code in rng.sample(sorted(PRICES), rng.randint(1, 3))
        ]
        goods = sum(q * p for _, q, p in lines)
        double.add_order(n, at, lines, status=1 if kind == "create_pending" else 2,
                         post_fen=rng.choice([0, 800]), promo_fen=rng.choice([0, 500, min(1000, goods // 2)]))  # fmt: skip
    elif kind == "edit":
        double.touch(order_id, at, buyer_words=f"备注 {at:%H:%M}")
    else:
        getattr(double, kind)(order_id, at)
    expected[order_id] = EXPECTED_STATUS[kind] or expected[order_id]


def churn_while_paging(expected: dict[str, str], quiet: set[str], churned: list[str]):
    """After the 2nd and 3rd pages are served, three of the oldest orders of the window change (and leave it)."""

    def mutate(d: DouyinDouble) -> None:
        since = (d.now - timedelta(hours=3)).timestamp()
        window = [o for o in d.orders.values() if o["update_time"] >= since and o["order_id"] in quiet]
        oldest = sorted(
            (o for o in window if expected[o["order_id"]] == "paid"), key=lambda o: o["update_time"]
        )
        for o in oldest[:3]:
            d.request_refund(o["order_id"], d.now)
            expected[o["order_id"]] = "refund_requested"
            churned.append(o["order_id"])

    return [lambda d: None, mutate, mutate]


def test_a_full_day_arrives_exactly_once_with_status_amounts_and_skus(shop, double):
    rng = random.Random(20261127)
    events = plan_day(double, rng, 2050)
    expected: dict[str, str] = {}
    churned: list[str] = []
    sync(double, DAY)  # sets the cursor at the start of the day
    checkpoints = [DAY + timedelta(hours=h) for h in range(3, 25, 3)] + [DAY + timedelta(hours=24, minutes=5)]
    pages_per_window = []
    for i, checkpoint in enumerate(checkpoints):
        while events and events[0][0] <= checkpoint:
            apply(double, rng, events.pop(0), expected)
        if i in (2, 5):  # orders keep changing while the window is paged
            later = {str(6_920_000_000_000_000_000 + e[2]) for e in events}
            double.after_search = churn_while_paging(expected, set(expected) - later, churned)
        before = len(double.requests)
        sync(double, checkpoint)
        pages_per_window.append(methods(double)[before:].count("order.searchList"))
    assert len(double.orders) == 2050 and not events and len(churned) == 12
    assert max(pages_per_window) >= 5  # several pages per window (probe + pages read backwards)

    assert Order.objects.filter(shop__code="dy").count() == len(double.orders)
    assert_orders_match(double, expected)
    assert_sample_field_by_field(double)

    counts = (Order.objects.count(), OrderLine.objects.count(), OrderTransition.objects.count())
    again = sync(double, checkpoints[-1] + timedelta(minutes=1))
    assert (again.created, again.updated) == (0, 0)
    assert (Order.objects.count(), OrderLine.objects.count(), OrderTransition.objects.count()) == counts


def assert_orders_match(double: DouyinDouble, expected: dict[str, str]) -> None:
    hub = {o["channel_order_id"]: o for o in Order.objects.values("id", "channel_order_id", "channel_status",
                                                                       "paid_amount")}  # fmt: skip
    lines: dict[int, Counter] = {}
    for order_id, code, qty in OrderLine.objects.values_list("order_id", "sku__code", "quantity"):
        lines.setdefault(order_id, Counter())[(code, qty)] += 1
    assert Counter(o["channel_status"] for o in hub.values()) == Counter(expected.values())
    for order_id, raw in double.orders.items():
        got = hub[order_id]
        assert got["channel_status"] == expected[order_id], order_id
        assert got["paid_amount"] == Decimal(raw["pay_amount"]) / 100, order_id
        assert lines[got["id"]] == Counter((s["code"], s["item_num"]) for s in raw["sku_order_list"]), (
            order_id
        )


def assert_sample_field_by_field(double: DouyinDouble) -> None:
    raw = next(o for o in double.orders.values() if len(o["sku_order_list"]) > 1 and o["post_amount"]
               and o["promotion_amount"] and o["order_status"] == 2)  # fmt: skip
    o = Order.objects.get(channel_order_id=raw["order_id"])
    assert o.placed_at == datetime.fromtimestamp(raw["create_time"], SHANGHAI)
    assert o.paid_at == datetime.fromtimestamp(raw["pay_time"], SHANGHAI)
    assert o.channel_updated_at == datetime.fromtimestamp(raw["update_time"], SHANGHAI)
    assert (o.freight, o.discount) == (Decimal("8.00"), Decimal(raw["promotion_amount"]) / 100)
    goods = sum(s["sum_amount"] for s in raw["sku_order_list"])
    assert o.lines_amount == Decimal(goods) / 100
    assert o.paid_amount == o.lines_amount + o.freight - o.discount
    assert (o.receiver_province, o.receiver_city, o.receiver_district) == ("四川省", "成都市", "武侯区")
    assert o.receiver_address == raw["post_addr"]["encrypt_detail"]  # ciphertext kept as given
    assert (o.receiver_name, o.receiver_phone) == (raw["mask_post_receiver"], raw["mask_post_tel"])
    assert "买家" not in o.receiver_address and o.receiver_phone.count("*") == 4
    by_code = {ln.sku.code: ln for ln in o.lines.select_related("sku")}
    for s in raw["sku_order_list"]:
        ln = by_code[s["code"]]
        assert (ln.quantity, ln.unit_price, ln.paid_amount, ln.title) == (
            s["item_num"], Decimal(s["goods_price"]) / 100, Decimal(s["sum_amount"]) / 100, s["product_name"])  # fmt: skip


# --- 3. tokens ----------------------------------------------------------------------------------


def test_a_token_close_to_expiry_is_refreshed_before_pulling(shop, double):
    at = DAY + timedelta(hours=9)
    double.add_order(7, at - timedelta(minutes=30), [("DY-CUP-01", 1, 2900)])
    old = cred().access_token
    ShopCredential.objects.filter(shop=shop).update(expires_at=at + timedelta(minutes=10))
    double.access_tokens[old] = at + timedelta(minutes=10)
    assert sync(double, at).received == 1
    assert methods(double)[:2] == ["token.refresh", "order.searchList"]
    c = cred()
    assert c.access_token != old and c.access_token in double.access_tokens
    assert double.requests[1].query["access_token"] == c.access_token
    assert c.expires_at - at > timedelta(days=6) and c.needs_reauth is False


def test_an_invalid_refresh_token_asks_for_reauthorisation(shop, double):
    at = DAY + timedelta(hours=9)
    c = cred()
    c.refresh_token, c.expires_at = "rt-revoked", at + timedelta(minutes=5)
    c.save()
    with pytest.raises(AuthError) as refused:
        sync(double, at)
    assert refused.value.code == "dop.token-generate-failed:token-invalid"
    assert cred().needs_reauth is True
    assert "order.searchList" not in methods(double)


def test_an_expired_access_token_is_an_auth_error_with_the_platform_code(shop, double):
    double.access_tokens[cred().access_token] = DAY
    with pytest.raises(AuthError) as refused:
        sync(double, DAY + timedelta(hours=1))
    assert refused.value.code == "isv.access-token-expired"


def test_authorisation_code_flow(shop, double, settings):
    settings.DOUYIN_SERVICE_ID = "12345"
    url = connector_for(shop).authorize_url("https://hub.example/cb", "st-1")
    assert url == "https://fuwu.jinritemai.com/authorize?service_id=12345&state=st-1"
    authorize("dy", double.issue_code(), "https://hub.example/cb")
    c = cred()
    assert c.access_token in double.access_tokens and c.platform_shop_id == double.shop_id
    with pytest.raises(AuthError) as refused:
        authorize("dy", "used-or-unknown-code", "https://hub.example/cb")
    assert refused.value.code == "dop.token-generate-failed:code-invalid"


# --- 4. throttling and 5xx --------------------------------------------------------------------


def test_a_rate_limit_a_5xx_and_a_malformed_page_while_paging_are_survived(shop, double):
    at = DAY + timedelta(hours=6)
    for n in range(1, 351):
        double.add_order(n, DAY + timedelta(hours=1, seconds=n * 7), [("DY-TEA-250G", 1, 5990)])
    sync(double, DAY)
    double.after_search = [lambda d: d.throttle_next(1), lambda d: d.fail_next(1, 502),
                           lambda d: d.malformed_next(1)]  # fmt: skip
    report = sync(double, at)
    assert Order.objects.filter(shop=shop).count() == 350 and report.created == 350
    assert methods(double).count("order.searchList") >= 2 + 3 * 2  # the window was re-read after each failure


# --- 5. outage ----------------------------------------------------------------------------------


def test_a_ten_minute_outage_is_back_filled_with_nothing_missing_or_doubled(shop, double):
    t = DAY + timedelta(hours=10)
    for n in range(1, 41):
        double.add_order(n, t - timedelta(minutes=50 - n), [("DY-KETTLE", 1, 15900)])
    sync(double, DAY + timedelta(hours=9))
    sync(double, t)
    cursor = SyncState.objects.get(shop=shop).cursor
    for n in range(41, 61):
        double.add_order(n, t + timedelta(seconds=10 * n), [("DY-CUP-01", 2, 2900)])
    double.outage(600)
    with pytest.raises(TransientError):
        sync(double, t + timedelta(minutes=11))
    state = SyncState.objects.get(shop=shop)
    assert state.cursor == cursor and state.last_error.startswith("TransientError")
    for n in range(61, 101):  # orders keep arriving and changing during the outage
        double.add_order(n, t + timedelta(minutes=11, seconds=10 * (n - 60)), [("DY-GIFT-BOX", 3, 1200)])
    double.refund(str(6_920_000_000_000_000_000 + 5), t + timedelta(minutes=15))
    double.end_outage()
    report = sync(double, t + timedelta(minutes=21))
    assert report.created == 60 and report.updated == 1
    assert Order.objects.filter(shop=shop).count() == 100 == len(double.orders)
    assert Order.objects.get(channel_order_id=str(6_920_000_000_000_000_005)).channel_status == "refunded"


# --- 6. write-back, decryption, push ----------------------------------------------------------


def test_shipment_stock_and_decryption_go_to_the_platform(shop, double):
    raw = double.add_order(42, DAY + timedelta(hours=8), [("DY-TEA-250G", 2, 5990), ("DY-CUP-01", 1, 2900)])
    conn = connector_for(shop)
    conn.confirm_shipment(raw["order_id"], "ZTO", "ZT7700012345678")
    assert double.shipments == [{"order_id": raw["order_id"], "company_code": "zhongtong",
                                 "logistics_code": "ZT7700012345678"}]  # fmt: skip
    conn.push_stock("DY-CUP-01", 37)
    assert double.stock == [{"code": "DY-CUP-01", "sku_id": double.sku_ids["DY-CUP-01"], "stock_num": 37,
                             "incremental": False}]  # fmt: skip
    with pytest.raises(ConnectorError) as unknown:
        conn.push_stock("NOT-ON-DOUYIN", 1)
    assert unknown.value.code == "isv.parameter-invalid:5"
    receiver = conn.decrypt_receiver(raw["order_id"])
    plain = double.plain_receiver(raw["order_id"])
    assert (receiver.name, receiver.phone, receiver.address) == (
        "买家42", "13800000042", "桂溪街道" + plain["detail"])  # fmt: skip
    assert double.decrypts == [{"auth_ids": [raw["order_id"]] * 3, "count": 3}]


@pytest.mark.parametrize("sign_method", ["md5", "hmac-sha256"])
def test_a_signed_push_is_taken_in_once_and_a_replay_is_refused(shop, double, sign_method):
    raw = double.add_order(9, DAY + timedelta(hours=20), [("DY-KETTLE", 1, 15900)], post_fen=800)
    headers, body = double.push_message(
        "101", [raw["order_id"]], msg_id="7301234567890", sign_method=sign_method
    )
    report = accept_push("dy", headers, body)
    assert (report.received, report.created) == (1, 1)
    assert Order.objects.get(channel_order_id=raw["order_id"]).paid_amount == Decimal("167.00")
    assert PushReceipt.objects.filter(shop=shop, message_id="7301234567890").exists()
    with pytest.raises(ReplayedPush):
        accept_push("dy", headers, body)
    assert Order.objects.count() == 1


def test_a_push_with_a_bad_signature_is_refused_and_nothing_is_recorded(shop, double):
    raw = double.add_order(10, DAY + timedelta(hours=20), [("DY-KETTLE", 1, 15900)])
    headers, body = double.push_message("101", [raw["order_id"]], secret="forged")
    with pytest.raises(ConnectorError) as refused:
        accept_push("dy", headers, body)
    assert refused.value.code == "event-sign"
    assert (PushReceipt.objects.count(), Order.objects.count()) == (0, 0)
