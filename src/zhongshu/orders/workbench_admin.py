"""The order workbench's actions in the admin: on the order page and in bulk on the list — release,
hold with a reason, cancel, change warehouse, correct the receiver, note and tags — each through the
use cases of orders.services (audited there), each behind a role's permission (core.roles); plus
the list filters by carrier, hold reason, flag and tag. Actions of the apps above orders (merge and
split of packages, re-push to the platform) come through orders.workbench.register_action."""

import json
from datetime import datetime, time, timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from unfold.contrib.filters.admin import RangeDateFilter
from unfold.decorators import action

from zhongshu.core.roles import HANDLE_ORDERS, NOTE_ORDERS, REVIEW_EXCEPTIONS
from zhongshu.core.timeutil import SHANGHAI
from zhongshu.inventory.models import Warehouse
from zhongshu.orders import labels, workbench
from zhongshu.orders.models import Order, OrderHold
from zhongshu.orders.services import (
    CANCELLABLE,
    HOLDABLE,
    RECEIVER_EDITABLE,
    DecisionRefused,
    Decisions,
    ReceiverEdit,
    approve_orders,
    cancel_any_orders,
    change_warehouse,
    edit_receiver,
    hold_orders,
    note_orders,
)
from zhongshu.orders.states import REROUTABLE, OrderStatus

S = OrderStatus
INPUT = "border border-base-200 rounded-default px-3 py-2 w-full dark:bg-base-900 dark:border-base-700"


