"""Admin of the routing tables (read per intake, so an edit takes effect without a restart)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from zhongshu.routing.models import ProvinceRegion, RegionRoute, RoutingSettings


@admin.register(ProvinceRegion)
class ProvinceRegionAdmin(ModelAdmin):
    list_display = ("province", "region")
    list_editable = ("region",)
    list_filter = ("region",)
    search_fields = ("province", "region")
    search_help_text = _("按省份或区域搜索")
    list_per_page = 100


@admin.register(RegionRoute)
class RegionRouteAdmin(ModelAdmin):
    list_display = ("region", "warehouse")
    list_filter = ("warehouse",)
    search_fields = ("region",)
    search_help_text = _("按区域搜索")
    list_select_related = ("warehouse",)


@admin.register(RoutingSettings)
class RoutingSettingsAdmin(ModelAdmin):
    """A single row: it can be edited, never deleted, and a second one cannot be added."""

    list_display = ("__str__", "default_warehouse", "shortage_policy", "updated_at")
    list_select_related = ("default_warehouse",)
    fields = ("default_warehouse", "shortage_policy", "updated_at")
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request) -> bool:
        return super().has_add_permission(request) and not RoutingSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
