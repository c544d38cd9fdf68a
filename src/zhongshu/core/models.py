from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class OutboxEvent(models.Model):
    """An event written in the same transaction as the change it describes (transactional outbox)."""

    topic = models.CharField(_("主题"), max_length=64)
    key = models.CharField(
        _("顺序键"), max_length=128, help_text=_("events with the same key are delivered in order")
    )
    payload = models.JSONField(_("内容"))
    actor = models.CharField(_("操作者"), max_length=128, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("投递时间"), null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("事件")
        verbose_name_plural = _("事件发件箱")
        indexes = [models.Index(fields=["delivered_at", "id"], name="outbox_pending")]

    def __str__(self) -> str:
        return f"{self.topic}#{self.pk}"


class TimelineEntry(models.Model):
    """The audit timeline, built from outbox events by an idempotent consumer."""

    event = models.OneToOneField(
        OutboxEvent, on_delete=models.CASCADE, related_name="timeline", verbose_name=_("事件")
    )
    subject = models.CharField(_("对象"), max_length=160, db_index=True)
    kind = models.CharField(_("类型"), max_length=64)
    summary = models.CharField(_("摘要"), max_length=400)
    actor = models.CharField(_("操作者"), max_length=128, blank=True)
    at = models.DateTimeField(_("时间"))

    class Meta:
        verbose_name = pgettext_lazy("singular", "审计时间线")
        verbose_name_plural = _("审计时间线")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return self.summary[:80]


class Notification(models.Model):
    """Messages to people (operations, purchasing, the owner); delivered by notify adapters."""

    class Level(models.TextChoices):
        INFO = "info", _("信息")
        WARNING = "warning", _("警告")
        CRITICAL = "critical", _("严重")

    audience = models.CharField(_("接收方"), max_length=32, default="operations")
    level = models.CharField(_("级别"), max_length=16, choices=Level.choices, default=Level.INFO)
    code = models.CharField(_("代码"), max_length=64)
    title = models.CharField(_("标题"), max_length=200)
    body = models.TextField(_("内容"), blank=True)
    dedupe_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)
    read_at = models.DateTimeField(_("已读"), null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "通知")
        verbose_name_plural = _("通知")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class ApiToken(models.Model):
    """Bearer token for the HTTP API; only its SHA-256 is stored.

    A token acts with its user's permissions, narrowed by its scope: `read` allows only the calls that
    need a view_* permission, `intake` only order intake (orders.add_order); `full` all of the user's."""

    class Scope(models.TextChoices):
        FULL = "full", _("全部（用户的权限）")
        READ = "read", _("只读")
        INTAKE = "intake", _("仅接收订单")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="api_tokens",
        verbose_name=pgettext_lazy("singular", "用户"),
    )
    name = models.CharField(_("名称"), max_length=64, blank=True)
    prefix = models.CharField(_("前缀"), max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)
    revoked = models.BooleanField(_("已吊销"), default=False)
    scope = models.CharField(_("范围"), max_length=8, choices=Scope.choices, default=Scope.FULL)

    class Meta:
        verbose_name = pgettext_lazy("singular", "API 令牌")
        verbose_name_plural = _("API 令牌")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"


class DegradeSwitch(models.Model):
    """A switch of non-core work (R-PEAK2), read by `core.degrade.is_on`; the peak app decides it.

    `enabled` is what the work obeys: the override when one is set, otherwise the automatic decision
    of the degradation policy (off while the hub is under load). Order intake, payment confirmation,
    allocation and shipping have no switch: they never stop."""

    class Override(models.TextChoices):
        AUTO = "auto", _("自动")
        ON = "on", _("强制开启")
        OFF = "off", _("强制关闭")

    name = models.CharField(_("开关"), max_length=64, unique=True)
    enabled = models.BooleanField(_("开启"), default=True)
    override = models.CharField(_("人工干预"), max_length=8, choices=Override.choices, default=Override.AUTO)
    reason = models.CharField(_("原因"), max_length=300, blank=True)
    since = models.DateTimeField(_("自"), null=True, blank=True)

    class Meta:
        verbose_name = _("降级开关")
        verbose_name_plural = _("降级开关")
        ordering = ("name",)

    def __str__(self) -> str:
        return self.name
