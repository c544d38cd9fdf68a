"""快手小店 connector against its local double over real HTTP: signing, a full day of orders exactly once,
token refresh, throttling, 5xx and timeouts while paging, a 10-minute outage back-filled, write-back and
receiver decryption through the sync service."""

import logging
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from tests.integration.channels.harness import (
    EVERY_THREE_HOURS,
    DayOfOrders,
    assert_needs_reauth,
    assert_outage_back_filled,
    assert_refreshed,
    authorised_shop,
    change_credential,
    expire_soon,
)
from tests.platforms.kuaishou import SHANGHAI, KuaishouDouble, ms
from zhongshu.channels.base import AuthError, ConnectorError
from zhongshu.channels.kuaishou.client import call
from zhongshu.channels.kuaishou.signing import MD5
from zhongshu.channels.models import ShopCredential
from zhongshu.channels.services import authorize, backfill, connector_for, sync_shop
from zhongshu.orders.models import Order

PRICES = {"KS-JERKY-200G": 3990, "KS-NUTS-500G": 6800, "KS-TEA-GIFT": 12800, "KS-CUP-02": 1500}
DAY = (datetime.now(SHANGHAI) - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
DOUBLE = KuaishouDouble  # the module's `platform` (conftest)
BASE_OID = 2_321_300_000_000_000


def oid(n: int) -> str:
    return str(BASE_OID + n)


@pytest.fixture
def shop(hub, double):
    return authorised_shop(double, "ks", "快手小店旗舰店", "kuaishou", PRICES, app_key=double.app_key,
                           push_secret=double.sign_secret)  # appSecret, signSecret  # fmt: skip


def sync(double: KuaishouDouble, at: datetime):
    double.now = at
    return sync_shop("ks", now=at)


def cred() -> ShopCredential:
    return ShopCredential.objects.get(shop__code="ks")


def methods(requests) -> list[str]:
    return [r.query.get("method") or r.path for r in requests]


# --- 1. signing -------------------------------------------------------------------------------


def test_signed_calls_are_accepted_and_a_wrong_secret_is_refused_with_the_platform_code(shop, double):
    at = DAY + timedelta(hours=12)
    double.add_order(1, at - timedelta(hours=1), "KS-NUTS-500G", 2, 6800)
    assert sync(double, at).received == 1
    page = next(r for r in double.requests if r.query.get("method") == "open.order.cursor.list")
    assert (page.method, page.path, page.query["version"], page.query["signMethod"]) == (
        "GET", "/open/order/cursor/list", "1", "HMAC_SHA256")  # fmt: skip
    assert page.query["sign"] == double.expected_sign(page.query) and page.body == b""
    assert "signSecret" not in page.query and '"queryType":2' in page.query["param"]
    assert call(connector_for(shop).credentials, "open.order.detail", {"oid": int(oid(1))}, MD5)
    assert double.requests[-1].query["signMethod"] == "MD5"

    change_credential("ks", push_secret="not-the-sign-secret")
    assert_needs_reauth("ks", "24", lambda: sync(double, at + timedelta(minutes=1)))
    assert Order.objects.count() == 1


# --- 2. a full day, exactly once ----------------------------------------------------------------


class KuaishouDay(DayOfOrders):
    churn_hook = "after_page"
    churn_lag = timedelta(seconds=30)  # inside the window being paged

    def order_id(self, n: int) -> str:
        return oid(n)

    def create(self, n: int, at: datetime, pending: bool) -> None:
        rng = self.rng
        code = rng.choice(sorted(PRICES))
        num = rng.randint(1, 4)
        self.double.add_order(n, at, code, num, PRICES[code], status=10 if pending else 30,
                              express=rng.choice([0, 800]), discount=rng.choice([0, 300, 500]))  # fmt: skip

    def edit(self, order_id: str, at: datetime) -> None:
        self.double.touch(order_id, at, remark=f"备注 {at:%H:%M}")

    def to_churn(self, quiet: set[str]) -> list[str]:
        """The oldest paid orders of the window being paged."""
        since = ms(self.double.now - timedelta(hours=3))
        window = [
            o
            for k, o in self.double.orders.items()
            if o["orderBaseInfo"]["updateTime"] >= since and k in quiet
        ]
        oldest = sorted((o for o in window if self.expected[str(o["orderBaseInfo"]["oid"])] == "paid"),
                        key=lambda o: o["orderBaseInfo"]["updateTime"])  # fmt: skip
        return [str(o["orderBaseInfo"]["oid"]) for o in oldest]

    def paid(self, raw: dict) -> Decimal:
        return Decimal(raw["orderBaseInfo"]["totalFee"]) / 100

    def lines(self, raw: dict) -> Counter:
        item = raw["orderItemInfo"]
        return Counter({(item["skuNick"], item["num"]): 1})


def test_a_full_day_arrives_exactly_once_with_status_amounts_and_skus(shop, double):
    served = KuaishouDay(double, DAY, 2100).arrives_exactly_once(
        "ks", sync, EVERY_THREE_HOURS, churn_at=(2, 5)
    )
    # several cursor pages per window
    assert max(methods(requests).count("open.order.cursor.list") for requests in served) >= 5
    assert_sample_field_by_field(double)


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


def test_a_token_close_to_expiry_is_refreshed_before_pulling(shop, double, caplog):
    caplog.set_level(logging.INFO, logger="httpx")
    at = DAY + timedelta(hours=9)
    double.add_order(7, at - timedelta(minutes=30), "KS-CUP-02", 1, 1500)
    old, old_refresh = expire_soon(shop, double, at), cred().refresh_token
    assert sync(double, at).received == 1
    assert methods(double.requests)[:2] == ["/oauth2/refresh_token", "open.order.cursor.list"]
    refresh = double.requests[0]  # POST with its parameters in the query string, as the Node SDK sends it
    assert (refresh.method, refresh.query["grant_type"], refresh.body) == ("POST", "refresh_token", b"")
    assert "/oauth2/refresh_token" in caplog.text and double.app_secret not in caplog.text  # not logged
    assert old_refresh not in caplog.text
    c = assert_refreshed(shop, double, old)
    assert c.refresh_token != old_refresh and old_refresh not in double.refresh_tokens  # the old one is spent
    assert c.expires_at - at > timedelta(hours=47) and c.needs_reauth is False
    assert c.refresh_expires_at - at > timedelta(days=179)


def test_an_invalid_refresh_token_asks_for_reauthorisation(shop, double):
    at = DAY + timedelta(hours=9)
    change_credential(
        "ks", refresh_token="ChJvYXV0aC5yZWZyZXNo-revoked", expires_at=at + timedelta(minutes=5)
    )
    assert_needs_reauth("ks", "100200102", lambda: sync(double, at))
    assert "open.order.cursor.list" not in methods(double.requests)


def test_an_expired_access_token_is_an_auth_error_with_the_platform_code(shop, double):
    double.access_tokens[cred().access_token] = DAY
    assert_needs_reauth("ks", "100200102", lambda: sync(double, DAY + timedelta(hours=1)))


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
    assert methods(double.requests).count("open.order.cursor.list") == 1 + 3 * 2 + 1 + 5


# --- 5. outage ----------------------------------------------------------------------------------


def test_a_ten_minute_outage_is_back_filled_with_nothing_missing_or_doubled(shop, double):
    goods = ("KS-TEA-GIFT", 1, 12800), ("KS-CUP-02", 2, 1500), ("KS-NUTS-500G", 3, 6800)
    assert_outage_back_filled(
        shop, double, sync, DAY, lambda n, at, sku: double.add_order(n, at, *sku), goods, refunded=oid(5)
    )


def test_a_back_fill_longer_than_the_window_limit_is_pulled_in_seven_day_windows(shop, double):
    double.now = datetime.now(SHANGHAI)
    double.add_order(3, double.now - timedelta(days=9), "KS-CUP-02", 1, 1500)
    double.add_order(4, double.now - timedelta(days=2), "KS-CUP-02", 1, 1500)
    report = backfill("ks", double.now - timedelta(days=10), double.now - timedelta(minutes=1))
    assert (report.windows, report.created) == (2, 2)
    spans = [r.query["param"] for r in double.requests if r.query.get("method") == "open.order.cursor.list"]
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
    verbs = {(r.query["method"], r.method) for r in double.requests}  # the Node SDK's verbs
    assert verbs == {("open.seller.order.goods.deliver", "POST"), ("open.item.list.get", "GET"),
                     ("open.item.sku.stock.update", "POST"), ("open.order.detail", "GET"),
                     ("open.order.decrypt.batch", "POST")}  # fmt: skip
