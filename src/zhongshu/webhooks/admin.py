"""Console of the outgoing webhooks: subscribers (the secret is shown once, on creation), and every
delivery with its attempts; the dead letters (状态 = 死信) are replayed from there."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display

from zhongshu.webhooks import services
from zhongshu.webhooks.models import EVENT_TYPES, WebhookDelivery, WebhookEndpoint

D = WebhookDelivery.Status

EVENT_LABELS = {
    "order.allocated": _("订单已分仓锁库 order.allocated"),
    "package.packed": _("包裹已打包 package.packed"),
    "package.shipped": _("包裹已发货 package.shipped"),
    "order.delivered": _("订单已签收 order.delivered"),
    "order.cancelled": _("订单已取消 order.cancelled"),
    "stock.changed": _("库存变动 stock.changed"),
}


def _local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else "—"


def _actor(request) -> str:
    return f"admin:{request.user.get_username()}"


class EndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("推送地址"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("订阅事件"), choices=[(e, EVENT_LABELS[e]) for e in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "events", "description", "critical", "active")

    def clean_url(self):
        url = self.cleaned_data["url"]
        if self.instance.pk is None or url != self.instance.url:
            try:
                services.check_url(url)
            except services.UnsafeUrl as exc:
                raise forms.ValidationError(str(exc)) from exc
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ModelAdmin):
    form = EndpointForm
    list_display = (
        "id",
        "url",
        "events_display",
        "description",
        "active",
        "critical",
        "pending",
        "dead",
        "disabled_reason",
    )
    list_filter = ("active", "critical")
    search_fields = ("url", "description")
    readonly_fields = ("secret_prefix", "disabled_reason", "created_by", "created_at")
    actions = ["replay_dead", "enable", "disable"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_pending=Count("deliveries", filter=Q(deliveries__status=D.PENDING)),
                n_dead=Count("deliveries", filter=Q(deliveries__status=D.DEAD)),
            )
        )

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("url", "events", "description", "critical")
        return ("url", "events", "description", "critical", "active", "disabled_reason", "secret_prefix", "created_by",
                "created_at")  # fmt: skip

    @display(description=_("订阅事件"))
    def events_display(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.events)

    @display(description=_("待发送"))
    def pending(self, obj: WebhookEndpoint) -> int:
        return getattr(obj, "n_pending", 0)

    @display(description=_("死信"))
    def dead(self, obj: WebhookEndpoint) -> int:
        return getattr(obj, "n_dead", 0)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        try:
            ep, secret = services.create_endpoint(
                obj.url, form.cleaned_data["events"], obj.description, _actor(request), obj.critical
            )
        except services.WebhookError as exc:
            self.message_user(request, exc.detail, messages.ERROR)
            return
        obj.pk = ep.pk
        obj.secret_enc, obj.secret_prefix = ep.secret_enc, ep.secret_prefix
        self.message_user(
            request,
            _("签名密钥（只显示这一次，请立即保存）：{secret}").format(secret=secret),
            messages.WARNING,
        )

    @admin.action(description=_("重放死信"), permissions=["change"])
    def replay_dead(self, request, queryset) -> None:
        for ep in queryset:
            try:
                n = services.replay(ep.pk, _actor(request))
            except services.WebhookError as exc:
                self.message_user(request, exc.detail, messages.ERROR)
                continue
            self.message_user(
                request, _("{url}：已重放 {n} 条死信").format(url=ep.url, n=n), messages.SUCCESS
            )

    @admin.action(description=_("启用"), permissions=["change"])
    def enable(self, request, queryset) -> None:
        n = services.set_active([e.pk for e in queryset], True, _actor(request))
        self.message_user(request, _("已启用 {n} 个推送订阅").format(n=n), messages.SUCCESS)

    @admin.action(description=_("停用"), permissions=["change"])
    def disable(self, request, queryset) -> None:
        n = services.set_active([e.pk for e in queryset], False, _actor(request))
        self.message_user(request, _("已停用 {n} 个推送订阅").format(n=n), messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ModelAdmin):
    """Every delivery; filter 状态 = 死信 for the dead letters and replay them."""

    list_display = ("id", "endpoint", "event_type", "message_ref", "status_display", "attempts",
                    "last_status_code", "last_error", "next_local", "created_local")  # fmt: skip
    list_filter = ("status", "endpoint", "message__event_type")
    list_select_related = ("endpoint", "message")
    search_fields = ("message__message_id",)
    readonly_fields = ("endpoint", "message", "status", "attempts", "next_attempt_at", "last_attempt_at",
                       "last_status_code", "last_error", "delivered_at", "created_at", "body")  # fmt: skip
    fields = readonly_fields
    actions = ["replay"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_replay_permission(self, request) -> bool:
        return request.user.has_perm("webhooks.change_webhookendpoint")

    @display(description=_("事件"), ordering="message__event_type")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.message.event_type

    @display(description="webhook-id")
    def message_ref(self, obj: WebhookDelivery) -> str:
        return obj.message.message_id

    @display(description=_("内容"))
    def body(self, obj: WebhookDelivery) -> str:
        return obj.message.body

    @display(
        description=_("状态"),
        ordering="status",
        label={D.PENDING.label: "warning", D.DELIVERED.label: "success", D.DEAD.label: "danger"},
    )
    def status_display(self, obj: WebhookDelivery) -> str:
        return obj.get_status_display()

    @display(description=_("下次尝试"), ordering="next_attempt_at")
    def next_local(self, obj: WebhookDelivery) -> str:
        return _local(obj.next_attempt_at) if obj.status == D.PENDING else "—"

    @display(description=_("创建时间"), ordering="created_at")
    def created_local(self, obj: WebhookDelivery) -> str:
        return _local(obj.created_at)

    @admin.action(description=_("重放所选死信"), permissions=["replay"])
    def replay(self, request, queryset) -> None:
        n = 0
        for d in queryset.filter(status=D.DEAD):
            try:
                n += services.replay(d.endpoint_id, _actor(request), d.pk)
            except services.WebhookError as exc:
                self.message_user(request, exc.detail, messages.ERROR)
        self.message_user(request, _("已重放 {n} 条死信").format(n=n), messages.SUCCESS)
