"""Taobao/Tmall connector against the local TOP double over real HTTP, through the sync service."""

import random
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from tests.integration.channels.harness import (
    assert_needs_reauth,
    assert_pulling_again_changes_nothing,
    change_credential,
    connect_shop,
)
from tests.platforms.taobao import SHANGHAI, TaobaoDouble
from zhongshu.channels.base import AuthError, ConnectorError, Credentials, RateLimited, TransientError
from zhongshu.channels.models import Shop, ShopCredential, SyncState
from zhongshu.channels.services import connector_for, sync_shop
from zhongshu.channels.taobao.client import TopClient
from zhongshu.channels.taobao.connector import PAGE_SIZE, TRADE_FIELDS, TaobaoConnector
from zhongshu.orders.models import Order, OrderLine

T0 = datetime(2026, 11, 11, 0, 0, tzinfo=SHANGHAI)
DAY_END = T0 + timedelta(hours=23, minutes=59, seconds=59)
SKUS = {"TB-TEA-250G": "59.00", "TB-CUP-01": "19.90", "TB-PAN-28": "129.00", "TB-MUG-02": "35.50"}
ITEM_ONLY = "TB-BOOK-01"  # an item without SKUs: its code comes as outer_iid
PLACES = [
    {"state": "广东省", "city": "深圳市", "district": "南山区"},
    {"state": "四川省", "city": "成都市", "district": "武侯区"},
    {"state": "湖北省", "city": "武汉市", "district": "洪山区"},
    {"state": "河南省", "city": "", "district": "济源市"},  # county-level city: Taobao puts it in district
    {"state": "浙江省", "city": "杭州市", "district": "西湖区"},
]


@pytest.fixture
def tb(hub):
    """The double at T0, shop `tb` authorised against it, SKUs and ample stock in both warehouses."""
    with TaobaoDouble(now=T0) as double:
        token = double.issue_token()
        skus = {code: Decimal(price) / 2 for code, price in [*SKUS.items(), (ITEM_ONLY, "45.00")]}
        connect_shop("tb", "天猫旗舰店", "taobao", skus, api_base_url=double.url, app_key=double.app_key,
                     app_secret=double.app_secret, access_token=token["access_token"],
                     refresh_token=token["refresh_token"], expires_at=T0 + timedelta(days=1))  # fmt: skip
        yield double


def sync(double: TaobaoDouble, at: datetime):
    double.now = at
    return sync_shop("tb", now=at)


# --- a day of orders ---------------------------------------------------------------------------


