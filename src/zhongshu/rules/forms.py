"""The rule editor's form: the builder posts the condition tree, the actions and the switches as one
JSON field; the errors name their path (condition.all[1].value) so the page shows them in place."""

import re

from django import forms
from django.utils.translation import gettext as _

from zhongshu.rules.actions import validate_actions
from zhongshu.rules.conditions import validate

EDITED = ("condition", "actions", "enabled", "dry_run", "priority")


class RuleEditForm(forms.Form):
    rule = forms.JSONField(widget=forms.HiddenInput)
    note = forms.CharField(max_length=200, required=False)

    def clean_rule(self) -> dict:
        data = self.cleaned_data["rule"]
        if not isinstance(data, dict) or set(data) - set(EDITED):
            raise forms.ValidationError(_("规则数据格式不对，请刷新页面后重试"))
        return {k: data.get(k) for k in EDITED}


def rule_errors(data: dict) -> list[dict]:
    """Every error of the edited part of a rule as {"path", "msg"} (msg in the user's language)."""
    errors = [{"path": k, "msg": "must be true or false"} for k in ("enabled", "dry_run")
              if not isinstance(data[k], bool)]  # fmt: skip
    priority = data["priority"]
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 9999:
        errors.append({"path": "priority", "msg": "an integer from 0 to 9999"})
    errors += validate(data["condition"]) + validate_actions(data["actions"])
    return localised(errors)


def localised(errors: list[dict]) -> list[dict]:
    return [{"path": e["path"], "msg": message(e["msg"])} for e in errors]


def _messages() -> list[tuple[re.Pattern, str]]:
    """The validators' English messages, said the way the page says everything else."""
    return [
        (re.compile(r"^must be a number .* at most (\d) decimals"), _("请填写数字，最多 %(n)s 位小数")),
        (re.compile(r"^must be a non-empty text"), _("请填写内容（最多 200 字）")),
        (re.compile(r"^required: a non-empty text"), _("必填（最多 200 字）")),
        (re.compile(r"^must be a date"), _("请选择日期")),
        (re.compile(r"^must be one of (?P<n>.*)$"), _("请选择其中之一：%(n)s")),
        (re.compile(r"needs a list of 1 to 500 values"), _("请填写 1 到 500 个值，用逗号分隔")),
        (re.compile(r"is not an operator for"), _("这个条件项不能用这个比较方式")),
        (re.compile(r"^must be a non-empty list of actions"), _("至少需要一个动作")),
        (re.compile(r"^must be a non-empty list"), _("分组里至少要有一个条件")),
        (re.compile(r"^unknown fact"), _("未知的条件项，请重新选择")),
        (re.compile(r"needs param: hours"), _("请填写小时数（1 到 744）")),
        (re.compile(r"^an integer from 0 to 9999"), _("请填写 0 到 9999 的整数")),
        (re.compile(r"^must be true or false"), _("请选择是或否")),
    ]


def message(msg: str) -> str:
    for pattern, text in _messages():
        found = pattern.search(msg)
        if found:
            return text % {"n": found.group(1)} if found.groups() else text
    return msg
