"""JD (京东 JOS) connector against the local JOS double over real HTTP, through sync_shop.

The double's clock (`jd.now`) is stepped together with the `now` given to sync_shop; platform
events (an order paid, a later change) are applied when the simulated time reaches them.
"""

import hashlib
import logging
import random
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.integration.channels.harness import assert_needs_reauth, change_credential, connect_shop
from tests.platforms.jd import Consignee, JdDouble
from zhongshu.channels.base import AuthError, ConnectorError, Receiver, TransientError
from zhongshu.channels.jd.client import JosClient
from zhongshu.channels.jd.connector import JdConnector
from zhongshu.channels.models import Shop, ShopCredential, SyncState
from zhongshu.channels.services import authorize, connector_for, sync_shop
from zhongshu.orders.models import Order, OrderLine

SH = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 3, 10, tzinfo=SH)
SKUS = [("JD-TEA-250G", "39.90"), ("JD-CUP-01", "19.90"), ("JD-PEN-3", "8.50"), ("JD-RICE-5KG", "59.00")]
EXPECTED = {"WAIT_SELLER_STOCK_OUT": "paid", "WAIT_GOODS_RECEIVE_CONFIRM": "paid", "FINISHED_L": "paid",
            "LOCKED": "refund_requested", "TRADE_CANCELED": "cancelled"}  # fmt: skip


class Timeline:
    """Platform events at simulated times; `advance(t)` applies those due and sets the double's clock."""

    def __init__(self, jd: JdDouble):
        self.jd, self.events = jd, []

    def at(self, when: datetime, action) -> None:
        self.events.append((when, len(self.events), action))

    def advance(self, to: datetime) -> None:
        self.events.sort(key=lambda e: e[:2])
        while self.events and self.events[0][0] <= to:
            self.events.pop(0)[2]()
        self.jd.now = to


@pytest.fixture
def jd():
    with JdDouble(now=DAY) as double:
        yield double


@pytest.fixture
def shop(hub, jd):
    """Shop jd1 authorised on the double (token valid 30 days), SKUs in stock in GZ and CD."""
    token = jd.issue_token(expires_at=DAY + timedelta(days=30))
    skus = {code: Decimal(price) / 2 for code, price in SKUS}
    shop = connect_shop("jd1", "京东旗舰店", "jd", skus, physical=1_000_000, api_base_url=jd.url, app_key=jd.app_key,
                        app_secret=jd.app_secret, access_token=token.access, refresh_token=token.refresh,
                        expires_at=token.expires_at)  # fmt: skip
    SyncState.objects.create(shop=shop, cursor=DAY)  # the shop was connected at midnight
    return shop


def sync(jd: JdDouble, at: datetime):
    jd.now = at
    return sync_shop("jd1", now=at)


def cursor() -> datetime | None:
    return SyncState.objects.get(shop__code="jd1").cursor


def random_order(jd: JdDouble, rng: random.Random, order_id: str, created: datetime):
    items = [(code, price, rng.randint(1, 3)) for code, price in rng.sample(SKUS, rng.choice([1, 1, 2, 3]))]
    return jd.add_order(
        order_id, created, items, freight=Decimal(rng.choice(["0.00", "6.00"])),
        seller_discount=Decimal(rng.choice(["0.00", "0.00", "5.00"])),
        platform_discount=Decimal(rng.choice(["0.00", "0.00", "2.00"])),
        consignee=Consignee("李四", f"139{rng.randrange(10**8):08d}", rng.choice(["四川", "广东", "湖北", "北京"]),
                            "某市", "某区", "某路88号"),
    )  # fmt: skip


def schedule_orders(tl: Timeline, rng: random.Random, n: int, start: datetime, span: timedelta, prefix: str):
    """n orders paid at random times in [start, start + span); each event adds it on the platform."""
    paid_at = {}
    for k in range(n):
        created = start + timedelta(seconds=rng.randrange(int(span.total_seconds()) - 180))
        paid_at[f"{prefix}{k:08d}"] = paid = created + timedelta(minutes=2)
        tl.at(paid, lambda k=k, c=created: random_order(tl.jd, rng, f"{prefix}{k:08d}", c))
    return paid_at


