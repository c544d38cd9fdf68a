"""The condition language: a JSON tree a person builds by choosing, never by typing code.

    {"all": [node, …]}   every node holds          {"any": [node, …]}   at least one holds
    {"not": node}        the node does not hold
    {"fact": "order.paid_amount", "op": ">", "value": "500"}                       a comparison
    {"fact": "line.unit_price", "op": ">", "value": "200", "quantifier": "any"}    any/all lines
    {"fact": "orders_same_phone_hours", "param": 24, "op": ">", "value": "3"}      parametrised

Operators: = ≠ > ≥ < ≤ contains not_contains in not_in is_true is_false (ASCII aliases == != >= <=).
Values are JSON strings or integers (never floats, so money stays exact); in/not_in take a list.
`validate` returns errors naming the path (e.g. `condition.all[1].value`); `describe` renders the
plain-language preview shown next to the builder.
"""

import re
from datetime import date
from decimal import Decimal

from zhongshu.rules.actions import describe_actions
from zhongshu.rules.facts import FACTS, Fact

ALIASES = {"==": "=", "!=": "≠", ">=": "≥", "<=": "≤"}
ORDERING = ("=", "≠", ">", "≥", "<", "≤")
MEMBERSHIP = ("in", "not_in")
OPS_BY_TYPE = {
    "money": (*ORDERING, *MEMBERSHIP),
    "number": (*ORDERING, *MEMBERSHIP),
    "percent": (*ORDERING, *MEMBERSHIP),
    "date": ORDERING,
    "text": ("=", "≠", "contains", "not_contains", *MEMBERSHIP),
    "choice": ("=", "≠", *MEMBERSHIP),
    "bool": ("is_true", "is_false"),
}
OP_LABELS = {
    "zh": {"contains": "包含", "not_contains": "不包含", "in": "属于", "not_in": "不属于",
           "is_true": "= 是", "is_false": "= 否"},
    "en": {"contains": "contains", "not_contains": "does not contain", "in": "is one of",
           "not_in": "is not one of", "is_true": "is true", "is_false": "is false"},
}  # fmt: skip
WORDS = {
    "zh": {"all": " 且 ", "any": " 或 ", "not": "非", "when": "当 {} 时", "open": "（", "close": "）",
           "any_line": "任一商品行的", "all_lines": "所有商品行的", "list": "、", "always": "任何订单"},
    "en": {"all": " and ", "any": " or ", "not": "not ", "when": "When {}", "open": "(", "close": ")",
           "any_line": "any line's ", "all_lines": "every line's ", "list": ", ", "always": "any order"},
}  # fmt: skip
GROUPS = ("all", "any", "not")
COMPARISON_KEYS = {"fact", "op", "value", "quantifier", "param"}
MAX_DEPTH, MAX_NODES, MAX_HOURS = 10, 200, 24 * 31
_DECIMAL = {
    "money": re.compile(r"^-?\d{1,12}(\.\d{1,2})?$"),
    "number": re.compile(r"^-?\d{1,12}(\.\d{1,4})?$"),
}
_DECIMAL["percent"] = _DECIMAL["number"]


def canonical_op(op: object) -> object:
    return ALIASES.get(op, op) if isinstance(op, str) else op


def parse_scalar(fact: Fact, raw: object) -> object:
    """A value of the fact's type from JSON; ValueError with a message a person understands."""
    if fact.type in _DECIMAL:
        if isinstance(raw, bool) or not isinstance(raw, str | int) or not _DECIMAL[fact.type].match(str(raw)):
            places = 2 if fact.type == "money" else 4
            raise ValueError(
                f'must be a number as text or integer with at most {places} decimals, e.g. "500"'
            )
        return Decimal(str(raw))
    if fact.type == "date":
        try:
            return date.fromisoformat(raw) if isinstance(raw, str) and len(raw) == 10 else _bad_date()
        except ValueError:
            _bad_date()
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 200:
        raise ValueError("must be a non-empty text of at most 200 characters")
    if fact.choices and raw not in fact.choices:
        raise ValueError(f"must be one of {', '.join(fact.choices)}")
    return raw


def _bad_date():
    raise ValueError('must be a date "YYYY-MM-DD"')


def parse_value(fact: Fact, op: str, raw: object) -> object:
    """The comparison's value parsed for the engine: a scalar, a frozenset/tuple for in/not_in, None."""
    if op in ("is_true", "is_false"):
        if raw is not None:
            raise ValueError(f"{op} takes no value")
        return None
    if op in MEMBERSHIP:
        if not isinstance(raw, list) or not raw or len(raw) > 500:
            raise ValueError(f"{op} needs a list of 1 to 500 values")
        return frozenset(parse_scalar(fact, v) for v in raw)
    return parse_scalar(fact, raw)


# --- validation ------------------------------------------------------------------------------------


def validate(condition: object, path: str = "condition") -> list[dict]:
    """Errors as [{"path": "condition.all[1].value", "msg": "…"}]; an empty list when valid."""
    errors: list[dict] = []
    nodes = _check(condition, path, 1, errors)
    if nodes > MAX_NODES:
        errors.append({"path": path, "msg": f"at most {MAX_NODES} conditions"})
    return errors


