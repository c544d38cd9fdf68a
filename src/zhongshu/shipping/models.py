"""Waybill accounts (which provider serves a shop × carrier), waybills, the platforms' carrier codes and
the ship confirmations sent to the platforms (with the visible "ship confirmation failed" queue)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from zhongshu.core import crypto
from zhongshu.shops.models import Platform


class Carrier(models.TextChoices):
    """The hub's carrier codes (Cainiao `cp_code` style); each platform's own code is in CarrierCode."""

    SF = "SF", _("顺丰速运")
    ZTO = "ZTO", _("中通快递")
    YTO = "YTO", _("圆通速递")
    STO = "STO", _("申通快递")
    YUNDA = "YUNDA", _("韵达快递")
    JTSD = "JTSD", _("极兔速递")
    EMS = "EMS", _("EMS")
    JD = "JD", _("京东快递")
    DBKD = "DBKD", _("德邦快递")


class Provider(models.TextChoices):
    """Waybill services (电子面单). `sandbox` issues test numbers for the demo and rehearsals only."""

    CAINIAO = "cainiao", _("菜鸟电子面单")
    PDD = "pdd", _("拼多多电子面单")
    DOUYIN = "douyin", _("抖店电子面单")
    KUAISHOU = "kuaishou", _("快手电子面单")
    JD = "jd", _("京东无界电子面单")
    SF = "sf", _("顺丰丰桥")
    SANDBOX = "sandbox", _("测试面单（沙箱）")


# The waybill service a platform's orders use by default (their receivers are encrypted: only the
# platform's own service can print them). Own-shop and Meituan orders have no platform service.
DEFAULT_PROVIDER = {
    Platform.TAOBAO: Provider.CAINIAO,
    Platform.PDD: Provider.PDD,
    Platform.DOUYIN: Provider.DOUYIN,
    Platform.KUAISHOU: Provider.KUAISHOU,
    Platform.JD: Provider.JD,
    Platform.OWN: Provider.SF,
    Platform.MEITUAN: Provider.SF,
}


class WaybillAccount(models.Model):
    """A waybill account (电子面单账号) of a shop for one carrier: the provider, 网点, 月结号, the
    sender's address on the label. A shop without an account for a carrier cannot get waybills."""

    shop = models.ForeignKey(
        "shops.Shop", on_delete=models.CASCADE, related_name="waybill_accounts", verbose_name=_("店铺")
    )
    carrier = models.CharField(_("快递"), max_length=16, choices=Carrier.choices)
    provider = models.CharField(_("面单服务"), max_length=16, choices=Provider.choices)
    branch_code = models.CharField(_("网点编码"), max_length=64, blank=True)
    customer_code = models.CharField(_("月结号"), max_length=64, blank=True)
    template_url = models.CharField(_("模板地址"), max_length=256, blank=True)
    # For a direct carrier (SF 丰桥): partner id and check word; platform services sign with the shop's
    # channel credentials instead.
    partner_id = models.CharField(_("顾客编码"), max_length=64, blank=True)
    check_word = models.CharField(_("校验码"), max_length=128, blank=True)
    sender_name = models.CharField(_("寄件人"), max_length=64)
    sender_phone = models.CharField(_("寄件电话"), max_length=32)
    sender_province = models.CharField(_("寄件省"), max_length=32)
    sender_city = models.CharField(_("寄件市"), max_length=32)
    sender_district = models.CharField(_("寄件区县"), max_length=32, blank=True)
    sender_address = models.CharField(_("寄件地址"), max_length=256)
    default = models.BooleanField(_("默认快递"), default=False, help_text=_("包裹未指定快递时用这个账号"))
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("面单账号")
        verbose_name_plural = _("面单账号")
        constraints = [
            models.UniqueConstraint(fields=["shop", "carrier"], name="waybill_account_shop_carrier"),
        ]

    def __str__(self) -> str:
        return f"{self.shop} · {self.get_carrier_display()} · {self.get_provider_display()}"


