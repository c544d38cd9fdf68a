"""Customer notices (客户通知): one interface, `send_notice(order, kind, waybill)`, with a delivery log
(`Notice`: channel, template, status, the provider's answer, the phone masked). Runs in the worker,
after commit; safe to run twice (one row per order × kind × reference; a sent or skipped notice is
never sent again).

Which path an order takes:
- an order of the merchant's own shop (自有商城) carries the buyer's real phone: SMS through Aliyun
  `SendSms` (`shipping.aliyun_sms`);
- an order from a platform carries a masked or encrypted phone (虚拟号/密文), to which the platforms do
  not allow SMS: only the platform's own buyer message can reach the buyer.
  - Kuaishou: `open.sms.express.send` ("发送物流短信：根据物流运单号发送物流短信，需要和平台对接联调"),
    POST, param {signId, templateId, templateParam (JSON string), waybillCode}, signed like every
    Kuaishou call (`channels.kuaishou.client.call`). Sources: the public Kuaishou SDKs
    westng/kwaishop-php-sdk `Api/Sms/OpenSmsExpressSend.php` (method, POST, description) and a Python
    SDK's `models/sms.py` (`SmsExpressSendParam`: signId, templateId, templateParam, waybillCode),
    both pointing at https://open.kwaixiaodian.com/zone/new/docs/api?name=open.sms.express.send.
    UNCONFIRMED: the answer's `data` (kept as it comes) and the error codes; the sign and template
    must be approved by Kuaishou first (their ids are settings).
  - every other platform: no buyer-message API we could source → the notice is logged `skipped` with
    the reason, never reported as sent.
"""

import json
import logging
import os
import re
from string import Formatter

import httpx
from django.utils import timezone

from zhongshu.channels.base import ConnectorError, RateLimited, TransientError
from zhongshu.channels.kuaishou.client import call as kuaishou_call
from zhongshu.channels.services import ensure_fresh_token
from zhongshu.core.pii import mask_phone
from zhongshu.orders.models import Order
from zhongshu.shipping import aliyun_sms
from zhongshu.shipping.models import AfterShipSettings, Carrier, Notice, NoticeTemplate, Waybill
from zhongshu.shipping.tracking import current_settings
from zhongshu.shops.models import Platform

log = logging.getLogger(__name__)
PLACEHOLDERS = ("order_id", "carrier", "waybill_no")
MOBILE = re.compile(r"^1[3-9]\d{9}$")
NO_PLATFORM_PATH = "平台订单的手机号为加密或虚拟号，平台不允许向其发短信；未找到该平台公开的买家消息接口"
N = Notice.Status


class TemplateInvalid(ValueError):
    pass


