"""Console pages of the exception queue (/console/exceptions/): held orders by reason, age and value,
approve / edit then approve / cancel, single and in bulk; the month's interception figures; a
backtest page for a rule.

Seeing the queue needs orders.view_order; deciding needs orders.review_exceptions (role 运营).
"""

import json
from decimal import Decimal, InvalidOperation

from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zhongshu.core.roles import REVEAL_RECEIVER, REVIEW_EXCEPTIONS
from zhongshu.orders import exceptions as queue_reads
from zhongshu.orders.services import (
    DecisionRefused,
    Decisions,
    OrderEdit,
    approve_orders,
    cancel_orders,
    edit_and_approve,
)
from zhongshu.rules import selectors as rule_selectors
from zhongshu.rules.backtest import backtest
from zhongshu.rules.services import RuleInvalid

VIEW = "orders.view_order"
PAGE_SIZE = 100
ADDRESS_FIELDS = ("province", "city", "district", "address")
APPROVED = (gettext_lazy("已放行 %(n)d 单"), gettext_lazy("订单 #%(pk)s 未放行：%(why)s"))
CANCELLED = (gettext_lazy("已取消 %(n)d 单"), gettext_lazy("订单 #%(pk)s 未取消：%(why)s"))


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied(f"需要权限 {perm}")


def _page(request: HttpRequest, template: str, **context) -> HttpResponse:
    ctx = {
        **admin.site.each_context(request), "can_act": request.user.has_perm(REVIEW_EXCEPTIONS),
        "can_reveal": request.user.has_perm(REVEAL_RECEIVER), **context,
    }  # fmt: skip
    return render(request, f"orders/exceptions/{template}", ctx)


def _decimal(raw: str | None) -> Decimal | None:
    try:
        return Decimal(raw) if raw else None
    except InvalidOperation:
        return None


def _filter(params) -> queue_reads.QueueFilter:
    hours = params.get("older_than_hours", "")
    return queue_reads.QueueFilter(
        code=params.get("code", "").strip(), shop=params.get("shop", "").strip(),
        min_value=_decimal(params.get("min_value")), max_value=_decimal(params.get("max_value")),
        older_than_hours=int(hours) if hours.isdigit() else None, sort=params.get("sort") or "age",
    )  # fmt: skip


