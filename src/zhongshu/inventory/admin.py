"""Admin of the stock pool: warehouses and transfer alerts (调拨预警). Stock levels are changed only by a
stocktake, a use case above stock and orders: their admin is orders.stocktake_admin."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display

from zhongshu.core.admin import ActionsOnlyMixin, actor_of
from zhongshu.inventory.models import TransferAlert, Warehouse
from zhongshu.inventory.services import close_transfer_alerts


@admin.register(Warehouse)
class WarehouseAdmin(ModelAdmin):
    list_display = ("code", "name", "province", "priority", "cold_chain", "active")
    list_filter = ("active", "cold_chain")
    search_fields = ("code", "name", "province")
    search_help_text = _("按仓库代码、名称或省份搜索")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # orders and stock point at warehouses; switch one off with 启用 instead


@admin.register(TransferAlert)
class TransferAlertAdmin(ActionsOnlyMixin, ModelAdmin):
    list_display = (
        "sku", "to_warehouse", "from_warehouse", "quantity", "orders", "status_display", "created_at",
        "updated_at",
    )  # fmt: skip
    list_filter = ("status", "to_warehouse")
    search_fields = ("sku__code", "sku__title")
    search_help_text = _("按 SKU 编码或名称搜索")
    list_select_related = ("sku", "to_warehouse", "from_warehouse")
    fields = (
        "sku",
        "to_warehouse",
        "from_warehouse",
        "quantity",
        "orders",
        "status",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    actions = ["mark_done", "mark_dismissed"]

    @display(
        description=_("状态"),
        ordering="status",
        label={TransferAlert.Status.OPEN: "warning", TransferAlert.Status.DONE: "success"},
    )
    def status_display(self, obj: TransferAlert):
        return obj.status, obj.get_status_display()

    @admin.action(description=_("标记为已调拨"), permissions=["change"])
    def mark_done(self, request, queryset) -> None:
        self._close(request, queryset, TransferAlert.Status.DONE)

    @admin.action(description=_("标记为已忽略"), permissions=["change"])
    def mark_dismissed(self, request, queryset) -> None:
        self._close(request, queryset, TransferAlert.Status.DISMISSED)

    def _close(self, request, queryset, status: str) -> None:
        """Close the selected open alerts and record who did it on the audit timeline."""
        closed = close_transfer_alerts(list(queryset.values_list("pk", flat=True)), status, actor_of(request))
        label = TransferAlert.Status(status).label
        self.message_user(
            request, _("%(n)d 条调拨预警已标记为%(s)s。") % {"n": closed, "s": label}, messages.SUCCESS
        )
