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


class Breaker(models.Model):
    """The sync circuit breaker of one shop, or of all shops (`shop` empty, scope GLOBAL) (R-PEAK3).

    Closed: orders are taken in as usual. Open: the new-order sync delay stayed above the threshold
    for the sustain period; incoming orders are held (HeldOrder) without further processing.
    Draining: the delay is back below the threshold; held orders are taken in in platform-timestamp
    order at `drain_per_minute`, then the breaker closes. See channels/breaker.py.
    """

    GLOBAL = "*"

    class State(models.TextChoices):
        CLOSED = "closed", _("正常")
        OPEN = "open", _("已熔断")
        DRAINING = "draining", _("恢复中")

    scope = models.CharField(_("范围"), max_length=64, unique=True)  # the shop's code, or "*" for all
    shop = models.OneToOneField(
        Shop,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="breaker",
        verbose_name=pgettext_lazy("singular", "店铺"),
    )
    state = models.CharField(_("状态"), max_length=8, choices=State.choices, default=State.CLOSED)
    threshold_seconds = models.PositiveIntegerField(
        _("熔断阈值(秒)"), default=900, help_text=_("新订单同步延迟超过此值开始计时")
    )
    sustain_seconds = models.PositiveIntegerField(
        _("持续时间(秒)"), default=300, help_text=_("延迟持续超过阈值这么久后熔断")
    )
    drain_per_minute = models.PositiveIntegerField(
        _("补处理速率(单/分钟)"), default=600, help_text=_("恢复后每分钟补处理的订单数")
    )
    manual = models.BooleanField(_("手动熔断"), default=False, help_text=_("手动熔断的需手动恢复"))
    delay_seconds = models.PositiveIntegerField(_("当前延迟(秒)"), null=True, blank=True)
    observed_delay_seconds = models.PositiveIntegerField(null=True, blank=True)  # of the last orders taken
    observed_at = models.DateTimeField(null=True, blank=True)
    above_since = models.DateTimeField(_("超阈值起始"), null=True, blank=True)
    opened_at = models.DateTimeField(_("熔断时间"), null=True, blank=True)
    recovering_at = models.DateTimeField(_("开始恢复"), null=True, blank=True)
    closed_at = models.DateTimeField(_("恢复时间"), null=True, blank=True)
    last_drain_at = models.DateTimeField(null=True, blank=True)
    evaluated_at = models.DateTimeField(_("最近评估"), null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "熔断状态")
        verbose_name_plural = _("熔断状态")

    def __str__(self) -> str:
        return str(_("全部店铺")) if self.scope == self.GLOBAL else self.scope


class HeldOrder(models.Model):
    """An order (one platform version of it) received while a breaker was open, kept encrypted until
    the breaker drains; taken in in (platform_ts, id) order. A re-read of the same version is ignored."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, verbose_name=pgettext_lazy("singular", "店铺"))
    channel_order_id = models.CharField(_("平台订单号"), max_length=64)
    platform_ts = models.DateTimeField(_("平台时间"))
    payload_enc = models.TextField()  # Fernet(OrderIn JSON)
    held_at = models.DateTimeField(_("暂存时间"), auto_now_add=True)
    released_at = models.DateTimeField(_("补处理时间"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "暂存订单")
        verbose_name_plural = _("暂存订单")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "channel_order_id", "platform_ts"], name="one_held_order_version"
            )
        ]
        indexes = [
            models.Index(
                fields=["platform_ts", "id"],
                name="heldorder_pending",
                condition=models.Q(released_at__isnull=True),
            )
        ]
