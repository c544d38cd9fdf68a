"""The hooks intake calls: `review_order` for every order before allocation (current rules, counted
history, the pure evaluator, then the hits recorded) and `route_order` for every order being
allocated (the preferred warehouse named by a review rule's flag route:X or by the routing rules).

Rules are cached per process and reloaded when the runtime stamp (one primary-key read per intake
batch) differs, so a change applies to the next order in every worker without a restart.
"""

import logging

from zhongshu.orders.review import OrderInfo, Review
from zhongshu.rules import selectors, services
from zhongshu.rules.engine import CompiledRule, compile_rule, evaluate, history_needs
from zhongshu.rules.facts import History
from zhongshu.rules.models import Stage

log = logging.getLogger(__name__)

STAGES = (Stage.REVIEW, Stage.ROUTING, Stage.CARRIER)  # the stages intake evaluates
ROUTE_FLAG = "route:"  # flag of a route_to_warehouse action of a review rule (rules.actions)

_cache: tuple[str | None, dict[str, tuple[CompiledRule, ...]]] = (None, {})


def current_rules(stage: str = Stage.REVIEW) -> tuple[tuple[CompiledRule, ...], bool]:
    """The compiled active rules of a stage and the peak-mode switch."""
    by_stage, peak = _current()
    return by_stage[stage], peak


def _current() -> tuple[dict[str, tuple[CompiledRule, ...]], bool]:
    global _cache
    stamp, peak = selectors.runtime()
    if stamp != _cache[0]:  # rules read after the stamp: never older than it
        _cache = (stamp, {stage: _compile(selectors.active_rules(stage)) for stage in STAGES})
    return _cache[1], peak


def _compile(rows: list[dict]) -> tuple[CompiledRule, ...]:
    out = []
    for row in rows:
        try:
            out.append(compile_rule(row))
        except (KeyError, TypeError, ValueError):
            log.error(
                "rule %s does not compile; skipped (save it again through the API or admin)", row["code"]
            )
    return tuple(out)


def prepare(context: dict) -> None:
    """Once per intake batch: the current review and routing rules (one stamp read per batch, not
    per order)."""
    by_stage, peak = _current()
    context["rules"] = (by_stage[Stage.REVIEW], peak)
    context["routing_rules"] = (by_stage[Stage.ROUTING], peak)
    context["carrier_rules"] = (by_stage[Stage.CARRIER], peak)


def review_order(order: OrderInfo, context: dict | None = None) -> Review:
    rules, peak = (context or {}).get("rules") or current_rules()
    if not rules:
        return Review()
    needs = _needs(rules, peak)
    decision = evaluate(rules, order, selectors.history(order, needs), peak)
    if decision.matched:
        services.record_decision(order, decision)
    return Review(holds=list(decision.outcome.holds), flags=list(decision.outcome.flags))


def route_order(order: OrderInfo, context: dict | None = None) -> str | None:
    """The preferred warehouse of an order being allocated, or None (the region table decides).

    A review rule's route_to_warehouse (flag route:X on the order) comes first; then the routing
    rules by priority: the first matching one (not a dry run) with a route_to_warehouse action names
    it. Routing hits are not recorded (the allocation's transition names the warehouse)."""
    for flag in sorted(order.flags):
        if flag.startswith(ROUTE_FLAG) and flag[len(ROUTE_FLAG) :]:
            return flag[len(ROUTE_FLAG) :]
    return _first_action(order, context, Stage.ROUTING, "route_to_warehouse", "warehouse")


def carrier_for(order: OrderInfo, context: dict | None = None) -> str | None:
    """The carrier of an allocated order (order.warehouse set): the first matching carrier rule (not
    a dry run) by priority with a choose_carrier action names it; None when no rule matches."""
    return _first_action(order, context, Stage.CARRIER, "choose_carrier", "carrier")


_needs_of: dict[tuple[int, bool], tuple[tuple[CompiledRule, ...], frozenset]] = {}


def _needs(rules: tuple[CompiledRule, ...], peak: bool) -> frozenset:
    """The history the rules in force read (history_needs), worked out once per compiled rule set
    (the cached rules are the same tuple until they change), not once per order."""
    hit = _needs_of.get((id(rules), peak))
    if hit is None or hit[0] is not rules:
        if len(_needs_of) > 32:
            _needs_of.clear()
        hit = _needs_of[(id(rules), peak)] = (
            rules,
            history_needs(r for r in rules if peak or not r.peak_only),
        )
    return hit[1]


def _first_action(order: OrderInfo, context: dict | None, stage: str, kind: str, field: str) -> str | None:
    """The `field` of the first `kind` action of the first matching rule of a stage (by priority,
    dry runs skipped); the stage's rules come from the batch context when prepared."""
    rules, peak = (context or {}).get(f"{stage}_rules") or current_rules(stage)
    if not rules:
        return None
    needs = _needs(rules, peak)
    history = selectors.history(order, needs) if needs else History()
    for rule in evaluate(rules, order, history, peak).matched:
        if rule.dry_run:
            continue
        for action in rule.actions:
            if action.get("type") == kind:
                return action[field]
    return None
