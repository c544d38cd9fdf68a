"""Admin of orders = the order workbench (订单工作台). The form is read-only: orders change only through
the use cases (intake, the state machine, the workbench's actions in workbench_admin.py); here people
find orders (orders/workbench.py: any id, receiver phone or its last 4 digits, receiver name, buyer
nickname, SKU or barcode), filter them, look at them with the receiver's personal data masked, their
lines, holds, transitions, packages and the audit timeline, and act on them. The clear receiver is
shown on request to orders.reveal_receiver and exported to orders.export_receiver, both audited
(orders/receiver.py)."""

import tempfile

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline
from unfold.datasets import BaseDataset
from unfold.decorators import action, display
from unfold.utils import display_for_label

from zhongshu.core.admin import ReadOnlyAdminMixin
from zhongshu.core.models import TimelineEntry
from zhongshu.core.pii import scrub
from zhongshu.core.roles import EXPORT_RECEIVER, REVEAL_RECEIVER
from zhongshu.orders import labels, receiver, workbench
from zhongshu.orders.export import write_xlsx
from zhongshu.orders.models import Order, OrderHold, OrderLine, OrderTransition
from zhongshu.orders.states import OrderStatus
from zhongshu.orders.stocktake_admin import StockLevelAdmin  # noqa: F401  (registers the stock admin)
from zhongshu.orders.workbench_admin import (
    CarrierFilter,
    FlagFilter,
    HoldReasonFilter,
    PaidDateFilter,
    TagFilter,
    WorkbenchActions,
)

S = OrderStatus
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

STATUS_COLOURS = {
    S.PENDING_PAYMENT: "default",
    S.PAID: "info",
    S.ON_HOLD: "danger",
    S.ALLOCATED: "primary",
    S.BACKORDERED: "warning",
    S.PICKING: "primary",
    S.PACKED: "primary",
    S.SHIPPED: "success",
    S.DELIVERED: "success",
    S.COMPLETED: "success",
    S.CANCELLED: "default",
}


