"""A shop: a store on one platform, and how much of the stock pool it may sell. Below orders (an order
belongs to a shop) and channels (which connect a shop to its platform: credentials, cursors, pushes)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


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
    # multi-level stock strategy (R-INV5): how much of the pool this shop may sell
    stock_share_percent = models.PositiveSmallIntegerField(_("可售比例(%)"), default=100)
    stock_buffer = models.PositiveIntegerField(_("保留库存"), default=0, help_text=_("不推送给该店铺的数量"))
    stock_cap = models.PositiveIntegerField(_("推送上限"), null=True, blank=True)
    allow_split = models.BooleanField(
        _("拆单发货"),
        default=False,
        help_text=_("没有一个仓库能发出整单时，拆成多个仓库的包裹发货，而不是等待补货"),
    )

    class Meta:
        verbose_name = pgettext_lazy("singular", "店铺")
        verbose_name_plural = _("店铺")
        ordering = ["code"]
        db_table = "channels_shop"  # the table channels created; the model moved here with its rows

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"
