"""One benchmark suite: one table, every figure beside the machine's limit measured in the same run.

  bench/run                                   # SQLite
  bench/run --postgres postgresql://postgres@127.0.0.1:5432/zhongshu_bench   # and PostgreSQL
  bench/run --seconds 10 --orders 5000        # a quicker look
  bench/run --only push                       # one part: import, http, push (comma-separated)

Per database, in a child process with its own ZHONGSHU_HOME (and a dropped-and-created database):
- raw insert rate: the same rows as an order costs the hub, without the hub (bench/raw.py);
- batch import: JSONL file → allocated orders (the `zhongshu import` path), orders/s and % of raw;
- SQL statements per order: one POST /api/v1/orders, per order of POST /api/v1/orders/batch (500),
  per order of the batch import;
- HTTP intake at --rate orders/s offered for --seconds against `zhongshu serve` (as `zhongshu demo`
  runs it: 2 web workers × 4 threads), the open-loop load client in its own process: p50/p99/max,
  orders/s answered 201, 503s, other errors, answers slower than 2 s;
- push storm: --pushes signed own-shop pushes in 5 s against `zhongshu serve` with its worker:
  acknowledged, taken in (each once), seconds until the inbox was empty;
- the Double-11 replay: a row kept for `zhongshu loadtest` (not measured here yet).
Targets (reported, not asserted): p99 ≤ 250 ms at 300/s; batch import ≥ 10 % of raw on SQLite,
≥ 50 % on PostgreSQL.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import common
import http_load
import raw
from orders_gen import make_order

PUSH_SECRET = "bench-push-secret"


def child(db: str, args) -> dict:
    import django

    django.setup()
    from intake import setup_hub

    from zhongshu.channels.models import Shop, ShopCredential
    from zhongshu.core.auth import create_token

    setup_hub()
    ShopCredential.objects.get_or_create(shop=Shop.objects.get(code="mp"),
                                         defaults={"app_key": "mp", "push_secret": PUSH_SECRET})  # fmt: skip
    token = create_token("bench", scope="intake")
    home = Path(os.environ["ZHONGSHU_HOME"])
    out: dict = {"database": db}

    only = set(args.only.split(",")) if args.only else {"import", "http", "push"}
    limit = None
    # the machine's limit, then the hub's batch import of as many orders
    if "import" in only:
        out.update(batch_import(db, args, home))
        limit = out["raw insert, orders/s (the limit)"]
    if "http" in only:
        out.update(http_part(token, args, limit))
    if "push" in only:
        out.update(push_storm(args.pushes))
    out["Double-11 replay (12,000 orders, 3 channels)"] = "— (zhongshu loadtest)"
    return out


def batch_import(db: str, args, home: Path) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from zhongshu.channels.own.jsonl import import_jsonl
    from zhongshu.core.auth import create_token

    token = create_token("bench", scope="intake")
    out: dict = {}
    if db == "sqlite":
        limit = raw.sqlite_rate(home / "raw.sqlite3", args.orders)
    else:
        limit = raw.postgres_rate(os.environ["ZHONGSHU_DATABASE_URL"], args.orders)
    path = home / "orders.jsonl"
    path.write_text("".join(json.dumps(make_order(n), ensure_ascii=False) + "\n" for n in range(args.orders)))
    t0 = time.perf_counter()
    report = import_jsonl(path, "mp", batch_size=500)
    rate = args.orders / (time.perf_counter() - t0)
    assert report.created == args.orders and not report.errors, report
    out["raw insert, orders/s (the limit)"] = round(limit)
    out["batch import, orders/s"] = round(rate)
    out["batch import, % of raw"] = f"{100 * rate / limit:.1f} %"

    # statements per order
    client, auth = Client(), {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    with CaptureQueriesContext(connection) as q:
        r = client.post("/api/v1/orders", make_order(10**7), content_type="application/json", **auth)
    assert r.status_code == 201, r.content
    out["SQL per order: POST /orders"] = len(q.captured_queries)
    batch = [make_order(n, prefix="A") for n in range(500)]
    with CaptureQueriesContext(connection) as q:
        r = client.post("/api/v1/orders/batch", {"orders": batch}, content_type="application/json", **auth)
    assert r.status_code == 200 and r.json()["created"] == 500, r.content[:500]
    out["SQL per order: POST /orders/batch"] = round(len(q.captured_queries) / 500, 2)
    small = home / "small.jsonl"
    small.write_text("".join(json.dumps(make_order(n, prefix="S")) + "\n" for n in range(1000)))
    with CaptureQueriesContext(connection) as q:
        import_jsonl(small, "mp", batch_size=500)
    out["SQL per order: batch import"] = round(len(q.captured_queries) / 1000, 2)
    connection.close()
    return out


def http_part(token: str, args, limit: float | None) -> dict:
    """HTTP intake at the offered rate."""
    out: dict = {}
    h = http_load.http_intake(token, args.rate, args.seconds)
    out[f"HTTP {args.rate:g}/s offered {args.seconds:g} s: p50 ms"] = h["http_p50_ms"]
    out["HTTP: p99 ms (target ≤ 250)"] = h["http_p99_ms"]
    out["HTTP: max ms"] = h["http_max_ms"]
    out["HTTP: 201/s answered"] = h["http_ok_per_s"]
    out["HTTP: 503 (fast refusals)"] = h["http_503"]
    out["HTTP: other errors"] = h["http_errors"]
    out["HTTP: answers over 2 s"] = h["http_over_2s"]
    out["HTTP: 503 waited for a thread, max ms"] = h["http_503_server_wait_max_ms"]
    if limit:
        out["HTTP: 201/s ÷ raw"] = f"{100 * h['http_ok_per_s'] / limit:.1f} %"
    return out


def push_storm(pushes: int, seconds: float = 5.0) -> dict:
    """The events of the import and HTTP runs above are set aside first (marked delivered): a worker
    would have delivered them long ago, and the storm should meet the worker idle, as a push at a
    peak meets it after the previous minute's orders."""
    from django.utils import timezone

    from zhongshu.core.models import OutboxEvent
    from zhongshu.orders.models import Order

    OutboxEvent.objects.filter(delivered_at__isnull=True).update(delivered_at=timezone.now())

    with http_load.Server(worker=True) as base:
        r = http_load.load(base, pushes / seconds, seconds, path="push", secret=PUSH_SECRET, prefix="P")
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 120:
            taken = Order.objects.filter(channel_order_id__startswith="P").count()
            if taken >= r["statuses"].get("200", 0):
                break
            time.sleep(0.25)
        drained = time.perf_counter() - t0
        replay = http_load.load(base, 50, 1, path="push", secret=PUSH_SECRET, prefix="P")  # 50 retries
        time.sleep(1.0)
    from zhongshu.channels.models import PushReceipt

    timing = r.get("server_timing_ms", {})  # Server-Timing of the acknowledged pushes
    return {
        f"push storm {pushes} in {seconds:g} s: acknowledged": r["statuses"].get("200", 0),
        "push storm: p99 ms": r["p99_ms"],
        "push storm: other answers": r["requests"] - r["statuses"].get("200", 0),
        "push storm: of which 503 (shed)": r["statuses"].get("503", 0),
        "push storm: server CPU ms per push (mean)": timing.get("cpu", {}).get("mean"),
        "push storm: server time ms p50 / p99": f"{timing.get('app', {}).get('p50')} / "
        f"{timing.get('app', {}).get('p99')}",
        "push storm: taken in (orders)": Order.objects.filter(channel_order_id__startswith="P").count(),
        "push storm: inbox empty after s": round(drained, 1),
        "push storm: replays refused (409)": replay["statuses"].get("409", 0),
        "push storm: receipts (once each)": PushReceipt.objects.filter(
            message_id__startswith="msg-P"
        ).count(),
    }


