from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from zhongshu.core.fields import BlindIndexField, EncryptedTextField, IndexedModel, IndexedQuerySet, index
from zhongshu.core.pii import mask_address, mask_name, mask_phone
from zhongshu.orders.states import OrderStatus

M = {"max_digits": 14, "decimal_places": 2, "default": Decimal("0.00")}


class Order(IndexedModel):
    shop = models.ForeignKey(
        "shops.Shop", on_delete=models.PROTECT, verbose_name=pgettext_lazy("singular", "店铺")
    )
    channel_order_id = models.CharField(_("平台订单号"), max_length=64)
    status = models.CharField(_("状态"), max_length=24, choices=OrderStatus.choices, db_index=True)
    channel_status = models.CharField(_("平台状态"), max_length=32)
    warehouse = models.ForeignKey(
        "inventory.Warehouse",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("发货仓"),
    )
    preferred_warehouse = models.ForeignKey(
        "inventory.Warehouse",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("首选仓"),
    )
    placed_at = models.DateTimeField(_("下单时间"))
    paid_at = models.DateTimeField(_("付款时间"), null=True, blank=True)
    channel_updated_at = models.DateTimeField(_("平台更新时间"))
    ship_by = models.DateTimeField(_("最晚发货时间"), null=True, blank=True)
    scheduled_delivery = models.DateTimeField(_("定时达"), null=True, blank=True)

    buyer_ref = models.CharField(_("买家ID"), max_length=64, blank=True)
    buyer_nick = models.CharField(_("买家昵称"), max_length=64, blank=True)
    buyer_vip = models.BooleanField(_("VIP"), default=False)
    id_number_hash = models.CharField(_("身份证号(哈希)"), max_length=64, blank=True)
    id_number_masked = models.CharField(_("身份证号"), max_length=24, blank=True)

    # The receiver's name, phone and street address are stored encrypted (read back clear); they are
    # found and compared through the blind indexes below. Platforms may send their own ciphertext.
    receiver_name = EncryptedTextField(_("收货人"), max_length=256)
    receiver_phone = EncryptedTextField(_("电话"), max_length=256)
    receiver_province = models.CharField(_("省份"), max_length=32, blank=True, db_index=True)
    receiver_city = models.CharField(_("城市"), max_length=32, blank=True)
    receiver_district = models.CharField(_("区县"), max_length=32, blank=True)
    receiver_address = EncryptedTextField(_("详细地址"), max_length=1024)
    receiver_phone_hash = BlindIndexField(_("电话(哈希)"), source="receiver_phone", kind="phone")
    receiver_phone_tail_hash = BlindIndexField(
        _("电话尾号(哈希)"), source="receiver_phone", kind="phone_tail"
    )
    receiver_address_hash = BlindIndexField(_("详细地址(哈希)"), source="receiver_address", kind="address")
    receiver_name_hash = BlindIndexField(
        _("收货人(哈希)"), source="receiver_name", kind="name", db_index=True
    )

    lines_amount = models.DecimalField(_("商品金额"), **M)
    freight = models.DecimalField(_("运费"), **M)
    discount = models.DecimalField(_("优惠"), **M)
    paid_amount = models.DecimalField(_("实付金额"), **M)
    presale = models.BooleanField(_("预售"), default=False)
    remark = models.CharField(_("备注"), max_length=512, blank=True)
    flags = models.JSONField(_("包裹标记"), default=list, blank=True)
    # The staff's own: a work note and tags added in the console (intake never touches them).
    staff_note = models.CharField(_("客服备注"), max_length=400, blank=True)
    tags = models.JSONField(_("标签"), default=list, blank=True)
    # 拆单: what a split order reserves in each warehouse, {warehouse code: {sku code: quantity}};
    # empty when the whole order ships from `warehouse` (the preferred one of the plan when split).
    split = models.JSONField(_("拆单"), default=dict, blank=True)

    ingested_at = models.DateTimeField(_("进入中枢时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("最近处理"), auto_now=True)

    objects = IndexedQuerySet.as_manager()

    class Meta:
        verbose_name = pgettext_lazy("singular", "订单")
        verbose_name_plural = _("订单")
        ordering = ["-placed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "channel_order_id"], name="order_unique_per_shop"),
        ]
        indexes = [
            models.Index(fields=["id_number_hash", "placed_at"], name="order_idno_day"),
            models.Index(fields=["receiver_phone_hash", "placed_at"], name="order_phone_time"),
            models.Index(fields=["receiver_phone_tail_hash", "placed_at"], name="order_phone_tail_time"),
            models.Index(fields=["status", "warehouse"], name="order_status_wh"),
            models.Index(fields=["placed_at"], name="order_placed"),
            # the API's order list, newest (highest id) first, paged by offset: the ids of a page
            # come from an index, also deep pages (SQLite would otherwise step through whole rows)
            models.Index(fields=["id"], name="order_newest"),
            models.Index(fields=["status", "id"], name="order_status_newest"),
            models.Index(fields=["shop", "id"], name="order_shop_newest"),
            models.Index(fields=["warehouse", "id"], name="order_wh_newest"),
            # the workbench's search: a platform order id without its shop, a buyer's nickname
            models.Index(fields=["channel_order_id"], name="order_channel_id"),
            models.Index(fields=["buyer_nick"], name="order_buyer_nick"),
        ]

    def __str__(self) -> str:
        return f"{self.shop.code}/{self.channel_order_id}"

    def index_receiver(self) -> None:
        """Compute the receiver's blind indexes now (every write does it too; intake compares them
        between the new orders of a batch before they are written)."""
        index(self)

    @property
    def receiver_name_masked(self) -> str:
        return mask_name(self.receiver_name)

    @property
    def receiver_phone_masked(self) -> str:
        return mask_phone(self.receiver_phone)

    @property
    def receiver_address_masked(self) -> str:
        return mask_address(self.receiver_address)


class OrderLine(models.Model):
    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="lines", verbose_name=pgettext_lazy("singular", "订单")
    )
    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, verbose_name=_("SKU"))
    title = models.CharField(_("名称"), max_length=256, blank=True)
    quantity = models.PositiveIntegerField(_("数量"))
    unit_price = models.DecimalField(_("单价"), **M)
    promo_price = models.DecimalField(_("促销价"), max_digits=14, decimal_places=2, null=True, blank=True)
    paid_amount = models.DecimalField(_("实付"), **M)

    class Meta:
        verbose_name = pgettext_lazy("singular", "订单行")
        verbose_name_plural = _("订单行")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.title or self.sku_id} × {self.quantity}"