class Day:
    """Trades and their later changes, applied to the double in time order as the clock moves."""

    def __init__(self, double: TaobaoDouble, seed: int = 11):
        self.double, self.rng = double, random.Random(seed)
        self.events: list[tuple[datetime, int, object]] = []
        self.expected: dict[str, dict] = {}
        self.seq = 0

    def order(self, created: datetime, fate: str = "paid", place: dict | None = None) -> str:
        """A trade created at `created`, paid minutes later unless its fate says otherwise."""
        self.seq += 1
        tid = str(3_800_000_000_000_000_000 + self.seq)
        trade, receiver = self._trade(tid, created, place or self.rng.choice(PLACES))
        paid_at = min(created + timedelta(seconds=self.rng.randint(5, 900)), DAY_END)
        later = min(paid_at + timedelta(minutes=self.rng.randint(5, 600)), DAY_END)
        self._at(created, lambda: self.double.put_trade(trade, receiver, created))
        if fate != "unpaid":
            status = "TRADE_CLOSED_BY_TAOBAO" if fate == "cancelled" else "WAIT_SELLER_SEND_GOODS"
            pay = {} if fate == "cancelled" else {"pay_time": self.double_fmt(paid_at)}
            self._at(paid_at, lambda: self.double.modify(tid, paid_at, status=status, **pay))
        if fate == "refund_requested":
            self._at(later, lambda: self.double.set_refund(tid, later, "WAIT_SELLER_AGREE"))
        if fate == "refunded":
            self._at(later, lambda: self.double.set_refund(tid, later, "SUCCESS", status="TRADE_CLOSED"))
        statuses = {"unpaid": "pending_payment", "cancelled": "cancelled"}
        self.expected[tid]["status"] = statuses.get(fate, fate)
        return tid

    def _trade(self, tid: str, created: datetime, place: dict) -> tuple[dict, dict]:
        rng, lines, subs = self.rng, [], []
        for n, code in enumerate(rng.sample([*SKUS, ITEM_ONLY], rng.randint(1, 3))):
            qty, price = rng.randint(1, 4), Decimal(SKUS.get(code, "45.00"))
            off = Decimal(rng.choice(["0.00", "0.00", "5.00"]))
            paid = price * qty - off
            sku_field = (
                {"outer_iid": code}
                if code == ITEM_ONLY
                else {"outer_iid": "SPU-" + code, "outer_sku_id": code}
            )
            subs.append({"oid": int(tid) * 10 + n, "title": f"商品 {code}", "price": str(price), "num": qty,
                         "total_fee": str(paid), "payment": str(paid), "discount_fee": str(off), "adjust_fee": "0.00",
                         "status": "WAIT_BUYER_PAY", "refund_status": "NO_REFUND", **sku_field})  # fmt: skip
            lines.append((code, qty))
        freight, coupon = (
            Decimal(rng.choice(["0.00", "8.00"])),
            Decimal(rng.choice(["0.00", "0.00", "10.00"])),
        )
        payment = sum(Decimal(s["payment"]) for s in subs) + freight - coupon
        trade = {"tid": int(tid), "status": "WAIT_BUYER_PAY", "type": "fixed", "created": self.double_fmt(created),
                 "payment": str(payment), "post_fee": str(freight), "discount_fee": str(coupon),
                 "total_fee": str(sum(Decimal(s["price"]) * s["num"] for s in subs)), "adjust_fee": "0.00",
                 "buyer_open_uid": "AAH" + tid[-8:], "buyer_nick": "t**" + tid[-2:], "orders": {"order": subs}}  # fmt: skip
        receiver = {
            **place,
            "name": "王小明",
            "mobile": f"138{int(tid) % 100_000_000:08d}",
            "address": "科技园路1号3栋",
        }
        self.expected[tid] = {
            "paid": payment,
            "freight": freight,
            "coupon": coupon,
            "lines": sorted(lines),
            "place": place,
        }
        return trade, receiver

    def _at(self, when: datetime, change) -> None:
        self.events.append((when, len(self.events), change))

    @staticmethod
    def double_fmt(dt: datetime) -> str:
        return dt.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")

    def fill(self, n: int, start: datetime, span: timedelta) -> None:
        fates = (
            ["paid"] * 80 + ["unpaid"] * 5 + ["cancelled"] * 5 + ["refund_requested"] * 6 + ["refunded"] * 4
        )
        for _ in range(n):
            self.order(start + span * self.rng.random(), self.rng.choice(fates))

    def advance(self, until: datetime) -> None:
        """Apply every change that happened up to `until`, in time order."""
        self.events.sort(key=lambda e: (e[0], e[1]))
        while self.events and self.events[0][0] <= until:
            self.events.pop(0)[2]()


def hub_state() -> dict[str, tuple]:
    lines: dict[int, list] = {}
    for order_id, sku, qty in OrderLine.objects.values_list("order_id", "sku__code", "quantity"):
        lines.setdefault(order_id, []).append((sku, qty))
    rows = Order.objects.filter(shop__code="tb").values_list(
        "id", "channel_order_id", "channel_status", "paid_amount"
    )
    return {cid: (status, paid, sorted(lines[pk])) for pk, cid, status, paid in rows}


# --- 1. signing ----------------------------------------------------------------------------------


def test_signature_accepted_for_each_sign_method_and_refused_with_a_wrong_secret(tb):
    window = {"fields": "tid", "start_modified": "2026-11-10 00:00:00", "end_modified": "2026-11-10 12:00:00"}
    for method in ("md5", "hmac", "hmac-sha256"):
        client = TopClient(
            tb.app_key, tb.app_secret, tb.url, tb.issue_token()["access_token"], sign_method=method
        )
        assert client.call("taobao.trades.sold.increment.get", window) == {"total_results": 0}
    assert tb.methods == ["taobao.trades.sold.increment.get"] * 3

    creds = Credentials(app_key=tb.app_key, app_secret="not-the-secret", access_token="x", base_url=tb.url)
    with pytest.raises(ConnectorError) as err:
        list(TaobaoConnector("tb", creds).pull_changed(T0 - timedelta(hours=1), T0))
    assert err.value.code == "25"
    assert "Invalid signature" in str(err.value)
    assert len(tb.methods) == 3  # refused before any API ran

    tb.throttle_next(1)  # the platform's throttling answer: a rate limit with the ban's length
    with pytest.raises(RateLimited) as err:
        client.call("taobao.trades.sold.increment.get", window)
    assert (err.value.code, err.value.retry_after) == ("7", 1.0)


