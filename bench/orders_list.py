"""Order list benchmark (prints figures; asserts nothing): GET /api/v1/orders?page=N at 100,000 orders.

  .venv/bin/python bench/orders_list.py                   # SQLite only
  .venv/bin/python bench/orders_list.py --postgres postgresql://postgres@127.0.0.1:5432/zhongshu_bench_list

1,000 orders go through intake (a quarter allocated, the rest backordered), then copies of their
rows make up the rest (bulk insert: the list reads orders, it does not care how they came). Each
figure is "median / best" ms of --repeat requests through Django's test client, bearer auth
included: the first, a middle and the last page of the whole list, the first and a deep page
filtered by status, the first of a shop. Each database runs in a child process with its own
ZHONGSHU_HOME.
"""

import argparse
import json
import os
import statistics
import time

import common
from intake import make_order, setup_hub

SEED = 1000


def fill(n_orders: int) -> None:
    from django.db import connection, transaction

    from zhongshu.inventory.models import StockLevel
    from zhongshu.orders.models import Order
    from zhongshu.orders.schemas import OrderIn
    from zhongshu.orders.services import intake

    StockLevel.objects.update(physical=10)  # a quarter of the orders allocate, the rest wait as backordered
    seed = [OrderIn.model_validate(make_order(n)) for n in range(SEED)]
    for i in range(0, SEED, 250):
        intake(seed[i : i + 250], actor="bench")
    rows = list(Order.objects.values())
    copies, n = [], SEED
    while n < n_orders:
        row = dict(rows[n % SEED], id=None, channel_order_id=f"C{n:08d}")
        copies.append(Order(**row))
        n += 1
    with transaction.atomic():
        Order.objects.bulk_create(copies, batch_size=2000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # what autovacuum does soon after a bulk load
            cursor.execute("VACUUM ANALYZE orders_order")


def timed(client, path: str, headers: dict, repeat: int) -> tuple[str, dict]:
    """'median / best' milliseconds of `repeat` requests, and the last answer."""
    times, body = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        r = client.get(path, **headers)
        times.append(time.perf_counter() - t)
        assert r.status_code == 200, r.content
        body = r.json()
    return f"{statistics.median(times) * 1000:.1f} / {min(times) * 1000:.1f}", body


def child(db: str, n_orders: int, repeat: int) -> dict:
    import django

    django.setup()
    from django.test import Client

    from zhongshu.core.auth import create_token
    from zhongshu.orders.models import Order

    setup_hub()
    t0 = time.perf_counter()
    fill(n_orders)
    out: dict = {
        "database": db,
        "orders": Order.objects.count(),
        "fill_seconds": round(time.perf_counter() - t0),
    }
    headers = {"HTTP_AUTHORIZATION": f"Bearer {create_token('bench')}"}
    client = Client()
    last = (n_orders + 49) // 50
    backordered = Order.objects.filter(status="backordered").count()
    queries = {  # figure: median / best ms
        "page_1_ms": "",
        "page_middle_ms": f"page={last // 2}",
        "page_last_ms": f"page={last}",
        "status_page_1_ms": "status=backordered",
        "status_page_deep_ms": f"status=backordered&page={max(1, backordered // 50)}",
        "shop_page_1_ms": "shop=mp",
        "health_ms": None,  # the same request path without any order: the floor
    }
    for name, query in queries.items():
        path = "/api/v1/health" if query is None else f"/api/v1/orders?{query}"
        out[name], body = timed(client, path, headers, repeat)
        if name == "page_1_ms":
            out["page_items"], out["count"] = len(body["items"]), body["count"]
    out["load_average_1min"] = round(os.getloadavg()[0], 1)  # other work on the machine skews the medians
    return out


def run_child(db_url: str | None, args) -> dict:
    return common.run_child(__file__, ["postgresql" if db_url else "sqlite", "--orders", str(args.orders),
                                       "--repeat", str(args.repeat)], db_url)  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--orders", type=int, default=100_000)
    p.add_argument("--repeat", type=int, default=20, help="requests per figure (the median is shown)")
    p.add_argument(
        "--postgres", default="", help="PostgreSQL URL of a scratch database (dropped and created)"
    )
    p.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.orders, args.repeat), ensure_ascii=False))
        return
    common.print_table([run_child(None, args)] + ([run_child(args.postgres, args)] if args.postgres else []))


if __name__ == "__main__":
    main()
