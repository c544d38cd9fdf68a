from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from zhongshu.core import crypto
from zhongshu.shops.models import Platform, Shop  # noqa: F401  (the shop moved to shops; kept importable here)


class ShopCredential(models.Model):
    """A shop's platform app and authorisation; secrets and tokens are encrypted at rest."""

    shop = models.OneToOneField(
        Shop,
        on_delete=models.CASCADE,
        related_name="credential",
        verbose_name=pgettext_lazy("singular", "店铺"),
    )
    api_base_url = models.URLField(_("接口地址"), blank=True, help_text=_("留空使用平台正式地址"))
    app_key = models.CharField(_("App Key"), max_length=128)
    app_secret_enc = models.TextField(blank=True)
    platform_shop_id = models.CharField(_("平台店铺ID"), max_length=64, blank=True)
    access_token_enc = models.TextField(blank=True)
    refresh_token_enc = models.TextField(blank=True)
    expires_at = models.DateTimeField(_("令牌到期"), null=True, blank=True)
    refresh_expires_at = models.DateTimeField(_("刷新令牌到期"), null=True, blank=True)
    needs_reauth = models.BooleanField(_("需要重新授权"), default=False)
    # the shop's signing secret besides the app secret: the own shop's webhook secret, or a
    # platform's separate API signing secret (Kuaishou signSecret)
    push_secret_enc = models.TextField(
        blank=True, help_text=_("signing secret (webhooks; Kuaishou signSecret)")
    )
    # the key a platform encrypts its push messages with (Kuaishou's message secret)
    message_secret_enc = models.TextField(blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "店铺授权")
        verbose_name_plural = _("店铺授权")

    def __str__(self) -> str:
        return f"{self.shop_id} {self.app_key}"

    app_secret = property(
        lambda s: crypto.decrypt(s.app_secret_enc), lambda s, v: _set(s, "app_secret_enc", v)
    )
    access_token = property(
        lambda s: crypto.decrypt(s.access_token_enc), lambda s, v: _set(s, "access_token_enc", v)
    )
    refresh_token = property(
        lambda s: crypto.decrypt(s.refresh_token_enc), lambda s, v: _set(s, "refresh_token_enc", v)
    )
    push_secret = property(
        lambda s: crypto.decrypt(s.push_secret_enc), lambda s, v: _set(s, "push_secret_enc", v)
    )
    message_secret = property(
        lambda s: crypto.decrypt(s.message_secret_enc), lambda s, v: _set(s, "message_secret_enc", v)
    )


def _set(obj, field: str, value: str) -> None:
    setattr(obj, field, crypto.encrypt(value or ""))


class SyncState(models.Model):
    """Where a shop's incremental pull stands: the cursor and its health."""

    shop = models.OneToOneField(
        Shop, on_delete=models.CASCADE, related_name="sync", verbose_name=pgettext_lazy("singular", "店铺")
    )
    enabled = models.BooleanField(_("自动同步"), default=True)
    interval_seconds = models.PositiveIntegerField(_("同步间隔(秒)"), default=10)
    cursor = models.DateTimeField(_("同步游标"), null=True, blank=True, help_text=_("已完整拉取到此修改时间"))
    last_run_at = models.DateTimeField(_("最近运行"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("最近成功"), null=True, blank=True)
    last_error = models.TextField(_("最近错误"), blank=True)
    last_error_at = models.DateTimeField(_("错误时间"), null=True, blank=True)
    pulled_day = models.DateField(null=True, blank=True)
    pulled_today = models.PositiveIntegerField(_("今日拉取"), default=0)
    backfill_from = models.DateTimeField(_("补拉起点"), null=True, blank=True)
    backfill_to = models.DateTimeField(_("补拉终点"), null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "同步状态")
        verbose_name_plural = _("同步状态")


class StockPush(models.Model):
    """The sellable quantity last pushed to a shop for a SKU (R-INV5 write-back)."""

    shop = models.ForeignKey(
        Shop,
        on_delete=models.CASCADE,
        related_name="stock_pushes",
        verbose_name=pgettext_lazy("singular", "店铺"),
    )
    sku = models.ForeignKey("catalog.Sku", on_delete=models.CASCADE, verbose_name=_("SKU"))
    quantity = models.IntegerField(_("推送数量"))
    pushed_at = models.DateTimeField(_("推送时间"))
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "库存推送")
        verbose_name_plural = _("库存推送")
        constraints = [models.UniqueConstraint(fields=["shop", "sku"], name="one_stock_push_per_shop_sku")]


class PushReceipt(models.Model):
    """A push message already accepted: a replay of the same message id is refused."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, verbose_name=pgettext_lazy("singular", "店铺"))
    message_id = models.CharField(max_length=128)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "message_id"], name="one_receipt_per_message")]


class PushInbox(models.Model):
    """A verified push message, stored as it was acknowledged and taken in later by the worker.

    The platform is answered as soon as this row is written (one insert): the acknowledgement means
    "stored", not "processed". The worker takes pending rows in, in batches, through intake, and
    writes the message's PushReceipt in the same transaction, so a message is taken in once. The
    orders (receivers included) are kept encrypted, and emptied once taken in.
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, verbose_name=pgettext_lazy("singular", "店铺"))
    message_id = models.CharField(max_length=128)
    orders_enc = models.TextField(blank=True)  # Fernet(JSON list of contract orders)
    order_ids = models.JSONField(default=list, blank=True)  # orders the message only names: fetched
    received_at = models.DateTimeField(auto_now_add=True)
    taken_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True)  # retry after a failed take-in
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "message_id"], name="one_inbox_row_per_message")
        ]
        indexes = [
            models.Index(fields=["id"], name="pushinbox_pending", condition=models.Q(taken_at__isnull=True))
        ]


class SyncRun(models.Model):
    """One pull of a shop worth remembering: every manual run and back-fill, and scheduled runs that
    took orders in or failed (a quiet scheduled run every few seconds is not kept). The shop page
    shows the latest; rows older than HISTORY_DAYS are pruned as new ones come."""

    class Kind(models.TextChoices):
        SCHEDULED = "scheduled", _("定时同步")
        MANUAL = "manual", _("立即同步")
        BACKFILL = "backfill", _("补拉")

    class Outcome(models.TextChoices):
        OK = "ok", _("成功")
        FAILED = "failed", _("失败")
        SKIPPED = "skipped", _("跳过（另一次同步进行中）")

    shop = models.ForeignKey(
        Shop,
        on_delete=models.CASCADE,
        related_name="sync_runs",
        verbose_name=pgettext_lazy("singular", "店铺"),
    )
    kind = models.CharField(_("方式"), max_length=16, choices=Kind.choices)
    outcome = models.CharField(_("结果"), max_length=16, choices=Outcome.choices)
    started_at = models.DateTimeField(_("开始时间"))
    finished_at = models.DateTimeField(_("结束时间"))
    windows = models.PositiveIntegerField(_("时间窗"), default=0)
    received = models.PositiveIntegerField(_("收到订单"), default=0)
    created = models.PositiveIntegerField(_("新建"), default=0)
    updated = models.PositiveIntegerField(_("更新"), default=0)
    rejected = models.PositiveIntegerField(_("拒收"), default=0)
    error_kind = models.CharField(_("错误类型"), max_length=32, blank=True)
    error = models.TextField(_("错误详情"), blank=True)
    actor = models.CharField(_("操作者"), max_length=128, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "同步记录")
        verbose_name_plural = _("同步记录")
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["shop", "started_at"], name="syncrun_shop_started")]
