"""Admin of the rules engine. Every save goes through rules.services (validated, versioned, stamp
bumped); versions and hits are read-only. The condition is shown as its plain-language preview."""

from django import forms
from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import display

from zhongshu.core.admin import ReadOnlyAdminMixin, actor_of
from zhongshu.rules import services
from zhongshu.rules.conditions import describe
from zhongshu.rules.models import Rule, RuleHit, RuleSet, RuleVersion, RuntimeState
from zhongshu.rules.templates import SNAPSHOT_FIELDS


class RuleForm(forms.ModelForm):
    class Meta:
        model = Rule
        fields = ("code", "rule_set", "name", "description", "condition", "actions", "priority", "enabled",
                  "dry_run", "peak_only")  # fmt: skip

    def clean(self):
        data = super().clean()
        code = data.get("code") or (self.instance.code if self.instance.pk else None)
        if self.errors:
            return data
        snap = rule_data(data)
        for err in services.check(code, snap):
            top = err["path"].split(".")[0].split("[")[0]
            field = top if top in self.fields else None
            self.add_error(field, f"{err['path']}: {err['msg']}")
        return data


def rule_data(cleaned: dict) -> dict:
    data = {k: cleaned.get(k) for k in SNAPSHOT_FIELDS if k in cleaned}
    data["rule_set"] = cleaned["rule_set"].code if cleaned.get("rule_set") else None
    return data


class VersionInline(TabularInline):
    model = RuleVersion
    fields = ("version", "author", "created_at", "note", "diff_pre")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    hide_title = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @display(description=_("差异"))
    def diff_pre(self, obj):
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", obj.diff_text)


@admin.register(Rule)
class RuleAdmin(ModelAdmin):
    form = RuleForm
    list_display = (
        "code",
        "name",
        "rule_set",
        "enabled",
        "dry_run",
        "peak_only",
        "priority",
        "version",
        "preview",
    )
    list_filter = ("rule_set", "enabled", "dry_run", "peak_only")
    search_fields = ("code", "name")
    list_select_related = ("rule_set",)
    readonly_fields = ("preview_full", "version", "updated_at", "updated_by")
    inlines = [VersionInline]

    def get_readonly_fields(self, request, obj=None):
        return (*self.readonly_fields, "code") if obj else self.readonly_fields

    @display(description=_("预览"))
    def preview(self, obj):
        lang = "en" if (get_language() or "").startswith("en") else "zh"  # the page's language
        return describe(obj.condition, lang, obj.actions)

    @display(description=_("规则预览"))
    def preview_full(self, obj):
        if not obj.pk:
            return "-"
        zh, en = (describe(obj.condition, lang, obj.actions) for lang in ("zh", "en"))
        return format_html("{}<br><span style='opacity:.7'>{}</span>", zh, en)

    def save_model(self, request, obj, form, change):
        data = rule_data(form.cleaned_data) | {"code": obj.code}
        saved = services.save_rule(data, actor_of(request))
        obj.pk, obj.version = saved.pk, saved.version

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # disable instead: the history and the hits stay


@admin.register(RuleSet)
class RuleSetAdmin(ModelAdmin):
    list_display = ("code", "name", "stage", "enabled")
    list_filter = ("stage",)

    def save_model(self, request, obj, form, change):
        services.save_rule_set(obj, actor_of(request))

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(RuleVersion)
class RuleVersionAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("rule", "version", "author", "created_at", "note")
    list_filter = ("rule",)
    list_select_related = ("rule",)
    fields = ("rule", "version", "author", "created_at", "note", "diff_pre", "snapshot")
    readonly_fields = fields

    @display(description=_("差异"))
    def diff_pre(self, obj):
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", obj.diff_text)


@admin.register(RuleHit)
class RuleHitAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("at", "rule", "rule_version", "shop_code", "channel_order_id", "paid_amount", "dry_run",
                    "outcome")  # fmt: skip
    list_filter = ("dry_run", "rule")
    search_fields = ("channel_order_id",)
    list_select_related = ("rule",)


@admin.register(RuntimeState)
class RuntimeStateAdmin(ModelAdmin):
    """One row: the peak-mode switch (the version is bumped by every change)."""

    list_display = ("__str__", "peak_mode", "version", "updated_at")
    fields = ("peak_mode", "version", "updated_at")
    readonly_fields = ("version", "updated_at")

    def save_model(self, request, obj, form, change):
        services.set_peak_mode(obj.peak_mode, actor_of(request))

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
