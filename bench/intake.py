"""Intake benchmarks (prints figures; asserts nothing).

  .venv/bin/python bench/intake.py                       # SQLite only
  .venv/bin/python bench/intake.py --postgres postgresql://postgres@127.0.0.1:5432/zhongshu_bench

1. JSONL import throughput: orders/s from a file to allocated/backordered (zhongshu import path).
2. SQL statements per order: one API intake (POST /api/v1/orders through Django's test client,
   auth included) and per order in a batch import.
3. HTTP intake latency p50/p99 at a fixed offered rate against `zhongshu serve` (gunicorn).
Each database runs in a child process with its own ZHONGSHU_HOME.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import common
import http_load
from orders_gen import SKUS, make_order

BIN = Path(sys.executable).parent


def setup_hub() -> None:
    """Migrate and create shop, SKUs with plenty of stock in both warehouses, a user with a token."""
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command

    from zhongshu.catalog.models import Sku
    from zhongshu.channels.models import Shop
    from zhongshu.core.roles import INTEGRATION, ensure_roles
    from zhongshu.inventory.models import StockLevel, Warehouse

    call_command("migrate", verbosity=0)
    ensure_roles()
    Shop.objects.get_or_create(code="mp", defaults={"name": "bench", "platform": "own"})
    user, _ = get_user_model().objects.get_or_create(username="bench")
    user.groups.add(Group.objects.get(name=INTEGRATION))  # the API's order intake needs orders.add_order
    whs = list(Warehouse.objects.all())
    for code in SKUS:
        sku, _ = Sku.objects.get_or_create(code=code, defaults={"title": code, "cost_price": Decimal("9.00")})
        for wh in whs:
            StockLevel.objects.update_or_create(sku=sku, warehouse=wh, defaults={"physical": 10_000_000})


def child(db: str, n_orders: int, rate: float, seconds: float) -> dict:
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from zhongshu.channels.own.jsonl import import_jsonl
    from zhongshu.core.auth import create_token
    from zhongshu.orders.models import Order

    setup_hub()
    token = create_token("bench", scope="intake")
    out: dict = {"database": db}

    # 1. JSONL import throughput
    path = Path(os.environ["ZHONGSHU_HOME"]) / "orders.jsonl"
    with path.open("w") as f:
        for n in range(n_orders):
            f.write(json.dumps(make_order(n), ensure_ascii=False) + "\n")
    t0 = time.perf_counter()
    report = import_jsonl(path, "mp", batch_size=500)
    dt = time.perf_counter() - t0
    assert report.created == n_orders and not report.errors, report
    out["import_orders"] = n_orders
    out["import_seconds"] = round(dt, 2)
    out["import_orders_per_s"] = round(n_orders / dt)
    out["import_statuses"] = dict(
        Order.objects.values_list("status").annotate(n=django.db.models.Count("id"))
    )

    # 2. statements per order
    client = Client()
    with CaptureQueriesContext(connection) as q:
        r = client.post("/api/v1/orders", make_order(10**7), content_type="application/json",
                        HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
    assert r.status_code == 201, r.content
    out["statements_single_api_order"] = len(q.captured_queries)
    small = path.with_name("small.jsonl")
    small.write_text("".join(json.dumps(make_order(n, prefix="S")) + "\n" for n in range(1000)))
    with CaptureQueriesContext(connection) as q:
        import_jsonl(small, "mp", batch_size=500)
    out["statements_per_order_batch"] = round(len(q.captured_queries) / 1000, 2)
    connection.close()

    # 3. HTTP latency at a fixed offered rate
    out.update(http_load.http_intake(token, rate, seconds))
    return out


def run_child(db_url: str | None, args) -> dict:
    return common.run_child(__file__, ["postgresql" if db_url else "sqlite", "--orders", str(args.orders),
                            "--rate", str(args.rate), "--seconds", str(args.seconds)], db_url)  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--orders", type=int, default=20_000)
    p.add_argument(
        "--rate", type=float, default=20.0, help="offered HTTP rate, requests/s (Double-11 peak: ~3.3/s)"
    )
    p.add_argument("--seconds", type=float, default=15.0)
    p.add_argument(
        "--postgres", default="", help="PostgreSQL URL of a scratch database (dropped and created)"
    )
    p.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.orders, args.rate, args.seconds), ensure_ascii=False))
        return
    common.print_table([run_child(None, args)] + ([run_child(args.postgres, args)] if args.postgres else []))


if __name__ == "__main__":
    main()
