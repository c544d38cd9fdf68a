"""Pinduoduo connector against its double over real HTTP (src/zhongshu/doubles/pdd.py).

Time is simulated: each sync gets `now=`, and the double's clock is set to the same instant, so the
platform's 3-minute rule, token expiry and order modifications follow the test's calendar.
"""

import random
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.integration.channels.harness import (
    assert_needs_reauth,
    assert_pulling_again_changes_nothing,
    change_credential,
    connect_shop,
)
from tests.platforms.pdd import PddDouble, fmt
from tests.platforms.server import Response
from zhongshu.channels.base import AuthError, ConnectorError, RateLimited, Receiver, TransientError
from zhongshu.channels.models import Shop, ShopCredential, SyncState
from zhongshu.channels.pdd.connector import PddConnector
from zhongshu.channels.services import authorize, backfill, connector_for, sync_shop
from zhongshu.orders.models import Order, OrderLine

SH = ZoneInfo("Asia/Shanghai")
DAY = datetime(2026, 11, 27, tzinfo=SH)
SKUS = {"PDD-TEA-250G": "39.90", "PDD-CUP-01": "12.50", "DUMPLING-500G": "34.90", "PDD-RICE-5KG": "59.00"}
PLACES = [("四川省", "成都市", "武侯区"), ("广东省", "深圳市", "南山区"), ("湖北省", "武汉市", "洪山区"),
          ("浙江省", "杭州市", "西湖区"), ("云南省", "昆明市", "五华区")]  # fmt: skip


@pytest.fixture
def pdd(hub):
    with PddDouble() as double:
        double.clock = DAY
        token = double.issue_token(lifetime=timedelta(days=3))
        connect_shop("pdd1", "拼多多旗舰店", "pdd", dict.fromkeys(SKUS, Decimal("10.00")), api_base_url=double.url,
                     app_key=double.client_id, app_secret=double.client_secret, access_token=token.access_token,
                     refresh_token=token.refresh_token, expires_at=token.expires_at)  # fmt: skip
        yield double


def sync(double: PddDouble, at: datetime):
    double.clock = at
    return sync_shop("pdd1", now=at)


def order(double: PddDouble, n: int, at: datetime, **kw) -> str:
    sn = f"{at:%y%m%d}-{n:015d}"
    double.add_order(sn, at, kw.pop("items", [("PDD-TEA-250G", "39.90", 1)]), **kw)
    return sn


def hub_orders() -> dict[str, Order]:
    return {o.channel_order_id: o for o in Order.objects.filter(shop__code="pdd1")}


def hub_lines() -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list] = {}
    for sn, sku, qty in OrderLine.objects.filter(order__shop__code="pdd1").values_list(
        "order__channel_order_id", "sku__code", "quantity"
    ):
        out.setdefault(sn, []).append((sku, qty))
    return {sn: sorted(v) for sn, v in out.items()}


def cred() -> ShopCredential:
    return ShopCredential.objects.get(shop__code="pdd1")


# --- 1. signing --------------------------------------------------------------------------------


def test_signed_request_is_accepted_and_a_wrong_secret_is_refused_with_the_platform_code(pdd):
    sn = order(pdd, 1, DAY + timedelta(hours=9))
    report = sync(pdd, DAY + timedelta(hours=10))
    assert (report.received, report.created) == (1, 1)
    form = pdd.requests[-1].form
    assert (form["type"], form["data_type"], form["version"]) == (
        "pdd.order.number.list.increment.get",
        "JSON",
        "V1",
    )
    assert len(form["sign"]) == 32 and form["sign"] == form["sign"].upper()

    change_credential("pdd1", app_secret="not-the-secret")
    with pytest.raises(ConnectorError) as exc:
        connector_for(Shop.objects.get(code="pdd1")).fetch_one(sn)
    assert exc.value.code == "20004" and not isinstance(exc.value, AuthError | RateLimited | TransientError)
    cursor = SyncState.objects.get(shop__code="pdd1").cursor
    with pytest.raises(ConnectorError):
        sync(pdd, DAY + timedelta(hours=11))
    state = SyncState.objects.get(shop__code="pdd1")
    assert state.cursor == cursor and "签名验证失败" in state.last_error
    assert cred().needs_reauth is False  # a wrong secret is not fixed by re-authorising


