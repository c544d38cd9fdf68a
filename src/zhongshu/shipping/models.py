"""Waybill accounts (which provider serves a shop × carrier), waybills, the platforms' carrier codes and
the ship confirmations sent to the platforms (with the visible "ship confirmation failed" queue)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

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
