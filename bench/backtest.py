"""Backtest benchmark (prints figures; asserts nothing): 10,000 stored orders over the last 25 days,
created through orders.services.intake in batches, then the backtest of rules over 30 days.

  .venv/bin/python bench/backtest.py
  .venv/bin/python bench/backtest.py --postgres postgresql://postgres@127.0.0.1:5432/zhongshu_bench_bt

Figures: seconds for the current version of pickup_point_review (order facts), the same with a
changed threshold (two versions at once, with the difference), brushing (a history fact counted
as of each order's time), and the catch counts. Each database runs in a child process with its own
ZHONGSHU_HOME.
"""

import argparse
import json
import random
import time
from datetime import timedelta
from decimal import Decimal

import common

PROVINCES = common.PROVINCES
ADDRESSES = ["人民路{}号", "菜鸟驿站{}号柜", "丰巢代收点{}", "科技园{}栋"]
SKUS = [f"BT-{i:03d}" for i in range(50)]
ID_NUMBERS = [f"5101071990030{i:04d}X"[:17] + "X" for i in range(30)]


def make_order(n: int, now) -> dict:
    rnd = random.Random(n)
    lines, total = [], 0
    for sku in rnd.sample(SKUS, rnd.randint(1, 3)):
        qty, cents = rnd.randint(1, 3), rnd.randint(990, 39900)
        lines.append({"sku": sku, "quantity": qty, "unit_price": f"{cents / 100:.2f}",
                      "paid_amount": f"{qty * cents / 100:.2f}"})  # fmt: skip
        total += qty * cents
    t = (now - timedelta(days=25) + timedelta(seconds=n * 216)).isoformat()  # 10,000 orders over 25 days
    buyer = {"id": f"u{n % 5000}", "nick": "n", "vip": n % 20 == 0}
    if n % 4 == 0:
        buyer["id_number"] = ID_NUMBERS[rnd.randrange(len(ID_NUMBERS))]
    return {
        "shop": "mp", "channel_order_id": f"BT{n:08d}", "status": "paid",
        "created_at": t, "paid_at": t, "updated_at": t, "buyer": buyer,
        "receiver": {"name": "张三", "phone": f"138{n % 3000:08d}", "province": rnd.choice(PROVINCES),
                     "address": rnd.choice(ADDRESSES).format(n % 999)},
        "lines": lines, "freight": "0.00", "discount": "0.00", "paid_amount": f"{total / 100:.2f}",
    }  # fmt: skip


def setup_hub() -> None:
    from django.core.management import call_command

    from zhongshu.catalog.models import Sku
    from zhongshu.channels.models import Shop
    from zhongshu.inventory.models import StockLevel, Warehouse

    call_command("migrate", verbosity=0)
    Shop.objects.get_or_create(code="mp", defaults={"name": "bench", "platform": "own"})
    for code in SKUS:
        sku, _ = Sku.objects.get_or_create(code=code, defaults={"title": code, "cost_price": Decimal("9.00")})
        for wh in Warehouse.objects.all():
            StockLevel.objects.update_or_create(sku=sku, warehouse=wh, defaults={"physical": 10_000_000})


def child(db: str, n_orders: int, batch: int) -> dict:
    import django

    django.setup()
    from zhongshu.core.timeutil import now
    from zhongshu.orders.schemas import OrderIn
    from zhongshu.orders.services import intake
    from zhongshu.rules import selectors
    from zhongshu.rules.backtest import backtest

    setup_hub()
    at = now()
    t0 = time.perf_counter()
    for start in range(0, n_orders, batch):
        payloads = [
            OrderIn.model_validate(make_order(n, at)) for n in range(start, min(start + batch, n_orders))
        ]
        intake(payloads, actor="bench")
    out: dict = {"database": db, "orders stored": n_orders, "intake s": round(time.perf_counter() - t0, 1)}
    pickup, brushing = selectors.rule("pickup_point_review"), selectors.rule("brushing")
    proposal = {"all": [pickup.condition["all"][0], {"fact": "order.paid_amount", "op": ">", "value": "300"}]}
    for label, rule, condition in [
        ("pickup_point_review", pickup, None),
        ("pickup > 300 vs current", pickup, proposal),
        ("brushing (history)", brushing, None),
    ]:
        best, result = float("inf"), None
        for _ in range(3):
            t = time.perf_counter()
            result = backtest(rule, 30, condition)
            best = min(best, time.perf_counter() - t)
        out[f"{label}: s"] = round(best, 3)
        out[f"{label}: scanned/caught"] = f"{result.scanned}/{result.caught.count}"
        if condition:
            out[f"{label}: only new/cur/both"] = (
                f"{result.only_new.count}/{result.only_current.count}/{result.both.count}"
            )
    return out


def run_child(db_url: str | None, args) -> dict:
    return common.run_child(__file__, ["postgresql" if db_url else "sqlite", "--orders", str(args.orders),
                            "--batch", str(args.batch)], db_url)  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--orders", type=int, default=10_000)
    p.add_argument("--batch", type=int, default=500, help="orders per intake call")
    p.add_argument(
        "--postgres", default="", help="PostgreSQL URL of a scratch database (dropped and created)"
    )
    p.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.orders, args.batch), ensure_ascii=False))
        return
    common.print_table(
        [run_child(None, args)] + ([run_child(args.postgres, args)] if args.postgres else []), 16
    )


if __name__ == "__main__":
    main()