# --- 2. a full day -----------------------------------------------------------------------------


def build_day(double: PddDouble, n: int = 2100, seed: int = 11) -> dict[str, str]:
    """n orders over one day (evening peak), modified later in random order; the expected final status."""
    rng, end = random.Random(seed), DAY + timedelta(hours=23, minutes=59)
    expected = {}
    for k in range(n):
        peak = rng.random() < 0.55
        at = DAY + timedelta(seconds=rng.randint(20 * 3600, 22 * 3600) if peak else rng.randint(0, 86000))
        province, city, town = rng.choice(PLACES)
        codes = rng.sample(list(SKUS), rng.choice([1, 1, 1, 2, 3]))
        items = [(c, SKUS[c], rng.randint(1, 3)) for c in codes]
        group = rng.random() < 0.06
        sn = order(double, k, at, items=items, province=province, city=city, town=town,
                   discount=rng.choice(["0.00", "0.00", "2.00", "5.00"]), postage=rng.choice(["0.00", "6.00"]),
                   **({"confirm_status": 0, "group_status": 0} if group else {}))  # fmt: skip
        events = _events(rng, at, group)
        expected[sn] = "pending_payment" if group else "paid"
        for t, fields, label in sorted((e for e in events if e[0] <= end), key=lambda e: e[0]):
            double.change(sn, t, **fields)
            expected[sn] = label or expected[sn]
    return expected


def _events(rng: random.Random, at: datetime, group: bool) -> list[tuple[datetime, dict, str | None]]:
    later = lambda lo, hi: at + timedelta(minutes=rng.randint(lo, hi))  # noqa: E731
    if group:
        if rng.random() < 0.2:
            return [(later(5, 60), {"group_status": 2, "confirm_status": 2, "refund_status": 4}, "cancelled")]
        return [(later(1, 30), {"group_status": 1, "confirm_status": 1}, "paid")]
    events = []
    if rng.random() < 0.3:
        shipped = later(60, 600)
        events.append(
            (shipped, {"order_status": 2, "tracking_number": "YT" + str(rng.randint(10**9, 10**10))}, None)
        )
        if rng.random() < 0.4:
            events.append((shipped + timedelta(hours=3), {"order_status": 3}, None))
    if rng.random() < 0.1:
        asked = later(20, 360)
        events.append((asked, {"refund_status": 2, "after_sales_status": 2}, "refund_requested"))
        outcome = rng.random()
        if outcome < 0.6:
            events.append((asked + timedelta(minutes=rng.randint(10, 180)), {"refund_status": 4}, "refunded"))
        elif outcome < 0.8:
            events.append((asked + timedelta(minutes=rng.randint(10, 180)), {"refund_status": 1}, "paid"))
    return events


def test_a_full_day_arrives_exactly_once_with_status_amounts_and_skus(pdd):
    expected = build_day(pdd)
    sample = order(pdd, 999_999, DAY + timedelta(hours=13, minutes=5, seconds=7), province="广东省", city="深圳市",
                   town="南山区", detail="科技园科苑路15号", name="李小龙", phone="13912345678", discount="5.00",
                   postage="6.00", items=[("PDD-TEA-250G", "39.90", 2), ("PDD-CUP-01", "12.50", 1)])  # fmt: skip
    expected[sample] = "paid"
    for hour in range(2, 25, 2):
        sync(pdd, DAY + timedelta(hours=hour))
    final = sync(pdd, DAY + timedelta(hours=24, minutes=5))

    shown = pdd.visible_orders()
    got = hub_orders()
    assert len(shown) == len(expected) == 2101
    assert sorted(got) == sorted(shown)  # every order once, nothing extra
    assert {sn: o.channel_status for sn, o in got.items()} == expected
    assert {sn: o.paid_amount for sn, o in got.items()} == {
        sn: Decimal(o["pay_amount"]) for sn, o in shown.items()
    }
    lines = {sn: sorted((i["outer_id"], i["goods_count"]) for i in o["item_list"]) for sn, o in shown.items()}
    assert hub_lines() == lines
    assert tally(expected) == tally({sn: o.channel_status for sn, o in got.items()})
    assert {"refunded", "refund_requested", "cancelled", "paid"} <= set(expected.values())
    assert final.cursor == DAY + timedelta(hours=24, minutes=2)
    _assert_sample(pdd, got[sample])
    _assert_paged_backwards(pdd)

    assert_pulling_again_changes_nothing(lambda: sync(pdd, DAY + timedelta(hours=24, minutes=6)))
    refill = assert_pulling_again_changes_nothing(
        lambda: backfill("pdd1", DAY - timedelta(minutes=5), DAY + timedelta(hours=24))
    )
    # boundary rows come twice: one order
    assert refill.received >= 2101 and refill.unchanged == refill.received