def assert_hub_matches(jd: JdDouble) -> None:
    """Every platform order once in the hub, with its status, paid amount, SKU codes and quantities."""
    hub = {o.channel_order_id: o for o in Order.objects.filter(shop__code="jd1")}
    assert sorted(hub) == sorted(jd.orders)
    lines = Counter(OrderLine.objects.filter(order__shop__code="jd1").values_list("order__channel_order_id",
                                                                                 "sku__code", "quantity"))  # fmt: skip
    want = Counter((o.order_id, i.outer_sku_id, i.quantity) for o in jd.orders.values() for i in o.items)
    assert lines == want
    for oid, o in jd.orders.items():
        want_status = "refunded" if "退款" in o.state_remark else EXPECTED[o.state]
        assert (hub[oid].channel_status, hub[oid].paid_amount) == (want_status, o.payment), oid
        assert hub[oid].channel_updated_at == o.modified, oid


def hub_state():
    return (Order.objects.count(), OrderLine.objects.count(),
            list(Order.objects.order_by("pk").values_list("channel_updated_at", "status", "paid_amount")))  # fmt: skip


# --- 1. signature --------------------------------------------------------------------------------


def test_signed_requests_are_accepted_and_match_the_documented_md5(shop, jd):
    jd.add_order("300000000001", DAY + timedelta(minutes=5), [("JD-TEA-250G", "39.90", 2)])
    report = sync(jd, DAY + timedelta(minutes=30))
    assert (report.created, jd.gateway_errors) == (1, [])
    for req in jd.requests:
        form = req.form
        text = jd.app_secret + "".join(k + v for k, v in sorted(form.items()) if k != "sign") + jd.app_secret
        assert form["sign"] == hashlib.md5(text.encode()).hexdigest().upper()
        assert (form["v"], form["app_key"], form["method"]) == (
            "2.0",
            jd.app_key,
            "jingdong.pop.order.enSearch",
        )
        datetime.strptime(form["timestamp"], "%Y-%m-%d %H:%M:%S")


def test_wrong_secret_is_refused_with_the_platform_code_and_nothing_moves(shop, jd):
    jd.add_order("300000000001", DAY + timedelta(minutes=5), [("JD-TEA-250G", "39.90", 2)])
    change_credential("jd1", app_secret="not-the-secret")
    with pytest.raises(ConnectorError) as exc:
        sync(jd, DAY + timedelta(minutes=30))
    assert (exc.value.code, jd.gateway_errors) == ("12", ["12"])
    assert (Order.objects.count(), cursor()) == (0, DAY)
    assert "Invalid Signature" in SyncState.objects.get(shop=shop).last_error


def test_a_call_without_a_token_leaves_access_token_out_instead_of_signing_it_empty(shop, jd):
    """Three independent JD signers count a key sent empty (tests/unit/channels/test_sdk_vectors.py)."""
    change_credential("jd1", access_token="")
    with pytest.raises(AuthError) as refused:
        connector_for(Shop.objects.get(code="jd1")).fetch_one("300000000001")
    assert (refused.value.code, jd.gateway_errors) == ("19", ["19"])  # the token is missing, the sign is fine
    assert "access_token" not in jd.requests[-1].form


# --- 2. a full day -----------------------------------------------------------------------------


def test_a_full_day_arrives_exactly_once_while_orders_keep_changing(shop, jd):
    rng, tl = random.Random(11), Timeline(jd)
    paid_at = schedule_orders(tl, rng, 2050, DAY, timedelta(days=1), "31")
    changes = [("LOCKED", ""), ("TRADE_CANCELED", "退款成功，订单取消"), ("TRADE_CANCELED", "订单取消"),
               ("WAIT_GOODS_RECEIVE_CONFIRM", ""), ("FINISHED_L", "")]  # fmt: skip
    for oid in rng.sample(sorted(paid_at), 600):  # modified a second time later that day, in random order
        state, remark = rng.choice(changes)
        when = min(
            paid_at[oid] + timedelta(seconds=rng.randrange(60, 12 * 3600)), DAY + timedelta(seconds=86399)
        )
        tl.at(when, lambda o=oid, s=state, r=remark, w=when: jd.modify(o, w, s, r))
    tl.advance(DAY + timedelta(hours=12))
    first = sync(jd, DAY + timedelta(hours=12))
    jd.churn_per_page = 2  # from now on every page served modifies two orders of the window
    tl.advance(DAY + timedelta(days=1, minutes=5))
    second = sync(jd, DAY + timedelta(days=1, minutes=5))
    jd.churn_per_page = 0
    third = sync(jd, DAY + timedelta(days=1, minutes=10))  # picks up what changed while paging
    assert first.created > 500 and second.received > 1000 and third.updated > 0
    assert len(jd.searches()) > 2050 // 50
    assert all(s["dateType"] == 0 and s["sortType"] == 0 and int(s["page_size"]) == 50 for s in jd.searches())
    assert sum(o.modifications for o in jd.orders.values()) >= 600
    assert_hub_matches(jd)
    before = hub_state()
    again = sync(jd, DAY + timedelta(days=1, minutes=15))
    assert (again.created, again.updated, hub_state()) == (0, 0, before)
    _check_sample(jd)