class _Form(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for f in self.fields.values():
            f.widget.attrs.setdefault("class", INPUT)


class ApproveForm(_Form):
    note = forms.CharField(label=gettext_lazy("说明"), max_length=200, required=False)


class ReasonForm(_Form):
    reason = forms.CharField(label=gettext_lazy("原因"), max_length=200)


class WarehouseForm(_Form):
    warehouse = forms.ChoiceField(label=gettext_lazy("发货仓"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["warehouse"].choices = [
            (w.code, f"{w.name}（{w.code}）")
            for w in Warehouse.objects.filter(active=True).order_by("priority", "code")
        ]


class ReceiverForm(_Form):
    """Empty fields stay as they are: nothing personal is shown here, only what a person types."""

    name = forms.CharField(label=gettext_lazy("收货人"), max_length=64, required=False)
    phone = forms.CharField(label=gettext_lazy("电话"), max_length=32, required=False)
    province = forms.CharField(label=gettext_lazy("省份"), max_length=32, required=False)
    city = forms.CharField(label=gettext_lazy("城市"), max_length=32, required=False)
    district = forms.CharField(label=gettext_lazy("区县"), max_length=32, required=False)
    address = forms.CharField(label=gettext_lazy("详细地址"), max_length=400, required=False)


class NoteForm(_Form):
    note = forms.CharField(label=gettext_lazy("客服备注"), max_length=400, required=False)
    tags = forms.CharField(
        label=gettext_lazy("添加标签"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("多个标签用逗号分隔"),
    )


def _tags(raw: str) -> list[str]:
    return [t for t in raw.replace("，", ",").split(",") if t.strip()]


# action name → (title, form, permission, run(ids, actor, data) → Decisions, done text)
ACTIONS = {
    "approve": (gettext_lazy("放行"), ApproveForm, REVIEW_EXCEPTIONS,
                lambda ids, actor, d: approve_orders(ids, actor, d["note"]), gettext_lazy("已放行 %(n)d 单")),
    "hold": (gettext_lazy("挂起"), ReasonForm, HANDLE_ORDERS,
             lambda ids, actor, d: hold_orders(ids, actor, d["reason"]), gettext_lazy("已挂起 %(n)d 单")),
    "cancel": (gettext_lazy("取消订单"), ReasonForm, HANDLE_ORDERS,
               lambda ids, actor, d: cancel_any_orders(ids, actor, d["reason"]), gettext_lazy("已取消 %(n)d 单")),
    "warehouse": (gettext_lazy("改发货仓"), WarehouseForm, HANDLE_ORDERS,
                  lambda ids, actor, d: change_warehouse(ids, actor, d["warehouse"]),
                  gettext_lazy("已改仓 %(n)d 单")),
    "receiver": (gettext_lazy("修改收货人"), ReceiverForm, HANDLE_ORDERS,
                 lambda ids, actor, d: edit_receiver(ids[0], ReceiverEdit(**{k: v or None for k, v in d.items()}),
                                                     actor),
                 gettext_lazy("已修改收货人 %(n)d 单")),
    "note": (gettext_lazy("备注/标签"), NoteForm, NOTE_ORDERS,
             lambda ids, actor, d: note_orders(ids, actor, d["note"], _tags(d["tags"])),
             gettext_lazy("已备注 %(n)d 单")),
}  # fmt: skip
SKIPPED = gettext_lazy("订单 %(order)s 未处理：%(why)s")


class WorkbenchActions:
    """Mixed into OrderAdmin: the bulk actions, the order page's buttons and their form page."""

    def has_handle_orders_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm(HANDLE_ORDERS)

    def has_note_orders_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm(NOTE_ORDERS)

    def has_review_exceptions_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm(REVIEW_EXCEPTIONS)

    # an order page offers only what its status allows (the use cases refuse the rest anyway)
    def _order_in(self, object_id, statuses) -> bool:
        return object_id is None or Order.objects.filter(pk=object_id, status__in=statuses).exists()

    def has_approve_order_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm(REVIEW_EXCEPTIONS) and self._order_in(object_id, {S.ON_HOLD})

    def has_hold_order_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm(HANDLE_ORDERS) and self._order_in(object_id, HOLDABLE)

    def has_cancel_order_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm(HANDLE_ORDERS) and self._order_in(object_id, CANCELLABLE)

    def has_warehouse_order_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm(HANDLE_ORDERS) and self._order_in(object_id, REROUTABLE)

    def has_receiver_order_permission(self, request, object_id=None) -> bool:
        return request.user.has_perm(HANDLE_ORDERS) and self._order_in(object_id, RECEIVER_EDITABLE)

    # --- bulk, from the list ---------------------------------------------------------------------

    @admin.action(description=gettext_lazy("放行所选订单"), permissions=["review_exceptions"])
    def bulk_approve(self, request, queryset):
        return self._act(request, "approve", list(queryset.values_list("pk", flat=True)), bulk=True)

    @admin.action(description=gettext_lazy("挂起所选订单"), permissions=["handle_orders"])
    def bulk_hold(self, request, queryset):
        return self._act(request, "hold", list(queryset.values_list("pk", flat=True)), bulk=True)

    @admin.action(description=gettext_lazy("取消所选订单"), permissions=["handle_orders"])
    def bulk_cancel(self, request, queryset):
        return self._act(request, "cancel", list(queryset.values_list("pk", flat=True)), bulk=True)

    @admin.action(description=gettext_lazy("所选订单改发货仓"), permissions=["handle_orders"])
    def bulk_warehouse(self, request, queryset):
        return self._act(request, "warehouse", list(queryset.values_list("pk", flat=True)), bulk=True)

    @admin.action(description=gettext_lazy("所选订单加备注/标签"), permissions=["note_orders"])
    def bulk_note(self, request, queryset):
        return self._act(request, "note", list(queryset.values_list("pk", flat=True)), bulk=True)

    # --- one order, from its page ------------------------------------------------------------------

    @action(description=gettext_lazy("放行"), url_path="wb-approve", icon="play_arrow",
            permissions=["approve_order"])  # fmt: skip
    def do_approve(self, request, object_id):
        return self._act(request, "approve", [int(object_id)])

    @action(description=gettext_lazy("挂起"), url_path="wb-hold", icon="pause", permissions=["hold_order"])
    def do_hold(self, request, object_id):
        return self._act(request, "hold", [int(object_id)])

    @action(
        description=gettext_lazy("取消订单"),
        url_path="wb-cancel",
        icon="cancel",
        permissions=["cancel_order"],
    )
    def do_cancel(self, request, object_id):
        return self._act(request, "cancel", [int(object_id)])

    @action(description=gettext_lazy("改发货仓"), url_path="wb-warehouse", icon="warehouse",
            permissions=["warehouse_order"])  # fmt: skip
    def do_warehouse(self, request, object_id):
        return self._act(request, "warehouse", [int(object_id)])

    @action(description=gettext_lazy("修改收货人"), url_path="wb-receiver", icon="edit_location",
            permissions=["receiver_order"])  # fmt: skip
    def do_receiver(self, request, object_id):
        return self._act(request, "receiver", [int(object_id)])

    @action(
        description=gettext_lazy("备注/标签"), url_path="wb-note", icon="sell", permissions=["note_orders"]
    )
    def do_note(self, request, object_id):
        return self._act(request, "note", [int(object_id)])

    def _act(self, request, name: str, ids: list[int], bulk: bool = False):
        """GET (or the list's first POST): the form; POST with `confirm`: run the use case, report."""
        title, form_class, perm, run, done_text = ACTIONS[name]
        if not request.user.has_perm(perm):
            raise PermissionDenied(f"需要权限 {perm}")
        if not ids:
            raise Http404("no order")
        back = (
            reverse("admin:orders_order_changelist")
            if bulk
            else reverse("admin:orders_order_change", args=[ids[0]])
        )
        form = form_class(request.POST if request.POST.get("confirm") else None)
        if request.method == "POST" and request.POST.get("confirm") and form.is_valid():
            try:
                result = run(ids, request.user.get_username(), form.cleaned_data)
            except DecisionRefused as exc:
                messages.error(request, _("未处理：%(why)s") % {"why": exc})
            else:
                self._report(request, result, done_text)
                return HttpResponseRedirect(back)
        orders = list(Order.objects.filter(pk__in=ids).select_related("shop")[:200])
        context = {
            **self.admin_site.each_context(request), "title": title, "form": form, "orders": orders,
            "ids": ids, "count": len(ids), "bulk_action": f"bulk_{name}" if bulk else "", "back": back,
            "opts": self.model._meta,
        }  # fmt: skip
        return TemplateResponse(request, "orders/workbench/action.html", context)

    def _report(self, request, result: Decisions, done_text) -> None:
        if result.done:
            messages.success(request, done_text % {"n": len(result.done)})
        names = dict(
            (pk, f"{code}/{cid}")
            for pk, code, cid in Order.objects.filter(pk__in=list(result.skipped)).values_list(
                "pk", "shop__code", "channel_order_id"
            )
        )
        for pk, why in sorted(result.skipped.items()):
            messages.warning(request, SKIPPED % {"order": names.get(pk, f"#{pk}"), "why": why})

    # --- actions of the apps above orders ----------------------------------------------------------

    def get_urls(self):
        extra = [
            path("<int:object_id>/do/<str:name>/", self.admin_site.admin_view(self.run_registered),
                 name="orders_order_registered"),
        ]  # fmt: skip
        return extra + super().get_urls()

    def run_registered(self, request, object_id: int, name: str):
        found = workbench.ACTIONS.get(name)
        if found is None:
            raise Http404("no such action")
        if not request.user.has_perm(found.permission):
            raise PermissionDenied(f"需要权限 {found.permission}")
        order = get_object_or_404(Order.objects.select_related("shop", "warehouse"), pk=object_id)
        return found.run(request, order, self.admin_site.each_context(request))


# --- list filters ---------------------------------------------------------------------------------


def json_has(field: str, item: str) -> Q:
    """Rows whose JSON list `field` holds the string `item`, on SQLite (no JSON `contains`; text
    stored with non-ASCII escaped) and PostgreSQL alike: the quoted item in the list's text."""
    return Q(**{f"{field}__icontains": f'"{item}"'}) | Q(**{f"{field}__icontains": json.dumps(item)})


class PaidDateFilter(RangeDateFilter):
    """付款日期 from–to, whole days in Beijing time (the "to" day included)."""

    def queryset(self, request, queryset):
        bounds = {}
        for key, lookup, extra in (("from", "gte", 0), ("to", "lt", 1)):
            raw = self.used_parameters.get(f"{self.parameter_name}_{key}")
            if raw in (None, ""):
                continue
            day = parse_date(raw) if isinstance(raw, str) else None
            if day is None:
                return None  # not a date: Unfold shows the list unfiltered with the form's error
            start = datetime.combine(day + timedelta(days=extra), time.min, tzinfo=SHANGHAI)
            bounds[f"{self.parameter_name}__{lookup}"] = start
        return queryset.filter(**bounds)


class CarrierFilter(admin.SimpleListFilter):
    title = gettext_lazy("快递")
    parameter_name = "carrier"

    def lookups(self, request, model_admin):
        return [(code, name) for code, name in labels.CARRIER_NAMES.items()]

    def queryset(self, request, queryset):
        return queryset.filter(json_has("flags", f"carrier:{self.value()}")) if self.value() else queryset


class HoldReasonFilter(admin.SimpleListFilter):
    title = gettext_lazy("挂起原因")
    parameter_name = "hold"

    def lookups(self, request, model_admin):
        codes = OrderHold.objects.filter(released_at__isnull=True).values_list("code", flat=True).distinct()
        return sorted(((c, labels.hold_label(c)) for c in codes), key=lambda x: x[1])[:50]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        open_hold = OrderHold.objects.filter(
            order=OuterRef("pk"), released_at__isnull=True, code=self.value()
        )
        return queryset.filter(Exists(open_hold))


class FlagFilter(admin.SimpleListFilter):
    title = gettext_lazy("包裹标记")
    parameter_name = "flag"

    def lookups(self, request, model_admin):
        known = [(f, labels.flag_label(f)) for f in labels.FLAG_LABELS]
        return known + [
            (f"route:{w.code}", labels.flag_label(f"route:{w.code}")) for w in Warehouse.objects.all()
        ]

    def queryset(self, request, queryset):
        return queryset.filter(json_has("flags", self.value())) if self.value() else queryset


class TagFilter(admin.SimpleListFilter):
    title = gettext_lazy("标签")
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        return [("__any", _("有标签"))]

    def queryset(self, request, queryset):
        if self.value() == "__any":
            return queryset.exclude(tags=[])
        return queryset.filter(json_has("tags", self.value())) if self.value() else queryset
