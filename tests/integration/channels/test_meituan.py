"""美团外卖/闪购 connector against its local double over real HTTP: sig signing, a full day of orders
exactly once through the day-sequence reconciliation pull, token refresh, throttling, 5xx,
malformed answers and timeouts, a 10-minute outage back-filled, write-back, the real phone behind a
privacy number, and signed pushes through the push service."""

import hashlib
import json
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.integration.channels.harness import (
    DayOfOrders,
    assert_needs_reauth,
    assert_outage_back_filled,
    assert_refreshed,
    authorised_shop,
    change_credential,
    expire_soon,
)
from tests.platforms.meituan import ORDER_BASE, SHANGHAI, MeituanDouble
from zhongshu.channels.base import AuthError, ConnectorError, TransientError
from zhongshu.channels.meituan.client import call
from zhongshu.channels.models import PushReceipt, ShopCredential
from zhongshu.channels.services import ReplayedPush, accept_push, authorize, connector_for, sync_shop
from zhongshu.orders.models import Order

PRICES = {"MT-TEA-250G": "59.90", "MT-CUP-01": "29.00", "MT-KETTLE": "159.00", "MT-GIFT-BOX": "12.00"}
DAY = (datetime.now(SHANGHAI) - timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
DOUBLE = MeituanDouble  # the module's `platform` (conftest)
DETAIL = "order/getOrderDetail"
DAY_SEQ = "ecommerce/order/getOrderIdByDaySeq"


@pytest.fixture
def shop(hub, double):
    return authorised_shop(
        double, "mt", "美团闪购店", "meituan", PRICES, app_key=double.app_id, platform_shop_id=double.poi
    )


def sync(double: MeituanDouble, at: datetime):
    double.now = at
    return sync_shop("mt", now=at)


def cred() -> ShopCredential:
    return ShopCredential.objects.get(shop__code="mt")


def apis(requests) -> list[str]:
    return [r.path.removeprefix("/api/v1/") for r in requests]


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

    change_credential("mt", app_secret="not-the-secret")
    assert_needs_reauth("mt", "703", lambda: sync(double, at + timedelta(minutes=1)))
    assert Order.objects.count() == 1


def test_an_empty_parameter_is_signed_and_sent_as_k_equals(shop, double):
    """The official SDK signs every key, an empty value as `k=` (see meituan/signing.py)."""
    double.add_order(3, DAY + timedelta(hours=3), [("MT-CUP-01", 1, "29.00")])
    data = call(connector_for(shop).credentials, DETAIL, {"order_id": oid(3), "remark": ""})
    assert str(data["order_id"]) == oid(3)
    assert double.requests[-1].query["remark"] == ""  # sent, and signed, as remark=


# --- 2. a full day, exactly once ----------------------------------------------------------------


class MeituanDay(DayOfOrders):
    """Payments, confirmations, cancels, refunds and edits: every order is paid when it arrives."""

    fates = [(0.06, ("request_refund", "refund")),  # modified twice
             (0.09, ("request_refund",)), (0.13, ("cancel",)),
             (0.40, ("confirm", "edit"))]  # modified twice, still paid  # fmt: skip
    unpaid = settled = 0.0
    churn_hook = "after_detail"
    churn_answers = (40, 80)  # the 40th and 80th order details served

    def order_id(self, n: int) -> str:
        return oid(n)

    def create(self, n: int, at: datetime, pending: bool) -> None:
        rng = self.rng
        lines = [(c, rng.randint(1, 3), PRICES[c]) for c in rng.sample(sorted(PRICES), rng.randint(1, 3))]
        self.double.add_order(
            n, at, lines, shipping=rng.choice(["0", "5.00"]), discount=rng.choice(["0", "3.50", "10"])
        )

    def edit(self, order_id: str, at: datetime) -> None:
        self.double.touch(order_id, at, caution=f"备注 {at:%H:%M}")

    def to_churn(self, quiet: set[str]) -> list[str]:
        return sorted(i for i in quiet if self.expected[i] == "paid" and i not in self.churned)

    def paid(self, raw: dict) -> Decimal:
        return Decimal(str(raw["total"]))

    def lines(self, raw: dict) -> Counter:
        return Counter((d["sku_id"], d["quantity"]) for d in json.loads(raw["detail"]))


def test_a_full_day_arrives_exactly_once_with_status_amounts_and_skus(shop, double, settings):
    settings.MEITUAN_PULL_WORKERS = 2  # a local double answers in ~2 ms: more threads only contend
    day = MeituanDay(double, DAY, 2050)
    checkpoints = [timedelta(hours=8), timedelta(hours=16), timedelta(hours=24, minutes=5)]
    served = day.arrives_exactly_once("mt", sync, checkpoints, churn_at=(0, 1))
    assert apis(served[-1]).count(DAY_SEQ) >= 21  # 2,050 day numbers: 21 segments of 100
    assert set(Counter(day.expected.values())) == {"paid", "cancelled", "refund_requested", "refunded"}
    assert_sample_field_by_field(double)


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
    old = expire_soon(shop, double, at)
    assert sync(double, at).received == 1
    assert apis(double.requests)[:2] == ["oauth/token", DAY_SEQ]
    token_call = double.requests[0].form
    assert (token_call["grant_type"], double.requests[0].method) == ("refresh_token", "POST")
    c = assert_refreshed(shop, double, old)
    assert c.expires_at - at > timedelta(days=29) and c.needs_reauth is False


def test_an_invalid_refresh_token_asks_for_reauthorisation(shop, double):
    at = DAY + timedelta(hours=9)
    change_credential("mt", refresh_token="mt-rt-revoked", expires_at=at + timedelta(minutes=5))
    assert_needs_reauth("mt", "1006", lambda: sync(double, at))
    assert apis(double.requests) == ["oauth/token"]


def test_an_expired_access_token_is_an_auth_error_with_the_platform_code(shop, double):
    double.access_tokens[cred().access_token] = DAY
    assert_needs_reauth("mt", "1002", lambda: sync(double, DAY + timedelta(hours=1)))


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
    assert apis(double.requests).count(DETAIL) >= 350 + 4 * 40  # the window was re-read after each failure


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
    goods = [("MT-KETTLE", 1, "159.00")], [("MT-CUP-01", 2, "29.00")], [("MT-GIFT-BOX", 3, "12.00")]
    assert_outage_back_filled(shop, double, sync, DAY, double.add_order, goods, refunded=oid(5))


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
    assert apis(double.requests) == [DETAIL, "ecommerce/order/getOrderRefundDetail"]


def test_a_paid_order_push_with_empty_fields_is_verified_over_them(shop, double):
    raw = double.add_order(12, DAY + timedelta(hours=20), [("MT-KETTLE", 1, "159.00")])
    headers, body = double.push("paid", str(raw["order_id"]))
    form = parse_qs(body.decode(), keep_blank_values=True)
    assert form["caution"] == [""] and form["invoice_title"] == [""]
    assert accept_push("mt", headers, body).created == 1


def test_a_push_whose_values_are_url_encoded_twice_is_verified_and_read_decoded(shop, double):
    raw = double.add_order(13, DAY + timedelta(hours=20), [("MT-TEA-250G", 2, "59.90")])
    headers, body = double.push("paid", str(raw["order_id"]), encoded_twice=True)
    assert b"%25E4%25B9%25B0" in body  # 买 (in the receiver's name) encoded twice
    assert accept_push("mt", headers, body).created == 1
    o = Order.objects.get(channel_order_id=str(raw["order_id"]))
    assert (o.paid_amount, o.lines.get().sku.code) == (Decimal("119.80"), "MT-TEA-250G")
    forged = body.replace(b"MT-TEA-250G", b"MT-CUP-01")
    with pytest.raises(ConnectorError) as refused:
        accept_push("mt", headers, forged)
    assert refused.value.code == "703"


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
