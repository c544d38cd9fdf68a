"""The evaluator: pure functions over OrderInfo/LineInfo and History, no ORM.

Rules are compiled once (per cache load) into closures, so evaluating an order is a few attribute
reads and Decimal comparisons per rule (bench/rules.py). Money compares as Decimal, exactly.
"""

import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from zhongshu.orders.review import OrderInfo
from zhongshu.rules.actions import Outcome, outcome
from zhongshu.rules.conditions import canonical_op, parse_value
from zhongshu.rules.facts import FACTS, Env, Fact, History

Test = Callable[[Env], bool]
_ORDERING = {"=": operator.eq, "≠": operator.ne, ">": operator.gt, "≥": operator.ge, "<": operator.lt,
             "≤": operator.le}  # fmt: skip


@dataclass(frozen=True)
class CompiledRule:
    code: str
    name: str
    version: int
    priority: int
    actions: tuple
    test: Test = field(repr=False, compare=False)
    dry_run: bool = False
    peak_only: bool = False
    needs: frozenset = frozenset()  # (fact name, param) of the history facts it reads
    rule_id: int | None = None


@dataclass
class Decision:
    """Matched rules of one order: what acts (outcome) and what only would have matched (dry run)."""

    matched: list[CompiledRule] = field(default_factory=list)
    outcome: Outcome = field(default_factory=Outcome)

    @property
    def dry_run(self) -> list[CompiledRule]:
        return [r for r in self.matched if r.dry_run]


def compile_rule(rule: dict) -> CompiledRule:
    """A validated rule (code, name, version, priority, condition, actions, dry_run, peak_only)."""
    needs: set = set()
    test = compile_condition(rule["condition"], needs) if rule["condition"] else _always
    return CompiledRule(
        code=rule["code"], name=rule["name"], version=rule.get("version", 0), priority=rule.get("priority", 100),
        actions=tuple(rule["actions"]), test=test, dry_run=rule.get("dry_run", False),
        peak_only=rule.get("peak_only", False), needs=frozenset(needs), rule_id=rule.get("id"),
    )  # fmt: skip


def _always(env: Env) -> bool:
    return True


def compile_condition(node: dict, needs: set) -> Test:
    if "not" in node:
        inner = compile_condition(node["not"], needs)
        return lambda env: not inner(env)
    for kind in ("all", "any"):
        if kind in node:
            return _group(kind, tuple(compile_condition(c, needs) for c in node[kind]))
    return _comparison(node, needs)


def _group(kind: str, parts: tuple[Test, ...]) -> Test:
    # unrolled for the common small groups: evaluation speed is the point of compiling
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        a, b = parts
        return (lambda env: a(env) and b(env)) if kind == "all" else (lambda env: a(env) or b(env))
    if kind == "all":
        return lambda env: all(p(env) for p in parts)
    return lambda env: any(p(env) for p in parts)


def _comparison(node: dict, needs: set) -> Test:
    fact = FACTS[node["fact"]]
    op = canonical_op(node["op"])
    check = _check(fact, op, parse_value(fact, op, node.get("value")))
    get = fact.get
    if fact.scope == "history":
        needs.add((fact.name, node.get("param")))
    if fact.param:
        n = node["param"]
        return lambda env: check(get(env, n))
    if fact.scope != "line":
        return lambda env: check(get(env))
    return _all_lines(get, check) if node.get("quantifier") == "all" else _any_line(get, check)


def _any_line(get: Callable, check: Callable) -> Test:
    def test(env: Env) -> bool:
        o = env.order
        for ln in o.lines:
            if check(get(ln, o)):
                return True
        return False

    return test


def _all_lines(get: Callable, check: Callable) -> Test:
    def test(env: Env) -> bool:
        o = env.order
        for ln in o.lines:
            if not check(get(ln, o)):
                return False
        return bool(o.lines)

    return test


def _check(fact: Fact, op: str, value) -> Callable[[object], bool]:
    """value → bool for one operator; an unknown value (None) never matches."""
    if op == "is_true":
        return lambda x: x is True
    if op == "is_false":
        return lambda x: x is False
    if fact.multi:  # a set of tags: =/contains mean "has the tag", in means "has any of them"
        op = {"=": "contains", "≠": "not_contains"}.get(op, op)
        if op in ("in", "not_in"):
            hit = op == "in"
            return lambda x: x is not None and (not value.isdisjoint(x)) == hit
    if op == "contains":
        return lambda x: x is not None and value in x
    if op == "not_contains":
        return lambda x: x is not None and value not in x
    if op == "in":
        return lambda x: x is not None and x in value
    if op == "not_in":
        return lambda x: x is not None and x not in value
    cmp = _ORDERING[op]
    return lambda x: x is not None and cmp(x, value)


def evaluate(rules: Iterable[CompiledRule], order: OrderInfo, history: History, peak_mode: bool) -> Decision:
    """Matched rules in priority order and the combined outcome of those that are not dry runs."""
    env = Env(order, history, peak_mode)
    matched = [r for r in rules if (peak_mode or not r.peak_only) and r.test(env)]
    decision = Decision(matched)
    acting = [r for r in matched if not r.dry_run]
    if acting:
        subject = f"{order.shop}/{order.channel_order_id}"
        for rule in acting:
            _merge(decision.outcome, outcome(rule.code, list(rule.actions), subject))
    return decision


def _merge(into: Outcome, more: Outcome) -> None:
    into.holds += [h for h in more.holds if h.code not in {x.code for x in into.holds}]
    into.flags += [f for f in more.flags if f not in into.flags]
    into.notices += more.notices


def history_needs(rules: Iterable[CompiledRule]) -> frozenset:
    """(fact, param) pairs the history selector has to count for these rules."""
    return frozenset(n for r in rules for n in r.needs)
