"""The rule builder's pages (/console/rules/) through Django's test client: who may see and change
rules, validation errors placed at their comparison with nothing saved, a valid change saved as a
version by the logged-in user, rollback, and the live preview endpoint."""

import json

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from zhongshu.core.roles import FINANCE, MANAGEMENT, OPERATIONS, ensure_roles
from zhongshu.rules.models import Rule, RuleVersion

CODE = "pickup_point_review"


def member_of(role: str, username: str) -> User:
    user = User.objects.create_user(username, password="pw-for-tests", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def roles(hub):
    ensure_roles()


@pytest.fixture
def ops(client, roles):
    client.force_login(member_of(OPERATIONS, "ops"))
    return client


def edit_url(code: str = CODE) -> str:
    return reverse("rules_console:edit", args=[code])


def posted(rule: Rule, **changes) -> dict:
    data = {"condition": rule.condition, "actions": rule.actions, "enabled": rule.enabled,
            "dry_run": rule.dry_run, "priority": rule.priority} | changes  # fmt: skip
    return {"rule": json.dumps(data, ensure_ascii=False), "note": "提高门槛"}


def with_amount(value) -> dict:
    condition = Rule.objects.get(code=CODE).condition
    condition["all"][1]["value"] = value
    return condition


def builder_data(html: str) -> dict:
    start = html.index('<script id="rule-builder-data" type="application/json">')
    start = html.index(">", start) + 1
    return json.loads(html[start : html.index("</script>", start)])


def test_operations_user_sees_the_rule_list_and_the_builder(ops):
    html = ops.get(reverse("rules_console:list")).content.decode()
    assert "规则编辑器" in html
    assert "订单审核/拦截" in html and "驿站/代收点大额订单" in html
    assert "当 （收货地址 包含 驿站 或 收货地址 包含 代收点） 且 实付金额 &gt; 500 时 → 人工审核" in html
    assert "试运行" not in html.split("rb-badges", 1)[1].split("</td>", 1)[0]  # no dry-run badge
    assert 'href="/console/rules/"' in html  # the sidebar entry

    page = ops.get(edit_url())
    assert page.status_code == 200
    data = builder_data(page.content.decode())
    assert data["rule"]["condition"] == Rule.objects.get(code=CODE).condition
    assert data["errors"] == []
    facts = {f["name"]: f for f in data["facts"]}
    assert (
        facts["order.paid_amount"]["label"] == "实付金额" and facts["order.paid_amount"]["group"] == "order"
    )
    assert facts["receiver.region"]["choices"][0] == "华北"
    assert [op for op, _ in data["ops"]["bool"]] == ["is_true", "is_false"]
    assert ["CD", "CD 成都仓"] in data["warehouses"] or any(w[0] == "CD" for w in data["warehouses"])
    assert 'id="rb-save"' in page.content.decode()


def test_finance_user_gets_403_everywhere(client, roles):
    client.force_login(member_of(FINANCE, "fin"))
    rule = Rule.objects.get(code=CODE)
    assert client.get(reverse("rules_console:list")).status_code == 403
    assert client.get(edit_url()).status_code == 403
    assert client.post(edit_url(), posted(rule, condition=with_amount("800"))).status_code == 403
    assert client.post(reverse("rules_console:rollback", args=[CODE, 1])).status_code == 403
    assert Rule.objects.get(code=CODE).version == 1


def test_management_may_look_but_not_save(client, roles):
    client.force_login(member_of(MANAGEMENT, "boss"))
    rule = Rule.objects.get(code=CODE)
    page = client.get(edit_url())
    assert page.status_code == 200 and 'id="rb-save"' not in page.content.decode()
    assert client.post(edit_url(), posted(rule, condition=with_amount("800"))).status_code == 403
    assert Rule.objects.get(code=CODE).version == 1


def test_anonymous_is_sent_to_the_login(client, hub):
    response = client.get(reverse("rules_console:list"))
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_an_invalid_tree_shows_the_error_at_its_comparison_and_saves_nothing(ops):
    rule = Rule.objects.get(code=CODE)
    response = ops.post(edit_url(), posted(rule, condition=with_amount("5OO")))
    assert response.status_code == 200
    html = response.content.decode()
    data = builder_data(html)
    assert data["errors"] == [{"path": "condition.all[1].value", "msg": "请填写数字，最多 2 位小数"}]
    assert data["rule"]["condition"]["all"][1]["value"] == "5OO"  # the user's edit is kept
    assert "condition.all[1].value" in html and "请填写数字，最多 2 位小数" in html
    rule.refresh_from_db()
    assert rule.version == 1 and rule.condition["all"][1]["value"] == "500"
    assert RuleVersion.objects.filter(rule=rule).count() == 1


def test_an_operator_that_does_not_fit_the_fact_is_refused(ops):
    rule = Rule.objects.get(code=CODE)
    condition = with_amount("800")
    condition["all"][1]["op"] = "contains"
    data = builder_data(ops.post(edit_url(), posted(rule, condition=condition)).content.decode())
    assert data["errors"] == [{"path": "condition.all[1].op", "msg": "这个条件项不能用这个比较方式"}]
    assert Rule.objects.get(code=CODE).version == 1


def test_a_valid_change_is_a_version_by_the_logged_in_user(ops):
    rule = Rule.objects.get(code=CODE)
    response = ops.post(edit_url(), posted(rule, condition=with_amount("800"), priority=15))
    assert response.status_code == 302 and response["Location"] == edit_url()
    rule.refresh_from_db()
    assert rule.version == 2 and rule.condition["all"][1]["value"] == "800" and rule.priority == 15
    v = RuleVersion.objects.get(rule=rule, version=2)
    assert v.author == "console:ops" and v.note == "提高门槛"
    assert v.diff_text == "condition.all[1].value: 500 → 800\npriority: 20 → 15"

    html = ops.get(edit_url()).content.decode()
    assert "已保存为 v2" in html
    assert "condition.all[1].value" in html and "<del>500</del> → <ins>800</ins>" in html
    assert "实付金额 &gt; 800 时 → 人工审核" in html


def test_saving_unchanged_content_writes_no_version(ops):
    rule = Rule.objects.get(code=CODE)
    assert ops.post(edit_url(), posted(rule)).status_code == 302
    assert RuleVersion.objects.filter(rule=rule).count() == 1
    assert "没有改动" in ops.get(edit_url()).content.decode()


def test_rollback_restores_the_old_version_as_a_new_one(ops):
    rule = Rule.objects.get(code=CODE)
    ops.post(edit_url(), posted(rule, condition=with_amount("800")))
    response = ops.post(reverse("rules_console:rollback", args=[CODE, 1]))
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.version == 3 and rule.condition["all"][1]["value"] == "500"
    v3 = RuleVersion.objects.get(rule=rule, version=3)
    assert v3.author == "console:ops" and v3.note == "回滚到 v1"
    assert v3.diff_text == "condition.all[1].value: 800 → 500"
    assert ops.post(reverse("rules_console:rollback", args=[CODE, 9])).status_code == 404


def test_preview_endpoint_describes_and_validates_without_saving(ops):
    rule = Rule.objects.get(code=CODE)
    body = json.loads(posted(rule, condition=with_amount("800"))["rule"])
    answer = ops.post(
        reverse("rules_console:preview", args=[CODE]), body, content_type="application/json"
    ).json()
    assert answer == {
        "preview": "当 （收货地址 包含 驿站 或 收货地址 包含 代收点） 且 实付金额 > 800 时 → 人工审核",
        "errors": [],
    }
    body["condition"] = {"any": []}
    answer = ops.post(
        reverse("rules_console:preview", args=[CODE]), body, content_type="application/json"
    ).json()
    assert answer["errors"] == [{"path": "condition.any", "msg": "分组里至少要有一个条件"}]
    assert Rule.objects.get(code=CODE).version == 1


def test_english_labels_when_the_language_is_english(ops):
    ops.cookies["django_language"] = "en"
    data = builder_data(ops.get(edit_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode())
    facts = {f["name"]: f for f in data["facts"]}
    assert facts["order.paid_amount"]["label"] == "Paid amount"
    assert data["preview"].startswith(
        "When (Address contains 驿站 or Address contains 代收点) and Paid amount > 500"
    )