def local_time(value) -> str:
    """A stored (UTC) time as Asia/Shanghai wall-clock text (TIME_ZONE)."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def status_label(value: str) -> str:
    return labels.status_label(value) if value else str(_("新建"))


def age(since) -> str:
    """How long ago, in the largest units a person needs: 3天4小时, 2小时15分, 8分钟."""
    if not since:
        return "-"
    minutes = max(int((timezone.now() - since).total_seconds() // 60), 0)
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    if days:
        return _("%(d)d天%(h)d小时") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d小时%(m)d分") % {"h": hours, "m": mins}
    return _("%(m)d分钟") % {"m": mins}


OPEN = {S.PENDING_PAYMENT, S.PAID, S.ON_HOLD, S.ALLOCATED, S.BACKORDERED, S.PICKING, S.PACKED}


class ReadOnlyInline(TabularInline):
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    hide_title = True  # no "OrderLine object (1)" above each row

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        # whoever may see the order sees its parts
        return request.user.has_perm("orders.view_order")


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ("sku", "title", "quantity", "unit_price", "promo_price", "paid_amount")
    readonly_fields = fields


class OrderHoldInline(ReadOnlyInline):
    model = OrderHold
    fields = ("code_label", "reason", "created", "released", "released_by")
    readonly_fields = fields

    @display(description=_("挂起原因"))
    def code_label(self, obj: OrderHold) -> str:
        return labels.hold_label(obj.code)

    @display(description=_("时间"))
    def created(self, obj: OrderHold) -> str:
        return local_time(obj.created_at)

    @display(description=_("解除时间"))
    def released(self, obj: OrderHold) -> str:
        return local_time(obj.released_at)


class OrderTransitionInline(ReadOnlyInline):
    model = OrderTransition
    fields = ("at_local", "from_display", "to_display", "actor_display", "reason_display")
    readonly_fields = fields

    @display(description=_("操作者"))
    def actor_display(self, obj: OrderTransition) -> str:
        return labels.actor_label(obj.actor)

    @display(description=_("原因"))
    def reason_display(self, obj: OrderTransition) -> str:
        return labels.humanize(obj.reason) or "-"

    @display(description=_("时间"))
    def at_local(self, obj: OrderTransition) -> str:
        return local_time(obj.at)

    @display(description=_("原状态"))
    def from_display(self, obj: OrderTransition) -> str:
        return status_label(obj.from_status)

    @display(description=_("新状态"))
    def to_display(self, obj: OrderTransition) -> str:
        return status_label(obj.to_status)


class OrderTimelineAdmin(ReadOnlyAdminMixin, ModelAdmin):
    """The audit timeline of one order (subject "order:<pk>"), shown under the order."""

    list_display = ("at_local", "kind_label", "summary_text", "actor_label")
    list_display_links = None
    list_per_page = 20
    actions = None

    @display(description=_("时间"), ordering="at")
    def at_local(self, obj: TimelineEntry) -> str:
        return local_time(obj.at)

    @display(description=_("类型"))
    def kind_label(self, obj: TimelineEntry) -> str:
        return labels.topic_label(obj.kind)

    @display(description=_("摘要"))
    def summary_text(self, obj: TimelineEntry) -> str:
        return labels.humanize(obj.summary)

    @display(description=_("操作者"))
    def actor_label(self, obj: TimelineEntry) -> str:
        return labels.actor_label(obj.actor)

    def get_queryset(self, request):
        return super().get_queryset(request).filter(subject=f"order:{self.extra_context['object']}")


class OrderTimelineDataset(BaseDataset):
    model = TimelineEntry
    model_admin = OrderTimelineAdmin
    title = _("审计时间线")


@admin.register(Order)
class OrderAdmin(WorkbenchActions, ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("channel_order_id", "shop_name", "buyer", "items", "paid_amount", "status_display",
                    "warehouse_name", "placed_local", "age_display")  # fmt: skip
    list_display_links = ("channel_order_id",)
    list_filter = ("status", "shop__platform", "shop", "warehouse", CarrierFilter, HoldReasonFilter, FlagFilter,
                   TagFilter, ("paid_at", PaidDateFilter))  # fmt: skip
    list_filter_submit = True  # the paid-at range needs a submit button
    search_fields = ("channel_order_id",)  # the search box; what a term finds is orders/workbench.py
    list_select_related = ("shop", "warehouse")
    list_per_page = 50
    show_full_result_count = False
    inlines = (OrderLineInline, OrderHoldInline, OrderTransitionInline)
    change_form_datasets = (OrderTimelineDataset,)
    change_form_after_template = "orders/workbench/related.html"
    actions = ("bulk_approve", "bulk_hold", "bulk_cancel", "bulk_warehouse", "bulk_note", "export_selected",
               "export_selected_clear")  # fmt: skip
    actions_list = ("export_filtered",)
    actions_detail = ("do_approve", "do_hold", "do_cancel", "do_warehouse", "do_receiver", "do_note",
                      "reveal_receiver")  # fmt: skip

    @property
    def search_help_text(self):
        return _("按以下任一搜索：%(what)s") % {"what": workbench.search_help()}

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("lines__sku")

    @display(description=_("店铺"), ordering="shop__name")
    def shop_name(self, obj: Order) -> str:
        return obj.shop.name

    @display(description=_("买家"))
    def buyer(self, obj: Order) -> str:
        return obj.buyer_nick or "-"

    @display(description=_("商品"))
    def items(self, obj: Order) -> str:
        lines = list(obj.lines.all())
        shown = "、".join(f"{ln.sku.code}×{ln.quantity}" for ln in lines[:2])
        return shown + (_(" 等 %(n)d 种") % {"n": len(lines)} if len(lines) > 2 else "") if lines else "-"

    @display(description=_("发货仓"), ordering="warehouse__name")
    def warehouse_name(self, obj: Order) -> str:
        return obj.warehouse.name if obj.warehouse else "-"

    @display(description=_("时长"), ordering="paid_at")
    def age_display(self, obj: Order) -> str:
        return age(obj.paid_at or obj.placed_at) if obj.status in OPEN else "-"

    # Only masked receiver data is ever rendered: the raw receiver fields are in no fieldset.
    fieldsets = (
        (None, {"fields": (("shop", "channel_order_id"), ("status_badge", "channel_status_display"),
                           ("warehouse", "preferred_warehouse"), ("presale", "flags_display"),
                           ("staff_note", "tags_display"))}),
        (_("收货人（已脱敏）"), {"fields": (("name_masked", "phone_masked"),
                                      ("receiver_province", "receiver_city", "receiver_district"),
                                      "address_masked")}),
        (_("买家"), {"fields": (("buyer_nick", "buyer_vip", "id_number_masked"),)}),
        (_("金额"), {"fields": (("lines_amount", "freight", "discount", "paid_amount"), "remark_scrubbed")}),
        (_("时间（北京时间）"), {"fields": (("placed_local", "paid_local"),
                                         ("ship_by_local", "ingested_local"))}),
    )  # fmt: skip
    readonly_fields = (
        "status_badge", "channel_status_display", "flags_display", "tags_display", "name_masked", "phone_masked", "address_masked", "remark_scrubbed",
        "placed_local", "paid_local", "ship_by_local", "ingested_local",
    )  # fmt: skip

    @display(description=_("状态"), ordering="status", label=STATUS_COLOURS)
    def status_display(self, obj: Order):
        return obj.status, obj.get_status_display()

    @display(description=_("状态"))
    def status_badge(self, obj: Order) -> str:
        return display_for_label((obj.status, obj.get_status_display()), "-", STATUS_COLOURS)

    @display(description=_("平台状态"))
    def channel_status_display(self, obj: Order) -> str:
        return labels.channel_status_label(obj.channel_status) or "-"

    @display(description=_("包裹标记"))
    def flags_display(self, obj: Order) -> str:
        return "、".join(labels.flag_label(f) for f in obj.flags or []) or "-"

    @display(description=_("标签"))
    def tags_display(self, obj: Order) -> str:
        return "、".join(obj.tags or []) or "-"

    @display(description=_("收货人"))
    def name_masked(self, obj: Order) -> str:
        return obj.receiver_name_masked

    @display(description=_("电话"))
    def phone_masked(self, obj: Order) -> str:
        return obj.receiver_phone_masked

    @display(description=_("详细地址"))
    def address_masked(self, obj: Order) -> str:
        return obj.receiver_address_masked

    @display(description=_("备注"))
    def remark_scrubbed(self, obj: Order) -> str:
        return scrub(obj.remark) or "-"

    @display(description=_("下单时间"), ordering="placed_at")
    def placed_local(self, obj: Order) -> str:
        return local_time(obj.placed_at)

    @display(description=_("付款时间"))
    def paid_local(self, obj: Order) -> str:
        return local_time(obj.paid_at)

    @display(description=_("最晚发货时间"))
    def ship_by_local(self, obj: Order) -> str:
        return local_time(obj.ship_by)

    @display(description=_("进入中枢时间"))
    def ingested_local(self, obj: Order) -> str:
        return local_time(obj.ingested_at)

    # --- Excel export: the selected orders (list action) or the whole filtered list (button) -----

    @admin.action(description=_("导出 Excel"), permissions=["view"])
    def export_selected(self, request, queryset):
        return xlsx_response(queryset)

    @admin.action(description=_("导出 Excel（含收货人明文，记入审计）"), permissions=["export_receiver"])
    def export_selected_clear(self, request, queryset):
        return xlsx_response(queryset, clear_by=request.user.get_username())

    def has_export_receiver_permission(self, request) -> bool:
        return request.user.has_perm(EXPORT_RECEIVER)

    def has_reveal_receiver_permission(self, request, object_id=None) -> bool:
        # a method, not the dotted name: Unfold's system check would query the permission table,
        # which does not exist yet when `migrate` runs on a new database
        return request.user.has_perm(REVEAL_RECEIVER)

    # --- the clear receiver, on request, audited ------------------------------------------------

    @action(description=_("查看收货人明文"), url_path="reveal-receiver", icon="visibility",
            permissions=["reveal_receiver"])  # fmt: skip
    def reveal_receiver(self, request, object_id):
        """GET: say what will be recorded and ask why; POST: show the clear receiver, audited."""
        order = get_object_or_404(Order.objects.select_related("shop"), pk=object_id)
        purpose = request.POST.get("purpose", "")
        clear = None
        if request.method == "POST" and purpose in receiver.PURPOSES:
            clear = receiver.reveal(order, request.user, purpose)
        context = {
            **self.admin_site.each_context(request), "title": _("收货人明文"), "order": order,
            "clear": clear, "purposes": [(k, _(v)) for k, v in receiver.PURPOSES.items()],
            "back": reverse("admin:orders_order_change", args=[order.pk]),
        }  # fmt: skip
        return render(request, "orders/receiver_reveal.html", context)

    def get_search_results(self, request, queryset, search_term):
        """The orders any registered search provider finds (orders/workbench.py)."""
        if not search_term.strip():
            return queryset, False
        return queryset.filter(workbench.search_filter(search_term)), False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = Order.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        extra = {"workbench": related(request, order)} if order else {}
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    @action(description=_("导出 Excel"), url_path="export-excel", icon="download", permissions=["view"])
    def export_filtered(self, request):
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters:
            return redirect(reverse("admin:orders_order_changelist"))
        return xlsx_response(changelist.get_queryset(request))

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        query = request.GET.urlencode()
        for item in getattr(response, "context_data", {}).get("actions_list", []) if query else []:
            if item.get("path", "").endswith("/export-excel/"):
                item["path"] += f"?{query}"  # the button exports what the list shows
        return response


def related(request, order: Order) -> dict:
    """What the order page shows beside the order: open holds (→ the exception queue), the sections
    the apps above orders register (packages; waybills and tracking once shipping lands), and
    their actions."""
    holds = [(labels.hold_label(h.code), h.reason) for h in order.holds.filter(released_at__isnull=True)]
    sections = [{"title": s.title, "rows": s.rows(order)} for s in workbench.SECTIONS.values()]
    actions = [
        {"label": a.label, "url": reverse("admin:orders_order_registered", args=[order.pk, a.name])}
        for a in workbench.ACTIONS.values()
        if request.user.has_perm(a.permission)
    ]
    return {
        "order": order, "holds": holds, "sections": sections, "actions": actions,
        "queue_url": reverse("exceptions:detail", args=[order.pk]) if order.status == S.ON_HOLD else "",
        "waybills_pending": "waybills" not in workbench.SECTIONS,
    }  # fmt: skip


def xlsx_response(orders, clear_by: str = "") -> FileResponse:
    """The orders as a downloaded XLSX (spooled to disk beyond 16 MB); with the clear receivers when
    `clear_by` names who asked (audited)."""
    buffer = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
    result = write_xlsx(orders, buffer, clear_receivers=bool(clear_by))
    if clear_by:
        receiver.audit_export(clear_by, result.orders, "后台订单列表")
    buffer.seek(0)
    name = f"orders-{timezone.localtime():%Y%m%d-%H%M%S}.xlsx"
    return FileResponse(buffer, as_attachment=True, filename=name, content_type=XLSX_TYPE)
