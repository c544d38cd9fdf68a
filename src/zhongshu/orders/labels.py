"""What a person reads instead of an internal code: hold codes, package flags, carriers, event topics
and actors, in the UI language (Chinese, English after the switch).

Hold codes are rule codes (a rule's hold action), "manual_review/<rule>", or the hub's own
(refund_requested, manual_hold): a rule's code reads as its name. Flags are "signature_required",
"carrier:SF", "route:WH", "tag:x" (rules/actions.py)."""

import re
import time

from django.apps import apps
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

HOLD_LABELS = {
    "refund_requested": gettext_lazy("买家申请退款"),
    "manual_hold": gettext_lazy("人工挂起"),
    "manual_review": gettext_lazy("人工审核"),
}
FLAG_LABELS = {"signature_required": gettext_lazy("签收验证")}
CARRIER_NAMES = {
    "SF": gettext_lazy("顺丰"), "ZTO": gettext_lazy("中通"), "YTO": gettext_lazy("圆通"),
    "STO": gettext_lazy("申通"), "YD": gettext_lazy("韵达"), "JD": gettext_lazy("京东物流"),
    "EMS": gettext_lazy("邮政 EMS"), "JT": gettext_lazy("极兔"), "DBL": gettext_lazy("德邦"),
    # the shipping app's codes (Cainiao cp_code style) for the same carriers
    "YUNDA": gettext_lazy("韵达"), "JTSD": gettext_lazy("极兔"), "DBKD": gettext_lazy("德邦"),
}  # fmt: skip
# outbox topics → what happened (the audit timeline's kind column)
TOPIC_LABELS = {
    "order.status_changed": gettext_lazy("订单状态变更"),
    "order.receiver_revealed": gettext_lazy("查看收货人明文"),
    "order.receivers_exported": gettext_lazy("导出收货人明文"),
    "channel.shipment_confirmed": gettext_lazy("发货回传成功"),
    "channel.shipment_failed": gettext_lazy("发货回传失败"),
    "channel.repush_requested": gettext_lazy("重新回传平台"),
    "stock.changed": gettext_lazy("库存变动"),
    "package.status_changed": gettext_lazy("包裹状态变更"),
    "package.merged": gettext_lazy("人工合单"),
    "package.split": gettext_lazy("人工拆单"),
    "package.unmerged": gettext_lazy("取消合单"),
    "package.check_refused": gettext_lazy("验货未通过"),
    "package.stop_noted": gettext_lazy("包裹拦截"),
    "stock.transfer_alert": gettext_lazy("调拨预警"),
    "stock.transfer_alert_closed": gettext_lazy("调拨预警关闭"),
    "stock.recount_requested": gettext_lazy("申请复盘"),
    "rule.changed": gettext_lazy("规则变更"),
    "rules.rule_set_changed": gettext_lazy("规则集变更"),
    "rules.peak_mode": gettext_lazy("大促模式"),
    "package.waybill_issued": gettext_lazy("取号"),
    "package.waybill_failed": gettext_lazy("取号失败"),
    "package.waybill_cancelled": gettext_lazy("取消面单"),
    "package.label_printed": gettext_lazy("面单已打印"),
    "package.label_print_failed": gettext_lazy("面单打印失败"),
    "package.packaging_changed": gettext_lazy("更换包材"),
    "shipping.confirm_requested": gettext_lazy("待回传发货"),
    "tracking.updated": gettext_lazy("物流轨迹更新"),
    "stock.recounted": gettext_lazy("盘点任务完成"),
    "peak.degraded": gettext_lazy("系统降级"),
    "peak.switch": gettext_lazy("降级开关变更"),
    "peak.promotion": gettext_lazy("促销窗口"),
    "peak.policy": gettext_lazy("降级策略修改"),
}
ACTOR_LABELS = {"system": gettext_lazy("系统"), "test": gettext_lazy("系统")}
ACTOR_PREFIXES = {
    "system:": gettext_lazy("系统"),
    "shop:": gettext_lazy("店铺"),
    "token:": gettext_lazy("API 令牌"),
    "promotion:": gettext_lazy("促销窗口"),
}

