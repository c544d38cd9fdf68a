from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Warehouse(models.Model):
    code = models.CharField(_("仓库代码"), max_length=16, unique=True)
    name = models.CharField(_("仓库名称"), max_length=64)
    province = models.CharField(_("所在省份"), max_length=32)
    cold_chain = models.BooleanField(_("冷链"), default=False)
    priority = models.PositiveIntegerField(
        _("备选顺序"), default=100, help_text=_("缺货时按此顺序找下一个仓")
    )
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "仓库")
        verbose_name_plural = _("仓库")
        ordering = ["priority", "code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class StockLevel(models.Model):
    """Stock of one SKU in one warehouse. Changed only by inventory.services."""

    sku = models.ForeignKey(
        "catalog.Sku", on_delete=models.PROTECT, related_name="stock", verbose_name=_("SKU")
    )
    warehouse = models.ForeignKey(
        Warehouse,
        on_delete=models.PROTECT,
        related_name="stock",
        verbose_name=pgettext_lazy("singular", "仓库"),
    )
    physical = models.IntegerField(_("实物库存"), default=0)
    reserved = models.IntegerField(_("已预留"), default=0)
    in_transit = models.IntegerField(_("在途"), default=0)
    in_transit_coefficient = models.DecimalField(
        _("在途预计到货系数"),
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.800"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )
    location = models.CharField(
        _("货位"), max_length=32, blank=True, help_text=_("拣货路径上的位置，如 A-01-03（区-排-层）")
    )
    # the safety line (安全库存) of this SKU in this warehouse: filled by the analytics (demand
    # forecast), not by a stocktake; empty until then (the low-stock filter falls back to LOW_STOCK)
    safety_stock = models.PositiveIntegerField(
        _("安全库存"), null=True, blank=True, help_text=_("由销量分析计算填入；为空时按默认低库存线判断")
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "库存")
        verbose_name_plural = _("库存")
        constraints = [
            models.UniqueConstraint(fields=["sku", "warehouse"], name="stock_one_row_per_sku_warehouse"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="stock_reserved_not_negative"),
            models.CheckConstraint(condition=Q(physical__gte=0), name="stock_physical_not_negative"),
            models.CheckConstraint(condition=Q(in_transit__gte=0), name="stock_in_transit_not_negative"),
            # The database itself refuses an oversell, whatever code path tries it.
            models.CheckConstraint(
                condition=Q(reserved__lte=F("physical") + F("in_transit")),
                name="stock_reserved_within_supply",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku.code}@{self.warehouse.code}"


class TransferAlert(models.Model):
    """调拨预警: a warehouse is short for the orders routed to it; suggests moving stock in."""

    class Status(models.TextChoices):
        OPEN = "open", _("待处理")
        DONE = "done", _("已调拨")
        DISMISSED = "dismissed", _("已忽略")

    sku = models.ForeignKey("catalog.Sku", on_delete=models.PROTECT, verbose_name=_("SKU"))
    to_warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="+", verbose_name=_("调入仓")
    )
    from_warehouse = models.ForeignKey(
        Warehouse,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("建议调出仓"),
    )
    quantity = models.PositiveIntegerField(_("建议调拨数量"))
    orders = models.PositiveIntegerField(_("涉及订单数"), default=0)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "调拨预警")
        verbose_name_plural = _("调拨预警")
        ordering = ["-updated_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["sku", "to_warehouse"], condition=Q(status="open"), name="one_open_transfer_alert"
            )
        ]
