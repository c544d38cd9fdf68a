"""Console of the sync circuit breaker (R-PEAK3): each breaker's state, delay and held orders, the
SOP steps, and the two hand actions of the SOP (open now; start recovery = step 4)."""

from django.contrib import admin, messages
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display

from zhongshu.channels import breaker
from zhongshu.channels.models import Breaker, HeldOrder

STATE_COLOURS = {"closed": "success", "open": "danger", "draining": "warning"}
STEP_TEXT = (_("暂停自动处理"), _("通知客服"), _("人工核对"), _("恢复后按时间顺序补处理"))


def sop_steps() -> list[str]:
    return [f"{n} {text}" for n, text in enumerate(STEP_TEXT, start=1)]


@admin.register(Breaker)
class BreakerAdmin(ModelAdmin):
    list_display = ("__str__", "state_badge", "delay", "threshold_seconds", "sustain_seconds",
                    "drain_per_minute", "held", "opened_at", "closed_at", "current_step")  # fmt: skip
    list_editable = ("threshold_seconds", "sustain_seconds", "drain_per_minute")
    list_before_template = "channels/breaker_sop.html"
    fields = ("scope", "state_badge", "manual", ("threshold_seconds", "sustain_seconds", "drain_per_minute"),
              ("delay", "held"), ("above_since", "opened_at"), ("recovering_at", "closed_at"), "sop")  # fmt: skip
    readonly_fields = ("scope", "state_badge", "manual", "delay", "held", "above_since", "opened_at",
                       "recovering_at", "closed_at", "sop")  # fmt: skip
    actions = ["open_now", "recover_now"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # one per shop and one for all, made by the worker

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        breaker.ensure_rows()
        opened = [str(b) for b in Breaker.objects.exclude(state=Breaker.State.CLOSED).order_by("pk")]
        context = {"steps": sop_steps(), "open_scopes": opened, **(extra_context or {})}
        return super().changelist_view(request, extra_context=context)

    def get_changelist_instance(self, request):
        cl = super().get_changelist_instance(request)
        self._held = breaker.held_counts()
        return cl

    @display(description=_("状态"), label=STATE_COLOURS)
    def state_badge(self, obj: Breaker):
        return obj.state, obj.get_state_display()

    @display(description=_("当前延迟"))
    def delay(self, obj: Breaker) -> str:
        return "-" if obj.delay_seconds is None else _("%(s)d 秒") % {"s": obj.delay_seconds}

    @display(description=_("暂存订单"))
    def held(self, obj: Breaker) -> int:
        counts = getattr(self, "_held", None) or breaker.held_counts()
        return sum(counts.values()) if obj.scope == Breaker.GLOBAL else counts.get(obj.scope, 0)

    @display(description=_("当前步骤"))
    def current_step(self, obj: Breaker) -> str:
        if obj.state == Breaker.State.OPEN:
            return _("1–3 暂停自动处理、通知客服、人工核对")
        if obj.state == Breaker.State.DRAINING:
            return _("4 恢复后按时间顺序补处理")
        return "-"

    @display(description=_("处理步骤（SOP）"))
    def sop(self, obj: Breaker) -> str:
        return render_to_string("channels/breaker_sop.html", {"steps": sop_steps()})

    @admin.action(description=_("立即熔断"), permissions=["change"])
    def open_now(self, request, queryset) -> None:
        actor = f"admin:{request.user.get_username()}"
        done = [str(b) for b in queryset if breaker.force(b.scope, Breaker.State.OPEN, actor)]
        self.message_user(request, _("已熔断：%(s)s") % {"s": "、".join(done) or "-"}, messages.WARNING)

    @admin.action(description=_("开始恢复（按时间顺序补处理）"), permissions=["change"])
    def recover_now(self, request, queryset) -> None:
        actor = f"admin:{request.user.get_username()}"
        done = [str(b) for b in queryset if b.state == Breaker.State.OPEN
                and breaker.force(b.scope, Breaker.State.DRAINING, actor)]  # fmt: skip
        self.message_user(request, _("开始恢复：%(s)s") % {"s": "、".join(done) or "-"}, messages.SUCCESS)


@admin.register(HeldOrder)
class HeldOrderAdmin(ModelAdmin):
    """The held orders (no payload shown: it holds the receiver)."""

    list_display = (
        "shop",
        "channel_order_id",
        "platform_ts",
        "held_at",
        "released_at",
        "attempts",
        "last_error",
    )
    list_filter = ("shop", ("released_at", admin.EmptyFieldListFilter))
    search_fields = ("channel_order_id",)
    fields = ("shop", "channel_order_id", "platform_ts", "held_at", "released_at", "attempts", "last_error")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