def _check_sample(jd: JdDouble) -> None:
    """Field by field for a few orders."""
    for oid in sorted(jd.orders)[::400]:
        src, o = jd.orders[oid], Order.objects.get(channel_order_id=oid)
        assert (o.placed_at, o.paid_at, o.channel_updated_at) == (src.created, src.paid, src.modified)
        assert (o.freight, o.paid_amount) == (src.freight, src.payment)
        assert o.discount == src.seller_discount + src.platform_discount
        assert o.lines_amount == src.total
        assert o.receiver_name == jd.encrypt(src.consignee.name)
        assert o.receiver_phone == jd.encrypt(src.consignee.mobile)
        assert o.receiver_address == jd.encrypt(src.consignee.address)
        assert (o.receiver_city, o.receiver_district) == (src.consignee.city, src.consignee.county)
        assert o.receiver_province.startswith(src.consignee.province)
        for line in o.lines.all():
            item = next(i for i in src.items if i.outer_sku_id == line.sku.code)
            assert (line.quantity, line.unit_price, line.paid_amount) == (item.quantity, item.price,
                                                                          item.price * item.quantity)  # fmt: skip


# --- 3. OAuth and tokens -----------------------------------------------------------------------


def test_token_close_to_expiry_is_refreshed_before_pulling(shop, jd, caplog):
    caplog.set_level(logging.INFO, logger="httpx")
    token = jd.issue_token(expires_at=DAY + timedelta(minutes=20))
    change_credential(
        "jd1", access_token=token.access, refresh_token=token.refresh, expires_at=token.expires_at
    )
    old_refresh = token.refresh
    jd.add_order("300000000001", DAY + timedelta(minutes=1), [("JD-CUP-01", "19.90", 1)])
    report = sync(jd, DAY + timedelta(minutes=10))
    assert [r.path for r in jd.requests][:2] == ["/oauth2/refresh_token", "/routerjson"]
    assert jd.requests[0].query["grant_type"] == "refresh_token"
    cred = ShopCredential.objects.get(shop=shop)
    new = jd.tokens[cred.access_token]
    assert (cred.refresh_token, cred.expires_at) == (new.refresh, DAY + timedelta(minutes=10, days=1))
    assert jd.requests[1].form["access_token"] == new.access and cred.needs_reauth is False
    assert report.created == 1
    assert "/oauth2/refresh_token" in caplog.text  # the request is logged, its secrets are not
    assert jd.app_secret not in caplog.text and old_refresh not in caplog.text


def test_invalid_refresh_token_marks_reauth_and_raises(shop, jd):
    change_credential("jd1", refresh_token="rt-revoked", expires_at=DAY + timedelta(minutes=20))
    assert_needs_reauth("jd1", "402", lambda: sync(jd, DAY + timedelta(minutes=10)))
    assert jd.searches() == [] and cursor() == DAY


def test_revoked_access_token_is_an_auth_error_with_code_19(shop, jd):
    jd.tokens.clear()
    assert_needs_reauth("jd1", "19", lambda: sync(jd, DAY + timedelta(minutes=10)))


def test_authorisation_code_flow(shop, jd):
    conn = connector_for(shop)
    url = conn.authorize_url("https://hub.example/cb", "s1")
    assert url.startswith(f"{jd.url}/oauth2/to_login?app_key={jd.app_key}&response_type=code")
    assert "scope=snsapi_base" in url and "state=s1" in url
    authorize("jd1", jd.authorization_code(), "https://hub.example/cb")
    cred = ShopCredential.objects.get(shop=shop)
    assert cred.access_token in jd.tokens and cred.platform_shop_id == "9000001"
    with pytest.raises(AuthError):
        authorize("jd1", "code-used-twice", "https://hub.example/cb")


# --- 4. throttling, 5xx, timeouts, malformed pages ------------------------------------------------


