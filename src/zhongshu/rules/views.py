"""Console pages of the rules engine: the rule list and the visual rule builder (/console/rules/).

The builder (static/rules/builder.js, Alpine) edits the condition tree and the actions in the browser
and posts them as JSON with a normal form; the server validates (rules.conditions.validate) and saves
through rules.services.save_rule, so every change is a version with its diff. Looking needs
rules.view_rule; saving and rolling back need rules.change_rule.
"""

import json

from django.contrib import admin, messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.text import capfirst
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from zhongshu.inventory.models import Warehouse
from zhongshu.rules import selectors, services
from zhongshu.rules.actions import FLAG_LABELS
from zhongshu.rules.conditions import OPS_BY_TYPE, describe
from zhongshu.rules.facts import catalogue
from zhongshu.rules.forms import EDITED, RuleEditForm, localised, rule_errors
from zhongshu.rules.models import Rule, RuleSet, Stage

VIEW, CHANGE = "rules.view_rule", "rules.change_rule"
LOGIN = reverse_lazy("admin:login")
CARRIERS = ("SF", "ZTO", "YTO", "STO", "YD", "JD", "EMS")  # suggestions only: the field is free text


def _require(request: HttpRequest, perm: str) -> None:
    if not request.user.has_perm(perm):
        raise PermissionDenied


def _lang() -> str:
    return "en" if (get_language() or "").startswith("en") else "zh"


def _author(request: HttpRequest) -> str:
    return f"console:{request.user.get_username()}"


def _preview(condition: object, actions: object) -> str:
    """describe() of a tree that may be half-built (the builder asks while the user types)."""
    try:
        return describe(condition if isinstance(condition, dict) else {}, _lang(),
                        actions if isinstance(actions, list) else None)  # fmt: skip
    except (AttributeError, KeyError, TypeError):
        return ""


def _page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    return render(request, template, {**admin.site.each_context(request), **context}, status=status)


@require_GET
@login_required(login_url=LOGIN)
def rule_list(request: HttpRequest) -> HttpResponse:
    """Rules by stage, with their switches and plain-language preview."""
    _require(request, VIEW)
    by_set: dict[int, list] = {}
    for rule in selectors.rules():
        by_set.setdefault(rule.rule_set_id, []).append(
            {"rule": rule, "preview": _preview(rule.condition, rule.actions)}
        )
    stages = dict(Stage.choices)
    order = list(stages)  # review, routing, carrier, …: the order orders meet them
    sections = [
        {"rule_set": s, "stage": stages.get(s.stage, s.stage), "rules": by_set.get(s.pk, [])}
        for s in sorted(
            RuleSet.objects.all(), key=lambda s: (order.index(s.stage) if s.stage in order else 99, s.code)
        )
    ]
    return _page(request, "rules/rule_list.html", {"title": _("规则编辑器"), "sections": sections})


@require_http_methods(["GET", "POST"])
@login_required(login_url=LOGIN)
def rule_edit(request: HttpRequest, code: str) -> HttpResponse:
    """The builder: GET shows the rule; POST validates and saves a new version (or shows the errors)."""
    _require(request, VIEW)
    rule = _rule(code)
    state, errors, note = _state(rule), [], ""
    if request.method == "POST":
        _require(request, CHANGE)
        form = RuleEditForm(request.POST)
        if not form.is_valid():
            errors = [{"path": "rule", "msg": m} for ms in form.errors.values() for m in ms]
        else:
            state, note = form.cleaned_data["rule"], form.cleaned_data["note"]
            errors = rule_errors(state) or _save(request, rule, state, note)
            if not errors:
                return redirect("rules_console:edit", code=rule.code)
    return _page(request, "rules/rule_edit.html", _edit_context(request, rule, state, errors, note))


def _save(request: HttpRequest, rule: Rule, state: dict, note: str) -> list[dict]:
    try:
        saved = services.save_rule({**state, "code": rule.code}, _author(request), note=note)
    except services.RuleInvalid as exc:
        return localised(exc.errors)
    if saved.version == rule.version:
        messages.info(request, _("没有改动，未生成新版本"))
    else:
        messages.success(request, _("已保存为 v%(v)s，下一笔订单即按新规则执行") % {"v": saved.version})
    return []