_rules: tuple[float, dict[str, str]] = (0.0, {})


def rule_names() -> dict[str, str]:
    """Rule code → name (read at most every 30 s: a list page asks for many)."""
    global _rules
    at, names = _rules
    if time.monotonic() - at > 30:
        rule = apps.get_model("rules", "Rule")
        names = dict(rule.objects.values_list("code", "name"))
        _rules = (time.monotonic(), names)
    return names


def rule_label(code: str) -> str:
    """A rule's name; in English, where rules have Chinese names only, its code made readable
    ("price_mismatch" → "Price mismatch")."""
    name = rule_names().get(code, "")
    if not _is_en():
        return name or code
    return name if name and name.isascii() else code.replace("_", " ").replace("-", " ").capitalize()


def hold_label(code: str) -> str:
    if code in HOLD_LABELS:
        return str(HOLD_LABELS[code])
    head, _sep, rule = code.partition("/")
    if rule and head in HOLD_LABELS:
        return (
            f"{HOLD_LABELS[head]}: {rule_label(rule)}"
            if _is_en()
            else f"{HOLD_LABELS[head]}：{rule_label(rule)}"
        )
    return rule_label(code)


def _is_en() -> bool:
    return not (get_language() or "zh").startswith("zh")


def carrier_label(code: str) -> str:
    return str(CARRIER_NAMES.get(code, code))


def flag_label(flag: str) -> str:
    kind, sep, value = flag.partition(":")
    if not sep:
        if flag in FLAG_LABELS:
            return str(FLAG_LABELS[flag])
        return rule_names().get(flag, flag)
    if kind == "carrier":
        return _("快递：%(name)s") % {"name": carrier_label(value)}
    if kind == "route":
        return _("指定仓：%(code)s") % {"code": value}
    if kind == "tag":
        return _("标签：%(tag)s") % {"tag": value}
    return flag


def topic_label(topic: str) -> str:
    return str(TOPIC_LABELS.get(topic, topic))


def actor_label(actor: str) -> str:
    if actor in ACTOR_LABELS:
        return str(ACTOR_LABELS[actor])
    for prefix, label in ACTOR_PREFIXES.items():
        if actor.startswith(prefix):
            return f"{label}（{actor[len(prefix) :]}）"
    return actor


_BRACKETED = re.compile(r"\[([a-z0-9_/:-]+)\]")
_BEFORE_ARROW = re.compile(r"(?<![\w/])([a-z_]+)(?= → )")
_AFTER_ARROW = re.compile(r"(?<= → )([a-z_]+)(?![\w/])")
# status codes of other state machines (packages, waves) read out in audit texts: registered by the
# apps above orders (console/hooks.py); the order's own statuses come first
STATUS_LABELS: dict[str, object] = {}
CHANNEL_STATUS_LABELS = {
    "pending_payment": gettext_lazy("待付款"), "paid": gettext_lazy("已付款"),
    "refund_requested": gettext_lazy("申请退款"), "refunded": gettext_lazy("已退款"),
    "cancelled": gettext_lazy("已取消"), "shipped": gettext_lazy("已发货"),
    "delivered": gettext_lazy("已签收"), "completed": gettext_lazy("已完成"),
}  # fmt: skip


def status_label(code: str) -> str:
    from zhongshu.orders.states import OrderStatus

    try:
        return str(OrderStatus(code).label)
    except ValueError:
        return str(STATUS_LABELS.get(code, code))


def channel_status_label(code: str) -> str:
    return str(CHANNEL_STATUS_LABELS.get(code, code))


def humanize(text: str) -> str:
    """A stored audit text with its codes read out: "[price_mismatch] …" → "[金额校验不符] …",
    "paid → allocated" → "已付款 → 已分仓锁库" (statuses are read only around an arrow)."""
    if not text:
        return text
    text = _BRACKETED.sub(lambda m: f"[{hold_label(m.group(1))}]", text)
    text = _BEFORE_ARROW.sub(lambda m: status_label(m.group(1)), text)
    return _AFTER_ARROW.sub(lambda m: status_label(m.group(1)), text)
