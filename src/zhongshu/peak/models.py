"""The degradation policy (one row: its marks and its current decision) and promotion windows."""

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class DegradePolicy(models.Model):
    """When the hub sheds non-core work: off above a high mark for `off_after` consecutive checks,
    back on below every low mark for `on_after` checks (hysteresis). During a promotion window the
    marks are multiplied by `promotion_factor` (tighter: degrade earlier)."""

    backlog_high = models.PositiveIntegerField(_("积压上限（任务+未投递事件）"), default=5000)
    backlog_low = models.PositiveIntegerField(_("积压恢复线"), default=1000)
    p95_high_ms = models.PositiveIntegerField(_("接单 p95 上限（毫秒）"), default=1000)
    p95_low_ms = models.PositiveIntegerField(_("接单 p95 恢复线（毫秒）"), default=300)
    load_high = models.DecimalField(
        _("每核负载上限"), max_digits=5, decimal_places=2, default=Decimal("0.90")
    )
    load_low = models.DecimalField(
        _("每核负载恢复线"), max_digits=5, decimal_places=2, default=Decimal("0.60")
    )
    off_after = models.PositiveIntegerField(_("连续超限几次后降级"), default=3)
    on_after = models.PositiveIntegerField(_("连续回落几次后恢复"), default=5)
    promotion_factor = models.DecimalField(
        _("大促期间阈值系数"), max_digits=4, decimal_places=2, default=Decimal("0.50"),
        help_text=_("大促窗口内各上限与恢复线乘以此系数（小于 1 表示更早降级）"),
    )  # fmt: skip
    # the current decision
    degraded = models.BooleanField(_("降级中"), default=False)
    over_count = models.PositiveIntegerField(_("连续超限次数"), default=0)
    under_count = models.PositiveIntegerField(_("连续回落次数"), default=0)
    reason = models.CharField(_("原因"), max_length=300, blank=True)
    since = models.DateTimeField(_("自"), null=True, blank=True)
    checked_at = models.DateTimeField(_("最近检查"), null=True, blank=True)
    last_values = models.JSONField(_("最近测量值"), default=dict, blank=True)
    # the intake-duration histogram's cumulative buckets at the last check (p95 of what came since)
    last_buckets = models.JSONField(default=list, blank=True, editable=False)

    class Meta:
        verbose_name = pgettext_lazy("singular", "降级策略")
        verbose_name_plural = _("降级策略")

    def __str__(self) -> str:
        return str(_("降级策略"))


class PromotionWindow(models.Model):
    """A planned promotion (e.g. Double 11): from its start to its end the hub is in promotion mode —
    peak mode on (peak-only rules such as peak_manual_review run), alert rules use their peak
    thresholds, the degradation marks are tighter — then everything goes back by itself."""

    class State(models.TextChoices):
        PLANNED = "planned", _("计划中")
        RUNNING = "running", _("进行中")
        DONE = "done", _("已结束")

    name = models.CharField(_("名称"), max_length=100)
    starts_at = models.DateTimeField(_("开始时间"))
    ends_at = models.DateTimeField(_("结束时间"))
    state = models.CharField(_("状态"), max_length=8, choices=State.choices, default=State.PLANNED)
    # peak mode as it was before the window turned it on (restored at the end)
    peak_mode_before = models.BooleanField(default=False, editable=False)
    started_at = models.DateTimeField(_("实际开始"), null=True, blank=True)
    ended_at = models.DateTimeField(_("实际结束"), null=True, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "促销窗口")
        verbose_name_plural = _("促销窗口")
        ordering = ("-starts_at",)
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="promotion_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return self.name