# --- 2. a full day ---------------------------------------------------------------------------------


def test_a_full_day_arrives_exactly_once_with_status_amounts_and_skus(tb):
    day = Day(tb)
    day.fill(2_100, T0, timedelta(hours=24))
    day.advance(T0 + timedelta(hours=12))
    sync(tb, T0 + timedelta(hours=12))  # midday: some orders arrive unpaid, get paid/refunded later
    day.advance(T0 + timedelta(hours=24))
    tb.churn_per_page = 2  # buyers and sellers keep changing orders while the hub pages
    pages_before = tb.pages_served
    report = sync(tb, T0 + timedelta(days=1, minutes=10))
    assert tb.pages_served - pages_before >= 20  # half a day of changes: many pages in one window
    assert len(tb.churned) > 20
    tb.churn_per_page = 0
    sync(tb, T0 + timedelta(days=1, minutes=20))  # the churned orders, modified after the last window

    state = hub_state()
    assert len(state) == len(tb.trades) == len(day.expected) == 2_100
    assert report.rejected == []
    for tid, want in day.expected.items():
        assert state[tid] == (want["status"], want["paid"], want["lines"]), tid
    assert Counter(s for s, _, _ in state.values()) == Counter(w["status"] for w in day.expected.values())
    assert OrderLine.objects.count() == sum(len(w["lines"]) for w in day.expected.values())

    SyncState.objects.update(cursor=None)  # run the whole last day again
    again = assert_pulling_again_changes_nothing(lambda: sync(tb, T0 + timedelta(days=1, minutes=20)))
    assert again.received > 2_000


