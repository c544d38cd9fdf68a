from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class ShortagePolicy(models.TextChoices):
    NEXT_WAREHOUSE = "next_warehouse", _("从下一个有货的仓发货")
    WAIT_FOR_TRANSFER = "wait_for_transfer", _("等待调拨到首选仓")


class ProvinceRegion(models.Model):
    """Which region a province belongs to (华中, 西南, …)."""

    province = models.CharField(_("省份"), max_length=32, unique=True)
    region = models.CharField(_("区域"), max_length=16)

    class Meta:
        verbose_name = pgettext_lazy("singular", "省份-区域")
        verbose_name_plural = _("省份-区域表")
        ordering = ["region", "province"]

    def __str__(self) -> str:
        return f"{self.province} → {self.region}"


class RegionRoute(models.Model):
    """Preferred warehouse of a region; regions without a row use the default warehouse."""

    region = models.CharField(_("区域"), max_length=16, unique=True)
    warehouse = models.ForeignKey("inventory.Warehouse", on_delete=models.PROTECT, verbose_name=_("首选仓"))

    class Meta:
        verbose_name = pgettext_lazy("singular", "区域路由")
        verbose_name_plural = _("区域路由表")
        ordering = ["region"]

    def __str__(self) -> str:
        return f"{self.region} → {self.warehouse_id}"


class RoutingSettings(models.Model):
    """One row: the default warehouse and what to do when the preferred warehouse is short."""

    default_warehouse = models.ForeignKey(
        "inventory.Warehouse", on_delete=models.PROTECT, verbose_name=_("默认仓"), related_name="+"
    )
    shortage_policy = models.CharField(
        _("缺货策略"), max_length=32, choices=ShortagePolicy.choices, default=ShortagePolicy.NEXT_WAREHOUSE
    )
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "路由设置")
        verbose_name_plural = _("路由设置")

    def __str__(self) -> str:
        return str(_("路由设置"))
