"""快手小店 connector against its local double over real HTTP: signing, a full day of orders exactly once,
token refresh, throttling, 5xx and timeouts while paging, a 10-minute outage back-filled, write-back and
receiver decryption through the sync service."""

import random
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from tests.factories import put_stock
from tests.platforms.kuaishou import SHANGHAI, KuaishouDouble, ms
from zhongshu.catalog.models import Sku
from zhongshu.channels.base import AuthError, ConnectorError, TransientError
from zhongshu.channels.kuaishou.client import call
from zhongshu.channels.kuaishou.signing import MD5
from zhongshu.channels.models import Shop, ShopCredential, SyncState
from zhongshu.channels.services import authorize, backfill, connector_for, sync_shop
from zhongshu.orders.models import Order, OrderLine, OrderTransition

PRICES = {"KS-JERKY-200G": 3990, "KS-NUTS-500G": 6800, "KS-TEA-GIFT": 12800, "KS-CUP-02": 1500}
DAY = (datetime.now(SHANGHAI) - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
BASE_OID = 2_321_300_000_000_000


def oid(n: int) -> str:
    return str(BASE_OID + n)


@pytest.fixture(scope="module")
def platform():
    with KuaishouDouble() as d:
        yield d


@pytest.fixture
def double(platform):
    platform.reset()  # one server for the module (each shutdown waits out a 0.5 s poll)
    return platform


@pytest.fixture
def shop(hub, double):
    shop = Shop.objects.create(code="ks", name="快手小店旗舰店", platform="kuaishou")
    tokens = double.issue_tokens()
    cred = ShopCredential(shop=shop, api_base_url=double.url, app_key=double.app_key)
    cred.app_secret, cred.push_secret = double.app_secret, double.sign_secret  # appSecret, signSecret
    cred.access_token, cred.refresh_token = tokens["access_token"], tokens["refresh_token"]
    cred.expires_at = double.now + timedelta(hours=48)
    cred.save()
    for code in PRICES:
        Sku.objects.create(code=code, title=code, cost_price=Decimal("10.00"))
        put_stock(code, "CD", 100_000)
        put_stock(code, "GZ", 100_000)
    return shop


def sync(double: KuaishouDouble, at: datetime):
    double.now = at
    return sync_shop("ks", now=at)


def cred() -> ShopCredential:
    return ShopCredential.objects.get(shop__code="ks")


def methods(double: KuaishouDouble) -> list[str]:
    return [r.query.get("method") or r.path for r in double.requests]


# --- 1. signing -------------------------------------------------------------------------------


def test_signed_calls_are_accepted_and_a_wrong_secret_is_refused_with_the_platform_code(shop, double):
    at = DAY + timedelta(hours=12)
    double.add_order(1, at - timedelta(hours=1), "KS-NUTS-500G", 2, 6800)
    assert sync(double, at).received == 1
    page = next(r for r in double.requests if r.query.get("method") == "open.order.cursor.list")
    assert (page.method, page.path, page.query["version"], page.query["signMethod"]) == (
        "POST", "/open/order/cursor/list", "1", "HMAC_SHA256")  # fmt: skip
    assert page.query["sign"] == double.expected_sign({**page.query, "param": page.form["param"]})
    assert "signSecret" not in page.query and "param" not in page.query
    assert call(connector_for(shop).credentials, "open.order.detail", {"oid": int(oid(1))}, MD5)
    assert double.requests[-1].query["signMethod"] == "MD5"

    c = cred()
    c.push_secret = "not-the-sign-secret"
    c.save()
    with pytest.raises(AuthError) as refused:
        sync(double, at + timedelta(minutes=1))
    assert refused.value.code == "24"
    assert cred().needs_reauth is True
    assert Order.objects.count() == 1


# --- 2. a full day, exactly once ----------------------------------------------------------------


def plan_day(rng: random.Random, n_orders: int) -> list[tuple[datetime, str, int]]:
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


def apply(double: KuaishouDouble, rng: random.Random, event, expected: dict[str, str]) -> None:
    at, kind, n = event
    if kind.startswith("create"):
        code = rng.choice(sorted(PRICES))
        num = rng.randint(1, 4)
        double.add_order(n, at, code, num, PRICES[code], status=10 if kind == "create_pending" else 30,
                         express=rng.choice([0, 800]), discount=rng.choice([0, 300, 500]))  # fmt: skip
    elif kind == "edit":
        double.touch(oid(n), at, remark=f"备注 {at:%H:%M}")
    else:
        getattr(double, kind)(oid(n), at)
    expected[oid(n)] = EXPECTED_STATUS[kind] or expected[oid(n)]


def churn_while_paging(expected: dict[str, str], quiet: set[str], churned: list[str]):
    """After the 2nd and 3rd pages are served, three of the oldest orders of the window change."""

    def mutate(d: KuaishouDouble) -> None:
        since = ms(d.now - timedelta(hours=3))
        window = [o for k, o in d.orders.items() if o["orderBaseInfo"]["updateTime"] >= since and k in quiet]
        oldest = sorted((o for o in window if expected[str(o["orderBaseInfo"]["oid"])] == "paid"),
                        key=lambda o: o["orderBaseInfo"]["updateTime"])  # fmt: skip
        for o in oldest[:3]:
            key = str(o["orderBaseInfo"]["oid"])
            d.request_refund(key, d.now - timedelta(seconds=30))  # inside the window being paged
            expected[key] = "refund_requested"
            churned.append(key)

    return [lambda d: None, mutate, mutate]


def test_a_full_day_arrives_exactly_once_with_status_amounts_and_skus(shop, double):
    rng = random.Random(20261127)
    events = plan_day(rng, 2100)
    expected: dict[str, str] = {}
    churned: list[str] = []
    sync(double, DAY)  # sets the cursor at the start of the day
    checkpoints = [DAY + timedelta(hours=h) for h in range(3, 25, 3)] + [DAY + timedelta(hours=24, minutes=5)]
    pages = []
    for i, checkpoint in enumerate(checkpoints):
        while events and events[0][0] <= checkpoint:
            apply(double, rng, events.pop(0), expected)
        if i in (2, 5):  # orders keep changing while the window is paged
            later = {oid(e[2]) for e in events}
            double.after_page = churn_while_paging(expected, set(expected) - later, churned)
        before = len(double.requests)
        sync(double, checkpoint)
        pages.append(methods(double)[before:].count("open.order.cursor.list"))
    assert len(double.orders) == 2100 and not events and len(churned) == 12
    assert max(pages) >= 5  # several cursor pages per window

    assert Order.objects.filter(shop__code="ks").count() == len(double.orders)
    assert_orders_match(double, expected)
    assert_sample_field_by_field(double)

    counts = (Order.objects.count(), OrderLine.objects.count(), OrderTransition.objects.count())
    again = sync(double, checkpoints[-1] + timedelta(minutes=1))
    assert (again.created, again.updated) == (0, 0)
    assert (Order.objects.count(), OrderLine.objects.count(), OrderTransition.objects.count()) == counts


def assert_orders_match(double: KuaishouDouble, expected: dict[str, str]) -> None:
    hub = {o["channel_order_id"]: o for o in Order.objects.values("id", "channel_order_id", "channel_status",
                                                                       "paid_amount")}  # fmt: skip
    lines: dict[int, Counter] = {}
    for order_id, code, qty in OrderLine.objects.values_list("order_id", "sku__code", "quantity"):
        lines.setdefault(order_id, Counter())[(code, qty)] += 1
    assert Counter(o["channel_status"] for o in hub.values()) == Counter(expected.values())
    for key, raw in double.orders.items():
        got, item = hub[key], raw["orderItemInfo"]
        assert got["channel_status"] == expected[key], key
        assert got["paid_amount"] == Decimal(raw["orderBaseInfo"]["totalFee"]) / 100, key
        assert lines[got["id"]] == Counter({(item["skuNick"], item["num"]): 1}), key


def assert_sample_field_by_field(double: KuaishouDouble) -> None:
    raw = next(o for o in double.orders.values() if o["orderBaseInfo"]["expressFee"]
               and o["orderBaseInfo"]["discountFee"] and o["orderBaseInfo"]["status"] == 30
               and not o["orderRefundList"])  # fmt: skip
    base, item, addr = raw["orderBaseInfo"], raw["orderItemInfo"], raw["orderAddress"]
    o = Order.objects.get(channel_order_id=str(base["oid"]))
    assert o.placed_at == datetime.fromtimestamp(base["createTime"] / 1000, SHANGHAI)
    assert o.paid_at == datetime.fromtimestamp(base["payTime"] / 1000, SHANGHAI)
    assert o.channel_updated_at == datetime.fromtimestamp(base["updateTime"] / 1000, SHANGHAI)
    assert (o.freight, o.discount) == (Decimal("8.00"), Decimal(base["discountFee"]) / 100)
    assert o.lines_amount == Decimal(item["price"] * item["num"]) / 100
    assert o.paid_amount == o.lines_amount + o.freight - o.discount == Decimal(base["totalFee"]) / 100
    assert (o.receiver_province, o.receiver_city, o.receiver_district) == ("四川省", "成都市", "武侯区")
    assert (o.receiver_name, o.receiver_phone, o.receiver_address) == (
        addr["encryptedConsignee"], addr["encryptedMobile"], addr["encryptedAddress"])  # ciphertext kept  # fmt: skip
    assert "买家" not in o.receiver_name and "天府" not in o.receiver_address
    ln = o.lines.select_related("sku").get()
    assert (ln.sku.code, ln.quantity, ln.unit_price, ln.paid_amount, ln.title) == (
        item["skuNick"], item["num"], Decimal(item["originalPrice"]) / 100,
        Decimal(item["price"] * item["num"]) / 100, item["itemTitle"])  # fmt: skip


# --- 3. tokens ----------------------------------------------------------------------------------


def test_a_token_close_to_expiry_is_refreshed_before_pulling(shop, double):
    at = DAY + timedelta(hours=9)
    double.add_order(7, at - timedelta(minutes=30), "KS-CUP-02", 1, 1500)
    old, old_refresh = cred().access_token, cred().refresh_token
    ShopCredential.objects.filter(shop=shop).update(expires_at=at + timedelta(minutes=10))
    double.access_tokens[old] = at + timedelta(minutes=10)
    assert sync(double, at).received == 1
    assert methods(double)[:2] == ["/oauth2/refresh_token", "open.order.cursor.list"]
    assert double.requests[0].method == "POST" and double.requests[0].form["grant_type"] == "refresh_token"
    c = cred()
    assert c.access_token != old and c.access_token in double.access_tokens
    assert c.refresh_token != old_refresh and old_refresh not in double.refresh_tokens  # the old one is spent
    assert double.requests[1].query["access_token"] == c.access_token
    assert c.expires_at - at > timedelta(hours=47) and c.needs_reauth is False
    assert c.refresh_expires_at - at > timedelta(days=179)


def test_an_invalid_refresh_token_asks_for_reauthorisation(shop, double):
    at = DAY + timedelta(hours=9)
    c = cred()
    c.refresh_token, c.expires_at = "ChJvYXV0aC5yZWZyZXNo-revoked", at + timedelta(minutes=5)
    c.save()
    with pytest.raises(AuthError) as refused:
        sync(double, at)
    assert refused.value.code == "100200102"
    assert cred().needs_reauth is True
    assert "open.order.cursor.list" not in methods(double)


def test_an_expired_access_token_is_an_auth_error_with_the_platform_code(shop, double):
    double.access_tokens[cred().access_token] = DAY
    with pytest.raises(AuthError) as refused:
        sync(double, DAY + timedelta(hours=1))
    assert refused.value.code == "100200102"
    assert cred().needs_reauth is True


def test_authorisation_code_flow(shop, double):
    url = connector_for(shop).authorize_url("https://hub.example/cb", "st-1")
    assert url.startswith("https://open.kwaixiaodian.com/oauth/authorize?app_id=ks660340295617067960&")
    assert "response_type=code" in url and "state=st-1" in url and "scope=merchant_order" in url
    authorize("ks", double.issue_code(), "https://hub.example/cb")
    token_call = double.requests[-1]
    assert (token_call.method, token_call.path, token_call.query["grant_type"]) == (
        "GET",
        "/oauth2/access_token",
        "code",
    )
    c = cred()
    assert c.access_token in double.access_tokens and c.platform_shop_id == double.open_id
    with pytest.raises(AuthError) as refused:
        authorize("ks", "used-or-unknown-code", "https://hub.example/cb")
    assert refused.value.code == "100200105"


# --- 4. throttling, 5xx, timeouts ---------------------------------------------------------------


def test_a_rate_limit_a_5xx_a_timeout_and_a_malformed_page_while_paging_are_survived(shop, double):
    at = DAY + timedelta(hours=6)
    for n in range(1, 231):
        double.add_order(n, DAY + timedelta(hours=1, seconds=n * 7), "KS-JERKY-200G", 1, 3990)
    sync(double, DAY)
    double.after_page = [lambda d: d.throttle_next(1), lambda d: d.fail_next(1, 502),
                         lambda d: d.malformed_next(1), lambda d: d.delay_next(1, 10.5)]  # fmt: skip
    report = sync(double, at)
    assert Order.objects.filter(shop=shop).count() == 230 and report.created == 230
    # the window is re-read from its first page after each failure (the timeout hits a first page)
    assert methods(double).count("open.order.cursor.list") == 1 + 3 * 2 + 1 + 5


# --- 5. outage ----------------------------------------------------------------------------------


def test_a_ten_minute_outage_is_back_filled_with_nothing_missing_or_doubled(shop, double):
    t = DAY + timedelta(hours=10)
    for n in range(1, 41):
        double.add_order(n, t - timedelta(minutes=50 - n), "KS-TEA-GIFT", 1, 12800)
    sync(double, DAY + timedelta(hours=9))
    sync(double, t)
    cursor = SyncState.objects.get(shop=shop).cursor
    for n in range(41, 61):
        double.add_order(n, t + timedelta(seconds=10 * n), "KS-CUP-02", 2, 1500)
    double.outage(600)
    with pytest.raises(TransientError):
        sync(double, t + timedelta(minutes=11))
    state = SyncState.objects.get(shop=shop)
    assert state.cursor == cursor and state.last_error.startswith("TransientError")
    for n in range(61, 101):  # orders keep arriving and changing during the outage
        double.add_order(n, t + timedelta(minutes=11, seconds=10 * (n - 60)), "KS-NUTS-500G", 3, 6800)
    double.refund(oid(5), t + timedelta(minutes=15))
    double.end_outage()
    report = sync(double, t + timedelta(minutes=21))
    assert report.created == 60 and report.updated == 1
    assert Order.objects.filter(shop=shop).count() == 100 == len(double.orders)
    assert Order.objects.get(channel_order_id=oid(5)).channel_status == "refunded"


def test_a_back_fill_longer_than_the_window_limit_is_pulled_in_seven_day_windows(shop, double):
    double.now = datetime.now(SHANGHAI)
    double.add_order(3, double.now - timedelta(days=9), "KS-CUP-02", 1, 1500)
    double.add_order(4, double.now - timedelta(days=2), "KS-CUP-02", 1, 1500)
    report = backfill("ks", double.now - timedelta(days=10), double.now - timedelta(minutes=1))
    assert (report.windows, report.created) == (2, 2)
    spans = [r.form["param"] for r in double.requests if r.query.get("method") == "open.order.cursor.list"]
    assert len(spans) == 2 and all('"queryType":2' in s and '"sort":2' in s for s in spans)


# --- 6. write-back and decryption ----------------------------------------------------------------


def test_shipment_stock_and_decryption_go_to_the_platform(shop, double):
    raw = double.add_order(42, DAY + timedelta(hours=8), "KS-JERKY-200G", 2, 3990)
    conn = connector_for(shop)
    conn.confirm_shipment(oid(42), "SF", "SF1515601210470")
    assert double.shipments == [{"orderId": int(oid(42)), "expressCode": 4, "expressNo": "SF1515601210470"}]
    assert raw["orderBaseInfo"]["status"] == 40

    double.sku("KS-NUTS-500G", stock=50)
    conn.push_stock("KS-NUTS-500G", 37)
    conn.push_stock("KS-NUTS-500G", 45)
    conn.push_stock("KS-NUTS-500G", 45)  # unchanged: nothing sent
    sku = double.skus["KS-NUTS-500G"]
    assert double.stock_updates == [
        {"kwaiItemId": sku["kwaiItemId"], "skuId": sku["kwaiSkuId"], "skuChangeStock": 13, "changeType": 2},
        {"kwaiItemId": sku["kwaiItemId"], "skuId": sku["kwaiSkuId"], "skuChangeStock": 8, "changeType": 1},
    ]
    assert sku["skuStock"] == 45
    with pytest.raises(ConnectorError) as unknown:
        conn.push_stock("NOT-ON-KUAISHOU", 1)
    assert unknown.value.code == "sku-not-found"

    receiver = conn.decrypt_receiver(oid(42))
    assert (receiver.name, receiver.phone, receiver.address) == (
        "买家42",
        "13900000042",
        "武侯区天府大道北段42号",
    )
    assert double.decrypts == [{"bizIds": [oid(42)] * 3, "count": 3}]
