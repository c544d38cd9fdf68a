"""Console of the red alerts: channels (secrets write-only), rules, the firing alerts, the history."""

from django import forms
from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminPasswordWidget

from zhongshu.core.confirm import confirm_then
from zhongshu.notify import services
from zhongshu.notify.models import AlertEvent, AlertRule, AlertState, Channel, ChannelKind, Delivery


def _local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def _value(value) -> str:
    return "—" if value is None else services.number(value)


def _secret_field(label, help_text):
    return forms.CharField(
        label=label, required=False, strip=True, help_text=help_text,
        widget=UnfoldAdminPasswordWidget(render_value=False),
    )  # fmt: skip


class ChannelForm(forms.ModelForm):
    """The robot's token and signing secret are write-only: an empty field keeps the stored value."""

    base_url = forms.URLField(
        label=_("接口地址"), required=False, assume_scheme="https",
        help_text=_("留空使用平台正式地址（测试或压测沙箱时填写）"),
    )  # fmt: skip
    new_token = _secret_field(
        _("令牌"),
        _(
            "钉钉：Webhook 中的 access_token；企业微信：Webhook 中的 key；飞书：Webhook 最后一段。留空则保留已保存的值"
        ),
    )
    new_secret = _secret_field(_("签名密钥"), _("钉钉“加签”的 SEC… 密钥；飞书“签名校验”的密钥。留空则保留"))

    class Meta:
        model = Channel
        fields = ("name", "kind", "base_url", "at_mobiles", "recipients", "active")

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind and kind != ChannelKind.EMAIL and not (self.instance.token_enc or data.get("new_token")):
            self.add_error("new_token", _("请填写令牌"))
        if kind == ChannelKind.EMAIL and not data.get("recipients"):
            self.add_error("recipients", _("请填写收件人"))
        return data

    def save(self, commit: bool = True):
        obj = super().save(commit=False)
        if self.cleaned_data.get("new_token"):
            obj.token = self.cleaned_data["new_token"]
        if self.cleaned_data.get("new_secret"):
            obj.secret = self.cleaned_data["new_secret"]
        if commit:
            obj.save()
        return obj


@admin.register(Channel)
class ChannelAdmin(ModelAdmin):
    form = ChannelForm
    list_display = ("name", "kind", "target", "signed", "active")
    list_filter = ("kind", "active")
    actions_detail = ["send_test_detail"]
    actions = ["send_test"]

    @display(description=_("目标"))
    def target(self, obj: Channel) -> str:
        return obj.recipients if obj.kind == ChannelKind.EMAIL else (obj.base_url or _("正式地址"))

    @display(description=_("已设签名密钥"), boolean=True)
    def signed(self, obj: Channel) -> bool:
        return bool(obj.secret_enc)

    def _test(self, request, channel: Channel) -> None:
        ok, outcome = services.send_test(channel.name)
        level = messages.SUCCESS if ok else messages.ERROR
        word = _("测试消息已发送") if ok else _("测试消息发送失败")
        self.message_user(request, f"{channel.name}：{word}（{outcome}）", level)

    @admin.action(description=_("发送测试消息"), permissions=["change"])
    def send_test(self, request, queryset) -> None:
        for channel in queryset:
            self._test(request, channel)

    @action(description=_("发送测试消息"), permissions=["change"])
    def send_test_detail(self, request, object_id):
        channel = get_object_or_404(Channel, pk=object_id)
        back = reverse("admin:notify_channel_change", args=[object_id])

        def run():
            self._test(request, channel)
            return redirect(back)

        return confirm_then(
            self, request, title=_("发送测试消息"), button=_("发送测试消息"), back=back, run=run,
            question=_("向通知渠道 %(name)s 发送一条测试消息？") % {"name": channel.name},
        )  # fmt: skip


