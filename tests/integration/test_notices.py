# ruff: noqa: F811  (pytest fixtures imported from test_shipping)
"""Customer notices (SQLite and PostgreSQL): after the outbound scan an own-shop order's buyer gets the
"shipped" SMS through a local double of Aliyun SendSms that verifies the signature; the delivery log
keeps the channel, template, status, the provider's answer and only the masked phone; a platform order
(masked number) is logged as skipped with the reason, never as sent; a refusal and a transport failure
are logged, and nothing is ever sent twice."""

import json

import pytest

from tests.factories import example_order
from tests.integration.channels.harness import authorised_shop
from tests.integration.test_fulfilment_flow import floor  # noqa: F401  (fixture)
from tests.integration.test_shipping import SENDER, api, clean_queue, packed_package, shop_double  # noqa: F401
from tests.platforms.aliyun_sms import AliyunSmsDouble
from tests.platforms.kuaishou_sms import KuaishouSmsDouble
from zhongshu.channels.models import Shop
from zhongshu.orders.models import Order
from zhongshu.shipping import notices
from zhongshu.shipping.models import AfterShipSettings, Notice, NoticeTemplate, Waybill, WaybillAccount

KEY_ID, SECRET = "LTAI-test", "aliyun-secret"


@pytest.fixture
def sms():
    with AliyunSmsDouble(KEY_ID, SECRET) as d:
        yield d


@pytest.fixture
def configured(sms):
    row = AfterShipSettings(sms_enabled=True, aliyun_access_key_id=KEY_ID, aliyun_sign_name="中枢商城",
                            aliyun_sms_url=f"{sms.url}/")  # fmt: skip
    row.aliyun_secret = SECRET
    row.save()
    NoticeTemplate.objects.filter(kind="shipped").update(sms_template_code="SMS_900001")
    return row


def ship(api, cid: str) -> Waybill:
    pid = packed_package(api, cid)
    waybill_no = api.post(f"/api/v1/packages/{pid}/waybill").json()["waybill_no"]
    assert api.post("/api/v1/ship", {"waybill_no": waybill_no}).status_code == 200
    return Waybill.objects.get(waybill_no=waybill_no)


def test_shipped_sms_is_sent_once_through_the_signed_api_and_logged_masked(api, sms, configured):
    waybill = ship(api, "N1")
    [sent] = sms.sent
    assert sent["PhoneNumbers"] == "13800138000" and sent["SignName"] == "中枢商城"
    assert sent["TemplateCode"] == "SMS_900001"
    assert json.loads(sent["TemplateParam"]) == {
        "order_id": "N1",
        "carrier": "顺丰速运",
        "waybill_no": waybill.waybill_no,
    }
    [notice] = Notice.objects.all()
    assert (notice.kind, notice.channel, notice.status) == ("shipped", "sms", "sent")
    assert notice.phone_masked == "138****8000" and "13800138000" not in notice.answer + notice.reason
    assert notice.text == f"您的订单N1已发货，顺丰速运运单号{waybill.waybill_no}，请留意查收。"
    assert json.loads(notice.answer)["Code"] == "OK" and notice.sent_at is not None
    # the worker runs it again (at least once delivery): nothing is sent twice
    notices.send_notice(notice.order_id, "shipped", waybill.pk)
    assert len(sms.sent) == 1 and Notice.objects.count() == 1


def test_a_wrong_secret_is_refused_by_the_provider_and_logged_failed(api, sms, configured):
    configured.aliyun_secret = "not-the-secret"
    configured.save()
    ship(api, "N2")
    assert sms.sent == [] and sms.refused == ["SignatureDoesNotMatch"]
    [notice] = Notice.objects.all()
    assert notice.status == "failed" and "SignatureDoesNotMatch" in notice.reason


def test_a_transport_failure_is_retried_and_sends_once(api, sms, configured):
    configured.aliyun_sms_url = "http://127.0.0.1:9/"  # nothing listens there
    configured.save()
    waybill = ship(api, "N3")
    [notice] = Notice.objects.all()
    assert notice.status == "failed" and notice.attempts >= 1 and sms.sent == []
    AfterShipSettings.objects.update(aliyun_sms_url=f"{sms.url}/")
    notices.send_notice(notice.order_id, "shipped", waybill.pk)
    notice.refresh_from_db()
    assert notice.status == "sent" and len(sms.sent) == 1


def test_a_platform_order_with_a_masked_number_is_skipped_with_the_reason(api, sms, configured):
    assert api.post("/api/v1/orders", example_order(shop="tb", channel_order_id="TB1")).status_code == 201
    order = Order.objects.get(channel_order_id="TB1")
    notice = notices.send_notice(order.pk, "shipped")
    assert (notice.channel, notice.status) == ("platform", "skipped")
    assert "虚拟号" in notice.reason and sms.sent == []


