"""Admin of the stock pool: warehouses, stock levels (changed only through the stocktake service)
and transfer alerts (调拨预警)."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display

from zhongshu.core.admin import ActionsOnlyMixin, actor_of
from zhongshu.inventory.domain import StockInfo
from zhongshu.inventory.models import StockLevel, TransferAlert, Warehouse
from zhongshu.inventory.services import close_transfer_alerts, set_location
from zhongshu.orders.services import stocktake


@admin.register(Warehouse)
class WarehouseAdmin(ModelAdmin):
    list_display = ("code", "name", "province", "priority", "cold_chain", "active")
    list_filter = ("active", "cold_chain")
    search_fields = ("code", "name", "province")
    search_help_text = _("按仓库代码、名称或省份搜索")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # orders and stock point at warehouses; switch one off with 启用 instead


STOCK_FIELDS = (
    "sku",
    "warehouse",
    "location",
    "physical",
    "reserved",
    "in_transit",
    "in_transit_coefficient",
    "updated_at",
)


@admin.register(StockLevel)
class StockLevelAdmin(ModelAdmin):
    """Every save is a stocktake (盘点): it goes through orders.services.stocktake, which keeps the
    reservations consistent, rebalances allocated orders and writes the stock.changed event."""

    list_display = (
        "sku", "warehouse", "location", "physical", "reserved", "in_transit", "in_transit_coefficient",
        "available", "updated_at",
    )  # fmt: skip
    list_filter = ("warehouse",)
    search_fields = ("sku__code", "sku__title", "location")
    search_help_text = _("按 SKU 编码或名称搜索")
    list_select_related = ("sku", "warehouse")
    autocomplete_fields = ("sku",)
    fieldsets = (
        (
            None,
            {
                "fields": STOCK_FIELDS,
                "description": _(
                    "保存即盘点：实物库存、在途和系数按填写的数字设置；已预留由订单自动维护，不能在此修改。"
                    "盘点后库存低于已预留时，最新分仓的订单会转为缺货待补。"
                ),
            },
        ),
    )

    @display(description=_("可用"))
    def available(self, obj: StockLevel) -> int:
        return StockInfo(
            obj.sku.code,
            obj.warehouse.code,
            obj.physical,
            obj.reserved,
            obj.in_transit,
            obj.in_transit_coefficient,
        ).available

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ("reserved", "updated_at")
        return ("sku", "warehouse", "reserved", "updated_at")  # a row never moves to another SKU/warehouse

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj: StockLevel, form, change: bool) -> None:
        if change and not form.has_changed():
            return
        actor = actor_of(request)
        if not change or set(form.changed_data) - {"location"}:  # a new bin alone is no stocktake
            stocktake(obj.sku, obj.warehouse, obj.physical, obj.in_transit, obj.in_transit_coefficient, actor)
        saved = StockLevel.objects.get(sku=obj.sku, warehouse=obj.warehouse)
        if "location" in form.changed_data:
            set_location(saved, obj.location)
        obj.pk = saved.pk
        obj._state.adding = False
        obj.refresh_from_db()


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