def _check(node: object, path: str, depth: int, errors: list[dict]) -> int:
    if depth > MAX_DEPTH:
        errors.append({"path": path, "msg": f"groups nest at most {MAX_DEPTH} deep"})
        return 1
    if not isinstance(node, dict):
        errors.append(
            {"path": path, "msg": "must be a group {all|any|not} or a comparison {fact, op, value}"}
        )
        return 1
    group = [k for k in GROUPS if k in node]
    if group:
        return _check_group(node, group, path, depth, errors)
    if "fact" in node:
        _check_comparison(node, path, errors)
        return 1
    errors.append({"path": path, "msg": "must have one of the keys all, any, not or fact"})
    return 1


def _check_group(node: dict, group: list[str], path: str, depth: int, errors: list[dict]) -> int:
    if len(node) != 1:
        errors.append({"path": path, "msg": "a group has exactly one key: all, any or not"})
        return 1
    key = group[0]
    if key == "not":
        return 1 + _check(node["not"], f"{path}.not", depth + 1, errors)
    children = node[key]
    if not isinstance(children, list) or not children:
        errors.append({"path": f"{path}.{key}", "msg": "must be a non-empty list"})
        return 1
    return 1 + sum(_check(c, f"{path}.{key}[{i}]", depth + 1, errors) for i, c in enumerate(children))


def _check_comparison(node: dict, path: str, errors: list[dict]) -> None:
    for extra in sorted(set(node) - COMPARISON_KEYS):
        errors.append({"path": f"{path}.{extra}", "msg": "unknown key"})
    fact = FACTS.get(node["fact"]) if isinstance(node["fact"], str) else None
    if fact is None:
        errors.append(
            {"path": f"{path}.fact", "msg": f"unknown fact {node['fact']!r} (see GET /api/v1/rules/facts)"}
        )
        return
    op = canonical_op(node.get("op"))
    if op not in OPS_BY_TYPE[fact.type]:
        allowed = " ".join(OPS_BY_TYPE[fact.type])
        errors.append({"path": f"{path}.op", "msg": f"{node.get('op')!r} is not an operator for {fact.name} "
                                                    f"({fact.type}); use one of: {allowed}"})  # fmt: skip
        return
    try:
        parse_value(fact, op, node.get("value"))
    except ValueError as exc:
        errors.append({"path": f"{path}.value", "msg": str(exc)})
    _check_extras(node, fact, path, errors)


def _check_extras(node: dict, fact: Fact, path: str, errors: list[dict]) -> None:
    if "quantifier" in node and (fact.scope != "line" or node["quantifier"] not in ("any", "all")):
        msg = "must be any or all" if fact.scope == "line" else "only line facts take a quantifier"
        errors.append({"path": f"{path}.quantifier", "msg": msg})
    param = node.get("param")
    if fact.param and (isinstance(param, bool) or not isinstance(param, int) or not 1 <= param <= MAX_HOURS):
        errors.append({"path": f"{path}.param", "msg": f"{fact.name} needs param: hours, 1 to {MAX_HOURS}"})
    elif not fact.param and param is not None:
        errors.append({"path": f"{path}.param", "msg": f"{fact.name} takes no param"})


# --- plain-language preview ------------------------------------------------------------------------


def describe(condition: dict, lang: str = "zh", actions: list | None = None) -> str:
    """'当 收货地址 包含 驿站 且 实付金额 > 500 时 → 人工审核' (actions optional); an unknown language
    is shown in Chinese, labels and words alike."""
    lang = lang if lang in WORDS else "zh"
    w = WORDS[lang]
    text = w["when"].format(_node(condition, w, lang, top=True) if condition else w["always"])
    return f"{text} → {describe_actions(actions, lang)}" if actions else text


def _node(node: dict, w: dict, lang: str, top: bool = False) -> str:
    if "not" in node:
        return w["not"] + w["open"] + _node(node["not"], w, lang, top=True) + w["close"]
    for key in ("all", "any"):
        if key in node:
            inner = w[key].join(_node(c, w, lang) for c in node[key])
            return inner if top or len(node[key]) == 1 else w["open"] + inner + w["close"]
    return _comparison(node, w, lang)


def _comparison(node: dict, w: dict, lang: str) -> str:
    fact = FACTS.get(node.get("fact"))
    if fact is None:
        return str(node.get("fact"))
    label = fact.zh if lang == "zh" else fact.en
    if fact.param:
        label = label.replace("N", str(node.get("param", "N")))
    if fact.scope == "line":
        label = w["all_lines" if node.get("quantifier") == "all" else "any_line"] + label
    op = canonical_op(node.get("op"))
    shown = OP_LABELS[lang].get(op, op)
    value = node.get("value")
    if value is None:
        return f"{label} {shown}"
    value = w["list"].join(str(v) for v in value) if isinstance(value, list) else value
    return f"{label} {shown} {value}"