class OrderTransition(models.Model):
    """Audit of the state machine: every status change with who, when, from, to and why."""

    order = models.ForeignKey(
        Order,
        on_delete=models.CASCADE,
        related_name="transitions",
        verbose_name=pgettext_lazy("singular", "订单"),
    )
    from_status = models.CharField(_("原状态"), max_length=24, blank=True)
    to_status = models.CharField(_("新状态"), max_length=24)
    actor = models.CharField(_("操作者"), max_length=128)
    reason = models.CharField(_("原因"), max_length=400, blank=True)
    at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = _("状态变更")
        verbose_name_plural = _("状态变更记录")
        ordering = ["order", "id"]
        indexes = [models.Index(fields=["to_status", "at"], name="transition_status_at")]

    def __str__(self) -> str:
        from zhongshu.orders.labels import status_label

        before = status_label(self.from_status) if self.from_status else _("新建")
        return f"{before} → {status_label(self.to_status)}"


class OrderHold(models.Model):
    """A reason an order is stopped; active while released_at is empty."""

    order = models.ForeignKey(
        Order, on_delete=models.CASCADE, related_name="holds", verbose_name=pgettext_lazy("singular", "订单")
    )
    code = models.CharField(_("代码"), max_length=64)
    reason = models.CharField(_("原因"), max_length=400)
    created_at = models.DateTimeField(_("时间"))
    released_at = models.DateTimeField(_("解除时间"), null=True, blank=True)
    released_by = models.CharField(_("解除人"), max_length=128, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "挂起原因")
        verbose_name_plural = _("挂起原因")
        indexes = [models.Index(fields=["code", "released_at"], name="hold_code_open")]

    def __str__(self) -> str:
        from zhongshu.orders.labels import hold_label

        return f"{hold_label(self.code)}：{self.reason}"
