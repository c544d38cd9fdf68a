"""One benchmark suite: one table, every figure beside the machine's limit measured in the same run.

  bench/run                                   # SQLite
  bench/run --postgres postgresql://postgres@127.0.0.1:5432/zhongshu_bench   # and PostgreSQL
  bench/run --seconds 10 --orders 5000        # a quicker look
  bench/run --only push                       # one part: import, http, push, replay (comma-separated)

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
- the Double-11 replay: `zhongshu loadtest --paths pull` on a sandbox of the child's instance:
  --replay-orders (12,000) on the Double-11 first-hour curve compressed into --replay-seconds (10),
  over three channels — Taobao, JD and PDD platform doubles (zhongshu.doubles) that the sandbox
  server's worker pulls through the connectors — seconds from the first order put on a platform to
  the last one settled (allocated, or backordered/held/cancelled) in the hub, every order once.
Targets (reported, not asserted): p99 ≤ 250 ms at 300/s; batch import ≥ 10 % of raw on SQLite,
≥ 50 % on PostgreSQL; the replay ≤ 15 s.
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

    only = set(args.only.split(",")) if args.only else {"import", "http", "push", "replay"}
    limit = None
    # the machine's limit, then the hub's batch import of as many orders
    if "import" in only:
        out.update(batch_import(db, args, home))
        limit = out["raw insert, orders/s (the limit)"]
    if "http" in only:
        out.update(http_part(token, args, limit))
    if "push" in only:
        out.update(push_storm(args.pushes))
    if "replay" in only:
        out.update(replay(args.replay_orders, args.replay_seconds))
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

    timing = r.get("server_timing_ms", {}).get("200", {})  # Server-Timing of the acknowledged pushes
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


def replay(orders: int, seconds: float) -> dict:
    """The Double-11 replay through the platform doubles and the connectors (`zhongshu loadtest`), on a
    sandbox of this instance. Events of the parts above are set aside first (marked delivered), as in
    push_storm: the load test would otherwise wait for the worker to deliver them (its warm-up)."""
    from django.db import connections
    from django.utils import timezone

    from zhongshu.core.models import OutboxEvent
    from zhongshu.sandbox import create, drop

    OutboxEvent.objects.filter(delivered_at__isnull=True).update(delivered_at=timezone.now())
    connections.close_all()  # PostgreSQL copies a database nobody is connected to
    create("replay")
    try:
        argv = [sys.executable, "-m", "zhongshu.cli", "loadtest", "--sandbox", "replay", "--paths", "pull",
                "--curve", "double11", "--orders", str(orders), "--rate", str(orders / seconds), "--duration",
                f"{seconds}s", "--timeouts", "0", "--drain", "300s", "--json"]  # fmt: skip
        done = subprocess.run(argv, capture_output=True, text=True, timeout=900)
        if not done.stdout.strip():
            raise RuntimeError(f"loadtest failed (exit {done.returncode}): {done.stderr[-2000:]}")
        r = json.loads(done.stdout.strip().splitlines()[-1])
        if os.environ.get("ZHONGSHU_HOME"):  # the whole report (backlog over time) beside the table
            Path(os.environ["ZHONGSHU_HOME"], "replay.json").write_text(done.stdout.strip().splitlines()[-1])
    finally:
        drop("replay")
    lat = r["latency_ms"]
    return {
        f"Double-11 replay ({orders:,} orders, 3 channels)": f"{r['first_to_last_settled_seconds']} s",
        "replay: target ≤ 15 s, first order → last settled": "met" if r["first_to_last_settled_seconds"] <= 15 else "not met",
        "replay: orders in hub / missing / oversold": f"{r['orders_in_hub']} / {r['missing']} / {r['oversold']}",
        "replay: put on platform → allocated p50/p99 ms": f"{lat['p50']:g} / {lat['p99']:g}",
        "replay: platform requests (pages)": r["third_party"]["requests"],
        "replay: unsettled at most": r["backlog_max"]["unsettled"],
        "replay: errors": ", ".join(f"{k} {v}" for k, v in r["errors"].items()) or "none",
    }  # fmt: skip


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
    p.add_argument("--replay-orders", type=int, default=12_000, help="orders of the Double-11 replay")
    p.add_argument(
        "--replay-seconds", type=float, default=10.0, help="the replay's curve compressed into this"
    )
    p.add_argument("--only", default="", help="parts to run: import,http,push,replay (default: all)")
    p.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args), ensure_ascii=False))
        return
    print(f"machine: {machine()}")
    opts = ["--orders", str(args.orders), "--rate", str(args.rate), "--seconds", str(args.seconds),
            "--pushes", str(args.pushes), "--only", args.only, "--replay-orders", str(args.replay_orders),
            "--replay-seconds", str(args.replay_seconds)]  # fmt: skip
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
