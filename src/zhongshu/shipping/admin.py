"""Admin out the door: the shops' waybill accounts and the platforms' carrier codes are data the
merchant edits; waybills are written by the shipping services; the ship confirmations are the visible
"发货回传失败" queue with a retry action."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from zhongshu.core.admin import ReadOnlyAdminMixin
from zhongshu.fulfilment.admin import local_time
from zhongshu.shipping.models import CarrierCode, ShipConfirmation, Waybill, WaybillAccount
from zhongshu.shipping.tasks import confirm_shipment_task

CONFIRM_COLOURS = {
    ShipConfirmation.Status.PENDING: "info",
    ShipConfirmation.Status.CONFIRMED: "success",
    ShipConfirmation.Status.FAILED: "danger",
    ShipConfirmation.Status.NOT_NEEDED: "default",
}


@admin.register(WaybillAccount)
class WaybillAccountAdmin(ModelAdmin):
    list_display = ("shop", "carrier", "provider", "branch_code", "sender_name", "default", "active")
    list_filter = ("carrier", "provider", "active")
    list_select_related = ("shop",)
    fieldsets = (
        (None, {"fields": (("shop", "carrier", "provider"), ("default", "active"))}),
        (_("账号"), {"fields": (("branch_code", "customer_code"), "template_url", ("partner_id", "check_word"))}),
        (_("寄件人（打印在面单上）"), {"fields": (("sender_name", "sender_phone"),
                                              ("sender_province", "sender_city", "sender_district"),
                                              "sender_address")}),
    )  # fmt: skip


@admin.register(CarrierCode)
class CarrierCodeAdmin(ModelAdmin):
    list_display = ("platform", "carrier", "code", "name", "source")
    list_filter = ("platform", "carrier")
    search_fields = ("code", "name")


@admin.register(Waybill)
class WaybillAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = (
        "waybill_no",
        "carrier",
        "provider",
        "package_link",
        "status",
        "sort_code",
        "created_local",
    )
    list_filter = ("status", "carrier", "provider")
    search_fields = ("=waybill_no", "=package__id")
    search_help_text = _("按运单号或包裹号搜索")
    list_select_related = ("package",)
    show_full_result_count = False
    exclude = ("print_data",)

    @display(description=_("包裹"), ordering="package_id")
    def package_link(self, obj: Waybill) -> str:
        return str(obj.package)

    @display(description=_("取号时间"), ordering="created_at")
    def created_local(self, obj: Waybill) -> str:
        return local_time(obj.created_at)


@admin.register(ShipConfirmation)
class ShipConfirmationAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = (
        "order",
        "waybill",
        "carrier_code",
        "status_display",
        "attempts",
        "last_error",
        "updated_local",
    )
    list_filter = ("status",)
    search_fields = ("=order__channel_order_id", "=waybill__waybill_no")
    search_help_text = _("按平台订单号或运单号搜索")
    list_select_related = ("order__shop", "waybill")
    show_full_result_count = False
    actions = ("retry",)

    @display(description=_("状态"), ordering="status", label=CONFIRM_COLOURS)
    def status_display(self, obj: ShipConfirmation):
        return obj.status, obj.get_status_display()

    @display(description=_("更新时间"), ordering="updated_at")
    def updated_local(self, obj: ShipConfirmation) -> str:
        return local_time(obj.updated_at)

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("shipping.change_shipconfirmation")

    @action(description=_("重新回传"), permissions=["retry"])
    def retry(self, request, queryset):
        rows = list(
            queryset.filter(status__in=(ShipConfirmation.Status.FAILED, ShipConfirmation.Status.PENDING))
        )
        for row in rows:
            confirm_shipment_task(row.pk)
        self.message_user(
            request,
            _("已重新回传 %(n)d 条") % {"n": len(rows)},
            messages.SUCCESS,
        )


from zhongshu.shipping import followup_admin  # noqa: E402,F401  (tracking, notices; the order page sections)