class Waybill(models.Model):
    """The waybill of a package: one active per package; a cancelled one stays for the record."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("有效")
        CANCELLED = "cancelled", _("已取消")

    package = models.ForeignKey(
        "fulfilment.Package", on_delete=models.PROTECT, related_name="waybills", verbose_name=_("包裹")
    )
    account = models.ForeignKey(
        WaybillAccount, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("面单账号"),
    )  # fmt: skip
    provider = models.CharField(_("面单服务"), max_length=16, choices=Provider.choices)
    carrier = models.CharField(_("快递"), max_length=16, choices=Carrier.choices)
    waybill_no = models.CharField(_("运单号"), max_length=64)
    # The idempotency key sent to the provider: the same object id gives the same number, never a second.
    object_id = models.CharField(_("请求编号"), max_length=64)
    sort_code = models.CharField(_("大头笔/三段码"), max_length=128, blank=True)
    print_data = models.JSONField(_("打印数据"), default=dict, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_by = models.CharField(_("取号人"), max_length=128, blank=True)
    created_at = models.DateTimeField(_("取号时间"), auto_now_add=True)
    cancelled_at = models.DateTimeField(_("取消时间"), null=True, blank=True)
    printed_at = models.DateTimeField(_("打印时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("电子面单")
        verbose_name_plural = _("电子面单")
        permissions = [("ship_package", _("出库扫描发货"))]
        constraints = [
            models.UniqueConstraint(
                fields=["package"], condition=models.Q(status="active"), name="waybill_one_active_per_package"
            ),
            models.UniqueConstraint(fields=["carrier", "waybill_no"], name="waybill_carrier_number"),
        ]
        indexes = [models.Index(fields=["waybill_no"], name="waybill_number")]

    def __str__(self) -> str:
        return f"{self.get_carrier_display()} {self.waybill_no}"


class CarrierCode(models.Model):
    """A carrier's code on one platform (data, editable): what the ship confirmation sends."""

    platform = models.CharField(_("平台"), max_length=16, choices=Platform.choices)
    carrier = models.CharField(_("快递"), max_length=16, choices=Carrier.choices)
    code = models.CharField(_("平台快递编码"), max_length=32)
    name = models.CharField(_("平台快递名称"), max_length=64, blank=True)
    source = models.CharField(_("来源"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("平台快递编码")
        verbose_name_plural = _("平台快递编码")
        constraints = [models.UniqueConstraint(fields=["platform", "carrier"], name="carrier_code_platform")]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} {self.get_carrier_display()} = {self.code}"


class ShipConfirmation(models.Model):
    """The ship confirmation (发货回传) of one order to its platform: written with the outbound scan,
    sent after commit by the worker, retried; a failure stays visible in the queue until it succeeds."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待回传")
        CONFIRMED = "confirmed", _("已回传")
        FAILED = "failed", _("回传失败")
        NOT_NEEDED = "not_needed", _("无需回传")

    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="ship_confirmations", verbose_name=_("订单")
    )
    waybill = models.ForeignKey(Waybill, on_delete=models.PROTECT, related_name="+", verbose_name=_("面单"))
    carrier_code = models.CharField(_("平台快递编码"), max_length=32, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("尝试次数"), default=0)
    last_error = models.CharField(_("最近错误"), max_length=1000, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    confirmed_at = models.DateTimeField(_("回传时间"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("发货回传")
        verbose_name_plural = _("发货回传")
        constraints = [models.UniqueConstraint(fields=["order", "waybill"], name="ship_confirmation_once")]
        indexes = [models.Index(fields=["status"], name="ship_confirmation_status")]

    def __str__(self) -> str:
        return f"{self.order} → {self.get_status_display()}"


# --- after the package left: tracking (Kuaidi100) and customer notices ------------------------------


class AfterShipSettings(models.Model):
    """One row: the Kuaidi100 subscription (key, salt), when a delivered order counts as completed,
    and the Aliyun SMS account of the customer notices. Secrets are stored encrypted and write-only in
    the console; an empty value falls back to the environment (ZHONGSHU_KUAIDI100_KEY/_SALT,
    ZHONGSHU_ALIYUN_SMS_ACCESS_KEY_ID/_SECRET/_SIGN_NAME) for scripted set-ups."""

    kuaidi100_key_enc = models.TextField(blank=True)
    kuaidi100_salt_enc = models.TextField(blank=True)
    kuaidi100_url = models.URLField(
        _("快递100订阅地址"),
        blank=True,
        help_text=_("留空使用正式地址 https://poll.kuaidi100.com/poll（测试时填写）"),
    )
    complete_after_days = models.PositiveIntegerField(
        _("签收后自动完成(天)"), default=7, help_text=_("签收满这么多天且平台未先确认收货时，订单记为已完成")
    )
    sms_enabled = models.BooleanField(_("发送短信通知"), default=False)
    aliyun_access_key_id = models.CharField(_("阿里云 AccessKey ID"), max_length=64, blank=True)
    aliyun_secret_enc = models.TextField(blank=True)
    aliyun_sign_name = models.CharField(_("短信签名"), max_length=64, blank=True)
    kuaishou_sms_sign_id = models.PositiveBigIntegerField(
        _("快手短信签名ID"),
        null=True,
        blank=True,
        help_text=_("快手审核通过的短信签名的 signId（快手订单的物流短信）"),
    )
    aliyun_sms_url = models.URLField(
        _("短信接口地址"),
        blank=True,
        help_text=_("留空使用正式地址 https://dysmsapi.aliyuncs.com/（测试时填写）"),
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("物流跟踪与通知设置")
        verbose_name_plural = _("物流跟踪与通知设置")

    def __str__(self) -> str:
        return str(_("物流跟踪与通知设置"))

    kuaidi100_key = property(
        lambda s: crypto.decrypt(s.kuaidi100_key_enc),
        lambda s, v: setattr(s, "kuaidi100_key_enc", crypto.encrypt(v)),
    )
    kuaidi100_salt = property(
        lambda s: crypto.decrypt(s.kuaidi100_salt_enc),
        lambda s, v: setattr(s, "kuaidi100_salt_enc", crypto.encrypt(v)),
    )
    aliyun_secret = property(
        lambda s: crypto.decrypt(s.aliyun_secret_enc),
        lambda s, v: setattr(s, "aliyun_secret_enc", crypto.encrypt(v)),
    )


class TrackingSubscription(models.Model):
    """A shipped waybill's subscription at Kuaidi100 (快递100 订阅推送): subscribed once after the ship,
    again 30 minutes after an `abort` push; its last state and when it was signed for."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待订阅")
        SUBSCRIBED = "subscribed", _("已订阅")
        FAILED = "failed", _("订阅失败")
        ABORTED = "aborted", _("中止待重订")
        SIGNED = "signed", _("已签收")

    waybill = models.OneToOneField(
        Waybill, on_delete=models.CASCADE, related_name="tracking", verbose_name=_("面单")
    )
    company = models.CharField(_("快递100编码"), max_length=32)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("订阅次数"), default=0)
    last_state = models.CharField(_("最新物流状态"), max_length=8, blank=True)
    last_message = models.CharField(_("最新说明"), max_length=400, blank=True)
    last_error = models.CharField(_("最近错误"), max_length=1000, blank=True)
    subscribed_at = models.DateTimeField(_("订阅时间"), null=True, blank=True)
    resubscribe_at = models.DateTimeField(_("重新订阅时间"), null=True, blank=True)
    signed_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("物流订阅")
        verbose_name_plural = _("物流订阅")
        indexes = [models.Index(fields=["status", "resubscribe_at"], name="tracking_sub_due")]

    def __str__(self) -> str:
        return f"{self.waybill} · {self.get_status_display()}"


