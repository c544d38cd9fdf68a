"""Admin of the warehouse floor: packaging types, wave strategies, the fulfilment settings and the
warehouse staff are data the merchant edits; packages and waves are written by the fulfilment
services and only shown here; recount tasks are closed here with the counted quantity."""

from django import forms
from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import display

from zhongshu.core.admin import ReadOnlyAdminMixin
from zhongshu.fulfilment import services
from zhongshu.fulfilment.models import (
    FulfilmentSettings,
    Package,
    PackageLine,
    PackageOrder,
    PackageTransition,
    PackagingType,
    RecountTask,
    WarehouseStaff,
    Wave,
    WavePickRow,
    WaveStrategy,
)
from zhongshu.orders.labels import carrier_label

S = Package.Status
PACKAGE_COLOURS = {
    S.PENDING: "info",
    S.WAVED: "info",
    S.PICKING: "warning",
    S.PICKED: "warning",
    S.PACKED: "success",
    S.SHIPPED: "success",
    S.STOPPED: "danger",
    S.CANCELLED: "default",
}
WAVE_COLOURS = {
    Wave.Status.OPEN: "info",
    Wave.Status.CLAIMED: "warning",
    Wave.Status.DONE: "success",
    Wave.Status.CANCELLED: "default",
}


def local_time(value) -> str:
    """A stored (UTC) time as Asia/Shanghai wall-clock text (TIME_ZONE)."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


class CarrierFilter(admin.SimpleListFilter):
    """The packages' carriers by name (the column holds codes such as SF)."""

    title = _("快递")
    parameter_name = "carrier"

    def lookups(self, request, model_admin):
        codes = Package.objects.exclude(carrier="").values_list("carrier", flat=True).distinct()
        return [(c, carrier_label(c)) for c in sorted(codes)]

    def queryset(self, request, queryset):
        return queryset.filter(carrier=self.value()) if self.value() else queryset


class ReadOnlyInline(TabularInline):
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False
    hide_title = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_view_permission(self, request, obj=None) -> bool:
        # whoever may see the package or wave sees its parts
        return request.user.has_perm("fulfilment.view_package") or request.user.has_perm(
            "fulfilment.view_wave"
        )


def package_status_label(value: str) -> str:
    if not value:
        return str(_("新建"))
    try:
        return str(S(value).label)
    except ValueError:
        return value


@admin.register(PackagingType)
class PackagingTypeAdmin(ModelAdmin):
    list_display = ("name", "weight_g", "active")
    list_filter = ("active",)
    search_fields = ("name",)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # packages point at their packaging; switch one off with 启用 instead


@admin.register(WaveStrategy)
class WaveStrategyAdmin(ModelAdmin):
    list_display = ("name", "code", "kind", "carrier", "max_packages", "min_packages", "priority", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name")
    fields = ("code", "name", "kind", "carrier", "max_packages", "min_packages", "priority", "active")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # waves remember their strategy; switch one off with 启用 instead


@admin.register(FulfilmentSettings)
class FulfilmentSettingsAdmin(ModelAdmin):
    """A single row: it can be edited, never deleted, and a second one cannot be added."""

    list_display = ("__str__", "merge_across_shops", "wave_every_minutes", "weigh_over_g", "weigh_over_pct",
                    "weigh_under_g", "weigh_under_pct", "updated_at")  # fmt: skip
    fieldsets = (
        (None, {"fields": ("merge_across_shops", "wave_every_minutes")}),
        (
            _("称重复核"),
            {
                "fields": (
                    ("weigh_over_g", "weigh_over_pct"),
                    ("weigh_under_g", "weigh_under_pct"),
                    "updated_at",
                ),
                "description": _(
                    "每一侧的允许偏差取克数与百分比（按预计重量）中较大的一个；偏差超过它时包裹被拦截，"
                    "正好等于时算合格。"
                ),
            },
        ),
    )
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request) -> bool:
        return super().has_add_permission(request) and not FulfilmentSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class PackageOrderInline(ReadOnlyInline):
    model = PackageOrder
    fields = ("order",)
    readonly_fields = fields


