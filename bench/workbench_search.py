"""Order workbench search benchmark (prints figures; asserts nothing): the console's order list
(/admin/orders/order/?q=…) searched at N orders, through Django's test client as a superuser.

  .venv/bin/python bench/workbench_search.py                  # SQLite only, 50,000 orders
  .venv/bin/python bench/workbench_search.py --postgres postgresql://postgres@127.0.0.1:5432/zhongshu_bench_wb

The orders are those of bench/orders_list.py (1,000 through intake, copies of their rows for the
rest). Each figure is "median / best" ms of --repeat page loads (the whole page: search, the
page's rows with their lines, the filters): a platform order id, a phone's last 4 digits, a full
phone, a receiver name, a buyer nickname, a SKU code, and the list without a search as the floor.
"""

import argparse
import json
import os
import statistics
import time

import common
from orders_list import fill


def timed(client, query: dict, repeat: int) -> str:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        r = client.get("/admin/orders/order/", query)
        times.append(time.perf_counter() - t)
        assert r.status_code == 200, r.status_code
    return f"{statistics.median(times) * 1000:.1f} / {min(times) * 1000:.1f}"


def child(db: str, n_orders: int, repeat: int) -> dict:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from intake import setup_hub

    from zhongshu.orders.models import Order

    setup_hub()
    t0 = time.perf_counter()
    fill(n_orders)
    sample = Order.objects.order_by("pk").first()
    line = sample.lines.select_related("sku").first()
    out: dict = {
        "database": db,
        "orders": Order.objects.count(),
        "fill_seconds": round(time.perf_counter() - t0),
    }
    user = get_user_model().objects.create_superuser("bench-admin", password="x")
    client = Client()
    client.force_login(user)
    terms = {
        "no_search_ms": {},
        "order_id_ms": {"q": sample.channel_order_id},
        "phone_tail_ms": {"q": sample.receiver_phone[-4:]},
        "phone_ms": {"q": sample.receiver_phone},
        "receiver_name_ms": {"q": sample.receiver_name},
        "nick_ms": {"q": sample.buyer_nick or "n"},
        "sku_ms": {"q": line.sku.code},
    }
    for name, query in terms.items():
        out[name] = timed(client, query, repeat)
    out["load_average_1min"] = round(os.getloadavg()[0], 1)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--orders", type=int, default=50_000)
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument(
        "--postgres", default="", help="PostgreSQL URL of a scratch database (dropped and created)"
    )
    p.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.orders, args.repeat), ensure_ascii=False))
        return
    child_args = ["--orders", str(args.orders), "--repeat", str(args.repeat)]
    results = [common.run_child(__file__, ["sqlite", *child_args])]
    if args.postgres:
        results.append(common.run_child(__file__, ["postgresql", *child_args], args.postgres))
    common.print_table(results)


if __name__ == "__main__":
    main()
