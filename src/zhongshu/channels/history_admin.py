"""Admin of the shops' sync history (SyncRun): read-only, every result in Chinese."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display

from zhongshu.channels import history
from zhongshu.channels.models import SyncRun
from zhongshu.core.timeutil import local


def _local(value) -> str:
    return local(value).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


@admin.register(SyncRun)
class SyncRunAdmin(ModelAdmin):
    list_display = ("started_local", "shop", "kind", "outcome_badge", "result")
    list_filter = ("outcome", "kind", "shop")
    list_select_related = ("shop",)
    search_fields = ("shop__code", "shop__name")
    search_help_text = _("按店铺代码或名称搜索")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @display(description=_("开始时间"), ordering="started_at")
    def started_local(self, obj: SyncRun) -> str:
        return _local(obj.started_at)

    @display(
        description=_("结果"),
        ordering="outcome",
        label={
            SyncRun.Outcome.OK: "success",
            SyncRun.Outcome.FAILED: "danger",
            SyncRun.Outcome.SKIPPED: "info",
        },
    )
    def outcome_badge(self, obj: SyncRun):
        return obj.outcome, obj.get_outcome_display()

    @display(description=_("详情"))
    def result(self, obj: SyncRun) -> str:
        return history.summary(obj)
