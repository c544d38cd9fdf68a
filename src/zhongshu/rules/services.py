"""Writes of the rules engine: save a rule (validated, versioned), roll back, switch peak mode, and
record what the evaluator decided (hits, notifications). One transaction per use case."""

import re
import uuid

from django.db import transaction
from django.db.models import F

from zhongshu.core import outbox
from zhongshu.core.models import Notification
from zhongshu.core.text import free_text
from zhongshu.orders.review import OrderInfo
from zhongshu.rules.actions import describe_actions, validate_actions
from zhongshu.rules.conditions import validate
from zhongshu.rules.diff import diff
from zhongshu.rules.engine import Decision
from zhongshu.rules.models import Rule, RuleHit, RuleSet, RuleVersion, RuntimeState
from zhongshu.rules.templates import SNAPSHOT_FIELDS, snapshot

_CODE = re.compile(r"^[a-z0-9_]{1,48}$")
_BOOLS = ("enabled", "dry_run", "peak_only")


class RuleInvalid(ValueError):
    """A rule that does not validate; errors as [{"path", "msg"}] (nothing written)."""

    def __init__(self, errors: list[dict]):
        super().__init__("; ".join(f"{e['path']}: {e['msg']}" for e in errors))
        self.errors = errors


def rule_snapshot(rule: Rule) -> dict:
    data = {k: getattr(rule, k) for k in SNAPSHOT_FIELDS if k != "rule_set"}
    return snapshot({**data, "rule_set": rule.rule_set.code})


@transaction.atomic
def save_rule(rule_data: dict, author: str, note: str = "") -> Rule:
    """Create or change a rule from (partial) data; a real change writes a new version with its diff
    and bumps the runtime stamp, so every worker evaluates the new rule on its next order."""
    code = rule_data.get("code")
    rule = Rule.objects.select_for_update().select_related("rule_set").filter(code=code).first()
    before = rule_snapshot(rule) if rule else None
    after = snapshot({**(before or {}), **{k: v for k, v in rule_data.items() if k in SNAPSHOT_FIELDS}})
    errors = check(code, after)
    if errors:
        raise RuleInvalid(errors)
    changes = diff(before, after)
    if rule is not None and not changes:
        return rule
    rule = rule or Rule(code=code)
    for k, v in after.items():
        setattr(rule, k, v) if k != "rule_set" else setattr(rule, "rule_set", RuleSet.objects.get(code=v))
    rule.version, rule.updated_by = rule.version + 1, author[:128]
    rule.save()
    RuleVersion.objects.create(rule=rule, version=rule.version, snapshot=after, diff=changes, author=author[:128],
                               note=note[:200])  # fmt: skip
    _bump()
    outbox.write([_changed_event(rule, changes, author, note)])
    return rule


def check(code: object, data: dict) -> list[dict]:
    """Validation errors of a rule snapshot, each naming its path."""
    errors = _control_characters(
        {k: data[k] for k in ("name", "description", "rule_set", "condition", "actions")}
    )
    if errors:  # PostgreSQL refuses a NUL byte; nothing else is worth checking in such a rule
        return errors
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        errors.append({"path": "code", "msg": "lower-case letters, digits and _ (at most 48)"})
    if not isinstance(data["name"], str) or not data["name"].strip() or len(data["name"]) > 100:
        errors.append({"path": "name", "msg": "required: a non-empty text of at most 100 characters"})
    if not isinstance(data["description"], str) or len(data["description"]) > 400:
        errors.append({"path": "description", "msg": "a text of at most 400 characters"})
    if not isinstance(data["rule_set"], str) or not RuleSet.objects.filter(code=data["rule_set"]).exists():
        errors.append({"path": "rule_set", "msg": f"unknown rule set {data['rule_set']!r}"})
    if (
        isinstance(data["priority"], bool)
        or not isinstance(data["priority"], int)
        or not 0 <= data["priority"] <= 9999
    ):
        errors.append({"path": "priority", "msg": "an integer from 0 to 9999"})
    errors += [{"path": k, "msg": "must be true or false"} for k in _BOOLS if not isinstance(data[k], bool)]
    return errors + validate(data["condition"]) + validate_actions(data["actions"])


