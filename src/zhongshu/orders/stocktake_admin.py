"""Admin of stock levels: every save is a stocktake, the use case that spans stock and orders (it
lives in orders, above inventory, as intake does)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminFileFieldWidget

from zhongshu.core.admin import actor_of
from zhongshu.inventory.admin import LowStockFilter
from zhongshu.inventory.domain import StockInfo
from zhongshu.inventory.models import StockLevel
from zhongshu.inventory.selectors import LOW_STOCK, available_expr
from zhongshu.inventory.services import set_location
from zhongshu.orders import stocktake_import as sheet
from zhongshu.orders.stocktake import StocktakeRefused, refusal, stocktake

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class SheetForm(forms.Form):
    file = forms.FileField(
        label=_("盘点表（.xlsx）"),
        help_text=_("表头：商家编码、仓库代码、实物库存；在途、在途系数、货位可选"),
        widget=UnfoldAdminFileFieldWidget(attrs={"accept": ".xlsx"}),
    )


class StocktakeForm(forms.ModelForm):
    """Refuses a count below what orders in picking or packing hold (they cannot be taken back)."""

    def clean(self):
        data = super().clean()
        sku = data.get("sku") or getattr(self.instance, "sku", None)
        warehouse = data.get("warehouse") or getattr(self.instance, "warehouse", None)
        counted = [data.get(f) for f in ("physical", "in_transit", "in_transit_coefficient")]
        if sku and warehouse and None not in counted:
            why = refusal(sku, warehouse, *counted)
            if why:
                raise forms.ValidationError(why)
        return data


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
    """Every save is a stocktake (盘点): it goes through orders.stocktake, which keeps the
    reservations consistent, rebalances allocated orders and writes the stock.changed event."""

    list_display = (
        "sku", "warehouse", "location", "physical", "reserved", "in_transit", "in_transit_coefficient", "available",
        "safety_line", "updated_at",
    )  # fmt: skip
    list_filter = (LowStockFilter, "warehouse")
    actions_list = ["import_sheet", "download_sheet"]
    search_fields = ("sku__code", "sku__title", "location")
    search_help_text = _("按 SKU 编码或名称搜索")
    list_select_related = ("sku", "warehouse")
    form = StocktakeForm
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

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(available_now=available_expr())

    @display(
        description=_("可用"),
        ordering="available_now",
        label={"out": "danger", "low": "warning", "ok": "success"},
    )
    def available(self, obj: StockLevel):
        n = StockInfo(
            obj.sku.code,
            obj.warehouse.code,
            obj.physical,
            obj.reserved,
            obj.in_transit,
            obj.in_transit_coefficient,
        ).available
        line = LOW_STOCK if obj.safety_stock is None else obj.safety_stock
        return ("out" if n <= 0 else "low" if n <= line else "ok"), str(n)  # a label of 0 would show empty

    @display(description=_("安全库存"), ordering="safety_stock")
    def safety_line(self, obj: StockLevel) -> str:
        return "-" if obj.safety_stock is None else str(obj.safety_stock)

    # --- batch stocktake from Excel (批量盘点) ---------------------------------------------------

    @action(description=_("下载盘点表"), url_path="sheet-template", icon="download")
    def download_sheet(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        response = HttpResponse(sheet.template_workbook(), content_type=XLSX)
        response["Content-Disposition"] = 'attachment; filename="stocktake.xlsx"'
        return response

    @action(description=_("Excel 批量盘点"), url_path="import-sheet", icon="upload_file")
    def import_sheet(self, request):
        """Upload → preview with an error per row → confirm: the good rows are counted."""
        if not (self.has_change_permission(request) and self.has_add_permission(request)):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": _("Excel 批量盘点"),
            "opts": self.model._meta,
        }
        if request.method == "POST" and request.POST.get("plan"):
            return self._apply_sheet(request)
        form = SheetForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                plan = sheet.read_sheet(form.cleaned_data["file"].read())
            except sheet.SheetError as exc:
                form.add_error("file", str(exc))
            else:
                context.update(plan=plan, token=sheet.sign_plan(plan), counts=_counts(plan))
        context["form"] = form
        return render(request, "orders/stocktake_import.html", context)

    def _apply_sheet(self, request):
        back = redirect(reverse("admin:inventory_stocklevel_changelist"))
        try:
            plan = sheet.load_plan(request.POST["plan"])
        except sheet.SheetError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return back
        result = sheet.apply_plan(plan, actor_of(request))
        self.message_user(
            request, _("批量盘点完成：%(n)d 行已盘点") % {"n": len(result.applied)}, messages.SUCCESS
        )
        for line, why in result.refused.items():
            self.message_user(
                request, _("第 %(line)d 行未盘点：%(why)s") % {"line": line, "why": why}, messages.ERROR
            )
        return back

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
            try:
                stocktake(
                    obj.sku, obj.warehouse, obj.physical, obj.in_transit, obj.in_transit_coefficient, actor
                )
            except StocktakeRefused as exc:  # orders started picking after the form was checked
                self.message_user(request, str(exc), messages.ERROR)
                return
        saved = StockLevel.objects.get(sku=obj.sku, warehouse=obj.warehouse)
        if "location" in form.changed_data:
            set_location(saved, obj.location)
        obj.pk = saved.pk
        obj._state.adding = False
        obj.refresh_from_db()


def _counts(plan: list) -> dict:
    return {
        "rows": len(plan),
        "errors": sum(1 for r in plan if r.errors),
        "unchanged": sum(1 for r in plan if r.unchanged and not r.errors),
        "apply": sum(1 for r in plan if not r.errors and not r.unchanged),
    }
