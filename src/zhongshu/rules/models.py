"""Tables of the rules engine: rule sets per stage, rules, their versions, hits, and the runtime stamp."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Stage(models.TextChoices):
    REVIEW = "review", _("订单审核/拦截")
    ROUTING = "routing", _("仓库路由")
    CARRIER = "carrier", _("快递选择")
    ALERTS = "alerts", _("预警")
    DEGRADATION = "degradation", _("降级")
    MARKETING = "marketing", _("营销")


class RuleSet(models.Model):
    code = models.SlugField(_("代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=64)
    stage = models.CharField(_("阶段"), max_length=16, choices=Stage.choices, db_index=True)
    enabled = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "规则集")
        verbose_name_plural = _("规则集")
        ordering = ["stage", "code"]

    def __str__(self) -> str:
        return self.name


class Rule(models.Model):
    """One rule: a condition over the fact catalogue and the actions taken when it matches.

    Written only through rules.services.save_rule, which validates, versions and bumps the stamp."""

    rule_set = models.ForeignKey(
        RuleSet,
        on_delete=models.PROTECT,
        related_name="rules",
        verbose_name=pgettext_lazy("singular", "规则集"),
    )
    code = models.CharField(_("代码"), max_length=48, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    description = models.CharField(_("说明"), max_length=400, blank=True)
    condition = models.JSONField(_("条件"), default=dict)
    actions = models.JSONField(_("动作"), default=list)
    priority = models.IntegerField(_("优先级"), default=100, help_text=_("小的先执行"))
    enabled = models.BooleanField(_("启用"), default=True)
    dry_run = models.BooleanField(_("试运行"), default=False, help_text=_("只记录命中，不执行动作"))
    peak_only = models.BooleanField(_("仅大促模式"), default=False)
    version = models.PositiveIntegerField(_("版本"), default=0)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    updated_by = models.CharField(_("更新人"), max_length=128, blank=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "规则")
        verbose_name_plural = _("规则")
        ordering = ["rule_set", "priority", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class RuleVersion(models.Model):
    """A snapshot of a rule after a change, with the diff to the previous version (read-only)."""

    rule = models.ForeignKey(
        Rule,
        on_delete=models.CASCADE,
        related_name="versions",
        verbose_name=pgettext_lazy("singular", "规则"),
    )
    version = models.PositiveIntegerField(_("版本"))
    snapshot = models.JSONField(_("快照"))
    diff = models.JSONField(_("差异"), default=list)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    author = models.CharField(_("修改人"), max_length=128)
    created_at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "规则版本")
        verbose_name_plural = _("规则版本")
        ordering = ["rule", "-version"]
        constraints = [models.UniqueConstraint(fields=["rule", "version"], name="rule_version_unique")]

    def __str__(self) -> str:
        return f"{self.rule.code} v{self.version}"

    @property
    def diff_text(self) -> str:
        return "\n".join(f"{d['path']}: {_show(d.get('from'))} → {_show(d.get('to'))}" for d in self.diff)


def _show(value) -> str:
    return "∅" if value is None else str(value)


class RuleHit(models.Model):
    """A rule matched an order; dry_run hits only record what would have happened."""

    rule = models.ForeignKey(
        Rule, on_delete=models.CASCADE, related_name="hits", verbose_name=pgettext_lazy("singular", "规则")
    )
    rule_version = models.PositiveIntegerField(pgettext_lazy("singular", "规则版本"))
    shop_code = models.CharField(pgettext_lazy("singular", "店铺"), max_length=64)
    channel_order_id = models.CharField(_("平台订单号"), max_length=64)
    paid_amount = models.DecimalField(_("实付金额"), max_digits=14, decimal_places=2)
    dry_run = models.BooleanField(_("试运行"), default=False)
    outcome = models.CharField(_("结果"), max_length=200, blank=True)
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "规则命中")
        verbose_name_plural = _("规则命中")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["rule", "dry_run", "at"], name="rulehit_rule_at"),
            models.Index(fields=["shop_code", "channel_order_id"], name="rulehit_order"),
        ]

    def __str__(self) -> str:
        return f"{self.rule_id}@{self.shop_code}/{self.channel_order_id}"


class RuntimeState(models.Model):
    """One row: the peak-mode switch and the stamp every worker compares to reload its rule cache."""

    peak_mode = models.BooleanField(_("大促模式"), default=False)
    version = models.PositiveBigIntegerField(_("配置版本"), default=0)
    stamp = models.CharField(max_length=32, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = pgettext_lazy("singular", "规则运行状态")
        verbose_name_plural = _("规则运行状态")

    def __str__(self) -> str:
        return str(_("规则运行状态"))