class PackageLineInline(ReadOnlyInline):
    model = PackageLine
    fields = ("sku", "quantity", "order_line")
    readonly_fields = fields


class PackageTransitionInline(ReadOnlyInline):
    model = PackageTransition
    fields = ("at_local", "from_display", "to_display", "actor", "reason")
    readonly_fields = fields

    @display(description=_("时间"))
    def at_local(self, obj: PackageTransition) -> str:
        return local_time(obj.at)

    @display(description=_("原状态"))
    def from_display(self, obj: PackageTransition) -> str:
        return package_status_label(obj.from_status)

    @display(description=_("新状态"))
    def to_display(self, obj: PackageTransition) -> str:
        return package_status_label(obj.to_status)


@admin.register(Package)
class PackageAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("__str__", "status_display", "warehouse", "shop", "carrier_display", "expected_weight_g",
                    "measured_weight_g", "stop_reason", "ship_by_local", "created_local")  # fmt: skip
    list_filter = ("status", "warehouse", CarrierFilter, "shop")
    search_fields = ("=id", "orders__channel_order_id")
    search_help_text = _("按包裹号或平台订单号搜索")
    list_select_related = ("warehouse", "shop")
    list_per_page = 50
    show_full_result_count = False
    inlines = (PackageOrderInline, PackageLineInline, PackageTransitionInline)
    fieldsets = (
        (None, {"fields": (("warehouse", "shop", "carrier"), ("status", "stop_code", "stop_reason"),
                           ("packaging", "expected_weight_g", "measured_weight_g"), ("wave", "seed_slot"),
                           "flags")}),
        (_("时间（北京时间）"), {"fields": (("ship_by", "paid_at", "allocated_at"), ("waved_at", "picked_at"),
                                         ("packed_at", "shipped_at"), ("created_at", "updated_at"))}),
    )  # fmt: skip

    @display(description=_("状态"), ordering="status", label=PACKAGE_COLOURS)
    def status_display(self, obj: Package):
        return obj.status, obj.get_status_display()

    @display(description=_("快递"), ordering="carrier")
    def carrier_display(self, obj: Package) -> str:
        return carrier_label(obj.carrier) if obj.carrier else "-"

    @display(description=_("最晚发货时间"), ordering="ship_by")
    def ship_by_local(self, obj: Package) -> str:
        return local_time(obj.ship_by)

    @display(description=_("创建时间"), ordering="created_at")
    def created_local(self, obj: Package) -> str:
        return local_time(obj.created_at)

    def get_search_results(self, request, queryset, search_term):
        # "P123" (as a package is shown) finds package 123
        term = search_term.strip()
        if term[:1] in ("P", "p") and term[1:].isdigit():
            term = term[1:]
        queryset, duplicates = super().get_search_results(request, queryset, term)
        return queryset, True if search_term else duplicates


class WavePickRowInline(ReadOnlyInline):
    model = WavePickRow
    fields = ("position", "location", "sku", "quantity", "picked", "short")
    readonly_fields = fields


class WavePackageInline(ReadOnlyInline):
    model = Package
    fk_name = "wave"
    fields = ("number", "seed_slot", "status", "carrier", "ship_by")
    readonly_fields = fields
    show_change_link = True

    @display(description=pgettext_lazy("singular", "包裹"))
    def number(self, obj: Package) -> str:
        return str(obj)


