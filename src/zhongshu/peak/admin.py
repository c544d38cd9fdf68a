"""The console's pages of peak protection: 降级开关 (switches with state, reason, since and the manual
override), 降级策略 (the marks and the current decision) and 促销窗口 (planned promotions)."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from zhongshu.core.models import DegradeSwitch
from zhongshu.peak import services
from zhongshu.peak.models import DegradePolicy, PromotionWindow
from zhongshu.peak.switches import SWITCHES

Mode = DegradeSwitch.Override


@admin.register(DegradeSwitch)
class DegradeSwitchAdmin(ModelAdmin):
    list_display = ("switch_label", "state", "override", "reason", "since")
    list_filter = ("enabled", "override")
    readonly_fields = ("name", "enabled", "override", "reason", "since")
    actions = ["force_on", "force_off", "back_to_auto"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(name__in=SWITCHES)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        for name in SWITCHES:  # every registered switch is listed, even before the first check
            DegradeSwitch.objects.get_or_create(name=name)
        p = services.policy()
        if p.degraded:
            self.message_user(request, _("系统降级中：%(reason)s") % {"reason": p.reason}, messages.WARNING)
        return super().changelist_view(request, extra_context)

    @display(description=_("开关"), ordering="name")
    def switch_label(self, obj: DegradeSwitch) -> str:
        return str(SWITCHES.get(obj.name, obj.name))

    @display(description=_("状态"), label={_("开启"): "success", _("已关闭"): "danger"})
    def state(self, obj: DegradeSwitch) -> str:
        return _("开启") if obj.enabled else _("已关闭")

    def _override(self, request, queryset, mode: str) -> None:
        for sw in queryset:
            services.set_override(sw.name, mode, request.user.get_username())
        self.message_user(request, _("已更新 %(n)d 个开关") % {"n": queryset.count()}, messages.SUCCESS)

    @action(description=_("强制开启"))
    def force_on(self, request, queryset):
        self._override(request, queryset, Mode.ON)

    @action(description=_("强制关闭"))
    def force_off(self, request, queryset):
        self._override(request, queryset, Mode.OFF)

    @action(description=_("恢复自动"))
    def back_to_auto(self, request, queryset):
        self._override(request, queryset, Mode.AUTO)


@admin.register(DegradePolicy)
class DegradePolicyAdmin(ModelAdmin):
    list_display = ("__str__", "degraded", "reason", "since", "checked_at", "measured")
    readonly_fields = (
        "degraded",
        "over_count",
        "under_count",
        "reason",
        "since",
        "checked_at",
        "measured",
    )
    fieldsets = (
        (_("阈值"), {"fields": ("backlog_high", "backlog_low", "p95_high_ms", "p95_low_ms", "load_high", "load_low")}),
        (_("迟滞"), {"fields": ("off_after", "on_after", "promotion_factor")}),
        (_("当前状态"), {"fields": readonly_fields}),
    )  # fmt: skip

    @display(description=_("最近测量值"))
    def measured(self, obj: DegradePolicy) -> str:
        return services.measured(obj.last_values) or "-"

    def save_model(self, request, obj, form, change):
        services.save_policy(obj, list(form.changed_data), request.user.get_username())

    def has_add_permission(self, request):
        return not DegradePolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        services.policy()
        return super().changelist_view(request, extra_context)


@admin.register(PromotionWindow)
class PromotionWindowAdmin(ModelAdmin):
    list_display = ("name", "starts_at", "ends_at", "state", "started_at", "ended_at")
    list_filter = ("state",)
    readonly_fields = ("state", "started_at", "ended_at")
    fields = ("name", "starts_at", "ends_at", "state", "started_at", "ended_at")

    def has_delete_permission(self, request, obj=None):
        # a running window ends by itself (or by moving its end): deleting it would leave peak mode on
        return obj is None or obj.state != PromotionWindow.State.RUNNING
