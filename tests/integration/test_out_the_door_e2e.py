# ruff: noqa: F811  (pytest fixtures imported from test_shipping)
"""The whole way out the door in one test through the API (SQLite and PostgreSQL), issue 10's done-when:
allocated order → package → wave → picked → packed → waybill (sandbox) → outbound scan → `shipped` →
the ship confirmation on the own-shop double → the customer's "shipped" SMS on the Aliyun double,
logged → a signed Kuaidi100 push at the callback → `delivered`, with the timeline on the order.
The label PDF is fetched on the way and its barcode read back (more in test_labels.py)."""

import json

import pytest

from tests.factories import example_order
from tests.integration.test_fulfilment_flow import floor  # noqa: F401  (fixture)
from tests.integration.test_labels import codes, pages, reveal
from tests.integration.test_shipping import SENDER, api, clean_queue, shop_double  # noqa: F401
from tests.platforms.aliyun_sms import AliyunSmsDouble
from tests.platforms.kuaidi100 import push_form
from zhongshu.orders.models import OrderTransition
from zhongshu.shipping.models import (
    AfterShipSettings,
    Notice,
    NoticeTemplate,
    ShipConfirmation,
    TrackingSubscription,
)
from zhongshu.shipping.providers.sandbox import is_sandbox_number

SALT = "e2e-salt"


@pytest.fixture
def sms():
    with AliyunSmsDouble("LTAI-e2e", "e2e-secret") as d:
        yield d


@pytest.fixture
def after_ship(sms):
    row = AfterShipSettings(sms_enabled=True, aliyun_access_key_id="LTAI-e2e", aliyun_sign_name="中枢商城",
                            aliyun_sms_url=f"{sms.url}/")  # fmt: skip
    row.aliyun_secret, row.kuaidi100_key, row.kuaidi100_salt = "e2e-secret", "kd-key", SALT
    row.save()
    NoticeTemplate.objects.filter(kind="shipped").update(sms_template_code="SMS_900001")


def test_allocated_order_to_delivered_through_the_api(api, client, shop_double, sms, after_ship):
    assert SENDER  # the waybill account of the shop (sandbox provider) comes from the api fixture
    assert api.post("/api/v1/orders", example_order(channel_order_id="E2E1")).status_code == 201
    order = api.get("/api/v1/orders/mp/E2E1").json()
    assert order["status"] == "allocated"
    [package] = order["packages"]
    pid = package["id"]
    assert package["status"] == "pending"

    wave = api.post("/api/v1/waves", {"warehouse": "CD"}).json()
    assert pid in wave["packages"]
    assert api.post(f"/api/v1/waves/{wave['id']}/claim", {}).status_code == 200
    assert (
        api.post(f"/api/v1/waves/{wave['id']}/pick", {"sku": "DUMPLING-500G", "quantity": 2}).status_code
        == 200
    )
    assert api.post(f"/api/v1/waves/{wave['id']}/finish", {}).json()["status"] == "done"
    assert api.get(f"/api/v1/packages/{pid}").json()["status"] == "picked"
    r = api.post(f"/api/v1/packages/{pid}/check", {"scans": ["DUMPLING-500G"] * 2, "weight_g": 1010})
    assert r.json() == {"status": "packed"}

    waybill = api.post(f"/api/v1/packages/{pid}/waybill").json()
    assert waybill["provider"] == "sandbox" and is_sandbox_number(waybill["waybill_no"])
    # the label: an own-shop order prints its receiver in clear, for a user allowed to see it
    reveal("shipper")
    label = api.get(f"/api/v1/packages/{pid}/label.pdf")
    assert label.status_code == 200 and label["Content-Type"] == "application/pdf"
    assert codes(pages(label.content)[0])[0] == waybill["waybill_no"]  # read by an independent reader
    r = api.post("/api/v1/ship", {"waybill_no": waybill["waybill_no"]})
    assert r.status_code == 200 and r.json()["status"] == "shipped"
    assert api.get("/api/v1/orders/mp/E2E1").json()["status"] == "shipped"

    # the platform is told (own-shop double), the buyer is told (Aliyun double), once each
    assert shop_double.shipments == [
        {"shop": "mp", "channel_order_id": "E2E1", "carrier": "SF", "tracking_no": waybill["waybill_no"]}
    ]
    assert ShipConfirmation.objects.get().status == "confirmed"
    [sent] = sms.sent
    assert json.loads(sent["TemplateParam"])["waybill_no"] == waybill["waybill_no"]
    notice = Notice.objects.get(order__channel_order_id="E2E1")
    assert (notice.kind, notice.channel, notice.status, notice.phone_masked) == (
        "shipped",
        "sms",
        "sent",
        "138****8000",
    )
    # a sandbox number is never sent to Kuaidi100 (nothing real to track); its push is still taken in
    assert TrackingSubscription.objects.get().last_error == "测试面单（沙箱）不订阅物流"

    steps = [("成都市", "【成都市】已揽收"), ("成都市", "【成都市】快件已签收，签收人：本人")]
    r = client.post(
        "/api/v1/tracking/kuaidi100",
        push_form(SALT, waybill["waybill_no"], "shunfeng", "3", "shutdown", steps),
    )
    assert r.json() == {"result": True, "returnCode": "200", "message": "成功"}
    detail = api.get("/api/v1/orders/mp/E2E1").json()
    assert detail["status"] == "delivered"
    assert [s["text"] for s in detail["tracking"]] == [
        "【成都市】快件已签收，签收人：本人",
        "【成都市】已揽收",
    ]
    assert [h["to"] for h in detail["history"]][-3:] == ["packed", "shipped", "delivered"]
    assert OrderTransition.objects.filter(to_status="delivered").count() == 1
