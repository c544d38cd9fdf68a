"""抖店 connector against its local double over real HTTP: signing, a full day of orders exactly once,
token refresh, throttling and 5xx while paging, a 10-minute outage back-filled, write-back, decryption
and push messages through the sync and push services."""

import json
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
from tests.platforms.douyin import SHANGHAI, DouyinDouble
from zhongshu.channels.base import AuthError, ConnectorError
from zhongshu.channels.models import PushReceipt, ShopCredential
from zhongshu.channels.services import ReplayedPush, accept_push, authorize, connector_for, sync_shop
from zhongshu.orders.models import Order

PRICES = {"DY-TEA-250G": 5990, "DY-CUP-01": 2900, "DY-KETTLE": 15900, "DY-GIFT-BOX": 1200}
DAY = (datetime.now(SHANGHAI) - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
DOUBLE = DouyinDouble  # the module's `platform` (conftest)


@pytest.fixture
def shop(hub, double):
    return authorised_shop(
        double, "dy", "抖店旗舰店", "douyin", PRICES, app_key=double.app_key, platform_shop_id=double.shop_id
    )


def sync(double: DouyinDouble, at: datetime):
    double.now = at
    return sync_shop("dy", now=at)


def cred() -> ShopCredential:
    return ShopCredential.objects.get(shop__code="dy")


def oid(n: int) -> str:
    return str(6_920_000_000_000_000_000 + n)


def methods(requests) -> list[str]:
    return [r.query.get("method") for r in requests]


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

    change_credential("dy", app_secret="not-the-secret")
    assert_needs_reauth("dy", "isv.signature-invalid", lambda: sync(double, at + timedelta(minutes=1)))
    assert Order.objects.count() == 1


# --- 2. a full day, exactly once ----------------------------------------------------------------


class DouyinDay(DayOfOrders):
    def order_id(self, n: int) -> str:
        return oid(n)

    def create(self, n: int, at: datetime, pending: bool) -> None:
        rng = self.rng
        lines = [
            (code, rng.randint(1, 3), PRICES[code]) for code in rng.sample(sorted(PRICES), rng.randint(1, 3))
        ]
        goods = sum(q * p for _, q, p in lines)
        self.double.add_order(n, at, lines, status=1 if pending else 2, post_fen=rng.choice([0, 800]),
                              promo_fen=rng.choice([0, 500, min(1000, goods // 2)]))  # fmt: skip

    def edit(self, order_id: str, at: datetime) -> None:
        self.double.touch(order_id, at, buyer_words=f"备注 {at:%H:%M}")

    def to_churn(self, quiet: set[str]) -> list[str]:
        """The oldest paid orders of the window being paged (they leave it)."""
        since = (self.double.now - timedelta(hours=3)).timestamp()
        window = [
            o for o in self.double.orders.values() if o["update_time"] >= since and o["order_id"] in quiet
        ]
        oldest = sorted(
            (o for o in window if self.expected[o["order_id"]] == "paid"), key=lambda o: o["update_time"]
        )
        return [o["order_id"] for o in oldest]

    def paid(self, raw: dict) -> Decimal:
        return Decimal(raw["pay_amount"]) / 100

    def lines(self, raw: dict) -> Counter:
        return Counter((s["code"], s["item_num"]) for s in raw["sku_order_list"])


def test_a_full_day_arrives_exactly_once_with_status_amounts_and_skus(shop, double):
    served = DouyinDay(double, DAY, 2050).arrives_exactly_once("dy", sync, EVERY_THREE_HOURS, churn_at=(2, 5))
    # several pages per window (probe + pages read backwards)
    assert max(methods(requests).count("order.searchList") for requests in served) >= 5
    assert_sample_field_by_field(double)


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
    old = expire_soon(shop, double, at)
    assert sync(double, at).received == 1
    assert methods(double.requests)[:2] == ["token.refresh", "order.searchList"]
    c = assert_refreshed(shop, double, old)
    assert c.expires_at - at > timedelta(days=6) and c.needs_reauth is False


def test_an_invalid_refresh_token_asks_for_reauthorisation(shop, double):
    at = DAY + timedelta(hours=9)
    change_credential("dy", refresh_token="rt-revoked", expires_at=at + timedelta(minutes=5))
    assert_needs_reauth("dy", "dop.token-generate-failed:token-invalid", lambda: sync(double, at))
    assert "order.searchList" not in methods(double.requests)


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
    # the window was re-read after each failure
    assert methods(double.requests).count("order.searchList") >= 2 + 3 * 2


# --- 5. outage ----------------------------------------------------------------------------------


def test_a_ten_minute_outage_is_back_filled_with_nothing_missing_or_doubled(shop, double):
    goods = [("DY-KETTLE", 1, 15900)], [("DY-CUP-01", 2, 2900)], [("DY-GIFT-BOX", 3, 1200)]
    assert_outage_back_filled(shop, double, sync, DAY, double.add_order, goods, refunded=oid(5))


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
