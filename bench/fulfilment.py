"""Warehouse floor benchmarks (prints figures; asserts nothing). Issue 9's targets in brackets.

  .venv/bin/python bench/fulfilment.py                       # SQLite only
  .venv/bin/python bench/fulfilment.py --postgres postgresql://postgres@127.0.0.1:5432/zhongshu_bench

Setup: N paid orders imported and allocated (the JSONL import path); the first 500 get their
packages through make_packages (the outbox consumer's sync_order, set-wise) [issue 9: sync_order
cost 15–20 ms per order], measured: ms and statements per order; the others one pending package per
order written in bulk (what sync_order makes for orders without a merge partner).
1. Waves from N pending packages [≤ 2 s on SQLite]: per warehouse one `create_wave` (timed alone
   too: a read and a plan over all pending packages), then `create_waves` by the default strategies
   (each strategy's size) until no package is ready.
2. Pack checks through the API at a fixed offered rate [20/s; p99 ≤ 100 ms] against `zhongshu serve`
   (then 3. the packed packages get sandbox waybills and are shipped by outbound scans, POST /api/v1/ship
   at the same rate: p99 server time)
   (gunicorn, 2 workers): POST /api/v1/packages/{id}/check with every unit scanned and the right
   weight; the round trip on localhost, and from each answer's Server-Timing header the server's
   own time (app), the CPU its thread used (the work, whatever else runs on the machine) and the
   wait to begin the write transaction (lock), after a warm-up (32 reads from 16 threads: each
   server thread's first request opens its database connection). On a shared 2-core machine the
   round trip and the server time mostly show waiting for a CPU; the CPU figure compares across runs.
3. SQL statements per pack check [≤ 15]: one check through Django's test client (auth included) and
   the service alone.
Each database runs in a child process with its own ZHONGSHU_HOME.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import common
import intake

BIN = Path(sys.executable).parent


def setup_floor(n_orders: int, by_service: int = 0) -> tuple[str, dict]:
    """Hub, N allocated orders with a pending package each, a warehouse user; returns its token and
    the figures of making the first `by_service` orders' packages through make_packages (the
    outbox consumer's sync_order, merging included); the others' packages are written in bulk."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from zhongshu.catalog.models import Sku
    from zhongshu.channels.own.jsonl import import_jsonl
    from zhongshu.core.auth import create_token
    from zhongshu.core.roles import WAREHOUSE
    from zhongshu.fulfilment.models import Package, PackageLine, PackageOrder, PackageTransition
    from zhongshu.inventory.models import StockLevel
    from zhongshu.orders.models import Order, OrderLine

    intake.setup_hub()
    Sku.objects.filter(code__in=intake.SKUS).update(weight_g=500)
    for i, code in enumerate(intake.SKUS):  # bins (货位), so pick lists are sorted by location
        StockLevel.objects.filter(sku__code=code).update(location=f"A-{i // 10 + 1:02d}-{i % 10 + 1:02d}")
    user, _ = get_user_model().objects.get_or_create(username="packer")
    user.groups.add(Group.objects.get(name=WAREHOUSE))
    path = Path(os.environ["ZHONGSHU_HOME"]) / "orders.jsonl"
    path.write_text(
        "".join(json.dumps(intake.make_order(n), ensure_ascii=False) + "\n" for n in range(n_orders))
    )
    report = import_jsonl(path, "mp", batch_size=500)
    assert report.created == n_orders and not report.errors, report
    now = timezone.now()
    orders = list(Order.objects.filter(status="allocated").order_by("pk"))
    orders, served = orders[by_service:], orders[:by_service]
    Package.objects.bulk_create(
        [Package(warehouse_id=o.warehouse_id, shop_id=o.shop_id, paid_at=o.paid_at, allocated_at=now)
         for o in orders], batch_size=1000,
    )  # fmt: skip
    pkgs = list(Package.objects.order_by("pk"))
    by_order = {o.pk: p for o, p in zip(orders, pkgs, strict=True)}
    PackageOrder.objects.bulk_create([PackageOrder(package=p, order_id=o) for o, p in by_order.items()], 1000)
    lines = list(OrderLine.objects.filter(order__in=orders).select_related("sku"))
    PackageLine.objects.bulk_create(
        [PackageLine(package=by_order[ln.order_id], order_line=ln, sku=ln.sku, quantity=ln.quantity)
         for ln in lines], batch_size=1000,
    )  # fmt: skip
    weight: dict[int, int] = {}
    for ln in lines:
        weight[ln.order_id] = weight.get(ln.order_id, 0) + ln.sku.weight_g * ln.quantity
    for o, p in by_order.items():
        p.expected_weight_g = weight[o]
    Package.objects.bulk_update(pkgs, ["expected_weight_g"], batch_size=1000)
    PackageTransition.objects.bulk_create(
        [
            PackageTransition(package=p, from_status="", to_status="pending", actor="bench", at=now)
            for p in pkgs
        ],
        batch_size=1000,
    )
    return create_token("packer", "bench"), packages_by_service(len(served))


