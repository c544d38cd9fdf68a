"""Rules over HTTP: list, read, change (validated, versioned), history, rollback, fact catalogue,
backtest (dry run over stored orders).

Reading (and a backtest, which changes nothing) needs rules.view_rule; changing needs rules.change_rule."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from ninja import Router, Schema, Status
from ninja.errors import HttpError

from zhongshu.core.auth import requires
from zhongshu.core.params import Code, FreeText
from zhongshu.core.responses import errors, example
from zhongshu.rules import selectors, services
from zhongshu.rules.backtest import backtest
from zhongshu.rules.conditions import describe
from zhongshu.rules.facts import catalogue
from zhongshu.rules.models import Rule
from zhongshu.rules.selectors import runtime

router = Router(tags=["rules"])

# A rule as PUT /rules/{code} takes it (here: hold orders of 2,000 yuan or more for manual review).
RULE_EXAMPLE = {
    "name": "大额订单人工审核",
    "description": "实付金额 ≥ 2000 元 → 人工审核",
    "rule_set": "review",
    "condition": {"all": [{"fact": "order.paid_amount", "op": ">=", "value": "2000"}]},
    "actions": [{"type": "manual_review", "reason": "大额订单，人工审核"}],
    "priority": 25,
    "enabled": True,
}


class RuleOut(Schema):
    code: str
    name: str
    description: str
    rule_set: str
    stage: str
    condition: dict
    actions: list[dict]
    priority: int
    enabled: bool
    dry_run: bool
    peak_only: bool
    version: int
    updated_at: datetime
    updated_by: str
    preview_zh: str
    preview_en: str


class RuleIn(Schema):
    """Any subset of the fields; a new code needs name, condition and actions."""

    name: Code | None = None
    description: FreeText | None = None
    rule_set: Code | None = None
    condition: Any = None
    actions: Any = None
    priority: int | None = None
    enabled: bool | None = None
    dry_run: bool | None = None
    peak_only: bool | None = None


class VersionOut(Schema):
    version: int
    author: str
    note: str
    created_at: datetime
    snapshot: dict
    diff: list[dict]
    diff_text: str


class FactOut(Schema):
    name: str
    zh: str
    en: str
    type: str
    scope: str
    choices: list[str]
    multi: bool
    param: str | None
    help: str


class PeakIn(Schema):
    peak_mode: bool


def rule_out(r: Rule) -> dict:
    data = {k: getattr(r, k) for k in ("code", "name", "description", "condition", "actions", "priority",
                                       "enabled", "dry_run", "peak_only", "version", "updated_at", "updated_by")}  # fmt: skip
    return data | {
        "rule_set": r.rule_set.code,
        "stage": r.rule_set.stage,
        "preview_zh": describe(r.condition, "zh", r.actions),
        "preview_en": describe(r.condition, "en", r.actions),
    }


VIEW, CHANGE = requires("rules.view_rule"), requires("rules.change_rule")


def _actor(request) -> str:
    return f"api:{request.user.username}"


def _rule(code: str) -> Rule:
    r = selectors.rule(code)
    if r is None:
        raise HttpError(404, f"no rule '{code}'")
    return r


def _loc(path: str) -> list:
    """ "condition.all[1].value" → ["condition", "all", 1, "value"] (as the other 422 answers)."""
    parts = path.replace("[", ".").replace("]", "").split(".")
    return [int(p) if p.isdigit() else p for p in parts]


def _invalid(exc: services.RuleInvalid) -> Status:
    detail = [{"loc": _loc(e["path"]), "field": e["path"], "msg": e["msg"]} for e in exc.errors]
    return Status(422, {"detail": detail})


@router.get(
    "/rules",
    auth=VIEW,
    response={200: list[RuleOut], **errors(401, 403, 422)},
    summary="All rules with a plain-language preview",
)
def list_rules(request, stage: Code | None = None):
    return [rule_out(r) for r in selectors.rules(stage)]


@router.get(
    "/rules/facts",
    auth=VIEW,
    response={200: list[FactOut], **errors(401, 403)},
    summary="The fact catalogue conditions are built from",
)
def get_facts(request):
    return catalogue()


@router.get(
    "/rules/peak-mode",
    auth=VIEW,
    response={200: PeakIn, **errors(401, 403)},
    summary="Peak mode (peak-only rules run only while on)",
)
def get_peak_mode(request):
    return {"peak_mode": runtime()[1]}


@router.put(
    "/rules/peak-mode",
    auth=CHANGE,
    response={200: PeakIn, **errors(400, 401, 403, 413, 422)},
    summary="Switch peak mode (audited)",
    openapi_extra=example({"peak_mode": True}),
)
def put_peak_mode(request, body: PeakIn):
    services.set_peak_mode(body.peak_mode, _actor(request))
    return {"peak_mode": runtime()[1]}


@router.get(
    "/rules/{code}", auth=VIEW, response={200: RuleOut, **errors(401, 403, 404, 422)}, summary="One rule"
)
def get_rule(request, code: Code):
    return rule_out(_rule(code))


@router.put(
    "/rules/{code}",
    auth=CHANGE,
    response={200: RuleOut, **errors(400, 401, 403, 413, 422)},
    summary="Create or change a rule (validated; a new version)",
    openapi_extra=example(RULE_EXAMPLE),
)
def put_rule(request, code: Code, body: RuleIn):
    actor = _actor(request)
    data = {k: v for k, v in body.dict(exclude_unset=True).items() if v is not None} | {"code": code}
    try:
        return rule_out(services.save_rule(data, actor))
    except services.RuleInvalid as exc:
        return _invalid(exc)


@router.get(
    "/rules/{code}/versions",
    auth=VIEW,
    response={200: list[VersionOut], **errors(401, 403, 404, 422)},
    summary="Version history with diffs",
)
def get_versions(request, code: Code):
    return list(selectors.versions(_rule(code)))


@router.post(
    "/rules/{code}/rollback/{version}",
    auth=CHANGE,
    response={200: RuleOut, **errors(401, 403, 404, 422)},
    summary="Restore a version (a new version)",
)
def post_rollback(request, code: Code, version: int):
    actor = _actor(request)
    rule = _rule(code)
    if not selectors.versions(rule).filter(version=version).exists():
        raise HttpError(404, f"rule '{code}' has no version {version}")
    return rule_out(services.rollback(rule, version, actor))


class BacktestIn(Schema):
    """Days back from now; condition and/or actions to try instead of the saved ones (not saved)."""

    days: int = 30
    condition: Any = None
    actions: Any = None


class CaughtOut(Schema):
    order_id: int
    shop: str
    channel_order_id: str
    placed_at: datetime
    paid_amount: Decimal
    status: str


class CatchSetOut(Schema):
    count: int
    value: Decimal
    orders: list[CaughtOut]


class BacktestOut(Schema):
    rule: str
    days: int
    since: datetime
    scanned: int
    proposed: bool
    caught: int
    value: Decimal
    orders: list[CaughtOut]
    only_new: CatchSetOut
    only_current: CatchSetOut
    both: CatchSetOut
    seconds: float


@router.post(
    "/rules/{code}/backtest",
    auth=VIEW,
    response={200: BacktestOut, **errors(400, 401, 403, 404, 413, 422)},
    openapi_extra=example({"days": 30, "condition": RULE_EXAMPLE["condition"]}),
    summary="Dry run over the orders of the last N days: what the rule (or a change) would have caught",
)
def post_backtest(request, code: Code, body: BacktestIn):
    rule = _rule(code)
    try:
        result = backtest(rule, body.days, body.condition, body.actions)
    except services.RuleInvalid as exc:
        return _invalid(exc)
    return {
        "rule": result.rule, "days": result.days, "since": result.since, "scanned": result.scanned,
        "proposed": result.proposed, "caught": result.caught.count, "value": result.caught.value,
        "orders": result.caught.as_dict()["orders"], "only_new": result.only_new.as_dict(),
        "only_current": result.only_current.as_dict(), "both": result.both.as_dict(), "seconds": result.seconds,
    }  # fmt: skip
