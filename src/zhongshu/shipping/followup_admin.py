"""Console after the ship: the tracking and notice settings (secrets write-only), the notice templates,
the notice delivery log, the Kuaidi100 subscriptions; and, on the order page, the tracking timeline
and the notices as read-only sections (hooked onto the order admin, which stays as it is)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminPasswordWidget

from zhongshu.core.admin import ReadOnlyAdminMixin
from zhongshu.fulfilment.admin import local_time
from zhongshu.orders.admin import ReadOnlyInline
from zhongshu.orders.models import Order
from zhongshu.shipping import notices, tracking
from zhongshu.shipping.models import (
    AfterShipSettings,
    Notice,
    NoticeTemplate,
    TrackingEvent,
    TrackingSubscription,
)


def _secret(label, help_text):
    return forms.CharField(
        label=label, required=False, strip=True, help_text=help_text,
        widget=UnfoldAdminPasswordWidget(render_value=False),
    )  # fmt: skip


def _https_first(field, **kwargs):
    if isinstance(field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return field.formfield(**kwargs)


class AfterShipSettingsForm(forms.ModelForm):
    """Secrets are write-only: an empty field keeps the stored value."""

    new_kuaidi100_key = _secret(
        _("快递100授权 key"), _("留空则保留已保存的值；未保存时使用环境变量 ZHONGSHU_KUAIDI100_KEY")
    )
    new_kuaidi100_salt = _secret(
        _("快递100签名 salt"),
        _("推送签名 MD5(param+salt) 用；留空则保留；未保存时使用 ZHONGSHU_KUAIDI100_SALT"),
    )
    new_aliyun_secret = _secret(
        _("阿里云 AccessKey Secret"), _("留空则保留；未保存时使用 ZHONGSHU_ALIYUN_SMS_ACCESS_KEY_SECRET")
    )

    class Meta:
        model = AfterShipSettings
        formfield_callback = _https_first
        fields = ("kuaidi100_url", "complete_after_days", "sms_enabled", "aliyun_access_key_id",
                  "aliyun_sign_name", "aliyun_sms_url", "kuaishou_sms_sign_id")  # fmt: skip

    def save(self, commit=True):
        obj = super().save(commit=False)
        for field, attr in (("new_kuaidi100_key", "kuaidi100_key"), ("new_kuaidi100_salt", "kuaidi100_salt"),
                            ("new_aliyun_secret", "aliyun_secret")):  # fmt: skip
            if self.cleaned_data.get(field):
                setattr(obj, attr, self.cleaned_data[field])
        if commit:
            obj.save()
        return obj


@admin.register(AfterShipSettings)
class AfterShipSettingsAdmin(ModelAdmin):
    form = AfterShipSettingsForm
    list_display = ("__str__", "key_set", "salt_set", "complete_after_days", "sms_enabled", "updated_at")
    fieldsets = (
        (_("物流跟踪（快递100）"), {"fields": ("new_kuaidi100_key", "new_kuaidi100_salt", "kuaidi100_url",
                                          "complete_after_days")}),
        (_("短信通知（阿里云）"), {"fields": ("sms_enabled", "aliyun_access_key_id", "new_aliyun_secret",
                                          "aliyun_sign_name", "aliyun_sms_url")}),
        (_("平台买家消息"), {"fields": ("kuaishou_sms_sign_id",),
                           "description": _("平台订单的手机号为加密或虚拟号，只能经平台发送；目前可接入快手物流短信")}),
    )  # fmt: skip

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.URLField):
            kwargs.setdefault("assume_scheme", "https")
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @display(description=_("key 已设置"), boolean=True)
    def key_set(self, obj) -> bool:
        return bool(tracking.kuaidi100_credentials(obj)[0])

    @display(description=_("salt 已设置"), boolean=True)
    def salt_set(self, obj) -> bool:
        return bool(tracking.kuaidi100_credentials(obj)[1])

    def has_add_permission(self, request) -> bool:
        return super().has_add_permission(request) and not AfterShipSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class NoticeTemplateForm(forms.ModelForm):
    class Meta:
        model = NoticeTemplate
        fields = ("kind", "text", "sms_template_code", "kuaishou_template_id", "active")

    def clean_text(self):
        text = self.cleaned_data["text"]
        try:
            notices.check_template(text)
        except notices.TemplateInvalid as exc:
            raise ValidationError(str(exc)) from None
        return text


@admin.register(NoticeTemplate)
class NoticeTemplateAdmin(ModelAdmin):
    form = NoticeTemplateForm
    list_display = ("kind", "text", "sms_template_code", "kuaishou_template_id", "active", "updated_at")


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("order", "kind", "channel", "status", "phone_masked", "reason", "created")
    list_filter = ("status", "kind", "channel")
    list_select_related = ("order__shop",)
    search_fields = ("order__channel_order_id", "reference")
    fields = ("order", "kind", "reference", "channel", "template_code", "text", "phone_masked", "status",
              "reason", "answer", "attempts", "created_at", "sent_at")  # fmt: skip
    readonly_fields = fields

    @display(description=_("创建时间"), ordering="created_at")
    def created(self, obj: Notice) -> str:
        return local_time(obj.created_at)


@admin.register(TrackingSubscription)
class TrackingSubscriptionAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("waybill", "company", "status", "last_state", "last_message", "attempts", "last_error")
    list_filter = ("status",)
    list_select_related = ("waybill",)
    search_fields = ("waybill__waybill_no",)
    actions = ["resubscribe"]

    @action(description=_("重新订阅"), permissions=["view"])
    def resubscribe(self, request, queryset):
        done = 0
        for sub in queryset.exclude(status__in=[TrackingSubscription.Status.SUBSCRIBED,
                                                TrackingSubscription.Status.SIGNED]):  # fmt: skip
            try:
                if tracking.subscribe(sub.waybill_id).status == TrackingSubscription.Status.SUBSCRIBED:
                    done += 1
            except Exception as exc:  # noqa: BLE001 - shown to the person, recorded on the row
                messages.error(request, f"{sub.waybill}: {type(exc).__name__}")
        messages.info(request, _("已重新订阅 %(n)d 个运单") % {"n": done})


# --- on the order page --------------------------------------------------------------------------------


class TrackingEventInline(ReadOnlyInline):
    model = TrackingEvent
    verbose_name_plural = _("物流轨迹")
    fields = ("at_local", "place", "text", "waybill")
    readonly_fields = fields
    ordering = ("-at", "-id")

    @display(description=_("时间"))
    def at_local(self, obj: TrackingEvent) -> str:
        return local_time(obj.at)


class NoticeInline(ReadOnlyInline):
    model = Notice
    verbose_name_plural = _("客户通知")
    fields = ("kind", "channel", "status", "phone_masked", "reason", "created")
    readonly_fields = fields

    @display(description=_("时间"))
    def created(self, obj: Notice) -> str:
        return local_time(obj.created_at)


def hook_order_admin(site=admin.site) -> None:
    """Add the tracking timeline and the notices to the order page (once)."""
    order_admin = site._registry.get(Order)
    if order_admin is None:
        return
    extra = tuple(i for i in (TrackingEventInline, NoticeInline) if i not in order_admin.inlines)
    order_admin.inlines = (*order_admin.inlines, *extra)


hook_order_admin()
