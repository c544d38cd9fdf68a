"""The demo's working day on top of the floor (zhongshu/demo.py calls `working_day` last): orders held
for each reason the shipped review rules and intake give, taken in through intake so the rules hold
them for real (brushing, a pickup point with a large amount, a promotion below cost, a pre-sale that
arrives too late, amounts that do not add up, a refund request); two decided in the exception queue
by a person (one corrected and released, one cancelled: the queue's "loss avoided"); a red alert
breached (a demo rule on the unshipped backlog, evaluated by the alert service); and a day of
minute health samples for the KPI report's availability (a demo has no worker running yet).

Peak-mode manual review (peak_manual_review) holds only while 大促模式 is on: not in the demo.
Deterministic for a given "now". Import after django.setup().
"""

from datetime import datetime, timedelta
from decimal import Decimal

from zhongshu.monitor.models import HealthSample
from zhongshu.notify.models import AlertRule
from zhongshu.notify.services import evaluate
from zhongshu.orders.decisions import OrderEdit, cancel_orders, edit_and_approve
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake

ACTOR = "demo"
REVIEWER = "admin:admin"  # the demo's decisions, as the admin user makes them in the queue
ID_NUMBER = "11010519900307123X"  # one buyer's ID number on every brushing order
ALERT_RULE = "待发货订单积压（演示阈值 200）"
DOWN_MINUTES = (185, 186, 187, 900)  # minutes ago the demo's health samples were down


def working_day(now: datetime) -> dict[str, int]:
    """Add the day's exceptions, decisions, the breached alert and health samples; returns counts."""
    orders = _held_orders(now)
    intake([OrderIn.model_validate(o) for o in orders], actor=ACTOR)
    refund = _base("tb", "TBX-REFUND-1", now - timedelta(hours=5), [("DUMPLING-500G", 2, "39.90")])
    intake([OrderIn.model_validate(refund)], actor=ACTOR)  # paid, allocated; then the buyer asks for a refund
    later = {"status": "refund_requested", "updated_at": (now - timedelta(hours=1)).isoformat()}
    intake([OrderIn.model_validate(refund | later)], actor=ACTOR)
    home = {
        "province": "北京市",
        "city": "北京市",
        "district": "朝阳区",
        "address": "建国路88号SOHO现代城A座1203",
    }
    # the queue's decisions (only where the rules held them: a hub whose review rules were removed
    # takes these orders in without a hold, and there is nothing to decide)
    fixed = Order.objects.get(channel_order_id="JDX-PICKUP-2")
    if fixed.status == "on_hold":
        edit_and_approve(fixed.pk, OrderEdit(address=home), REVIEWER, "驿站代收改为买家家庭地址")
    mismatch = Order.objects.get(channel_order_id="PDDX-MISMATCH-2")
    if mismatch.status == "on_hold":
        cancel_orders([mismatch.pk], REVIEWER, "金额异常，与买家确认后取消")
    rule, _ = AlertRule.objects.get_or_create(
        name=ALERT_RULE,
        defaults={"metric": "pending_orders", "comparison": "gt", "threshold": Decimal(200),
                  "window_minutes": 60, "cooldown_minutes": 30},
    )  # fmt: skip
    evaluate(now)
    samples = [
        HealthSample(at=now - timedelta(minutes=m), api_ok=m not in DOWN_MINUTES, worker_ok=True,
                     db_latency_ms=2 + m % 5, ok=m not in DOWN_MINUTES)
        for m in range(1, 24 * 60 + 1)
    ]  # fmt: skip
    HealthSample.objects.bulk_create(samples)
    return {"held_orders": len(orders) + 1, "alert_rule": rule.pk, "health_samples": len(samples)}


def _base(shop: str, oid: str, placed: datetime, lines: list[tuple[str, int, str]], **changes) -> dict:
    """A paid order of the demo: lines are (SKU, quantity, unit price); amounts add up unless changed."""
    body = [
        {"sku": sku, "quantity": qty, "unit_price": price, "paid_amount": str(Decimal(price) * qty)}
        for sku, qty, price in lines
    ]
    total = sum(Decimal(ln["paid_amount"]) for ln in body)
    stamp = placed.isoformat()
    order = {
        "shop": shop, "channel_order_id": oid, "status": "paid", "created_at": stamp, "paid_at": stamp,
        "updated_at": stamp, "buyer": {"id": f"u-{oid.lower()}", "nick": f"买家{oid[-1]}"},
        "receiver": {"name": "陈思琪", "phone": "13912345678", "province": "广东省", "city": "广州市",
                     "district": "天河区", "address": "天河路385号太古汇2座1508"},
        "lines": body, "freight": "0.00", "discount": "0.00", "paid_amount": str(total),
    }  # fmt: skip
    return order | changes


def _held_orders(now: datetime) -> list[dict]:
    hour = timedelta(hours=1)
    brushing = [
        _base("tb", f"TBX-BRUSH-{n}", now - (6 - n) * hour, [("TANGYUAN-SESAME-400G", 1, "16.90")],
              buyer={"id": "u-brush", "nick": "刷**88", "id_number": ID_NUMBER})
        for n in range(1, 5)
    ]  # fmt: skip
    pickup = {"province": "北京市", "city": "北京市", "district": "朝阳区", "address": "建国路菜鸟驿站（代收点）",
              "name": "周杰", "phone": "18612345678"}  # fmt: skip
    return [
        *brushing,
        *(
            _base("jd", f"JDX-PICKUP-{n}", now - (3 + n) * hour, [("STEAK-RIBEYE-200G", 8, "79.90")], receiver=pickup)
            for n in (1, 2)
        ),
        _base("dy", "DYX-PROMO-1", now - 2 * hour, [("YOGURT-GREEK-12", 3, "49.90")])
        | {"lines": [{"sku": "YOGURT-GREEK-12", "quantity": 3, "unit_price": "49.90", "promo_price": "9.90",
                      "paid_amount": "29.70"}], "paid_amount": "29.70"},
        _base("mp", "MPX-PRESALE-1", now - 3 * hour, [("ZONGZI-GIFT-10", 1, "128.00")], presale=True,
              ship_by=(now + timedelta(days=2)).isoformat()),
        *(
            _base("pdd", f"PDDX-MISMATCH-{n}", now - n * hour, [("DUMPLING-1KG", 1, "69.90")], paid_amount="59.90")
            for n in (1, 2)
        ),
    ]  # fmt: skip