def check_template(text: str) -> None:
    """Only the known placeholders, well-formed (the console validates with this)."""
    try:
        names = {name for _, name, _, _ in Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise TemplateInvalid(f"花括号不成对：{exc}") from exc
    unknown = sorted(n for n in names if n not in PLACEHOLDERS)
    if unknown:
        raise TemplateInvalid(
            f"未知占位符：{', '.join('{' + n + '}' for n in unknown)}（可用：order_id、carrier、waybill_no）"
        )


def render(text: str, context: dict[str, str]) -> str:
    check_template(text)
    return text.format(**{k: context.get(k, "") for k in PLACEHOLDERS})


def context_for(order: Order, waybill: Waybill | None) -> dict[str, str]:
    carrier = str(Carrier(waybill.carrier).label) if waybill and waybill.carrier in Carrier.values else ""
    return {
        "order_id": order.channel_order_id,
        "carrier": carrier or (waybill.carrier if waybill else ""),
        "waybill_no": waybill.waybill_no if waybill else "",
    }


def sms_credentials(row: AfterShipSettings) -> tuple[str, str, str]:
    """(access key id, secret, sign name): the console's values, else the environment."""
    env = os.environ.get
    return (
        row.aliyun_access_key_id or env("ZHONGSHU_ALIYUN_SMS_ACCESS_KEY_ID", ""),
        row.aliyun_secret or env("ZHONGSHU_ALIYUN_SMS_ACCESS_KEY_SECRET", ""),
        row.aliyun_sign_name or env("ZHONGSHU_ALIYUN_SMS_SIGN_NAME", ""),
    )


def send_notice(order_id: int, kind: str, waybill_id: int | None = None) -> Notice:
    """Tell the buyer (shipped: reference = the waybill number). A transport failure is logged and
    raised for the queue's retry; a refusal or a path that does not exist is logged, not raised."""
    order = Order.objects.select_related("shop").get(pk=order_id)
    waybill = Waybill.objects.filter(pk=waybill_id).first() if waybill_id else None
    notice, _ = Notice.objects.get_or_create(
        order=order, kind=kind, reference=waybill.waybill_no if waybill else ""
    )
    if notice.status in (N.SENT, N.SKIPPED):
        return notice
    template = NoticeTemplate.objects.filter(kind=kind, active=True).first()
    if template is None:
        return _log(notice, N.SKIPPED, "未配置或未启用该类通知模板")
    notice.text = render(template.text, context_for(order, waybill))[:500]
    notice.template_code = template.sms_template_code
    if order.shop.platform != Platform.OWN:
        notice.channel = Notice.Channel.PLATFORM
        notice.phone_masked = mask_phone(order.receiver_phone)[:32]
        if order.shop.platform == Platform.KUAISHOU:
            return _kuaishou_express_sms(notice, order, template, context_for(order, waybill), waybill)
        return _log(notice, N.SKIPPED, NO_PLATFORM_PATH)
    return _send_sms(notice, order, template, context_for(order, waybill))


def _kuaishou_express_sms(
    notice: Notice, order: Order, template: NoticeTemplate, context: dict, waybill: Waybill | None
) -> Notice:
    """Kuaishou sends the SMS to the buyer of the waybill (the hub never sees the phone)."""
    sign_id = current_settings().kuaishou_sms_sign_id
    if not sign_id or not template.kuaishou_template_id:
        return _log(notice, N.SKIPPED, "未配置快手短信签名ID或模板ID（需快手审核通过）")
    if waybill is None:
        return _log(notice, N.SKIPPED, "没有运单号：快手物流短信按运单号发送")
    notice.template_code = str(template.kuaishou_template_id)
    params = {
        "signId": sign_id,
        "templateId": template.kuaishou_template_id,
        "templateParam": json.dumps(context, ensure_ascii=False, separators=(",", ":")),
        "waybillCode": waybill.waybill_no,
    }
    notice.attempts += 1
    try:
        conn = ensure_fresh_token(order.shop, timezone.now())
        data = kuaishou_call(conn.credentials, "open.sms.express.send", params)
    except (TransientError, RateLimited) as exc:
        _log(notice, N.FAILED, f"快手接口暂时不可用：{type(exc).__name__}: {exc}")
        raise
    except ConnectorError as exc:
        return _log(notice, N.FAILED, f"快手拒绝：{exc}")
    notice.answer = json.dumps(data, ensure_ascii=False, default=str)[:4000]
    notice.sent_at = timezone.now()
    return _log(notice, N.SENT, "快手已受理物流短信")


def _send_sms(notice: Notice, order: Order, template: NoticeTemplate, context: dict) -> Notice:
    notice.channel = Notice.Channel.SMS
    phone = "".join(ch for ch in order.receiver_phone if ch.isdigit())[-11:]
    notice.phone_masked = mask_phone(phone)
    row = current_settings()
    key_id, secret, sign_name = sms_credentials(row)
    why = (
        "短信通知未启用" if not row.sms_enabled
        else "未配置阿里云 AccessKey 或短信签名" if not (key_id and secret and sign_name)
        else "模板没有短信模板 CODE" if not template.sms_template_code
        else "收货人手机号不是有效的大陆手机号" if not MOBILE.match(phone)
        else ""
    )  # fmt: skip
    if why:
        return _log(notice, N.SKIPPED, why)
    form = aliyun_sms.send_sms_form(key_id, secret, phone, sign_name, template.sms_template_code, context)
    notice.attempts += 1
    try:
        answer = aliyun_sms.send_sms(row.aliyun_sms_url, form)
    except (httpx.HTTPError, ValueError) as exc:
        _log(notice, N.FAILED, f"短信接口请求失败：{type(exc).__name__}")
        raise
    notice.answer = json.dumps(answer, ensure_ascii=False)[:4000]
    if answer.get("Code") != "OK":
        return _log(notice, N.FAILED, f"阿里云拒绝：{answer.get('Code')} {answer.get('Message', '')}")
    notice.sent_at = timezone.now()
    return _log(notice, N.SENT, f"阿里云已受理 BizId {answer.get('BizId', '')}")


def _log(notice: Notice, status: str, reason: str) -> Notice:
    notice.status, notice.reason = status, reason[:400]
    notice.save()
    log.info("notice %s of order %s: %s %s", notice.kind, notice.order_id, status, reason)
    return notice


def notify_shipped(package_id: int, waybill_id: int) -> list[Notice]:
    """The "shipped" notice of each order of a package that left (once per order and waybill)."""
    ids = (
        Order.objects.filter(package_orders__package_id=package_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return [send_notice(pk, "shipped", waybill_id) for pk in ids]