def tally(statuses: dict[str, str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in statuses.values():
        out[s] = out.get(s, 0) + 1
    return out


def _assert_sample(double: PddDouble, o: Order) -> None:
    raw = double.visible(o.channel_order_id)
    assert (o.channel_status, o.paid_amount, o.freight, o.discount) == (
        "paid", Decimal("93.30"), Decimal("6.00"), Decimal("5.00"))  # fmt: skip
    assert o.paid_at == DAY + timedelta(hours=13, minutes=5, seconds=7) == o.channel_updated_at
    assert o.placed_at == DAY + timedelta(hours=13, minutes=4, seconds=27)
    assert (o.receiver_province, o.receiver_city, o.receiver_district) == ("广东省", "深圳市", "南山区")
    assert o.receiver_name == raw["receiver_name"] and o.receiver_name.startswith("~")  # ciphertext kept
    assert o.receiver_address == raw["receiver_address"] and o.receiver_address.startswith("^")
    assert o.receiver_phone == "139****5678"  # the phone ciphertext is longer than the column: mask
    assert o.status == "allocated", (o.status, list(o.holds.values_list("code", "reason")))
    assert o.warehouse.code == "GZ"
    lines = sorted(o.lines.values_list("sku__code", "quantity", "unit_price", "paid_amount"))
    assert lines == [("PDD-CUP-01", 1, Decimal("12.50"), Decimal("12.50")),
                     ("PDD-TEA-250G", 2, Decimal("39.90"), Decimal("79.80"))]  # fmt: skip


def _assert_paged_backwards(double: PddDouble) -> None:
    windows: dict[tuple[int, int], list[int]] = {}
    for start, end, page in double.increment_calls:
        windows.setdefault((start, end), []).append(page)
        assert end - start <= 1800
    multi = [pages for pages in windows.values() if len(pages) > 1]
    assert max(len(p) for p in multi) >= 5  # several pages in the evening peak
    for pages in multi:  # a probe of page 1, then the last page back to the first
        assert pages == [1, *range(len(pages) - 1, 0, -1)]


# --- 3. tokens ---------------------------------------------------------------------------------


def test_token_close_to_expiry_is_refreshed_before_pulling(pdd):
    short = pdd.issue_token(lifetime=timedelta(minutes=10))
    change_credential(
        "pdd1",
        access_token=short.access_token,
        refresh_token=short.refresh_token,
        expires_at=short.expires_at,
    )
    order(pdd, 1, DAY - timedelta(minutes=30))
    report = sync(pdd, DAY)
    assert report.created == 1
    c = cred()
    assert c.access_token != short.access_token and c.expires_at == DAY + timedelta(days=1)
    types = [r.form["type"] for r in pdd.requests]
    assert types[0] == "pdd.pop.auth.token.refresh"
    assert {r.form["access_token"] for r in pdd.requests[1:]} == {c.access_token}
    assert (c.needs_reauth, c.platform_shop_id) == (False, pdd.owner_id)


def test_invalid_refresh_token_marks_the_shop_for_reauthorisation(pdd):
    change_credential("pdd1", refresh_token="revoked-refresh-token", expires_at=DAY + timedelta(minutes=5))
    assert_needs_reauth("pdd1", "10019", lambda: sync(pdd, DAY))
    assert not pdd.increment_calls


def test_expired_access_token_stops_the_sync_with_auth_error(pdd):
    change_credential("pdd1", expires_at=None)  # the hub does not know it expired: the platform says so
    pdd.tokens[cred().access_token].expires_at = DAY - timedelta(seconds=1)
    assert_needs_reauth("pdd1", "10019", lambda: sync(pdd, DAY))
    assert SyncState.objects.get(shop__code="pdd1").cursor is None


def test_authorisation_code_is_exchanged_for_tokens(pdd):
    conn = connector_for(Shop.objects.get(code="pdd1"))
    url = conn.authorize_url("https://hub.example.com/oauth/pdd", "st-1")
    assert url.startswith(
        "https://fuwu.pinduoduo.com/service-market/auth?response_type=code&client_id=pdd-client"
    )
    assert "state=st-1" in url and "redirect_uri=https%3A%2F%2Fhub.example.com%2Foauth%2Fpdd" in url
    authorize("pdd1", pdd.grant_code(), "https://hub.example.com/oauth/pdd")
    c = cred()
    assert pdd.tokens[c.access_token].refresh_token == c.refresh_token
    assert (c.platform_shop_id, c.expires_at) == (pdd.owner_id, DAY + timedelta(days=1))


# --- 4. throttling, 5xx, malformed pages, timeouts ----------------------------------------------


def test_rate_limit_5xx_and_malformed_page_during_paging_are_survived(pdd):
    start = DAY + timedelta(hours=9)
    sync(pdd, start - timedelta(minutes=10))  # cursor at 08:47
    sns = {order(pdd, k, start + timedelta(seconds=6 * k)) for k in range(260)}  # 09:00-09:26
    # windows 08:45-09:15 (151 orders) and 09:15-09:32 (109): each a probe, page 2, page 1
    pdd.at_increment_call(2, lambda: pdd.rate_limited(None))
    pdd.at_increment_call(7, lambda: Response(502, b"<html>502 Bad Gateway</html>"))
    pdd.at_increment_call(10, lambda: Response.json({"order_sn_increment_get_response": {"total_count": 4}}))
    calls = len(pdd.increment_calls)
    report = sync(pdd, start + timedelta(minutes=35))
    assert set(hub_orders()) == sns and report.created == 260
    pages = [page for _, _, page in pdd.increment_calls[calls:]]
    assert pages == [1, 2, 1, 2, 1, 1, 2, 1, 2, 1, 1, 2, 1]  # each failed window started again


def test_timeout_is_a_transient_error(pdd):
    sn = order(pdd, 1, DAY - timedelta(hours=1))
    shop = Shop.objects.get(code="pdd1")
    conn = PddConnector(shop.code, connector_for(shop).credentials, timeout=0.3)
    pdd.delay_next(1, 1.0)
    with pytest.raises(TransientError):
        conn.fetch_one(sn)
    assert conn.fetch_one(sn).channel_order_id == sn


def test_orders_changing_while_paging_are_not_missed(pdd):
    start = DAY + timedelta(hours=20)
    sync(pdd, start - timedelta(minutes=5))  # cursor at 19:52
    sns = [order(pdd, k, start + timedelta(seconds=5 * k)) for k in range(340)]
    moved = sns[5:200:7]  # pages 1-2 of the window 19:50-20:20, changed after page 3 was read
    now = start + timedelta(minutes=33)
    pdd.at_increment_call(3, lambda: [pdd.change(sn, now, refund_status=2) for sn in moved] and None)
    sync(pdd, now)
    assert set(sns) - set(moved) <= set(hub_orders())  # the rows that shifted were read all the same
    sync(pdd, now + timedelta(minutes=5))
    got = hub_orders()
    assert set(got) == set(sns)
    assert {sn for sn, o in got.items() if o.channel_status == "refund_requested"} == set(moved)


def test_an_order_that_cannot_be_mapped_stops_the_sync_without_moving_the_cursor(pdd):
    sync(pdd, DAY)
    cursor = SyncState.objects.get(shop__code="pdd1").cursor
    bad = f"{DAY:%y%m%d}-{42:015d}"
    pdd.add_order(bad, DAY + timedelta(minutes=1), [], name="赵六")  # no lines: OrderIn refuses it
    with pytest.raises(ConnectorError) as exc:
        sync(pdd, DAY + timedelta(minutes=10))
    assert exc.value.code == "mapping" and bad in str(exc.value) and "赵六" not in str(exc.value)
    assert SyncState.objects.get(shop__code="pdd1").cursor == cursor


# --- 5. outage ---------------------------------------------------------------------------------


def test_ten_minute_outage_is_back_filled_with_nothing_missing_or_doubled(pdd):
    t0 = DAY + timedelta(hours=10)
    first = [order(pdd, k, t0 - timedelta(minutes=60) + timedelta(seconds=20 * k)) for k in range(150)]
    sync(pdd, t0)
    cursor = SyncState.objects.get(shop__code="pdd1").cursor
    assert cursor == t0 - timedelta(minutes=3) and len(hub_orders()) == 150

    pdd.outage()
    arriving = [
        order(pdd, 1000 + k, t0 + timedelta(seconds=4 * k)) for k in range(150)
    ]  # 10 minutes of orders
    for sn in first[:20]:
        pdd.change(sn, t0 + timedelta(minutes=4), refund_status=2)
    with pytest.raises(TransientError):
        sync(pdd, t0 + timedelta(minutes=5))
    state = SyncState.objects.get(shop__code="pdd1")
    assert state.cursor == cursor and state.last_error.startswith("TransientError")

    pdd.end_outage()
    sync(pdd, t0 + timedelta(minutes=10))
    sync(pdd, t0 + timedelta(minutes=15))
    got = hub_orders()
    assert sorted(got) == sorted(first + arriving) == sorted(pdd.visible_orders())
    assert Order.objects.filter(shop__code="pdd1").count() == 300
    assert {sn for sn, o in got.items() if o.channel_status == "refund_requested"} == set(first[:20])


# --- 6. write-back and decryption --------------------------------------------------------------


def test_shipment_stock_and_receiver_decryption_reach_the_platform(pdd):
    sn = order(pdd, 7, DAY - timedelta(hours=2), name="张三丰", phone="13700001111", province="湖北省",
               city="武汉市", town="洪山区", detail="珞喻路1037号")  # fmt: skip
    sync(pdd, DAY)
    conn = connector_for(Shop.objects.get(code="pdd1"))

    conn.confirm_shipment(sn, "SF", "SF1400023456789")
    assert pdd.shipments == [{"order_sn": sn, "logistics_id": 44, "tracking_number": "SF1400023456789"}]
    assert pdd.visible(sn)["order_status"] == 2
    with pytest.raises(ConnectorError):
        conn.confirm_shipment(sn, "NO-SUCH-CARRIER", "X1")

    conn.push_stock("PDD-TEA-250G", 37)
    goods_id, sku_id = pdd.goods["PDD-TEA-250G"]
    assert pdd.stock_updates == [
        {"goods_id": goods_id, "sku_id": sku_id, "outer_id": "PDD-TEA-250G", "quantity": 37, "update_type": 1}
    ]
    with pytest.raises(ConnectorError) as exc:
        conn.push_stock("UNKNOWN-SKU", 1)
    assert exc.value.code == "sku_not_found" and len(pdd.stock_updates) == 1

    assert conn.decrypt_receiver(sn) == Receiver("张三丰", "13700001111", "湖北省武汉市洪山区珞喻路1037号")
    [call] = pdd.decrypt_calls
    assert {i["data_tag"] for i in call} == {sn} and len(call) == 3
    assert hub_orders()[sn].receiver_name != "张三丰"  # the hub keeps only the ciphertext


def test_modified_time_is_read_as_beijing_time(pdd):
    at = DAY + timedelta(hours=23, minutes=59, seconds=59)
    sn = order(pdd, 3, at)
    sync(pdd, at + timedelta(minutes=4))
    assert pdd.visible(sn)["updated_at"] == "2026-11-27 23:59:59" == fmt(at)
    assert hub_orders()[sn].channel_updated_at == datetime(2026, 11, 27, 15, 59, 59, tzinfo=ZoneInfo("UTC"))
