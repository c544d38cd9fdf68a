"""Admin of the stock pool: warehouses, transfer alerts (调拨预警) with a source warehouse to move
stock from, and the SKU pages with their stock (totals per SKU, each warehouse on the SKU's page, a
low-stock filter). Stock levels are changed only by a stocktake, a use case above stock and orders:
their admin (one row per SKU and warehouse, the Excel stocktake) is orders.stocktake_admin."""

from django.contrib import admin, messages
from django.db.models import F, IntegerField, Value
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display

from zhongshu.catalog.admin import SkuAdmin
from zhongshu.catalog.models import Sku
from zhongshu.core.admin import ActionsOnlyMixin, actor_of
from zhongshu.inventory.models import StockLevel, TransferAlert, Warehouse
from zhongshu.inventory.selectors import LOW_STOCK, low_line_expr, with_sources, with_stock_totals
from zhongshu.inventory.services import close_transfer_alerts, info


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
        "sku", "to_warehouse", "quantity", "orders", "source", "best", "status_display", "created_at", "updated_at",
    )  # fmt: skip
    list_filter = ("status", "to_warehouse")
    search_fields = ("sku__code", "sku__title")
    search_help_text = _("按 SKU 编码或名称搜索")
    list_select_related = ("sku", "to_warehouse", "from_warehouse")
    fields = ("sku", "to_warehouse", "from_warehouse", "source", "best", "quantity", "orders", "status", "created_at",
              "updated_at")  # fmt: skip
    readonly_fields = fields
    actions = ["mark_done", "mark_dismissed"]

    def get_queryset(self, request):
        return with_sources(super().get_queryset(request))

    @display(description=_("建议调出仓（现可用）"), ordering="from_warehouse")
    def source(self, obj: TransferAlert) -> str:
        if obj.from_warehouse is None:
            return "-"
        return _("%(wh)s（%(n)d）") % {"wh": obj.from_warehouse.name, "n": obj.from_free or 0}

    @display(
        description=_("当前可调出最多的仓"), label={"enough": "success", "short": "warning", "none": "danger"}
    )
    def best(self, obj: TransferAlert):
        if obj.best_source is None:
            return "none", _("其他仓均无可用库存")
        key = "enough" if obj.best_free >= obj.quantity else "short"
        return key, _("%(wh)s（可用 %(n)d）") % {"wh": obj.best_source, "n": obj.best_free}

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


# --- the SKU page with its stock -----------------------------------------------------------------


class LowStockFilter(admin.SimpleListFilter):
    """缺货 / 低库存: available at or below the safety line (LOW_STOCK where analytics set none)."""

    title = _("库存状况")
    parameter_name = "stock"

    def lookups(self, request, model_admin):
        return (
            ("out", _("缺货（可用 ≤ 0）")),
            ("low", _("低库存（可用 ≤ 安全库存，未设置时 ≤ %(n)d）") % {"n": LOW_STOCK}),
        )

    def queryset(self, request, queryset):
        field = "stock_available" if queryset.model is Sku else "available_now"
        line = (
            Coalesce(F("stock_safety"), Value(LOW_STOCK), output_field=IntegerField())
            if queryset.model is Sku
            else low_line_expr()
        )
        if self.value() == "out":
            return queryset.filter(**{f"{field}__lte": 0})
        if self.value() == "low":
            return queryset.filter(**{f"{field}__lte": line})
        return queryset


admin.site.unregister(Sku)


@admin.register(Sku)
class SkuStockAdmin(SkuAdmin):
    """The catalogue's SKU admin with the stock of each SKU: totals in the list, the warehouses on
    its page (the catalogue sits below the stock pool, so the stock is added here)."""

    list_display = (
        "code", "title", "total_physical", "total_reserved", "total_in_transit", "total_available",
        "safety_line", "presale", "cold_chain", "active",
    )  # fmt: skip
    list_filter = (LowStockFilter, *SkuAdmin.list_filter)
    readonly_fields = ("stock_summary", "stock_by_warehouse")

    def get_fieldsets(self, request, obj=None):
        sets = super().get_fieldsets(request, obj)
        stock = (_("各仓库存"), {"fields": ("stock_summary", "stock_by_warehouse")})
        return sets if obj is None else (*sets, stock)

    @display(description=_("各仓库存"))
    def stock_by_warehouse(self, obj) -> str:
        """The SKU's stock rows, read-only: a count is changed by a stocktake (the 盘点 link)."""
        rows = [
            {"row": r, "available": info(r).available, "url": reverse("admin:inventory_stocklevel_change", args=[r.pk])}
            for r in StockLevel.objects.filter(sku=obj).select_related("sku", "warehouse").order_by("warehouse__priority")
        ]  # fmt: skip
        return render_to_string("inventory/sku_stock.html", {"rows": rows})

    @display(description=_("所有仓库"))
    def stock_summary(self, obj) -> str:
        line = "-" if obj.stock_safety is None else obj.stock_safety
        return _("实物 %(p)d · 已预留 %(r)d · 在途 %(t)d · 可用 %(a)d · 安全库存 %(s)s") % {
            "p": obj.stock_physical, "r": obj.stock_reserved, "t": obj.stock_in_transit,
            "a": obj.stock_available, "s": line,
        }  # fmt: skip

    def get_queryset(self, request):
        return with_stock_totals(super().get_queryset(request))

    @display(description=_("实物库存"), ordering="stock_physical")
    def total_physical(self, obj) -> int:
        return obj.stock_physical

    @display(description=_("已预留"), ordering="stock_reserved")
    def total_reserved(self, obj) -> int:
        return obj.stock_reserved

    @display(description=_("在途"), ordering="stock_in_transit")
    def total_in_transit(self, obj) -> int:
        return obj.stock_in_transit

    @display(
        description=_("可用"),
        ordering="stock_available",
        label={"out": "danger", "low": "warning", "ok": "success"},
    )
    def total_available(self, obj):
        line = LOW_STOCK if obj.stock_safety is None else obj.stock_safety
        key = "out" if obj.stock_available <= 0 else "low" if obj.stock_available <= line else "ok"
        return key, str(obj.stock_available)  # a label of 0 would show as empty

    @display(description=_("安全库存"), ordering="stock_safety")
    def safety_line(self, obj) -> str:
        return "-" if obj.stock_safety is None else str(obj.stock_safety)
