"""Admin of the catalogue: SKUs."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from zhongshu.catalog.models import Sku


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
    search_fields = ("code", "title")
    search_help_text = _("按商家编码或名称搜索")
    list_per_page = 50
    fieldsets = (
        (None, {"fields": ("code", "title", "cost_price", "weight_g", "tags", "active")}),
        (_("预售与冷链"), {"fields": ("presale", "supply_date", "cold_chain")}),
    )