def test_rate_limit_5xx_timeout_and_malformed_page_during_paging_are_survived(shop, jd, monkeypatch):
    monkeypatch.setattr(JosClient, "timeout", 0.5)
    rng, tl = random.Random(3), Timeline(jd)
    schedule_orders(tl, rng, 300, DAY, timedelta(hours=3), "32")
    tl.advance(DAY + timedelta(hours=3))
    jd.on_search_call = {
        2: lambda: jd.throttle_next(1),
        4: lambda: jd.fail_next(1, status=502, body=b"<html>Bad Gateway</html>"),
        6: lambda: jd.delay_next(1, 1.0),
        8: lambda: jd.malformed_next(1),
    }
    report = sync(jd, DAY + timedelta(hours=3))
    assert jd.on_search_call == {}  # every failure was injected
    assert report.created == 300
    assert_hub_matches(jd)


# --- 5. outage and back-fill -----------------------------------------------------------------------


def test_ten_minute_outage_is_back_filled_with_nothing_missing_or_doubled(shop, jd):
    rng, tl = random.Random(5), Timeline(jd)
    schedule_orders(tl, rng, 150, DAY, timedelta(hours=2), "33")
    tl.advance(DAY + timedelta(hours=2))
    sync(jd, DAY + timedelta(hours=2))
    before = cursor()
    down = DAY + timedelta(hours=2)
    jd.outage()
    schedule_orders(tl, rng, 60, down, timedelta(minutes=10), "34")  # orders keep coming meanwhile
    tl.advance(down + timedelta(minutes=5))
    with pytest.raises(TransientError):
        sync(jd, down + timedelta(minutes=5))
    assert cursor() == before
    tl.advance(down + timedelta(minutes=10))
    jd.end_outage()
    report = sync(jd, down + timedelta(minutes=12))
    assert report.created == 60
    assert_hub_matches(jd)
    assert Order.objects.filter(shop__code="jd1").count() == 210


# --- 6. write-back and receiver decryption ------------------------------------------------------


def test_shipment_stock_and_decrypt(shop, jd, caplog):
    caplog.set_level(logging.DEBUG)
    jd.add_order("300000000009", DAY + timedelta(minutes=1), [("JD-RICE-5KG", "59.00", 1)],
                 consignee=Consignee("张三", "13912345678", "四川", "成都市", "武侯区", "四川成都市武侯区人民南路4段9号"))  # fmt: skip
    sync(jd, DAY + timedelta(minutes=10))
    order = Order.objects.get(channel_order_id="300000000009")
    assert (order.receiver_phone, order.receiver_province, order.warehouse.code) == (
        jd.encrypt("13912345678"),
        "四川省",
        "CD",
    )
    conn = connector_for(shop)
    conn.confirm_shipment("300000000009", "SF", "SF1400000000001")
    assert jd.shipments == [{"orderId": "300000000009", "logiCoprId": "467", "logiNo": "SF1400000000001"}]
    assert jd.orders["300000000009"].state == "WAIT_GOODS_RECEIVE_CONFIRM"
    conn.push_stock("JD-RICE-5KG", 37)
    assert jd.stock_updates == [{"skuId": jd.skus["JD-RICE-5KG"], "stockNum": 37}]
    assert jd.stock[jd.skus["JD-RICE-5KG"]] == 37
    receiver = conn.decrypt_receiver("300000000009")
    assert receiver == Receiver("张三", "13912345678", "四川成都市武侯区人民南路4段9号")
    assert jd.decrypts[0]["orderInfos"] == [{"orderId": "300000000009", "oaid": "OAID300000000009"}]
    with pytest.raises(ConnectorError):
        conn.push_stock("NO-SUCH-SKU", 1)
    with pytest.raises(ConnectorError):
        conn.confirm_shipment("300000000009", "UNKNOWN-CARRIER", "X1")
    assert (
        not {"张三", "13912345678", "人民南路"} & set(caplog.text.split()) and "人民南路" not in caplog.text
    )


def test_fetch_one_and_window_limit(shop, jd):
    jd.add_order("300000000010", DAY + timedelta(minutes=1), [("JD-PEN-3", "8.50", 3)], state="LOCKED")
    conn = connector_for(shop)
    one = conn.fetch_one("300000000010")
    assert (one.status, one.paid_amount, [(ln.sku, ln.quantity) for ln in one.lines]) == (
        "refund_requested",
        Decimal("25.50"),
        [("JD-PEN-3", 3)],
    )
    assert JdConnector.max_window <= timedelta(days=28) and JdConnector.lag >= jd.index_delay
    with pytest.raises(ValueError):
        list(conn.pull_changed(DAY, DAY + timedelta(days=40)))