def packages_by_service(n: int) -> dict:
    """make_packages over the n allocated orders left without a package [issue 9: 15-20 ms each]."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from zhongshu.fulfilment import services

    if not n:
        return {}
    with CaptureQueriesContext(connection) as q:
        t = time.perf_counter()
        made = services.make_packages("bench")
        dt = time.perf_counter() - t
    assert made == n, (made, n)
    return {
        "packages_by_service_orders": n,
        "packages_by_service_ms_per_order": round(dt / n * 1000, 2),
        "packages_by_service_statements_per_order": round(len(q.captured_queries) / n, 1),
    }


def make_waves() -> dict:
    from zhongshu.fulfilment import services
    from zhongshu.fulfilment.models import Package
    from zhongshu.inventory.models import Warehouse

    pending = Package.objects.filter(status="pending").count()
    waves, first = 0, None
    t0 = time.perf_counter()
    for wh in Warehouse.objects.filter(active=True).order_by("code").values_list("code", flat=True):
        t = time.perf_counter()
        try:
            services.create_wave(wh, actor="bench")  # one wave: a read and a plan over all pending
        except services.FloorError:
            continue
        first = first or time.perf_counter() - t
        waves += 1 + len(services.create_waves(wh, actor="bench"))  # then every wave that qualifies
    dt = time.perf_counter() - t0
    return {
        "wave_pending_packages": pending,
        "wave_first_seconds": round(first or 0, 3),
        "waves_made": waves,
        "waves_all_seconds": round(dt, 2),
        "waved_packages": Package.objects.filter(status="waved").count(),
    }


def check_body(pkg) -> dict:
    scans = [ln.sku.code for ln in pkg.lines.select_related("sku") for _ in range(ln.quantity)]
    return {"scans": scans, "weight_g": pkg.expected_weight_g}


def statements_per_check(token: str, waved: list) -> dict:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from zhongshu.fulfilment import services

    api_pkg, service_pkg = waved.pop(), waved.pop()
    body = check_body(api_pkg)
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get(f"/api/v1/packages/{api_pkg.pk}").status_code == 200  # the token's last use noted
    with CaptureQueriesContext(connection) as q:
        r = client.post(f"/api/v1/packages/{api_pkg.pk}/check", body, content_type="application/json",
                          HTTP_AUTHORIZATION=f"Bearer {token}")  # fmt: skip
    assert r.status_code == 200, r.content
    body = check_body(service_pkg)
    with CaptureQueriesContext(connection) as s:
        assert services.check_package(service_pkg.pk, body["scans"], body["weight_g"], "bench").ok
    return {"statements_pack_check_api": len(q.captured_queries), "statements_pack_check_service": len(s)}


def http_open_loop(token: str, calls: list[tuple[str, dict]], rate: float, prefix: str, ok) -> dict:
    """POST each (path, body) at a fixed offered rate (open loop) to a `zhongshu serve` of this
    database; figures named `<prefix>_…`: round trip and the server's own time (Server-Timing)."""
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [str(BIN / "zhongshu"), "serve", "--port", str(port), "--workers", "2", "--no-worker"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        common.wait_http(f"{base}/api/v1/health")
        latencies: list[float] = []
        server: list[float] = []  # ms, the hub's own time (Server-Timing: app)
        lock_waits: list[float] = []  # ms of it waiting to begin a write transaction
        cpu: list[float] = []  # ms of CPU the request's thread used (the work, whatever the load)
        errors = 0
        lock = threading.Lock()
        local = threading.local()

        slowest: list[tuple] = []  # (server ms, request number, db ms, lock ms)

        def client() -> "httpx.Client":
            if not hasattr(local, "c"):
                local.c = httpx.Client(
                    base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
                )
            return local.c

        def local_get(n: int) -> None:
            client().get("/api/v1/health").raise_for_status()

        def send(n: int, path: str, body: dict) -> None:
            nonlocal errors
            c = client()
            t = time.perf_counter()
            r = c.post(path, json=body)
            dt = time.perf_counter() - t
            timing = dict(
                (k.strip(), float(v)) for k, v in
                (part.split(";dur=") for part in r.headers.get("server-timing", "").split(",") if ";dur=" in part)
            )  # fmt: skip
            with lock:
                latencies.append(dt)
                server.append(timing.get("app", 0.0))
                lock_waits.append(timing.get("lock", 0.0))
                cpu.append(timing.get("cpu", 0.0))
                slowest.append((timing.get("app", 0.0), n, timing.get("db", 0.0), timing.get("lock", 0.0)))
                errors += not ok(r)

        # warm-up, not measured: every server thread opens its database connection on its first
        # request (a few hundred ms on a loaded machine), which would otherwise be the p99
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(local_get, range(32)))
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=16) as pool:
            for n, (path, body) in enumerate(calls):  # open loop: requests leave on schedule
                delay = start + n / rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(send, n, path, body)
        latencies.sort()
        server.sort()
        lock_waits.sort()
        cpu.sort()

        def p99(xs: list) -> float:
            return xs[min(len(xs) - 1, int(len(xs) * 0.99))]

        figures = {
            "offered_rate_per_s": rate,
            "requests": len(calls),
            "errors": errors,
            "p50_ms": round(statistics.median(latencies) * 1000, 1),
            "p99_ms": round(p99(latencies) * 1000, 1),
            "server_p50_ms": round(statistics.median(server), 1),
            "server_p99_ms": round(p99(server), 1),
            "lock_wait_p99_ms": round(p99(lock_waits), 1),
            "server_cpu_p50_ms": round(statistics.median(cpu), 1),
            "server_cpu_p99_ms": round(p99(cpu), 1),
            "slowest_3 (ms app/db/lock #n)": " ".join(
                f"{a:.0f}/{d:.0f}/{k:.0f}#{n}" for a, n, d, k in sorted(slowest, reverse=True)[:3]
            ),
        }
        return {f"{prefix}_{k}": v for k, v in figures.items()}
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def child(db: str, n_orders: int, rate: float, seconds: float) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from zhongshu.fulfilment.models import Package

    call_command("migrate", verbosity=0)
    token, made = setup_floor(n_orders, by_service=min(500, n_orders))
    out: dict = {"database": db, **made}
    out.update(make_waves())
    waved = list(Package.objects.filter(status="waved").order_by("pk")[: int(rate * seconds) + 2])
    out.update(statements_per_check(token, waved))
    calls = [(f"/api/v1/packages/{p.pk}/check", check_body(p)) for p in waved]
    connection.close()
    out.update(
        http_open_loop(
            token, calls, rate, "check", lambda r: r.status_code == 200 and r.json().get("status") == "packed"
        )
    )
    out.update(outbound_scans(token, rate))
    return out