class TrackingEvent(models.Model):
    """One step of an order's tracking timeline (time, place, the carrier's text), from the pushes."""

    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="tracking_events", verbose_name=_("订单")
    )
    waybill = models.ForeignKey(Waybill, on_delete=models.CASCADE, related_name="+", verbose_name=_("面单"))
    at = models.DateTimeField(_("时间"))
    place = models.CharField(_("地点"), max_length=200, blank=True)
    text = models.CharField(_("物流信息"), max_length=1000)
    state = models.CharField(_("状态码"), max_length=8, blank=True)
    digest = models.CharField(max_length=40)  # of (time, text): the same step pushed again is kept once

    class Meta:
        verbose_name = _("物流轨迹")
        verbose_name_plural = _("物流轨迹")
        ordering = ["order", "-at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "waybill", "digest"], name="tracking_event_once")
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.text[:40]}"


class NoticeKind(models.TextChoices):
    SHIPPED = "shipped", _("发货通知")
    DELAYED = "delayed", _("延迟发货通知")
    REFUNDED = "refunded", _("退款通知")


class NoticeTemplate(models.Model):
    """What the buyer is told: the text with placeholders {order_id} {carrier} {waybill_no}, and the
    code of the approved template at the SMS provider (Aliyun 模板 CODE, whose variables get the same
    names)."""

    kind = models.CharField(_("类型"), max_length=16, choices=NoticeKind.choices, unique=True)
    text = models.CharField(
        _("内容"),
        max_length=500,
        help_text=_("可用占位符：{order_id} 订单号，{carrier} 快递公司，{waybill_no} 运单号"),
    )
    sms_template_code = models.CharField(_("短信模板 CODE"), max_length=64, blank=True)
    kuaishou_template_id = models.PositiveBigIntegerField(
        _("快手短信模板ID"), null=True, blank=True, help_text=_("快手审核通过的物流短信模板的 templateId")
    )
    active = models.BooleanField(_("启用"), default=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("客户通知模板")
        verbose_name_plural = _("客户通知模板")

    def __str__(self) -> str:
        return self.get_kind_display()


class Notice(models.Model):
    """The delivery log of customer notices: one row per order × kind × reference (the waybill for a
    shipped notice), whatever happened to it, with the provider's answer; the phone only masked."""

    class Channel(models.TextChoices):
        SMS = "sms", _("短信（阿里云）")
        PLATFORM = "platform", _("平台买家消息")

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败")
        SKIPPED = "skipped", _("未发送")

    order = models.ForeignKey(
        "orders.Order", on_delete=models.CASCADE, related_name="notices", verbose_name=_("订单")
    )
    kind = models.CharField(_("类型"), max_length=16, choices=NoticeKind.choices)
    reference = models.CharField(_("关联单号"), max_length=64, blank=True)
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices, blank=True)
    template_code = models.CharField(_("模板"), max_length=64, blank=True)
    text = models.CharField(_("内容"), max_length=500, blank=True)
    phone_masked = models.CharField(_("手机号"), max_length=32, blank=True)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(_("说明"), max_length=400, blank=True)
    answer = models.TextField(_("接口应答"), blank=True)
    attempts = models.PositiveIntegerField(_("尝试次数"), default=0)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("客户通知记录")
        verbose_name_plural = _("客户通知记录")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "kind", "reference"], name="notice_once_per_reference")
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="notice_status")]

    def __str__(self) -> str:
        return f"{self.order} {self.get_kind_display()} {self.get_status_display()}"
