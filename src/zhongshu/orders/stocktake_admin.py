"""Admin of stock levels: every save is a stocktake, the use case that spans stock and orders (it
lives in orders, above inventory, as intake does)."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display

from zhongshu.core.admin import actor_of
from zhongshu.inventory.domain import StockInfo
from zhongshu.inventory.models import StockLevel
from zhongshu.inventory.services import set_location
from zhongshu.orders.stocktake import StocktakeRefused, refusal, stocktake


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
        "updated_at",
    )  # fmt: skip
    list_filter = ("warehouse",)
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
