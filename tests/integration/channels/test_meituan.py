"""美团外卖/闪购 connector against its local double over real HTTP: sig signing, a full day of orders
exactly once through the day-sequence reconciliation pull, token refresh, throttling, 5xx,
malformed answers and timeouts, a 10-minute outage back-filled, write-back, the real phone behind a
privacy number, and signed pushes through the push service."""

import hashlib
import json
import random
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.factories import put_stock
from tests.platforms.meituan import ORDER_BASE, SHANGHAI, MeituanDouble
from zhongshu.catalog.models import Sku
from zhongshu.channels.base import AuthError, ConnectorError, TransientError
from zhongshu.channels.models import PushReceipt, Shop, ShopCredential, SyncState
from zhongshu.channels.services import ReplayedPush, accept_push, authorize, connector_for, sync_shop
from zhongshu.orders.models import Order, OrderLine, OrderTransition

PRICES = {"MT-TEA-250G": "59.90", "MT-CUP-01": "29.00", "MT-KETTLE": "159.00", "MT-GIFT-BOX": "12.00"}
DAY = (datetime.now(SHANGHAI) - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
DETAIL = "order/getOrderDetail"
DAY_SEQ = "ecommerce/order/getOrderIdByDaySeq"


@pytest.fixture(scope="module")
def platform():
    with MeituanDouble() as d:
        yield d


@pytest.fixture
def double(platform):
    platform.reset()  # one server for the module
    return platform


@pytest.fixture
def shop(hub, double):
    shop = Shop.objects.create(code="mt", name="美团闪购店", platform="meituan")
    tokens = double.issue_tokens()
    cred = ShopCredential(
        shop=shop, api_base_url=double.url, app_key=double.app_id, platform_shop_id=double.poi
    )
    cred.app_secret = double.app_secret
    cred.access_token, cred.refresh_token = tokens["access_token"], tokens["refresh_token"]
    cred.expires_at = double.now + timedelta(days=30)
    cred.save()
    for code in PRICES:
        Sku.objects.create(code=code, title=code, cost_price=Decimal("10.00"))
        put_stock(code, "CD", 100_000)
        put_stock(code, "GZ", 100_000)
    return shop


def sync(double: MeituanDouble, at: datetime):
    double.now = at
    return sync_shop("mt", now=at)


def cred() -> ShopCredential:
    return ShopCredential.objects.get(shop__code="mt")


def apis(double: MeituanDouble) -> list[str]:
    return [r.path.removeprefix("/api/v1/") for r in double.requests]


def oid(n: int) -> str:
    return str(ORDER_BASE + n)


# --- 1. signing -------------------------------------------------------------------------------


def test_signed_calls_are_accepted_and_a_wrong_secret_is_refused_with_the_platform_code(shop, double):
    at = DAY + timedelta(hours=12)
    double.add_order(1, at - timedelta(hours=1), [("MT-TEA-250G", 2, "59.90")])
    assert sync(double, at).received == 1
    seq_calls = [r for r in double.requests if r.path == f"/api/v1/{DAY_SEQ}"]
    assert {r.query["date_time"] for r in seq_calls} == {
        f"{DAY - timedelta(days=d):%Y%m%d}" for d in range(4)
    }
    call = next(r for r in seq_calls if r.query["date_time"] == f"{DAY:%Y%m%d}")
    q = dict(call.query)
    pairs = "&".join(f"{k}={q[k]}" for k in sorted(q) if k != "sig")
    assert q["sig"] == hashlib.md5(f"{double.url}{call.path}?{pairs}{double.app_secret}".encode()).hexdigest()
    assert (call.method, q["app_id"], q["date_time"], q["day_seq_start"], q["day_seq_end"]) == (
        "GET", double.app_id, f"{DAY:%Y%m%d}", "1", "100")  # fmt: skip
    assert q["timestamp"].isdigit() and len(q["timestamp"]) == 10 and q["access_token"] == cred().access_token

    c = cred()
    c.app_secret = "not-the-secret"
    c.save()
    with pytest.raises(AuthError) as refused:
        sync(double, at + timedelta(minutes=1))
    assert refused.value.code == "703"
    assert cred().needs_reauth is True
    assert Order.objects.count() == 1


# --- 2. a full day, exactly once ----------------------------------------------------------------


def plan_day(rng: random.Random, n_orders: int) -> list[tuple[datetime, str, int]]:
    """Events (time, kind, order number) over DAY: payments, confirmations, cancels, refunds, edits."""
    events = []
    for n in range(1, n_orders + 1):
        paid = DAY + timedelta(seconds=rng.randrange(60, 20 * 3600))
        later = sorted(paid + timedelta(seconds=rng.randrange(60, 3 * 3600)) for _ in range(2))
        events.append((paid, "create", n))
        roll = rng.random()
        if roll < 0.06:
            events += [(later[0], "request_refund", n), (later[1], "refund", n)]  # modified twice
        elif roll < 0.09:
            events.append((later[0], "request_refund", n))
        elif roll < 0.13:
            events.append((later[0], "cancel", n))
        elif roll < 0.40:
            events += [(later[0], "confirm", n), (later[1], "edit", n)]  # modified twice, still paid
    return sorted(events)


EXPECTED = {"create": "paid", "confirm": "paid", "edit": None, "cancel": "cancelled",
            "request_refund": "refund_requested", "refund": "refunded"}  # fmt: skip


def apply(double: MeituanDouble, rng: random.Random, event, expected: dict[str, str]) -> None:
    at, kind, n = event
    if kind == "create":
        lines = [(c, rng.randint(1, 3), PRICES[c]) for c in rng.sample(sorted(PRICES), rng.randint(1, 3))]
        double.add_order(
            n, at, lines, shipping=rng.choice(["0", "5.00"]), discount=rng.choice(["0", "3.50", "10"])
        )
    elif kind == "edit":
        double.touch(oid(n), at, caution=f"备注 {at:%H:%M}")
    else:
        getattr(double, kind)(oid(n), at)
    expected[oid(n)] = EXPECTED[kind] or expected[oid(n)]


def churn_while_paging(expected: dict[str, str], quiet: set[str], churned: list[str]):
    """After the 40th and 80th detail answers, three paid orders get a refund request (at the double's now)."""

    def mutate(d: MeituanDouble) -> None:
        paid = sorted(i for i in quiet if expected[i] == "paid" and i not in churned)
        for order_id in paid[:3]:
            d.request_refund(order_id, d.now)
            expected[order_id] = "refund_requested"
            churned.append(order_id)

    noop = [lambda d: None] * 39
    return [*noop, mutate, *noop, mutate]


def test_a_full_day_arrives_exactly_once_with_status_amounts_and_skus(shop, double, settings):
    settings.MEITUAN_PULL_WORKERS = 2  # a local double answers in ~2 ms: more threads only contend
    rng = random.Random(20261127)
    events = plan_day(rng, 2050)
    expected: dict[str, str] = {}
    churned: list[str] = []
    sync(double, DAY)  # sets the cursor at the start of the day
    checkpoints = [DAY + timedelta(hours=8), DAY + timedelta(hours=16), DAY + timedelta(hours=24, minutes=5)]
    for i, checkpoint in enumerate(checkpoints):
        while events and events[0][0] <= checkpoint:
            apply(double, rng, events.pop(0), expected)
        if i in (0, 1):  # orders keep changing while the day is paged
            later = {oid(e[2]) for e in events}
            double.after_detail = churn_while_paging(expected, set(expected) - later, churned)
        before = len(double.requests)
        sync(double, checkpoint)
        if i == len(checkpoints) - 1:
            assert apis(double)[before:].count(DAY_SEQ) >= 21  # 2,050 day numbers: 21 segments of 100
    assert len(double.orders) == 2050 and not events and len(churned) == 12

    assert Order.objects.filter(shop__code="mt").count() == len(double.orders)
    assert_orders_match(double, expected)
    assert_sample_field_by_field(double)

    counts = (Order.objects.count(), OrderLine.objects.count(), OrderTransition.objects.count())
    again = sync(double, checkpoints[-1] + timedelta(minutes=1))
    assert (again.created, again.updated) == (0, 0)
    assert (Order.objects.count(), OrderLine.objects.count(), OrderTransition.objects.count()) == counts


def assert_orders_match(double: MeituanDouble, expected: dict[str, str]) -> None:
    hub = {o["channel_order_id"]: o for o in Order.objects.values("id", "channel_order_id", "channel_status",
                                                                       "paid_amount")}  # fmt: skip
    lines: dict[int, Counter] = {}
    for order_id, code, qty in OrderLine.objects.values_list("order_id", "sku__code", "quantity"):
        lines.setdefault(order_id, Counter())[(code, qty)] += 1
    assert Counter(o["channel_status"] for o in hub.values()) == Counter(expected.values())
    assert set(Counter(expected.values())) == {"paid", "cancelled", "refund_requested", "refunded"}
    for order_id, raw in double.orders.items():
        got = hub[order_id]
        assert got["channel_status"] == expected[order_id], order_id
        assert got["paid_amount"] == Decimal(str(raw["total"])), order_id
        detail = json.loads(raw["detail"])
        assert lines[got["id"]] == Counter((d["sku_id"], d["quantity"]) for d in detail), order_id


def assert_sample_field_by_field(double: MeituanDouble) -> None:
    raw = next(o for o in double.orders.values() if len(json.loads(o["detail"])) > 1 and o["shipping_fee"]
               and json.loads(o["extras"]) and o["status"] == 4)  # fmt: skip
    o = Order.objects.get(channel_order_id=str(raw["order_id"]))
    assert o.placed_at == datetime.fromtimestamp(raw["ctime"], SHANGHAI)
    assert o.paid_at == datetime.fromtimestamp(raw["order_send_time"], SHANGHAI)
    assert o.channel_updated_at == datetime.fromtimestamp(raw["utime"], SHANGHAI)
    discount = Decimal(str(json.loads(raw["extras"])[0]["reduce_fee"]))
    assert (o.freight, o.discount) == (Decimal("5.00"), discount)
    detail = json.loads(raw["detail"])
    assert o.lines_amount == sum(Decimal(d["original_price"]) * d["quantity"] for d in detail)
    assert o.paid_amount == o.lines_amount + o.freight - o.discount == Decimal(str(raw["total"]))
    assert (o.receiver_province, o.receiver_city, o.receiver_district) == ("四川省", "成都市", "武侯区")
    assert (o.receiver_name, o.receiver_phone, o.receiver_address) == (
        raw["recipient_name"], raw["recipient_phone"], raw["recipient_address"])  # kept as given  # fmt: skip
    assert "_" in o.receiver_phone  # the privacy number, not the real one
    by_code = {ln.sku.code: ln for ln in o.lines.select_related("sku")}
    for d in detail:
        ln = by_code[d["sku_id"]]
        assert (ln.quantity, ln.unit_price, ln.paid_amount, ln.title) == (
            d["quantity"], Decimal(d["original_price"]), Decimal(d["original_price"]) * d["quantity"], d["food_name"])  # fmt: skip


# --- 3. tokens ----------------------------------------------------------------------------------


def test_a_token_close_to_expiry_is_refreshed_before_pulling(shop, double):
    at = DAY + timedelta(hours=9)
    double.add_order(7, at - timedelta(minutes=30), [("MT-CUP-01", 1, "29.00")])
    old = cred().access_token
    ShopCredential.objects.filter(shop=shop).update(expires_at=at + timedelta(minutes=10))
    double.access_tokens[old] = at + timedelta(minutes=10)
    assert sync(double, at).received == 1
    assert apis(double)[:2] == ["oauth/token", DAY_SEQ]
    token_call = double.requests[0].form
    assert (token_call["grant_type"], double.requests[0].method) == ("refresh_token", "POST")
    c = cred()
    assert c.access_token != old and c.access_token in double.access_tokens
    assert double.requests[1].query["access_token"] == c.access_token
    assert c.expires_at - at > timedelta(days=29) and c.needs_reauth is False


def test_an_invalid_refresh_token_asks_for_reauthorisation(shop, double):
    at = DAY + timedelta(hours=9)
    c = cred()
    c.refresh_token, c.expires_at = "mt-rt-revoked", at + timedelta(minutes=5)
    c.save()
    with pytest.raises(AuthError) as refused:
        sync(double, at)
    assert refused.value.code == "1006"
    assert cred().needs_reauth is True
    assert apis(double) == ["oauth/token"]


def test_an_expired_access_token_is_an_auth_error_with_the_platform_code(shop, double):
    double.access_tokens[cred().access_token] = DAY
    with pytest.raises(AuthError) as refused:
        sync(double, DAY + timedelta(hours=1))
    assert refused.value.code == "1002"
    assert cred().needs_reauth is True


def test_store_authorisation_code_flow(shop, double):
    url = connector_for(shop).authorize_url("https://hub.example/cb", "st-1")
    parts = urlsplit(url)
    q = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{double.url}/api/v1/oauth/authorize"
    assert (q["response_type"], q["app_poi_code"], q["redirect_uri"], q["state"], q["app_id"]) == (
        "code", double.poi, "https://hub.example/cb", "st-1", double.app_id)  # fmt: skip
    pairs = "&".join(f"{k}={q[k]}" for k in sorted(q) if k != "sig")
    assert (
        q["sig"]
        == hashlib.md5(f"{double.url}/api/v1/oauth/authorize?{pairs}{double.app_secret}".encode()).hexdigest()
    )
    authorize("mt", double.issue_code(), "https://hub.example/cb")
    c = cred()
    assert c.access_token in double.access_tokens and c.platform_shop_id == double.poi
    assert c.refresh_expires_at is not None and c.needs_reauth is False
    with pytest.raises(AuthError) as refused:
        authorize("mt", "used-or-unknown-code", "https://hub.example/cb")
    assert refused.value.code == "1005"


# --- 4. throttling, 5xx, malformed answers, timeouts -------------------------------------------


def test_a_rate_limit_a_5xx_a_malformed_answer_and_a_timeout_while_paging_are_survived(
    shop, double, settings
):
    settings.MEITUAN_TIMEOUT = 0.5
    at = DAY + timedelta(hours=6)
    for n in range(1, 351):
        double.add_order(n, DAY + timedelta(hours=1, seconds=n * 7), [("MT-TEA-250G", 1, "59.90")])
    sync(double, DAY)
    noop = [lambda d: None] * 40
    double.after_detail = [*noop, lambda d: d.throttle_next(1), *noop, lambda d: d.fail_next(1, 502),
                           *noop, lambda d: d.malformed_next(1), *noop, lambda d: d.delay_next(1, 1.0)]  # fmt: skip
    report = sync(double, at)
    assert Order.objects.filter(shop=shop).count() == 350 and report.created == 350
    assert apis(double).count(DETAIL) >= 350 + 4 * 40  # the window was re-read after each failure


def test_errors_map_to_the_connector_errors(shop, double):
    conn = connector_for(shop)
    double.throttle_next(1)
    with pytest.raises(ConnectorError) as throttled:
        conn.fetch_one(oid(1))
    assert (type(throttled.value).__name__, throttled.value.code) == ("RateLimited", "711")
    double.malformed_next(1)
    with pytest.raises(TransientError):
        conn.push_stock("MT-TEA-250G", 1)
    with pytest.raises(ConnectorError) as missing:
        conn.fetch_one(oid(404))
    assert missing.value.code == "808" and not isinstance(missing.value, TransientError)


# --- 5. outage ----------------------------------------------------------------------------------


def test_a_ten_minute_outage_is_back_filled_with_nothing_missing_or_doubled(shop, double):
    t = DAY + timedelta(hours=10)
    for n in range(1, 41):
        double.add_order(n, t - timedelta(minutes=50 - n), [("MT-KETTLE", 1, "159.00")])
    sync(double, DAY + timedelta(hours=9))
    sync(double, t)
    cursor = SyncState.objects.get(shop=shop).cursor
    for n in range(41, 61):
        double.add_order(n, t + timedelta(seconds=10 * n), [("MT-CUP-01", 2, "29.00")])
    double.outage(600)
    with pytest.raises(TransientError):
        sync(double, t + timedelta(minutes=11))
    state = SyncState.objects.get(shop=shop)
    assert state.cursor == cursor and state.last_error.startswith("TransientError")
    for n in range(61, 101):  # orders keep arriving and changing during the outage
        double.add_order(n, t + timedelta(minutes=11, seconds=10 * (n - 60)), [("MT-GIFT-BOX", 3, "12.00")])
    double.refund(oid(5), t + timedelta(minutes=15))
    double.end_outage()
    report = sync(double, t + timedelta(minutes=21))
    assert report.created == 60 and report.updated == 1
    assert Order.objects.filter(shop=shop).count() == 100 == len(double.orders)
    assert Order.objects.get(channel_order_id=oid(5)).channel_status == "refunded"


# --- 6. write-back, real phone, pushes ------------------------------------------------------


def test_shipment_stock_and_the_real_receiver_go_through_the_platform(shop, double):
    raw = double.add_order(
        42, DAY + timedelta(hours=8), [("MT-TEA-250G", 2, "59.90"), ("MT-CUP-01", 1, "29.00")]
    )
    order_id = str(raw["order_id"])
    conn = connector_for(shop)
    conn.confirm_shipment(order_id, "SF", "SF1234567890123")
    assert double.shipments == [{"order_id": order_id, "logistics_provider_code": "10001",
                                 "logistics_code": "SF1234567890123"}]  # fmt: skip
    assert double.requests[-1].method == "POST"
    conn.push_stock("MT-CUP-01", 37)
    assert double.stock == [{"app_food_code": "MT-CUP-01", "sku_id": "MT-CUP-01", "stock": "37"}]
    with pytest.raises(ConnectorError) as unknown:
        conn.push_stock("NOT-ON-MEITUAN", 1)
    assert unknown.value.code == "808"
    receiver = conn.decrypt_receiver(order_id)
    assert (receiver.name, receiver.phone, receiver.address) == (
        "买家42(先生)", "13900000042", "天府大道北段42号")  # fmt: skip
    assert receiver == type(receiver)(**double.plain_receiver(order_id))
    assert double.phone_pulls == [{"offset": 0, "limit": 1000}]


def test_a_signed_paid_order_push_is_taken_in_once_and_a_replay_is_refused(shop, double):
    raw = double.add_order(9, DAY + timedelta(hours=20), [("MT-KETTLE", 1, "159.00")], shipping="5.00")
    headers, body = double.push("paid", str(raw["order_id"]))
    report = accept_push("mt", headers, body)
    assert (report.received, report.created) == (1, 1)
    o = Order.objects.get(channel_order_id=str(raw["order_id"]))
    assert (o.paid_amount, o.freight, o.channel_status) == (Decimal("164.00"), Decimal("5.00"), "paid")
    assert double.requests == []  # the paid-order push carries the whole order
    assert PushReceipt.objects.filter(shop=shop).count() == 1
    with pytest.raises(ReplayedPush):
        accept_push("mt", headers, body)
    assert Order.objects.count() == 1


def test_a_refund_push_fetches_the_order_and_its_refund_state(shop, double):
    raw = double.add_order(11, DAY + timedelta(hours=20), [("MT-CUP-01", 2, "29.00")])
    accept_push("mt", *double.push("paid", str(raw["order_id"])))
    double.request_refund(str(raw["order_id"]), DAY + timedelta(hours=21))
    report = accept_push("mt", *double.push("refund", str(raw["order_id"])))
    assert report.updated == 1
    assert Order.objects.get(channel_order_id=str(raw["order_id"])).channel_status == "refund_requested"
    assert apis(double) == [DETAIL, "ecommerce/order/getOrderRefundDetail"]


@pytest.mark.parametrize("forged", ["secret", "stale"])
def test_a_forged_or_stale_push_is_refused_and_nothing_is_recorded(shop, double, forged):
    raw = double.add_order(10, DAY + timedelta(hours=20), [("MT-KETTLE", 1, "159.00")])
    if forged == "secret":
        headers, body = double.push("paid", str(raw["order_id"]), secret="forged")
    else:
        headers, body = double.push(
            "paid", str(raw["order_id"]), timestamp=int(datetime.now().timestamp()) - 3600
        )
    with pytest.raises(ConnectorError) as refused:
        accept_push("mt", headers, body)
    assert refused.value.code == ("703" if forged == "secret" else "timestamp")
    assert (PushReceipt.objects.count(), Order.objects.count()) == (0, 0)