def _control_characters(value: object, path: str = "") -> list[dict]:
    """Errors for the texts (keys too) holding control characters other than tab and line breaks."""
    if isinstance(value, str):
        try:
            free_text(value)
        except ValueError as exc:
            return [{"path": path, "msg": str(exc)}]
        return []
    if isinstance(value, dict):
        return [
            e
            for k, v in value.items()
            for e in _control_characters(k, path) + _control_characters(v, f"{path}.{k}" if path else str(k))
        ]
    if isinstance(value, list):
        return [e for i, v in enumerate(value) for e in _control_characters(v, f"{path}[{i}]")]
    return []


@transaction.atomic
def rollback(rule: Rule, version: int, author: str) -> Rule:
    """Restore the content of an earlier version; the restore is itself a new version."""
    old = RuleVersion.objects.get(rule=rule, version=version)
    return save_rule({**old.snapshot, "code": rule.code}, author, note=f"回滚到 v{version}")


@transaction.atomic
def set_peak_mode(on: bool, author: str) -> None:
    """Switch peak mode (peak-only rules such as peak_manual_review run only while it is on)."""
    RuntimeState.objects.get_or_create(pk=1)
    RuntimeState.objects.filter(pk=1).update(peak_mode=on)
    _bump()
    summary = f"大促模式{'开启' if on else '关闭'}"
    outbox.write([outbox.event("rules.peak_mode", key="rules:peak_mode", actor=author,
                               payload={"subject": "rules:peak_mode", "peak_mode": on, "summary": summary})])  # fmt: skip


@transaction.atomic
def save_rule_set(rule_set: RuleSet, author: str) -> None:
    """Save a rule set (name, enabled); the stamp is bumped so workers reload their rules."""
    rule_set.save()
    _bump()
    state = "启用" if rule_set.enabled else "停用"
    outbox.write([outbox.event("rules.rule_set_changed", key=f"ruleset:{rule_set.code}", actor=author,
                               payload={"subject": f"ruleset:{rule_set.code}",
                                        "summary": f"规则集 {rule_set.code}：{state}"})])  # fmt: skip


def _bump() -> None:
    if not RuntimeState.objects.filter(pk=1).update(version=F("version") + 1, stamp=uuid.uuid4().hex):
        RuntimeState.objects.create(pk=1, version=1, stamp=uuid.uuid4().hex)


def _changed_event(rule: Rule, changes: list[dict], author: str, note: str):
    shown = "；".join(f"{d['path']}: {d['from']} → {d['to']}" for d in changes[:5])
    summary = f"规则 {rule.code} v{rule.version}{'（' + note + '）' if note else ''}：{shown}"
    return outbox.event(
        "rule.changed",
        key=f"rule:{rule.code}",
        actor=author,
        payload={"subject": f"rule:{rule.code}", "version": rule.version, "diff": changes[:50],
                 "summary": summary[:400]},
    )  # fmt: skip


def record_decision(order: OrderInfo, decision: Decision) -> None:
    """Hits of the matched rules (dry-run ones marked) and the notices of acting rules, written in
    the intake transaction; a notice is written once per rule and order."""
    RuleHit.objects.bulk_create(
        RuleHit(rule_id=r.rule_id, rule_version=r.version, shop_code=order.shop,
                channel_order_id=order.channel_order_id, paid_amount=order.paid_amount, dry_run=r.dry_run,
                outcome=describe_actions(list(r.actions))[:200])
        for r in decision.matched
    )  # fmt: skip
    notices = [
        Notification(audience=n.audience, level=Notification.Level.WARNING, code=n.rule, title=n.title[:200],
                     body=n.body, dedupe_key=f"rule:{n.rule}:{order.shop}/{order.channel_order_id}"[:200])
        for n in decision.outcome.notices
    ]  # fmt: skip
    if notices:
        Notification.objects.bulk_create(notices, ignore_conflicts=True)
