from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Sku(models.Model):
    """A sellable item, identified by the merchant's SKU code (商家编码)."""

    code = models.CharField(_("商家编码"), max_length=64, unique=True)
    title = models.CharField(_("名称"), max_length=256)
    cost_price = models.DecimalField(_("成本价"), max_digits=14, decimal_places=2, default=Decimal("0.00"))
    weight_g = models.PositiveIntegerField(_("重量(克)"), default=0)
    presale = models.BooleanField(_("预售"), default=False)
    supply_date = models.DateField(_("预售到货日期"), null=True, blank=True)
    cold_chain = models.BooleanField(_("冷链"), default=False)
    tags = models.CharField(_("标签"), max_length=200, blank=True, help_text=_("逗号分隔"))
    active = models.BooleanField(_("启用"), default=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "商品 SKU")
        verbose_name_plural = _("商品 SKU")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.title}"


class SkuBarcode(models.Model):
    """A barcode (条码) of a SKU, e.g. its EAN-13; a SKU may have several. Its merchant code
    (商家编码) always works as a barcode too, so a barcode never equals another SKU's code."""

    sku = models.ForeignKey(Sku, on_delete=models.CASCADE, related_name="barcodes", verbose_name=_("SKU"))
    code = models.CharField(_("条码"), max_length=64, unique=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "条码")
        verbose_name_plural = _("条码")
        ordering = ["sku", "code"]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        self.code = (self.code or "").strip()
        other = Sku.objects.filter(code=self.code).exclude(pk=self.sku_id).first()
        if other is not None:
            raise ValidationError(
                {"code": _("条码与另一个商品的商家编码 %(code)s 相同") % {"code": other.code}}
            )
