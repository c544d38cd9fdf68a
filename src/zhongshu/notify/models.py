"""Alert rules, their state per subject, the alert history and where notices go (channels)."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from zhongshu.core import crypto


class ChannelKind(models.TextChoices):
    DINGTALK = "dingtalk", _("钉钉机器人")
    WECOM = "wecom", _("企业微信群机器人")
    FEISHU = "feishu", _("飞书机器人")
    EMAIL = "email", _("电子邮件")


class Channel(models.Model):
    """One place alert notices go: a group robot or a list of e-mail addresses."""

    name = models.CharField(_("名称"), max_length=64, unique=True)
    kind = models.CharField(_("类型"), max_length=16, choices=ChannelKind.choices)
    base_url = models.URLField(
        _("接口地址"), blank=True, help_text=_("留空使用平台正式地址（测试或压测沙箱时填写）")
    )
    token_enc = models.TextField(blank=True)  # DingTalk access_token, WeCom key, Feishu hook token
    secret_enc = models.TextField(blank=True)  # DingTalk / Feishu signing secret
    at_mobiles = models.CharField(
        _("@手机号"), max_length=256, blank=True, help_text=_("钉钉：被 @ 的手机号，逗号分隔")
    )
    recipients = models.CharField(_("收件人"), max_length=512, blank=True, help_text=_("邮件：逗号分隔"))
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "通知渠道")
        verbose_name_plural = _("通知渠道")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name}（{self.get_kind_display()}）"

    token = property(
        lambda s: crypto.decrypt(s.token_enc), lambda s, v: setattr(s, "token_enc", crypto.encrypt(v))
    )
    secret = property(
        lambda s: crypto.decrypt(s.secret_enc), lambda s, v: setattr(s, "secret_enc", crypto.encrypt(v))
    )


class Metric(models.TextChoices):
    PENDING_ORDERS = "pending_orders", _("待发货订单数（已付款未发货）")
    RETURN_RATE_RISE = "return_rate_rise", _("退货率较7日基线上升(%)")
    SYNC_LAG = "sync_lag_minutes", _("店铺同步延迟(分钟)")
    QUEUE_BACKLOG = "queue_backlog", _("后台队列积压(任务数)")
    SHIP_CONFIRM_FAILURES = "ship_confirm_failures", _("发货回传失败数")


class Comparison(models.TextChoices):
    GT = "gt", ">"
    GTE = "gte", "≥"
    LT = "lt", "<"
    LTE = "lte", "≤"


class AlertRule(models.Model):
    """When a metric crosses a threshold, tell the channels; again after the cooldown; and when it recovers."""

    name = models.CharField(_("名称"), max_length=128, unique=True)
    metric = models.CharField(_("指标"), max_length=32, choices=Metric.choices)
    comparison = models.CharField(_("比较"), max_length=4, choices=Comparison.choices, default=Comparison.GT)
    threshold = models.DecimalField(_("阈值"), max_digits=12, decimal_places=2)
    # R-PEAK: while a promotion window runs (zhongshu.peak), this tighter threshold applies instead
    peak_threshold = models.DecimalField(
        _("大促阈值"), max_digits=12, decimal_places=2, null=True, blank=True,
        help_text=_("大促期间（促销窗口内）使用的更严格阈值；留空则大促期间也用普通阈值"),
    )  # fmt: skip
    window_minutes = models.PositiveIntegerField(
        _("统计窗口(分钟)"),
        default=60,
        help_text=_(
            "退货率：近 N 分钟与之前7日对比（默认1440=24小时）；发货回传失败：近 N 分钟内的次数；其他指标不用"
        ),
    )
    cooldown_minutes = models.PositiveIntegerField(
        _("冷却时间(分钟)"), default=30, help_text=_("持续告警时，相隔至少这么久才再次提醒")
    )
    channels = models.ManyToManyField(Channel, blank=True, verbose_name=_("通知渠道"))
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "告警规则")
        verbose_name_plural = _("告警规则")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def current_threshold(self):
        """The peak threshold while a promotion window runs (when one is set), else the threshold."""
        from zhongshu.core import degrade

        if self.peak_threshold is not None and degrade.promotion_on():
            return self.peak_threshold
        return self.threshold


class AlertState(models.Model):
    """Where one rule stands for one subject (a shop for per-shop metrics, "" otherwise)."""

    rule = models.ForeignKey(
        AlertRule, on_delete=models.CASCADE, related_name="states", verbose_name=_("规则")
    )
    subject = models.CharField(_("对象"), max_length=64, blank=True)
    firing = models.BooleanField(_("告警中"), default=False)
    value = models.DecimalField(_("当前值"), max_digits=14, decimal_places=2, null=True, blank=True)
    since = models.DateTimeField(_("开始时间"), null=True, blank=True)
    last_sent_at = models.DateTimeField(_("最近通知"), null=True, blank=True)
    evaluated_at = models.DateTimeField(_("最近评估"), null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "告警状态")
        verbose_name_plural = _("告警状态")
        constraints = [models.UniqueConstraint(fields=["rule", "subject"], name="one_state_per_rule_subject")]

    def __str__(self) -> str:
        return f"{self.rule}{' · ' + self.subject if self.subject else ''}"


class AlertEvent(models.Model):
    """One notice in the alert history: fired, still firing (reminder), resolved, or a channel test."""

    class Kind(models.TextChoices):
        FIRING = "firing", _("告警")
        REMINDER = "reminder", _("持续告警")
        RESOLVED = "resolved", _("已恢复")
        TEST = "test", _("测试消息")

    rule = models.ForeignKey(
        AlertRule,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("规则"),
    )
    subject = models.CharField(_("对象"), max_length=64, blank=True)
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    value = models.DecimalField(_("数值"), max_digits=14, decimal_places=2, null=True, blank=True)
    threshold = models.DecimalField(_("阈值"), max_digits=12, decimal_places=2, null=True, blank=True)
    title = models.CharField(_("标题"), max_length=200)
    text = models.TextField(_("内容"))
    created_at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "告警记录")
        verbose_name_plural = _("告警记录")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title


class Delivery(models.Model):
    """One event sent to one channel: pending until the background task has sent it or given up."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败")

    event = models.ForeignKey(
        AlertEvent, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("告警记录")
    )
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, verbose_name=_("通知渠道"))
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    error = models.TextField(_("错误"), blank=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "发送记录")
        verbose_name_plural = _("发送记录")

    def __str__(self) -> str:
        return f"{self.channel} · {self.get_status_display()}"