def test_disabled_sms_or_missing_template_code_is_skipped_not_sent(api, sms, configured):
    AfterShipSettings.objects.update(sms_enabled=False)
    ship(api, "N4")
    assert Notice.objects.get().reason == "短信通知未启用" and sms.sent == []
    AfterShipSettings.objects.update(sms_enabled=True)
    NoticeTemplate.objects.filter(kind="shipped").update(sms_template_code="")
    ship(api, "N5")
    assert Notice.objects.get(order__channel_order_id="N5").reason == "模板没有短信模板 CODE"
    assert sms.sent == []


def test_templates_are_edited_in_the_console_with_placeholders_checked(api, admin_client, sms, configured):
    template = NoticeTemplate.objects.get(kind="shipped")
    url = f"/admin/shipping/noticetemplate/{template.pk}/change/"
    form = {"kind": "shipped", "sms_template_code": "SMS_900001", "active": "on"}
    r = admin_client.post(url, {**form, "text": "订单{order_id} 电话{phone}"})
    assert r.status_code == 200 and "phone" in r.content.decode()
    template.refresh_from_db()
    assert "{phone}" not in template.text
    r = admin_client.post(url, {**form, "text": "【中枢】{order_id}已发出：{carrier} {waybill_no}"})
    assert r.status_code == 302
    waybill = ship(api, "N6")
    assert Notice.objects.get().text == f"【中枢】N6已发出：顺丰速运 {waybill.waybill_no}"


@pytest.fixture
def kuaishou():
    with KuaishouSmsDouble() as d:
        yield d


def test_a_kuaishou_order_is_told_through_kuaishous_logistics_sms(api, sms, configured, kuaishou):
    authorised_shop(kuaishou, "ks", "快手小店", "kuaishou", [], app_key=kuaishou.app_key,
                    push_secret=kuaishou.sign_secret)  # fmt: skip
    WaybillAccount.objects.create(shop=Shop.objects.get(code="ks"), carrier="SF", provider="sandbox", default=True,
                                  **SENDER)  # fmt: skip
    cid = "2321300000000001"
    body = example_order(shop="ks", channel_order_id=cid)
    assert (
        api.post(
            "/api/v1/orders", {**body, "receiver": {**body["receiver"], "address": "快手路1号"}}
        ).status_code
        == 201
    )
    pid = api.get(f"/api/v1/orders/ks/{cid}").json()["packages"][0]["id"]
    assert api.post("/api/v1/waves", {"warehouse": "CD"}).status_code == 201
    assert api.post(
        f"/api/v1/packages/{pid}/check", {"scans": ["DUMPLING-500G"] * 2, "weight_g": 1010}
    ).json() == {"status": "packed"}
    # not configured yet: skipped with the reason, nothing sent anywhere
    NoticeTemplate.objects.filter(kind="shipped").update(kuaishou_template_id=None)
    AfterShipSettings.objects.update(kuaishou_sms_sign_id=3001)
    waybill_no = api.post(f"/api/v1/packages/{pid}/waybill").json()["waybill_no"]
    assert api.post("/api/v1/ship", {"waybill_no": waybill_no}).status_code == 200
    notice = Notice.objects.get(order__channel_order_id=cid)
    assert (notice.channel, notice.status) == ("platform", "skipped") and "模板ID" in notice.reason
    assert kuaishou.express_sms == [] and sms.sent == []

    # configured: the worker runs it again and Kuaishou gets the waybill's message (never Aliyun)
    Notice.objects.filter(pk=notice.pk).update(status="pending")
    NoticeTemplate.objects.filter(kind="shipped").update(kuaishou_template_id=5002)
    notices.send_notice(notice.order_id, "shipped", Waybill.objects.get(waybill_no=waybill_no).pk)
    [message] = kuaishou.express_sms
    assert (message["signId"], message["templateId"], message["waybillCode"]) == (3001, 5002, waybill_no)
    assert json.loads(message["templateParam"]) == {
        "order_id": cid,
        "carrier": "顺丰速运",
        "waybill_no": waybill_no,
    }
    notice.refresh_from_db()
    assert (notice.status, notice.template_code, json.loads(notice.answer)) == (
        "sent",
        "5002",
        {"messageId": 1},
    )
    assert sms.sent == []
    notices.send_notice(notice.order_id, "shipped", Waybill.objects.get(waybill_no=waybill_no).pk)
    assert len(kuaishou.express_sms) == 1
