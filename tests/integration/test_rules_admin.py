"""Rules in the admin: the preview, a validated edit that becomes a version, read-only history; a rule
edited by anyone (here: the admin) reaches the next order through the stamp, without a restart."""

import json

import pytest
from django.urls import reverse

from tests.factories import example_order, put_stock
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake
from zhongshu.rules import hook
from zhongshu.rules.models import Rule, RuleVersion, RuntimeState


@pytest.fixture
def staff(client, admin_user, hub):
    put_stock("DUMPLING-500G", "CD", 100)
    client.force_login(admin_user)
    return client


def form_data(rule: Rule, **changes) -> dict:
    data = {
        "rule_set": rule.rule_set_id, "name": rule.name, "description": rule.description,
        "condition": json.dumps(rule.condition, ensure_ascii=False), "actions": json.dumps(rule.actions),
        "priority": rule.priority, "enabled": "on" if rule.enabled else "", "dry_run": "", "peak_only": "",
        "versions-TOTAL_FORMS": "0", "versions-INITIAL_FORMS": "0",
    }  # fmt: skip
    return {k: v for k, v in (data | changes).items() if v != ""}


def flags_of_order(n: int, unit: str) -> list[str]:
    line = {"sku": "DUMPLING-500G", "quantity": 1, "unit_price": unit, "paid_amount": unit}
    payload = example_order(channel_order_id=f"A{n}", lines=[line], discount="0.00", paid_amount=unit)
    [r] = intake([OrderIn.model_validate(payload)], actor="test")
    return r.order.flags


def test_rule_list_shows_the_plain_language_preview(staff):
    html = staff.get(reverse("admin:rules_rule_changelist")).content.decode()
    assert "当 任一商品行的单价 &gt; 200 时 → 包裹标记：签收验证" in html


def test_admin_edit_is_versioned_and_reaches_the_next_order_through_the_stamp(staff):
    assert flags_of_order(1, "250.00") == ["signature_required"]  # the worker has the rules cached now
    stamp = RuntimeState.objects.get().stamp
    rule = Rule.objects.get(code="signature_required")
    condition = {"all": [{"fact": "line.unit_price", "op": ">", "value": "300", "quantifier": "any"}]}
    url = reverse("admin:rules_rule_change", args=[rule.pk])
    response = staff.post(url, form_data(rule, condition=json.dumps(condition)))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert RuntimeState.objects.get().stamp != stamp
    assert flags_of_order(2, "250.00") == []
    assert flags_of_order(3, "300.01") == ["signature_required"]
    v = RuleVersion.objects.get(rule=rule, version=2)
    assert v.author == "admin:admin" and v.diff_text == "condition.all[0].value: 200 → 300"
    html = staff.get(reverse("admin:rules_ruleversion_change", args=[v.pk])).content.decode()
    assert "condition.all[0].value: 200 → 300" in html


def test_admin_rejects_an_invalid_condition_naming_the_path(staff):
    rule = Rule.objects.get(code="brushing")
    bad = {"all": [{"fact": "orders_same_id_number_today", "op": "contains", "value": "3"}]}
    response = staff.post(
        reverse("admin:rules_rule_change", args=[rule.pk]), form_data(rule, condition=json.dumps(bad))
    )
    assert response.status_code == 200
    assert "condition.all[0].op" in response.content.decode()
    assert Rule.objects.get(code="brushing").version == 1


def test_cache_reloads_only_when_the_stamp_changes(staff):
    rules, _ = hook.current_rules()
    assert hook.current_rules()[0] is rules  # same stamp: no reload
    Rule.objects.filter(code="brushing").update(enabled=False)  # a write that bypasses the service …
    assert hook.current_rules()[0] is rules  # … is not seen until the stamp moves
    RuntimeState.objects.update(stamp="other-process")
    assert "brushing" not in {r.code for r in hook.current_rules()[0]}
