"""Admin of the catalogue: SKUs with their barcodes."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline

from zhongshu.catalog.models import Sku, SkuBarcode


class SkuBarcodeInline(TabularInline):
    model = SkuBarcode
    fields = ("code",)
    extra = 0
    hide_title = True
    verbose_name_plural = _("条码（商家编码本身也可扫描）")


@admin.register(Sku)
class SkuAdmin(ModelAdmin):
    list_display = (
        "code",
        "title",
        "cost_price",
        "weight_g",
        "presale",
        "supply_date",
        "cold_chain",
        "active",
    )
    list_filter = ("presale", "active", "cold_chain")
    search_fields = ("code", "title", "barcodes__code")
    search_help_text = _("按商家编码、条码或名称搜索")
    inlines = (SkuBarcodeInline,)
    list_per_page = 50
    fieldsets = (
        (None, {"fields": ("code", "title", "cost_price", "weight_g", "tags", "active")}),
        (_("预售与冷链"), {"fields": ("presale", "supply_date", "cold_chain")}),
    )
