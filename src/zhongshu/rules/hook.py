"""The review hook intake calls for every order before allocation: current rules, counted history,
the pure evaluator, then the hits recorded.

Rules are cached per process and reloaded when the runtime stamp (one primary-key read per intake
batch) differs, so a change applies to the next order in every worker without a restart.
"""

import logging

from zhongshu.orders.review import OrderInfo, Review
from zhongshu.rules import selectors, services
from zhongshu.rules.engine import CompiledRule, compile_rule, evaluate, history_needs

log = logging.getLogger(__name__)

_cache: tuple[str | None, tuple[CompiledRule, ...]] = (None, ())


def current_rules() -> tuple[tuple[CompiledRule, ...], bool]:
    """The compiled active review rules and the peak-mode switch."""
    global _cache
    stamp, peak = selectors.runtime()
    if stamp != _cache[0]:
        _cache = (stamp, _compile(selectors.active_rules()))  # read after the stamp: never older than it
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
    """Once per intake batch: the current rules (one stamp read per batch, not per order)."""
    context["rules"] = current_rules()


def review_order(order: OrderInfo, context: dict | None = None) -> Review:
    rules, peak = (context or {}).get("rules") or current_rules()
    if not rules:
        return Review()
    needs = history_needs(r for r in rules if peak or not r.peak_only)
    decision = evaluate(rules, order, selectors.history(order, needs), peak)
    if decision.matched:
        services.record_decision(order, decision)
    return Review(holds=list(decision.outcome.holds), flags=list(decision.outcome.flags))
