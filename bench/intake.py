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
import random
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import common

BIN = Path(sys.executable).parent
PROVINCES = common.PROVINCES
SKUS = [f"BENCH-{i:03d}" for i in range(50)]
TZ = timezone(timedelta(hours=8))


def make_order(n: int, shop: str = "mp", prefix: str = "B") -> dict:
    rnd = random.Random(n)
    lines, total = [], 0
    for sku in rnd.sample(SKUS, rnd.randint(1, 3)):
        qty = rnd.randint(1, 3)
        lines.append({"sku": sku, "quantity": qty, "unit_price": "19.90", "paid_amount": f"{qty * 19.9:.2f}"})
        total += round(qty * 1990)
    t = datetime(2026, 11, 11, 0, 0, tzinfo=TZ) + timedelta(seconds=n)
    return {
        "shop": shop, "channel_order_id": f"{prefix}{n:08d}", "status": "paid",
        "created_at": t.isoformat(), "paid_at": t.isoformat(), "updated_at": t.isoformat(),
        "receiver": {"name": "张三", "phone": f"138{n % 10**8:08d}", "province": rnd.choice(PROVINCES),
                     "address": f"人民路{n % 999}号"},
        "lines": lines, "freight": "0.00", "discount": "0.00", "paid_amount": f"{total / 100:.2f}",
    }  # fmt: skip


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
    out.update(http_latency(token, rate, seconds))
    return out


def http_latency(token: str, rate: float, seconds: float) -> dict:
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [str(BIN / "zhongshu"), "serve", "--port", str(port), "--workers", "2", "--no-worker"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        common.wait_http(f"{base}/api/v1/health")
        total = int(rate * seconds)
        latencies: list[float] = []
        errors = 0
        lock = threading.Lock()
        headers = {"Authorization": f"Bearer {token}"}
        local = threading.local()

        def send(n: int) -> None:
            nonlocal errors
            if not hasattr(local, "c"):
                local.c = httpx.Client(base_url=base, headers=headers, timeout=30)
            t = time.perf_counter()
            r = local.c.post("/api/v1/orders", json=make_order(n, prefix="H"))
            dt = time.perf_counter() - t
            with lock:
                latencies.append(dt)
                errors += r.status_code != 201

        from concurrent.futures import ThreadPoolExecutor

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=32) as pool:
            for n in range(total):  # open loop: requests leave on schedule whatever the latency
                delay = start + n / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(send, n)
        latencies.sort()
        return {
            "http_offered_rate_per_s": rate,
            "http_requests": total,
            "http_errors": errors,
            "http_p50_ms": round(statistics.median(latencies) * 1000, 1),
            "http_p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 1),
        }
    finally:
        server.terminate()
        server.wait(timeout=15)


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
