"""Ship confirmation per platform (SQLite and PostgreSQL): a platform order's package gets its waybill
from the platform's service (double), is packed and scanned out; the confirmation the worker sends
reaches the platform's double with that platform's form of the carrier code, read from the carrier
code table (PDD logistics_id number, Douyin company code, Kuaishou expressCode int, JD logiCoprId …).
Also the wave endpoint: every package of a wave gets its waybill in one request."""

from datetime import datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from huey.contrib.djhuey import HUEY

from tests.factories import example_order
from tests.integration.shipping.platforms import SENDER, platform
from tests.integration.test_fulfilment_flow import floor  # noqa: F401  (fixture)
from tests.platforms.meituan import MeituanDouble
from tests.platforms.server import SHANGHAI
from tests.platforms.sf import SfDouble
from zhongshu.channels.models import Shop, ShopCredential
from zhongshu.core import outbox
from zhongshu.core.auth import create_token
from zhongshu.fulfilment import services as floor_services
from zhongshu.fulfilment.models import Package
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake
from zhongshu.shipping import services
from zhongshu.shipping.models import CarrierCode, ShipConfirmation, WaybillAccount


@pytest.fixture(autouse=True)
def clean_queue():
    HUEY.storage.flush_all()
    yield
    HUEY.storage.flush_all()


def pack_and_ship(pid: int) -> None:
    services.issue_waybill(pid, "test")
    floor_services.create_wave("CD", actor="test")
    result = floor_services.check_package(pid, ["DUMPLING-500G"] * 2, 1010, "test")
    assert Package.objects.get(pk=pid).status == "packed", result
    services.ship_package(pid, "test")
    outbox.relay()  # the test's transaction never commits: deliver the events by hand


SENT = {  # what each double records of a ship confirmation: (order id field, carrier field, number field)
    "taobao": ("tid", "company_code", "out_sid"),
    "pdd": ("order_sn", "logistics_id", "tracking_number"),
    "douyin": ("order_id", "company_code", "logistics_code"),
    "kuaishou": ("orderId", "expressCode", "expressNo"),
    "jd": ("orderId", "logiCoprId", "logiNo"),
}


@pytest.mark.parametrize("name", list(SENT))
def test_confirmation_reaches_the_platform_with_its_carrier_code(floor, settings, name):  # noqa: F811
    with platform(name, settings) as p:
        cid, pid = p.order()
        pack_and_ship(pid)
        waybill = services.active_waybill(pid)
        [row] = ShipConfirmation.objects.all()
        assert row.status == "confirmed", row.last_error
        assert row.carrier_code == CarrierCode.objects.get(platform=name, carrier=p.carrier).code
        order_key, carrier_key, number_key = SENT[name]
        [sent] = p.double.shipments
        assert str(sent[order_key]) == cid and sent[number_key] == waybill.waybill_no
        assert sent[carrier_key] == p.confirmed_code  # the platform's own form (number / code)
        assert Order.objects.get(channel_order_id=cid).status == "shipped"


def test_meituan_order_with_an_sf_waybill_is_confirmed_with_meituan_provider_code(floor, settings):  # noqa: F811
    now = datetime.now(SHANGHAI)
    with MeituanDouble() as mt, SfDouble() as sf:
        settings.SF_EXPRESS_URL = sf.url + "/std/service"
        shop = Shop.objects.create(code="mt1", name="美团闪购店", platform="meituan")
        cred = ShopCredential(shop=shop, api_base_url=mt.url, app_key=mt.app_id, platform_shop_id=mt.poi,
                              expires_at=now + timedelta(days=1))  # fmt: skip
        cred.app_secret, cred.access_token = mt.app_secret, mt.issue_tokens()["access_token"]
        cred.save()
        WaybillAccount.objects.create(shop=shop, carrier="SF", provider="sf", partner_id=sf.partner_id,
                                      check_word=sf.check_word, default=True, **SENDER)  # fmt: skip
        order_id = mt.add_order(1, now, [("DUMPLING-500G", 2, "34.90")])["order_id"]
        [result] = intake(
            [OrderIn.model_validate(example_order(shop="mt1", channel_order_id=str(order_id)))], "test"
        )
        outbox.relay()
        pid = Package.objects.get(package_orders__order=result.order).pk
        pack_and_ship(pid)
        waybill = services.active_waybill(pid)
        assert waybill.provider == "sf" and waybill.waybill_no in sf.waybills.numbers.values()
        assert mt.shipments == [{"order_id": str(order_id), "logistics_provider_code": "10001",
                                 "logistics_code": waybill.waybill_no}]  # fmt: skip


def test_wave_endpoint_gets_every_package_its_waybill(floor, settings, client):  # noqa: F811
    user = get_user_model().objects.create_user("shipper", password="x")
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="shipping", codename="add_waybill")
    )
    auth = {"HTTP_AUTHORIZATION": f"Bearer {create_token('shipper')}"}
    with platform("pdd", settings) as p:
        pids = [p.order()[1] for _ in range(3)]
        bad = p.order(province="西藏自治区")[1]
        p.book.unreachable.add("西藏自治区")
        wave = floor_services.create_wave("CD", actor="test")
        assert set(Package.objects.filter(wave=wave).values_list("pk", flat=True)) == {*pids, bad}
        r = client.post(f"/api/v1/waves/{wave.pk}/waybills", content_type="application/json", **auth)
        assert r.status_code == 200, r.content
        body = r.json()
        assert sorted(int(w["package"]) for w in body["issued"]) == pids
        [refused] = body["refused"]
        assert (refused["package"], refused["code"]) == (str(bad), "address_unreachable")
        # PDD refuses the whole call of 4; each is then asked alone (the same object ids: no number lost)
        assert p.book.calls == 1 + 4 and p.book.issued == 3
        again = client.post(
            f"/api/v1/waves/{wave.pk}/waybills", content_type="application/json", **auth
        ).json()
        assert len(again["already"]) == 3 and again["issued"] == []
        assert (
            client.post("/api/v1/waves/999999/waybills", content_type="application/json", **auth).status_code
            == 404
        )
        viewer = get_user_model().objects.create_user("viewer", password="x")
        assert viewer and client.post(f"/api/v1/waves/{wave.pk}/waybills", content_type="application/json",
                                      HTTP_AUTHORIZATION=f"Bearer {create_token('viewer')}").status_code == 403  # fmt: skip
