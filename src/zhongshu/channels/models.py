from django.db import models
from django.utils.translation import gettext_lazy as _


class Platform(models.TextChoices):
    TAOBAO = "taobao", _("淘宝/天猫")
    JD = "jd", _("京东")
    PDD = "pdd", _("拼多多")
    DOUYIN = "douyin", _("抖音")
    KUAISHOU = "kuaishou", _("快手")
    MEITUAN = "meituan", _("美团")
    OWN = "own", _("自有商城/小程序")


class Shop(models.Model):
    """A store on one platform; orders are identified by (shop, channel order id)."""

    code = models.SlugField(_("店铺代码"), max_length=64, unique=True)
    name = models.CharField(_("店铺名称"), max_length=128)
    platform = models.CharField(_("平台"), max_length=16, choices=Platform.choices)
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("店铺")
        verbose_name_plural = _("店铺")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"