def machine() -> str:
    model = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                  if ln.startswith("model name")), platform.processor())  # fmt: skip
    load = os.getloadavg()[0]
    return f"{os.cpu_count()} CPUs, {model}; Python {platform.python_version()}; load average {load:.1f} at start"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--postgres", default="", help="PostgreSQL URL of a scratch database (dropped and created)"
    )
    p.add_argument("--orders", type=int, default=10_000, help="orders of the batch import and the raw rate")
    p.add_argument("--rate", type=float, default=300.0, help="HTTP orders/s offered")
    p.add_argument("--seconds", type=float, default=60.0, help="HTTP run length")
    p.add_argument("--pushes", type=int, default=1000, help="signed pushes sent in 5 s")
    p.add_argument("--sqlite", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--only", default="", help="parts to run: import,http,push (default: all)")
    p.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args), ensure_ascii=False))
        return
    print(f"machine: {machine()}")
    opts = ["--orders", str(args.orders), "--rate", str(args.rate), "--seconds", str(args.seconds),
            "--pushes", str(args.pushes), "--only", args.only]  # fmt: skip
    results = []
    if args.sqlite:
        results.append(common.run_child(__file__, ["sqlite", *opts]))
    if args.postgres:
        results.append(common.run_child(__file__, ["postgresql", *opts], args.postgres))
    common.print_table(results, width=24, label=50)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=common.ROOT
    )
    print(f"commit {commit.stdout.strip()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")


if __name__ == "__main__":
    sys.exit(main())
