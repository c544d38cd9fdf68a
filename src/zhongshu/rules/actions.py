"""What a matched rule does, as data: validation, a plain-language text, and the pure outcome.

    {"type": "hold", "reason": "…", "code": "brushing"}    hold; code defaults to the rule's code
    {"type": "manual_review", "reason": "…"}               hold with code manual_review/<rule code>
    {"type": "flag", "flag": "signature_required"}         package flag on Order.flags, no hold
    {"type": "pause_shipping_and_notify", "reason": "…"}   hold <rule code> + a Notification
    {"type": "route_to_warehouse", "warehouse": "CD"}      flag route:CD   (read by routing (rules.hook.route_order))
    {"type": "choose_carrier", "carrier": "SF"}            flag carrier:SF (carrier rules set it at allocation; fulfilment reads it)
    {"type": "add_tag", "tag": "大客户"}                    flag tag:大客户

Holds go to the exception queue through intake's `_hold`; flags are merged into Order.flags. Until
routing and fulfilment read rules themselves, warehouse and carrier choices are carried as flags.
"""

import re
from dataclasses import dataclass, field

from zhongshu.orders.review import Hold

MANUAL_REVIEW = "manual_review"
FIELDS = {
    "hold": ("reason",),
    "manual_review": ("reason",),
    "flag": ("flag",),
    "pause_shipping_and_notify": ("reason",),
    "route_to_warehouse": ("warehouse",),
    "choose_carrier": ("carrier",),
    "add_tag": ("tag",),
}
OPTIONAL = {"hold": ("code",), "pause_shipping_and_notify": ("audience",)}
FLAG_LABELS = {"signature_required": ("签收验证", "signature required")}
_CODE = re.compile(r"^[a-z0-9_/-]{1,64}$")


@dataclass(frozen=True)
class Notice:
    """A message to people (core.models.Notification), without personal data."""

    rule: str
    audience: str
    title: str
    body: str


@dataclass
class Outcome:
    holds: list[Hold] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)


def validate_actions(actions: object, path: str = "actions") -> list[dict]:
    """Errors as [{"path": "actions[0].reason", "msg": "…"}]; an empty list when valid."""
    if not isinstance(actions, list) or not actions:
        return [{"path": path, "msg": "must be a non-empty list of actions"}]
    errors = []
    for i, a in enumerate(actions):
        errors += _check_action(a, f"{path}[{i}]")
    return errors


def _check_action(a: object, path: str) -> list[dict]:
    if not isinstance(a, dict) or a.get("type") not in FIELDS:
        return [{"path": f"{path}.type", "msg": f"must be one of {', '.join(FIELDS)}"}]
    kind = a["type"]
    errors = [
        {"path": f"{path}.{k}", "msg": "required: a non-empty text of at most 200 characters"}
        for k in FIELDS[kind]
        if not isinstance(a.get(k), str) or not a[k].strip() or len(a[k]) > 200
    ]
    known = {"type", *FIELDS[kind], *OPTIONAL.get(kind, ())}
    errors += [{"path": f"{path}.{k}", "msg": "unknown key"} for k in sorted(set(a) - known)]
    if "code" in a and not (isinstance(a["code"], str) and _CODE.match(a["code"])):
        errors.append({"path": f"{path}.code", "msg": "lower-case letters, digits, _ / - (at most 64)"})
    return errors


def outcome(rule_code: str, actions: list[dict], subject: str) -> Outcome:
    """The holds, flags and notices of one matched rule; `subject` names the order (no PII)."""
    out = Outcome()
    for a in actions:
        kind = a["type"]
        if kind in ("hold", "pause_shipping_and_notify"):
            out.holds.append(Hold(a.get("code") or rule_code, a["reason"]))
        elif kind == MANUAL_REVIEW:
            out.holds.append(Hold(f"{MANUAL_REVIEW}/{rule_code}", a["reason"]))
        else:
            out.flags.append(_flag(a))
        if kind == "pause_shipping_and_notify":
            title = f"暂停发货：{subject}（{rule_code}）"
            out.notices.append(Notice(rule_code, a.get("audience") or "operations", title, a["reason"]))
    return out


def _flag(a: dict) -> str:
    kind = a["type"]
    if kind == "flag":
        return a["flag"]
    if kind == "route_to_warehouse":
        return f"route:{a['warehouse']}"
    if kind == "choose_carrier":
        return f"carrier:{a['carrier']}"
    return f"tag:{a['tag']}"


def describe_actions(actions: list[dict], lang: str = "zh") -> str:
    zh = lang == "zh"
    return ("；" if zh else "; ").join(_describe(a, zh) for a in actions if isinstance(a, dict))


def _describe(a: dict, zh: bool) -> str:
    kind = a.get("type")
    if kind == "hold":
        return f"挂起（{a.get('reason')}）" if zh else f"hold ({a.get('reason')})"
    if kind == MANUAL_REVIEW:
        return "人工审核" if zh else "manual review"
    if kind == "pause_shipping_and_notify":
        return "暂停发货并通知运营" if zh else "pause shipping and notify operations"
    if kind == "flag":
        zh_label, en_label = FLAG_LABELS.get(a.get("flag", ""), (a.get("flag"), a.get("flag")))
        return f"包裹标记：{zh_label}" if zh else f"package flag: {en_label}"
    if kind == "route_to_warehouse":
        return f"指定发货仓 {a.get('warehouse')}" if zh else f"route to warehouse {a.get('warehouse')}"
    if kind == "choose_carrier":
        return f"指定快递 {a.get('carrier')}" if zh else f"choose carrier {a.get('carrier')}"
    return f"打标签 {a.get('tag')}" if zh else f"add tag {a.get('tag')}"