@require_GET
@staff_member_required
def queue(request: HttpRequest) -> HttpResponse:
    """The held orders, filtered and sorted, with the month's figures."""
    _require(request, VIEW)
    f = _filter(request.GET)
    page = Paginator(queue_reads.held_orders(f), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return _page(
        request, "queue.html", title=_("异常订单"), filter=f, page=page, query=query.urlencode(),
        reasons=(reasons := queue_reads.reason_counts()), reason_codes=[r["code"] for r in reasons], totals=queue_reads.queue_totals(),
        month=queue_reads.month_figures(), shops=queue_reads.shops_in_queue(), sorts=queue_reads.SORT_LABELS,
    )  # fmt: skip


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next") or ""
    home = reverse("exceptions:queue")
    ok = target.startswith(home) and url_has_allowed_host_and_scheme(target, {request.get_host()})
    return target if ok else home


def _report(request: HttpRequest, result: Decisions, texts: tuple) -> None:
    done, skipped = texts
    if result.done:
        messages.success(request, done % {"n": len(result.done)})
    for pk, why in sorted(result.skipped.items()):
        messages.warning(request, skipped % {"pk": pk, "why": why})


@require_POST
@staff_member_required
def decide(request: HttpRequest) -> HttpResponse:
    """Bulk (or single) approve / cancel of the ticked orders."""
    _require(request, REVIEW_EXCEPTIONS)
    ids = [int(x) for x in request.POST.getlist("ids") if x.isdigit()]
    action, note = request.POST.get("action"), request.POST.get("note", "").strip()[:200]
    if action not in ("approve", "cancel"):
        return HttpResponseBadRequest("action must be approve or cancel")
    if not ids:
        messages.warning(request, _("请先勾选订单"))
    elif action == "cancel" and not note:
        messages.error(request, _("取消订单需要填写原因"))
    elif action == "approve":
        _report(request, approve_orders(ids, request.user.get_username(), note), APPROVED)
    else:
        _report(request, cancel_orders(ids, request.user.get_username(), note), CANCELLED)
    return redirect(_back(request))


def _edit_from(post, order) -> OrderEdit:
    address = {k: post.get(f"receiver_{k}", "").strip() for k in ADDRESS_FIELDS}
    address["address"] = address["address"] or order.receiver_address  # empty: keep the street address
    changed = address != {
        "province": order.receiver_province, "city": order.receiver_city,
        "district": order.receiver_district, "address": order.receiver_address,
    }  # fmt: skip
    skus = {
        ln.pk: post[f"sku_{ln.pk}"].strip()
        for ln in order.lines.all()
        if post.get(f"sku_{ln.pk}", "").strip() not in ("", ln.sku.code)
    }
    return OrderEdit(address=address if changed else None, skus=skus or None,
                     warehouse=post.get("warehouse") or None)  # fmt: skip


@require_http_methods(["GET", "POST"])
@staff_member_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One held order: holds, lines, history; approve, edit then approve, or cancel it."""
    _require(request, VIEW)
    order = queue_reads.held_order(pk)
    if order is None:
        raise Http404("no such order")
    if request.method == "POST":
        _require(request, REVIEW_EXCEPTIONS)
        done = _act_on(request, order)
        if done:
            return redirect(_back(request))
        order = queue_reads.held_order(pk)
    title = _("异常订单 %(order)s") % {"order": order}
    return _page(
        request, "detail.html", title=title, order=order,
        warehouses=queue_reads.warehouses(), sku_codes=queue_reads.sku_codes(),
    )  # fmt: skip


def _act_on(request: HttpRequest, order) -> bool:
    action, note = request.POST.get("action"), request.POST.get("note", "").strip()[:200]
    actor = request.user.get_username()
    if action == "approve":
        result = approve_orders([order.pk], actor, note)
        _report(request, result, APPROVED)
        return bool(result.done)
    if action == "cancel":
        if not note:
            messages.error(request, _("取消订单需要填写原因"))
            return False
        result = cancel_orders([order.pk], actor, note)
        _report(request, result, CANCELLED)
        return bool(result.done)
    if action == "edit":
        try:
            edit_and_approve(order.pk, _edit_from(request.POST, order), actor, note)
        except DecisionRefused as exc:
            messages.error(request, _("未修改：%(why)s") % {"why": exc})
            return False
        messages.success(request, _("已修改并放行 1 单"))
        return True
    messages.error(request, _("未知操作"))
    return False


@require_http_methods(["GET", "POST"])
@staff_member_required
def backtest_page(request: HttpRequest) -> HttpResponse:
    """Run a rule (or a condition to try, as JSON) over the orders of the last N days."""
    _require(request, VIEW)
    params = request.POST if request.method == "POST" else request.GET
    code, days = params.get("rule", ""), params.get("days", "30")
    raw = params.get("condition", "").strip()
    ctx = {"rules": rule_selectors.rules(), "code": code, "days": days, "condition": raw}
    rule = rule_selectors.rule(code) if code else None
    if rule is not None:
        try:
            condition = json.loads(raw) if raw else None
            ctx["result"] = backtest(rule, int(days) if days.isdigit() else 0, condition)
        except json.JSONDecodeError as exc:
            ctx["errors"] = [{"path": "condition", "msg": _("不是有效的 JSON：%(why)s") % {"why": exc}}]
        except RuleInvalid as exc:
            ctx["errors"] = exc.errors
        ctx["current"] = json.dumps(rule.condition, ensure_ascii=False, indent=2)
    return _page(request, "backtest.html", title=_("规则回测"), **ctx)