@require_POST
@login_required(login_url=LOGIN)
def rule_preview(request: HttpRequest, code: str) -> JsonResponse:
    """The plain-language preview and the validation errors of a tree being edited (nothing saved)."""
    _require(request, VIEW)
    _rule(code)
    try:
        data = json.loads(request.body)
    except ValueError:
        return JsonResponse(
            {"preview": "", "errors": [{"path": "rule", "msg": _("规则数据格式不对")}]}, status=400
        )
    if not isinstance(data, dict):
        data = {}
    state = {k: data.get(k) for k in EDITED}
    return JsonResponse(
        {"preview": _preview(state["condition"], state["actions"]), "errors": rule_errors(state)}
    )


@require_POST
@login_required(login_url=LOGIN)
def rule_rollback(request: HttpRequest, code: str, version: int) -> HttpResponse:
    """Restore an earlier version (itself a new version with its diff)."""
    _require(request, CHANGE)
    rule = _rule(code)
    if not selectors.versions(rule).filter(version=version).exists():
        raise Http404
    saved = services.rollback(rule, version, _author(request))
    messages.success(
        request, _("已回滚到 v%(old)s（保存为 v%(new)s）") % {"old": version, "new": saved.version}
    )
    return redirect("rules_console:edit", code=rule.code)


def _rule(code: str) -> Rule:
    rule = selectors.rule(code)
    if rule is None:
        raise Http404
    return rule


def _state(rule: Rule) -> dict:
    return {k: getattr(rule, k) for k in EDITED}


def _edit_context(request: HttpRequest, rule: Rule, state: dict, errors: list[dict], note: str) -> dict:
    preview = _preview(state.get("condition"), state.get("actions"))
    builder = {
        "rule": state,
        "preview": preview,
        "errors": errors,
        "previewUrl": reverse("rules_console:preview", args=[rule.code]),
        **builder_catalogue(),
    }
    return {
        "title": rule.name,
        "subtitle": _("规则编辑器"),
        "rule": rule,
        "note": note,
        "errors": errors,
        "preview": preview,
        "builder": builder,
        "history": _history(rule),
        "can_change": request.user.has_perm(CHANGE),
    }


def _history(rule: Rule) -> list[dict]:
    return [
        {"v": v, "preview": _preview(v.snapshot.get("condition"), v.snapshot.get("actions")),
         "current": v.version == rule.version}
        for v in selectors.versions(rule)
    ]  # fmt: skip


# --- what the builder offers -----------------------------------------------------------------------


def _fact_group(fact: dict) -> str:
    if fact["scope"] == "history":
        return "history"
    return {"line": "line", "receiver": "receiver", "shop": "shop", "buyer": "shop"}.get(
        fact["name"].split(".")[0], "order"
    )


def _op_labels() -> dict[str, str]:
    return {
        "=": "=", "≠": "≠", ">": ">", "≥": "≥", "<": "<", "≤": "≤",
        "contains": _("包含"), "not_contains": _("不包含"), "in": _("属于"), "not_in": _("不属于"),
        "is_true": _("是"), "is_false": _("否"),
    }  # fmt: skip


def builder_catalogue() -> dict:
    """Facts (grouped, labelled in the user's language), operators per type and the action choices."""
    lang, labels = _lang(), _op_labels()
    facts = [
        {
            **f,
            "label": f["en"] if lang == "en" else f["zh"],
            "help": f["help_en"] if lang == "en" else f["help"],
            "group": _fact_group(f),
        }
        for f in catalogue()
    ]
    return {
        "facts": facts,
        "factGroups": [["order", capfirst(pgettext("singular", "订单"))], ["receiver", _("收货信息")],
                       ["shop", _("店铺与买家")], ["line", _("商品行")], ["history", _("历史订单")]],
        "ops": {t: [[op, labels[op]] for op in ops] for t, ops in OPS_BY_TYPE.items()},
        "actionTypes": [["hold", _("挂起（进入异常队列）")], ["manual_review", _("人工审核")],
                        ["flag", _("包裹标记")], ["pause_shipping_and_notify", _("暂停发货并通知运营")],
                        ["route_to_warehouse", _("指定发货仓")], ["choose_carrier", _("指定快递")],
                        ["add_tag", _("打标签")]],
        "flags": [[code, zh if lang == "zh" else en] for code, (zh, en) in FLAG_LABELS.items()],
        "warehouses": [[w.code, f"{w.code} {w.name}"] for w in Warehouse.objects.filter(active=True)],
        "carriers": list(CARRIERS),
    }  # fmt: skip
