"""The audit timeline read out for people: event types, subjects, actors and the codes inside the
summaries as Chinese labels (core cannot know the labels of the apps above it, so the console
replaces core's list of the timeline with this one)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from unfold.decorators import display

from zhongshu.core.admin import TimelineEntryAdmin
from zhongshu.core.models import TimelineEntry
from zhongshu.orders import labels

SUBJECTS = {"order": _("订单 #%(id)s"), "package": _("包裹 P%(id)s"), "wave": _("波次 W%(id)s"),
            "stock": _("库存 %(id)s"), "shop": _("店铺 %(id)s"), "rule": _("规则 %(id)s")}  # fmt: skip


def subject_label(subject: str) -> str:
    kind, sep, ident = subject.partition(":")
    return str(SUBJECTS[kind]) % {"id": ident} if sep and kind in SUBJECTS else subject


class KindFilter(admin.SimpleListFilter):
    title = _("类型")
    parameter_name = "kind"

    def lookups(self, request, model_admin):
        kinds = TimelineEntry.objects.values_list("kind", flat=True).distinct().order_by("kind")
        return [(k, labels.topic_label(k)) for k in kinds]

    def queryset(self, request, queryset):
        return queryset.filter(kind=self.value()) if self.value() else queryset


class LabelledTimelineAdmin(TimelineEntryAdmin):
    list_display = ("at", "subject_display", "kind_display", "summary_display", "actor_display")
    list_filter = (KindFilter,)

    @display(description=_("对象"), ordering="subject")
    def subject_display(self, obj: TimelineEntry) -> str:
        return subject_label(obj.subject)

    @display(description=_("类型"), ordering="kind")
    def kind_display(self, obj: TimelineEntry) -> str:
        return labels.topic_label(obj.kind)

    @display(description=_("摘要"))
    def summary_display(self, obj: TimelineEntry) -> str:
        return labels.humanize(obj.summary)

    @display(description=_("操作者"), ordering="actor")
    def actor_display(self, obj: TimelineEntry) -> str:
        return labels.actor_label(obj.actor)


admin.site.unregister(TimelineEntry)
admin.site.register(TimelineEntry, LabelledTimelineAdmin)