@pytest.mark.parametrize("place", [PLACES[0], PLACES[3]], ids=["city", "county-level-city"])
def test_sample_order_field_by_field(tb, place):
    day = Day(tb, seed=3)
    tid = day.order(T0 + timedelta(hours=9), "paid", place=place)
    day.advance(T0 + timedelta(hours=10))
    sync(tb, T0 + timedelta(hours=10))
    trade, want = tb.trades[tid], day.expected[tid]
    o = Order.objects.get(channel_order_id=tid)
    assert o.channel_status == "paid"
    assert o.placed_at == datetime.strptime(trade["created"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
    assert o.paid_at == datetime.strptime(trade["pay_time"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
    assert o.channel_updated_at == tb.modified[tid]
    assert (o.paid_amount, o.freight) == (want["paid"], want["freight"])
    assert o.discount == want["coupon"]  # the shop-level coupon: lines + freight − paid
    assert o.lines_amount == sum(Decimal(s["payment"]) for s in trade["orders"]["order"])
    # masked receiver kept as the platform gave it; the plain region kept for routing
    assert (o.receiver_name, o.receiver_phone) == (trade["receiver_name"], trade["receiver_mobile"])
    assert o.receiver_name == "王**" and o.receiver_phone.startswith("*******")
    assert o.receiver_address == trade["receiver_address"] == "科技园路****"
    city = place["city"] or place["district"]
    assert (o.receiver_province, o.receiver_city) == (place["state"], city)
    assert o.receiver_district == (place["district"] if place["city"] else "")
    lines = {ln.sku.code: ln for ln in o.lines.select_related("sku")}
    for sub in trade["orders"]["order"]:
        ln = lines[sub.get("outer_sku_id") or sub["outer_iid"]]
        assert (ln.quantity, ln.unit_price, ln.paid_amount) == (
            sub["num"],
            Decimal(sub["price"]),
            Decimal(sub["payment"]),
        )


def test_paging_forward_would_miss_orders_the_connector_does_not(tb):
    day = Day(tb, seed=5)
    day.fill(400, T0, timedelta(hours=6))
    day.advance(T0 + timedelta(hours=6))
    tb.now = T0 + timedelta(hours=7)
    window = {"fields": "tid", "start_modified": "2026-11-11 00:00:00", "end_modified": "2026-11-11 06:30:00",
              "page_size": PAGE_SIZE}  # fmt: skip
    stable = set(tb.trades)
    tb.churn_per_page = 3
    client = TopClient(tb.app_key, tb.app_secret, tb.url, ShopCredential.objects.get().access_token)
    seen: set[str] = set()
    for page in range(1, 400 // PAGE_SIZE + 1):  # the wrong way: first page to last
        body = client.call("taobao.trades.sold.increment.get", window | {"page_no": page})
        seen |= {str(t["tid"]) for t in body.get("trades", {}).get("trade", [])}
    assert stable - tb.churned - seen  # orders that never moved were skipped

    creds = connector_for(Shop.objects.get(code="tb")).credentials
    before = set(tb.churned)
    pulled = {
        o.channel_order_id
        for o in TaobaoConnector("tb", creds).pull_changed(T0, T0 + timedelta(hours=6, minutes=30))
    }
    assert stable - tb.churned <= pulled  # last page first: every order still in the window
    assert len(tb.churned) > len(before)


# --- 3. tokens -------------------------------------------------------------------------------------


def test_token_close_to_expiry_is_refreshed_before_pulling(tb):
    cred = ShopCredential.objects.get()
    old = cred.access_token
    tb.access[old] = T0 + timedelta(hours=2, minutes=10)
    cred.expires_at = T0 + timedelta(hours=2, minutes=10)
    cred.save()
    sync(tb, T0 + timedelta(hours=2))
    cred.refresh_from_db()
    assert tb.methods[0] == "taobao.top.auth.token.refresh"
    assert tb.methods[1] == "taobao.trades.sold.increment.get"
    assert cred.access_token != old and cred.access_token in tb.access
    assert cred.expires_at == T0 + timedelta(hours=2) + timedelta(days=1)
    assert (cred.platform_shop_id, cred.needs_reauth) == (tb.seller_id, False)


def test_invalid_refresh_token_marks_reauth_and_stops(tb):
    change_credential("tb", refresh_token="6201-revoked", expires_at=T0 + timedelta(minutes=5))
    err = assert_needs_reauth("tb", "15", lambda: sync(tb, T0 + timedelta(minutes=1)))
    assert "isv.refresh-token-invalid" in str(err)
    assert tb.methods == ["taobao.top.auth.token.refresh"]  # nothing pulled with a dead token
    assert SyncState.objects.get().cursor is None


def test_expired_session_is_an_auth_error_with_code_27(tb):
    tb.access.clear()  # the platform revoked the session although our expiry says it is fine
    err = assert_needs_reauth("tb", "27", lambda: sync(tb, T0 + timedelta(hours=1)))
    assert "invalid-sessionkey" in str(err)


def test_authorisation_code_flow(tb):
    conn = connector_for(Shop.objects.get(code="tb"))
    url = conn.authorize_url("https://hub.example/cb", "s1")
    assert (
        url.startswith(tb.url + "/authorize?") and "client_id=12345678" in url and "response_type=code" in url
    )
    tb.codes.add("code-1")
    tokens = conn.exchange_code("code-1", "https://hub.example/cb")
    assert tokens.access_token in tb.access and tokens.refresh_token in tb.refresh_tokens
    assert tokens.expires_at == T0 + timedelta(days=1) and tokens.refresh_expires_at == T0 + timedelta(
        days=30
    )
    with pytest.raises(AuthError):
        conn.exchange_code("code-1", "https://hub.example/cb")  # a code is used once


# --- 4. throttling, 5xx, malformed ---------------------------------------------------------------


def test_rate_limit_5xx_and_malformed_page_during_paging_are_survived(tb):
    day = Day(tb, seed=7)
    day.fill(300, T0, timedelta(hours=6))
    day.advance(T0 + timedelta(hours=6))

    def trouble(served: int) -> None:
        if served == 3:
            tb.throttle_next(1)
        if served == 6:
            tb.fail_next(1, status=502)
        if served == 9:
            tb.malformed_next(1)

    tb.page_hooks.append(trouble)
    report = sync(tb, T0 + timedelta(hours=6, minutes=5))
    assert report.received == len(tb.trades) == Order.objects.count() == 300
    answers = [r for r in tb.requests if r.path == "/router/rest"]
    assert len(answers) > 300 // PAGE_SIZE + 3  # the window was read again after each failure


# --- 5. outage -----------------------------------------------------------------------------------


def test_ten_minute_outage_is_back_filled_with_nothing_missing_or_doubled(tb):
    day = Day(tb, seed=9)
    day.fill(150, T0, timedelta(hours=10))
    day.advance(T0 + timedelta(hours=10))
    sync(tb, T0 + timedelta(hours=10))
    cursor = SyncState.objects.get().cursor
    tb.outage()
    day.fill(60, T0 + timedelta(hours=10), timedelta(minutes=10))  # orders keep coming during the outage
    day.advance(T0 + timedelta(hours=10, minutes=10))
    with pytest.raises(TransientError):
        sync(tb, T0 + timedelta(hours=10, minutes=5))
    assert SyncState.objects.get().cursor == cursor
    assert SyncState.objects.get().last_error.startswith("TransientError")
    tb.end_outage()
    sync(tb, T0 + timedelta(hours=10, minutes=12))
    state = hub_state()
    assert len(state) == len(tb.trades) == 210 and Order.objects.count() == 210
    visible = {t for t, m in tb.modified.items() if m <= T0 + timedelta(hours=10, minutes=11)}
    assert visible == set(tb.trades)
    for tid, want in day.expected.items():
        assert state[tid][1:] == (want["paid"], want["lines"]), tid


# --- 6. write-back and decrypt ------------------------------------------------------------------


def test_confirm_shipment_push_stock_and_decrypt_receiver(tb):
    day = Day(tb, seed=13)
    tid = day.order(T0 + timedelta(hours=1))
    day.advance(T0 + timedelta(hours=2))
    tb.add_item("TB-TEA-250G", num_iid=660001, sku_id=4_500_001)
    tb.add_item(ITEM_ONLY, num_iid=660002)
    tb.now = T0 + timedelta(hours=2)
    conn = connector_for(Shop.objects.get(code="tb"))

    conn.confirm_shipment(tid, "ZTO", "73100012345678")
    assert tb.shipments == [{"tid": tid, "out_sid": "73100012345678", "company_code": "ZTO"}]
    assert tb.trades[tid]["status"] == "WAIT_BUYER_CONFIRM_GOODS"

    conn.push_stock("TB-TEA-250G", 37)
    conn.push_stock(ITEM_ONLY, 5)
    assert tb.stock_updates == [
        {"num_iid": "660001", "sku_id": "4500001", "quantity": "37", "type": "1"},
        {"num_iid": "660002", "sku_id": None, "quantity": "5", "type": "1"},
    ]
    with pytest.raises(ConnectorError):
        conn.push_stock("NO-SUCH-CODE", 1)

    plain = conn.decrypt_receiver(tid)
    assert (plain.name, plain.phone, plain.address) == ("王小明", tb.plain[tid]["mobile"], "科技园路1号3栋")
    assert tb.decrypts == [{"tid": tid, "oaid": tb.trades[tid]["oaid"], "scene": "1004"}]


def test_fetch_one_maps_the_full_trade(tb):
    day = Day(tb)
    tid = day.order(T0 + timedelta(hours=1), "refund_requested")
    day.advance(T0 + timedelta(hours=23))
    order = connector_for(Shop.objects.get(code="tb")).fetch_one(tid)
    assert (order.channel_order_id, order.status) == (tid, "refund_requested")

    while len(tb.trades[tid]["orders"]["order"]) < 2:  # a trade with several sub-orders
        tid = day.order(T0 + timedelta(hours=2))
        day.advance(T0 + timedelta(hours=23))
    subs = tb.trades[tid]["orders"]["order"]
    tb.modify(
        tid,
        T0 + timedelta(hours=23),
        orders={
            "order": [
                subs[0] | {"refund_status": "SUCCESS"},
                *(x | {"refund_status": "NO_REFUND"} for x in subs[1:]),
            ]
        },
    )
    partial = connector_for(Shop.objects.get(code="tb")).fetch_one(tid)
    assert partial.status == "paid"  # one line refunded: the rest still ships
    assert [ln.sku for ln in partial.lines] == [s.get("outer_sku_id") or s["outer_iid"] for s in subs[1:]]
    assert "oaid" in TRADE_FIELDS