@admin.register(AlertRule)
class AlertRuleAdmin(ModelAdmin):
    list_display = ("name", "metric", "condition", "cooldown_minutes", "state", "active")
    list_filter = ("metric", "active")
    list_editable = ("active",)
    filter_horizontal = ("channels",)
    fieldsets = (
        (None, {"fields": ("name", "active")}),
        (_("条件"), {"fields": ("metric", "comparison", "threshold", "peak_threshold", "window_minutes")}),
        (_("通知"), {"fields": ("cooldown_minutes", "channels")}),
    )

    def get_form(self, request, obj=None, **kwargs):
        kwargs.setdefault("help_texts", {})["metric"] = _(
            "退货率：售后模块上线前，以“付款后取消（退款）”的订单作为退货的替代口径：窗口内付款后取消的订单数 ÷ "
            "窗口内付款订单数，与此前7日同口径比较，按基线的百分比计算上升幅度。"
            "店铺同步延迟：距最近一次成功拉单的分钟数，每个店铺单独告警。"
        )
        return super().get_form(request, obj, **kwargs)

    @display(description=_("条件"))
    def condition(self, obj: AlertRule) -> str:
        return f"{obj.get_comparison_display()} {obj.threshold.normalize():f}"

    @display(description=_("状态"), label={_("告警中"): "danger", _("正常"): "success"})
    def state(self, obj: AlertRule) -> str:
        return _("告警中") if obj.states.filter(firing=True).exists() else _("正常")


@admin.register(AlertState)
class AlertStateAdmin(ModelAdmin):
    """The alerts now firing (the bell in the header links here) and the last value of every rule."""

    list_display = (
        "rule",
        "subject_display",
        "firing_display",
        "value_display",
        "since_local",
        "last_sent_local",
        "evaluated_local",
    )
    list_filter = ("firing",)
    readonly_fields = ("rule", "subject", "firing", "value", "since", "last_sent_at", "evaluated_at")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @display(description=_("对象"), ordering="subject")
    def subject_display(self, obj: AlertState) -> str:
        return obj.subject or _("全部")

    @display(description=_("当前值"), ordering="value")
    def value_display(self, obj: AlertState) -> str:
        return _value(obj.value)

    @display(description=_("状态"), label={_("告警中"): "danger", _("正常"): "success"})
    def firing_display(self, obj: AlertState) -> str:
        return _("告警中") if obj.firing else _("正常")

    @display(description=_("开始时间"), ordering="since")
    def since_local(self, obj: AlertState) -> str:
        return _local(obj.since) if obj.firing else "—"

    @display(description=_("最近通知"), ordering="last_sent_at")
    def last_sent_local(self, obj: AlertState) -> str:
        return _local(obj.last_sent_at)

    @display(description=_("最近评估"), ordering="evaluated_at")
    def evaluated_local(self, obj: AlertState) -> str:
        return _local(obj.evaluated_at)


class DeliveryInline(TabularInline):
    model = Delivery
    extra = 0
    fields = ("channel", "status", "attempts", "sent_at", "error")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AlertEvent)
class AlertEventAdmin(ModelAdmin):
    """The alert history: every notice, with what each channel answered."""

    list_display = (
        "created_local",
        "kind_display",
        "title",
        "subject_display",
        "value_display",
        "deliveries_display",
    )
    list_filter = ("kind", "rule", "deliveries__status")
    search_fields = ("title", "subject")
    search_help_text = _("按标题或店铺搜索")
    date_hierarchy = "created_at"
    fields = ("created_at", "kind", "rule", "subject", "value", "threshold", "title", "text")
    readonly_fields = fields
    inlines = [DeliveryInline]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("deliveries__channel").distinct()

    @display(description=_("时间"), ordering="created_at")
    def created_local(self, obj: AlertEvent) -> str:
        return _local(obj.created_at)

    @display(
        description=_("类型"),
        ordering="kind",
        label={"firing": "danger", "reminder": "warning", "resolved": "success", "test": "info"},
    )
    def kind_display(self, obj: AlertEvent):
        return obj.kind, obj.get_kind_display()

    @display(description=_("对象"), ordering="subject")
    def subject_display(self, obj: AlertEvent) -> str:
        return obj.subject or ("—" if obj.kind == AlertEvent.Kind.TEST else _("全部"))

    @display(description=_("数值"), ordering="value")
    def value_display(self, obj: AlertEvent) -> str:
        return _value(obj.value)

    @display(description=_("发送结果"))
    def deliveries_display(self, obj: AlertEvent) -> str:
        done = "；".join(f"{d.channel.name}：{d.get_status_display()}" for d in obj.deliveries.all())
        return done or _("未配置通知渠道")
