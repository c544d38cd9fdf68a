"""Admin of the catalogue: SKUs."""

from django.contrib import admin
from unfold.admin import ModelAdmin

from zhongshu.catalog.models import Sku


@admin.register(Sku)
class SkuAdmin(ModelAdmin):
    list_display = ("code", "title", "cost_price", "weight_g", "presale", "supply_date", "cold_chain", "active")
    list_filter = ("presale", "active", "cold_chain")
    search_fields = ("code", "title")
    list_per_page = 50
    fieldsets = (
        (None, {"fields": ("code", "title", "cost_price", "weight_g", "tags", "active")}),
        ("预售与冷链", {"fields": ("presale", "supply_date", "cold_chain")}),
    )
