"""The shipped interception templates (SPEC R-RISK1–4, R-RISK6, R-ORD4, R-ORD5), enabled by default,
and the shipped routing rule (the foundation's default region routing, editable like any rule).

Codes are stable: they appear in holds[].code (manual review as manual_review/<code>) or in flags.
`seed` / `seed_routing` are used by the data migrations with historical models, so they touch
nothing but the tables.
"""

import uuid

from zhongshu.rules.diff import diff

REVIEW_SET = {"code": "review", "name": "订单审核/拦截", "stage": "review"}
ROUTING_SET = {"code": "routing", "name": "仓库路由", "stage": "routing"}
CARRIER_SET = {"code": "carrier", "name": "快递选择", "stage": "carrier"}
PEAK_AMOUNT = "2000"


def _cmp(fact: str, op: str, value=None, **extra) -> dict:
    node = {"fact": fact, "op": op, **extra}
    return node if value is None else {**node, "value": value}


TEMPLATES = [
    {
        "code": "brushing", "name": "疑似刷单", "priority": 10,
        "description": "同一身份证号在同一自然日（上海时间）下单超过 3 笔 → 挂起",
        "condition": {"all": [_cmp("orders_same_id_number_today", ">", "3")]},
        "actions": [{"type": "hold", "reason": "疑似刷单：同一身份证号当日订单超过 3 笔"}],
    },
    {
        "code": "pickup_point_review", "name": "驿站/代收点大额订单", "priority": 20,
        "description": "收货地址含 驿站 或 代收点 且实付金额 > 500 元 → 人工审核",
        "condition": {"all": [
            {"any": [_cmp("receiver.address", "contains", "驿站"), _cmp("receiver.address", "contains", "代收点")]},
            _cmp("order.paid_amount", ">", "500"),
        ]},
        "actions": [{"type": "manual_review", "reason": "驿站/代收点收货且金额超过 500 元，人工审核"}],
    },
    {
        "code": "signature_required", "name": "高单价签收验证", "priority": 30,
        "description": "任一商品单价 > 200 元 → 电子面单签收验证（包裹标记，不挂起）",
        "condition": {"all": [_cmp("line.unit_price", ">", "200", quantifier="any")]},
        "actions": [{"type": "flag", "flag": "signature_required"}],
    },
    {
        "code": "price_deviation", "name": "促销价偏离成本", "priority": 40,
        "description": "任一商品促销价低于成本价超过 15% → 暂停发货并通知运营",
        "condition": {"all": [_cmp("line.promo_below_cost_percent", ">", "15", quantifier="any")]},
        "actions": [{"type": "pause_shipping_and_notify", "reason": "促销价偏离成本价超过 15%，暂停发货待运营确认"}],
    },
    {
        "code": "presale_supply_late", "name": "预售到货晚于承诺发货", "priority": 50,
        "description": "预售商品的到货日晚于订单承诺发货日 → 挂起",
        "condition": {"all": [_cmp("line.presale_supply_late", "is_true", quantifier="any")]},
        "actions": [{"type": "hold", "reason": "预售商品到货日晚于承诺发货日"}],
    },
    {
        "code": "price_mismatch", "name": "金额校验不符", "priority": 60,
        "description": "商品实付合计 + 运费 − 优惠 ≠ 实付金额（精确到分）→ 挂起",
        "condition": {"all": [_cmp("order.price_mismatch", "is_true")]},
        "actions": [{"type": "hold", "reason": "商品金额 + 运费 − 优惠 与实付金额不符"}],
    },
    {
        "code": "peak_manual_review", "name": "大促期间 VIP/大额人工审核", "priority": 5, "peak_only": True,
        "description": f"仅大促模式：VIP 买家或实付金额 > {PEAK_AMOUNT} 元 → 人工审核",
        "condition": {"any": [_cmp("buyer.vip", "is_true"), _cmp("order.paid_amount", ">", PEAK_AMOUNT)]},
        "actions": [{"type": "manual_review", "reason": "大促期间 VIP/大额订单人工审核"}],
    },
]  # fmt: skip

# The routing stage: the first matching rule with route_to_warehouse names the preferred warehouse;
# orders no rule routes fall back to the region table (routing.RegionRoute / default warehouse).
ROUTING_TEMPLATES = [
    {
        "code": "region_central_southwest_to_cd", "name": "华中、西南 → 成都仓", "priority": 10,
        "rule_set": "routing",
        "description": "收货区域为 华中 或 西南 → 首选成都仓（CD）；未命中任何路由规则的订单按区域路由表/默认仓",
        "condition": {"all": [_cmp("receiver.region", "in", ["华中", "西南"])]},
        "actions": [{"type": "route_to_warehouse", "warehouse": "CD"}],
    },
]  # fmt: skip

SNAPSHOT_FIELDS = ("name", "description", "rule_set", "condition", "actions", "priority", "enabled",
                   "dry_run", "peak_only")  # fmt: skip


def snapshot(data: dict) -> dict:
    """The versioned content of a rule (rule_set by code)."""
    defaults = {"description": "", "priority": 100, "enabled": True, "dry_run": False, "peak_only": False,
                "rule_set": "review"}  # fmt: skip
    return {k: data.get(k, defaults.get(k)) for k in SNAPSHOT_FIELDS}


def seed(RuleSet, Rule, RuleVersion, RuntimeState) -> None:  # noqa: N803 (historical models)
    """Create the rule sets, the templates and the routing rule (version 1, by "system") and the
    runtime row; idempotent."""
    sets = _sets(RuleSet)
    _create(Rule, RuleVersion, sets, TEMPLATES + ROUTING_TEMPLATES)
    _new_stamp(RuntimeState)


def seed_routing(RuleSet, Rule, RuleVersion, RuntimeState) -> None:  # noqa: N803 (historical models)
    """Only the routing rule (migration 0003, for databases seeded before it existed); idempotent."""
    _create(Rule, RuleVersion, _sets(RuleSet), ROUTING_TEMPLATES)
    _new_stamp(RuntimeState)


def _sets(RuleSet) -> dict:  # noqa: N803
    sets = {}
    for s in (REVIEW_SET, ROUTING_SET, CARRIER_SET):
        sets[s["code"]], _ = RuleSet.objects.get_or_create(code=s["code"], defaults=s)
    return sets


def _create(Rule, RuleVersion, sets: dict, templates: list[dict]) -> None:  # noqa: N803
    for t in templates:
        if Rule.objects.filter(code=t["code"]).exists():
            continue
        snap = snapshot(t)
        fields = {k: v for k, v in snap.items() if k != "rule_set"}
        rule = Rule.objects.create(
            code=t["code"], rule_set=sets[snap["rule_set"]], version=1, updated_by="system", **fields
        )
        RuleVersion.objects.create(
            rule=rule, version=1, snapshot=snap, diff=diff(None, snap), author="system", note="模板"
        )


def _new_stamp(RuntimeState) -> None:  # noqa: N803
    # a fresh stamp: every process drops rules it cached from an earlier seeding (ids differ)
    state, _ = RuntimeState.objects.get_or_create(pk=1, defaults={"stamp": uuid.uuid4().hex})
    RuntimeState.objects.filter(pk=state.pk).update(stamp=uuid.uuid4().hex)