def outbound_scans(token: str, rate: float) -> dict:
    """Waybills (sandbox service) for the packed packages, then their outbound scans by waybill number
    through POST /api/v1/ship at the offered rate [20/s]: shipped, stock consumed, confirmation queued."""
    from django.db import connection

    from zhongshu.fulfilment.models import Package
    from zhongshu.shipping import services
    from zhongshu.shipping.models import WaybillAccount

    packed = list(Package.objects.filter(status="packed").select_related("shop").order_by("pk"))
    for shop_id in {p.shop_id for p in packed}:
        WaybillAccount.objects.get_or_create(shop_id=shop_id, carrier="SF", defaults=dict(
            provider="sandbox", default=True, sender_name="广州仓", sender_phone="02088886666",
            sender_province="广东省", sender_city="广州市", sender_district="白云区", sender_address="物流园1号",
        ))  # fmt: skip
    t = time.perf_counter()
    batch = services.issue_waybills([p.pk for p in packed], "bench")
    issued = len(batch.issued)
    out = {"waybills_sandbox_per_s": round(issued / (time.perf_counter() - t), 1)}
    calls = [("/api/v1/ship", {"waybill_no": w.waybill_no}) for w in batch.issued]
    connection.close()
    out.update(
        http_open_loop(
            token, calls, rate, "ship", lambda r: r.status_code == 200 and r.json().get("status") == "shipped"
        )
    )
    return out


def run_child(db_url: str | None, args) -> dict:
    return common.run_child(__file__, ["postgresql" if db_url else "sqlite", "--orders", str(args.orders),
                            "--rate", str(args.rate), "--seconds", str(args.seconds)], db_url)  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--orders", type=int, default=5_000, help="pending packages to wave")
    p.add_argument("--rate", type=float, default=20.0, help="offered pack-check rate, requests/s")
    p.add_argument("--seconds", type=float, default=10.0)
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
