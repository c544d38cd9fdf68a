"""Admin of the routing tables (read per intake, so an edit takes effect without a restart)."""

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from zhongshu.routing.models import ProvinceRegion, RegionRoute, RoutingSettings
from zhongshu.rules.models import Rule, Stage


class RulesFirstNotice:
    """Tells on the table's pages that enabled routing rules choose the warehouse before this table."""

    def changelist_view(self, request, extra_context=None):
        self._notice(request)
        return super().changelist_view(request, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "GET":
            self._notice(request)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _notice(self, request) -> None:
        rules = Rule.objects.filter(enabled=True, rule_set__enabled=True, rule_set__stage=Stage.ROUTING)
        rules = list(rules.order_by("priority", "code").values_list("code", "name"))
        if not rules:
            messages.info(request, gettext("当前没有启用的路由规则：发货仓完全按本表与路由设置决定。"))
            return
        links = format_html_join(
            "、", '<a class="underline" href="{}">{}</a>',
            ((reverse("rules_console:edit", args=[code]), name or code) for code, name in rules),
        )  # fmt: skip
        messages.info(
            request,
            format_html(
                gettext("已启用的路由规则优先于本表：{}。规则未命中的订单才按本表与路由设置分仓。"), links
            ),
        )


@admin.register(ProvinceRegion)
class ProvinceRegionAdmin(RulesFirstNotice, ModelAdmin):
    list_display = ("province", "region")
    list_editable = ("region",)
    list_filter = ("region",)
    search_fields = ("province", "region")
    search_help_text = _("按省份或区域搜索")
    list_per_page = 100


@admin.register(RegionRoute)
class RegionRouteAdmin(RulesFirstNotice, ModelAdmin):
    list_display = ("region", "warehouse")
    list_filter = ("warehouse",)
    search_fields = ("region",)
    search_help_text = _("按区域搜索")
    list_select_related = ("warehouse",)


@admin.register(RoutingSettings)
class RoutingSettingsAdmin(RulesFirstNotice, ModelAdmin):
    """A single row: it can be edited, never deleted, and a second one cannot be added."""

    list_display = ("__str__", "default_warehouse", "shortage_policy", "updated_at")
    list_select_related = ("default_warehouse",)
    fields = ("default_warehouse", "shortage_policy", "updated_at")
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request) -> bool:
        return super().has_add_permission(request) and not RoutingSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