@admin.register(Wave)
class WaveAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("__str__", "warehouse", "strategy", "kind", "status_display", "picker", "packages_count",
                    "created_local", "claimed_local")  # fmt: skip
    list_filter = ("status", "warehouse", "kind")
    list_select_related = ("warehouse", "strategy", "picker")
    fields = (("warehouse", "strategy", "kind"), ("status", "picker", "created_by"),
              ("created_at", "claimed_at", "done_at"))  # fmt: skip
    inlines = (WavePickRowInline, WavePackageInline)

    @display(description=_("状态"), ordering="status", label=WAVE_COLOURS)
    def status_display(self, obj: Wave):
        return obj.status, obj.get_status_display()

    @display(description=_("包裹数"))
    def packages_count(self, obj: Wave) -> int:
        return obj.packages.count()

    @display(description=_("创建时间"), ordering="created_at")
    def created_local(self, obj: Wave) -> str:
        return local_time(obj.created_at)

    @display(description=_("领取时间"), ordering="claimed_at")
    def claimed_local(self, obj: Wave) -> str:
        return local_time(obj.claimed_at)


@admin.register(WarehouseStaff)
class WarehouseStaffAdmin(ModelAdmin):
    """Which warehouses a floor user works in (the PDA shows their waves and packages only)."""

    list_display = ("user", "warehouses_display", "all_warehouses")
    list_filter = ("all_warehouses", "warehouses")
    search_fields = ("user__username",)
    autocomplete_fields = ("user",)
    filter_horizontal = ("warehouses",)
    fields = ("user", "warehouses", "all_warehouses")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user").prefetch_related("warehouses")

    @display(description=_("所属仓库"))
    def warehouses_display(self, obj: WarehouseStaff) -> str:
        return "、".join(w.name for w in obj.warehouses.all()) or "-"


RECOUNT_COLOURS = {RecountTask.Status.OPEN: "warning", RecountTask.Status.DONE: "success"}


class RecountForm(forms.ModelForm):
    class Meta:
        model = RecountTask
        fields = ("counted", "note")

    def clean_counted(self):
        value = self.cleaned_data.get("counted")
        if value is None:
            raise forms.ValidationError(_("请填写盘点数量（货位上实际的件数）"))
        return value


@admin.register(RecountTask)
class RecountTaskAdmin(ModelAdmin):
    """Recount tasks raised by shortages on the PDA; an open one is done by saving its counted
    quantity (fulfilment.recount.complete_recount, audited); a done one is read only."""

    form = RecountForm
    list_display = ("__str__", "status_display", "warehouse", "location", "sku", "missing", "counted",
                    "created_local", "done_by")  # fmt: skip
    list_filter = ("status", "warehouse")
    search_fields = ("sku__code", "location")
    list_select_related = ("warehouse", "sku")
    readonly_fields = ("warehouse", "location", "sku", "status", "missing", "reason", "wave", "raised_by",
                       "created_at", "done_by", "done_at")  # fmt: skip
    fieldsets = (
        (None, {"fields": (("warehouse", "location", "sku"), ("status", "missing", "wave"), "reason",
                           ("raised_by", "created_at"))}),
        (_("盘点结果"), {"fields": ("counted", "note", ("done_by", "done_at")),
                     "description": _("到货位清点该商品，填写实际件数并保存，任务即完成。库存数量请在库存页或盘点导入中更正。")}),
    )  # fmt: skip

    @display(description=_("状态"), ordering="status", label=RECOUNT_COLOURS)
    def status_display(self, obj: RecountTask):
        return obj.status, obj.get_status_display()

    @display(description=_("创建时间"), ordering="created_at")
    def created_local(self, obj: RecountTask) -> str:
        return local_time(obj.created_at)

    def has_add_permission(self, request) -> bool:
        return False  # raised by shortages on the PDA

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status == RecountTask.Status.DONE:
            return (*self.readonly_fields, "counted", "note")
        return self.readonly_fields

    def save_model(self, request, obj, form, change) -> None:
        services.complete_recount(obj.pk, form.cleaned_data["counted"], f"admin:{request.user.get_username()}",
                         form.cleaned_data.get("note") or "")  # fmt: skip
