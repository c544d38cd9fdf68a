"""Out the door through the API (SQLite and PostgreSQL): a packed package gets its waybill (the same
one when asked again), the outbound scan by waybill number ships it and its order, consumes the
stock exactly once, and the ship confirmation reaches the shop (a local double); a failed
confirmation stays visible and a retry sends it."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from huey.contrib.djhuey import HUEY

from tests.factories import example_order
from tests.integration.test_fulfilment_flow import floor  # noqa: F401  (fixture)
from tests.platforms.own import OwnShopDouble
from zhongshu.channels.models import Shop, ShopCredential
from zhongshu.core import outbox
from zhongshu.core.auth import create_token
from zhongshu.core.models import OutboxEvent
from zhongshu.fulfilment.models import Package, PackageTransition
from zhongshu.inventory.models import StockLevel
from zhongshu.orders.models import Order
from zhongshu.shipping import services
from zhongshu.shipping.models import ShipConfirmation, Waybill, WaybillAccount
from zhongshu.shipping.providers.sandbox import is_sandbox_number

SECRET = "own-callback-secret"
SENDER = dict(sender_name="成都仓", sender_phone="02888886666", sender_province="四川省",
              sender_city="成都市", sender_district="双流区", sender_address="物流大道1号")  # fmt: skip


@pytest.fixture(autouse=True)
def clean_queue():
    HUEY.storage.flush_all()
    yield
    HUEY.storage.flush_all()


@pytest.fixture
def shop_double():
    with OwnShopDouble(SECRET) as d:
        yield d


@pytest.fixture
def api(floor, client, shop_double):  # noqa: F811
    shop = Shop.objects.get(code="mp")
    cred = ShopCredential(shop=shop, app_key="mp", api_base_url=shop_double.url)
    cred.push_secret = SECRET
    cred.save()
    WaybillAccount.objects.create(shop=shop, carrier="SF", provider="sandbox", default=True, **SENDER)
    user = get_user_model().objects.create_user("shipper", password="x")
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="fulfilment",
            codename__in=["view_package", "change_package", "add_wave", "view_wave", "change_wave"],
        ),
        *Permission.objects.filter(
            content_type__app_label="orders", codename__in=["add_order", "view_order"]
        ),
        *Permission.objects.filter(
            content_type__app_label="shipping", codename__in=["add_waybill", "ship_package"]
        ),
    )
    token = create_token("shipper")

    class Api:
        def get(self, path):
            return client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")

        def post(self, path, body=None):
            r = client.post(
                path, body or {}, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
            )
            outbox.relay()
            return r

    return Api()


def stock() -> tuple[int, int]:
    row = StockLevel.objects.get(sku__code="DUMPLING-500G", warehouse__code="CD")
    return row.physical, row.reserved


def order(cid: str) -> dict:
    """An order to its own address (orders of one buyer to one address would share a package)."""
    base = example_order(channel_order_id=cid)
    return {**base, "receiver": {**base["receiver"], "address": f"人民南路{cid}号"}}


def packed_package(api, cid: str) -> str:
    assert api.post("/api/v1/orders", order(cid)).status_code == 201
    pid = api.get(f"/api/v1/orders/mp/{cid}").json()["packages"][0]["id"]
    assert api.post("/api/v1/waves", {"warehouse": "CD"}).status_code == 201
    r = api.post(f"/api/v1/packages/{pid}/check", {"scans": ["DUMPLING-500G"] * 2, "weight_g": 1010})
    assert r.json() == {"status": "packed"}, r.content
    return pid


def test_waybill_then_outbound_scan_ships_consumes_stock_once_and_confirms(api, shop_double):
    pid = packed_package(api, "S1")
    assert stock() == (50, 2)

    r = api.post(f"/api/v1/packages/{pid}/waybill")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["carrier"] == "SF" and body["provider"] == "sandbox" and is_sandbox_number(body["waybill_no"])
    again = api.post(f"/api/v1/packages/{pid}/waybill", {"carrier": "SF"})
    assert again.json()["waybill_no"] == body["waybill_no"]
    assert Waybill.objects.count() == 1
    assert api.get(f"/api/v1/packages/{pid}").json()["waybill_no"] == body["waybill_no"]
    assert api.get("/api/v1/orders/mp/S1").json()["packages"][0]["waybill_no"] == body["waybill_no"]

    r = api.post("/api/v1/ship", {"waybill_no": body["waybill_no"]})
    assert r.status_code == 200, r.content
    shipped = r.json()
    assert shipped["status"] == "shipped" and shipped["already_shipped"] is False
    assert shipped["orders"] == [{"shop": "mp", "channel_order_id": "S1", "status": "shipped"}]
    assert Order.objects.get(channel_order_id="S1").status == "shipped"
    assert Package.objects.get(pk=pid).shipped_at is not None
    assert stock() == (48, 0)  # physical and reserved both down by the package's 2 units
    assert shop_double.shipments == [
        {"shop": "mp", "channel_order_id": "S1", "carrier": "SF", "tracking_no": body["waybill_no"]}
    ]
    [confirmation] = ShipConfirmation.objects.all()
    assert (confirmation.status, confirmation.attempts) == ("confirmed", 1)

    # scanned again (a double beep at the door): nothing changes, the platform is not told twice
    r = api.post(f"/api/v1/packages/{pid}/ship")
    assert r.status_code == 200 and r.json()["already_shipped"] is True
    assert stock() == (48, 0)
    assert len(shop_double.shipments) == 1
    assert PackageTransition.objects.filter(package_id=pid, to_status="shipped").count() == 1
    assert OutboxEvent.objects.filter(topic="package.waybill_issued").count() == 1
    # a shipped package's waybill cannot be cancelled
    r = api.post(f"/api/v1/packages/{pid}/waybill")
    assert r.json()["waybill_no"] == body["waybill_no"]


def test_outbound_scan_refuses_unpacked_unknown_and_waybill_less_packages(api):
    assert api.post("/api/v1/orders", order("S2")).status_code == 201
    pid = api.get("/api/v1/orders/mp/S2").json()["packages"][0]["id"]
    r = api.post(f"/api/v1/packages/{pid}/ship")
    assert (r.status_code, r.json()["code"]) == (409, "not_packed")
    assert api.post("/api/v1/ship", {"waybill_no": "ZS990000000000"}).status_code == 404
    pid2 = packed_package(api, "S3")
    r = api.post(f"/api/v1/packages/{pid2}/ship")
    assert (r.status_code, r.json()["code"]) == (409, "no_waybill")
    assert stock() == (50, 4)
    assert Order.objects.get(channel_order_id="S3").status == "packed"


def test_shop_without_waybill_account_gets_a_clear_refusal(api):
    WaybillAccount.objects.all().delete()
    pid = packed_package(api, "S4")
    r = api.post(f"/api/v1/packages/{pid}/waybill")
    assert r.status_code == 409 and r.json()["code"] == "no_waybill_account"
    assert "面单账号" in r.json()["detail"]


def test_failed_confirmation_is_visible_and_a_retry_sends_it(api, shop_double):
    pid = packed_package(api, "S5")
    waybill_no = api.post(f"/api/v1/packages/{pid}/waybill").json()["waybill_no"]
    Shop.objects.get(code="mp").credential.__class__.objects.filter(shop__code="mp").update(
        api_base_url="http://127.0.0.1:9/"  # nothing listens there
    )
    assert api.post("/api/v1/ship", {"waybill_no": waybill_no}).status_code == 200
    [row] = ShipConfirmation.objects.all()
    assert row.status == "failed" and row.last_error and row.attempts >= 1
    assert Order.objects.get(channel_order_id="S5").status == "shipped"  # shipping is not undone
    ShopCredential.objects.filter(shop__code="mp").update(api_base_url=shop_double.url)
    services.confirm(row.pk)
    row.refresh_from_db()
    assert row.status == "confirmed" and row.last_error == ""
    assert [s["tracking_no"] for s in shop_double.shipments] == [waybill_no]


def test_permissions_a_token_without_ship_permission_is_refused(api, client):
    get_user_model().objects.create_user("viewer", password="x")
    token = create_token("viewer")
    r = client.post("/api/v1/ship", {"waybill_no": "X1"}, content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
    assert r.status_code == 403


def test_a_shop_never_connected_gets_a_visible_failed_confirmation_without_retries(api):
    pid = packed_package(api, "S6")
    waybill_no = api.post(f"/api/v1/packages/{pid}/waybill").json()["waybill_no"]
    ShopCredential.objects.filter(shop__code="mp").delete()
    assert api.post("/api/v1/ship", {"waybill_no": waybill_no}).status_code == 200
    [row] = ShipConfirmation.objects.all()
    assert row.status == "failed" and "未连接平台" in row.last_error and row.attempts == 1
    assert Order.objects.get(channel_order_id="S6").status == "shipped"
    assert HUEY.pending_count() == 0  # nothing to retry until the shop is connected
    # the dashboard and the alerts count it like a refused call
    assert OutboxEvent.objects.filter(topic="channel.shipment_failed").count() == 1


def test_the_workbench_finds_an_order_by_waybill_number_and_shows_its_waybill(api, client, admin_user):
    pid = packed_package(api, "S7")
    packed_package(api, "S8")  # another order, not to be found
    waybill_no = api.post(f"/api/v1/packages/{pid}/waybill").json()["waybill_no"]
    api.post("/api/v1/ship", {"waybill_no": waybill_no})
    client.force_login(admin_user)
    r = client.get("/admin/orders/order/", {"q": waybill_no})
    assert [o.channel_order_id for o in r.context["cl"].result_list] == ["S7"]
    order = Order.objects.get(channel_order_id="S7")
    page = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert waybill_no in page and "已回传" in page


def test_goods_reserved_in_transit_cannot_leave(api):
    pid = packed_package(api, "S9")
    waybill_no = api.post(f"/api/v1/packages/{pid}/waybill").json()["waybill_no"]
    StockLevel.objects.filter(sku__code="DUMPLING-500G", warehouse__code="CD").update(
        physical=1, in_transit=10
    )
    r = api.post("/api/v1/ship", {"waybill_no": waybill_no})
    assert (r.status_code, r.json()["code"]) == (409, "not_on_hand")
    assert Package.objects.get(pk=pid).status == "packed" and stock() == (1, 2)
