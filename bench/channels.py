"""Channel benchmarks (prints figures; asserts nothing).

  .venv/bin/python bench/channels.py                  # SQLite, Double-11 first-hour rate (3.5 orders/s)
  .venv/bin/python bench/channels.py --rate 10 --seconds 60 --interval 2

1. Pull latency: `zhongshu worker` runs as a subprocess (its sync scheduler pulls the shop every
   --interval seconds); a thread pays orders on a platform double at a steady rate for --seconds;
   latency = the order's ingested_at in the hub's database - its paid time on the double.
2. Push latency: `zhongshu serve` runs as a subprocess; signed push messages are POSTed to
   /api/v1/push/<shop> at the same rate; latency = ingested_at - paid time (and the HTTP answer time).
   If the hub has no push endpoint, `accept_push` is measured in-process instead (the output says so).
3. TMC latency: a Taobao shop authorised on the TOP double (tests/platforms/taobao_tmc.py, its scheduled
   pull switched off so only TMC brings orders); `zhongshu worker` runs as a subprocess and keeps its
   websocket to the TMC double; at the same rate a paid trade is put on the TOP double and its
   TradeBuyerPay message sent through TMC; latency = ingested_at - paid time (the worker fetches the
   trade from TOP over HTTP and takes it in), and the confirms the TMC double received.
4. Outage back-fill on simulated time: an hour of orders (some modified twice) on the double, pulled
   every 10 simulated seconds, with a 10-minute platform outage in the middle; then orders expected
   vs. found, wrong statuses, and how long the catch-up took.

Parts 1, 2 and 4 use the test platform `zstest` (tests/integration/channels/fake_platform.py: a double
over real HTTP with its connector), loaded into the hub's processes by a small boot line, so the
figures measure the hub's own path: scheduler → queue → connector over HTTP → intake. Part 3 uses the
hub's own Taobao connector and TMC listener against the Taobao doubles.
Each part runs in a child process with its own ZHONGSHU_HOME (SQLite).
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

import common

ROOT = Path(__file__).resolve().parents[1]
SHOP = "bench"
TMC_SHOP = "bench-tb"
SKU = "DUMPLING-500G"
PAY = "taobao_trade_TradeBuyerPay"
BOOT = (
    "import sys, django; django.setup(); import tests.integration.channels.fake_platform; "
    "from zhongshu.cli import main; sys.argv[0] = 'zhongshu'; main()"
)


# --- in the child: the hub ---------------------------------------------------------------------


def setup_stock() -> None:
    """Migrate; the SKU with plenty of stock in every warehouse."""
    from decimal import Decimal

    from django.core.management import call_command

    from zhongshu.catalog.models import Sku
    from zhongshu.inventory.models import StockLevel, Warehouse

    call_command("migrate", verbosity=0)
    sku = Sku.objects.create(code=SKU, title="手工水饺 500g", cost_price=Decimal("20.00"))
    for wh in Warehouse.objects.all():
        StockLevel.objects.create(sku=sku, warehouse=wh, physical=10_000_000)


def setup_hub(double, interval: int) -> None:
    """`setup_stock`; the zstest shop connected to the double."""
    from tests.integration.channels.fake_platform import make_shop

    setup_stock()
    make_shop(double, SHOP, interval_seconds=interval, cursor=datetime.now(UTC))


def ingested(shop: str = SHOP) -> dict[str, datetime]:
    from zhongshu.orders.models import Order

    return dict(Order.objects.filter(shop__code=shop).values_list("channel_order_id", "ingested_at"))


def percentiles(values: list[float], prefix: str) -> dict:
    if not values:
        return {f"{prefix}_n": 0}
    values = sorted(values)
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    return {f"{prefix}_n": len(values), f"{prefix}_p50_s": round(statistics.median(values), 3),
            f"{prefix}_p99_s": round(p99, 3), f"{prefix}_max_s": round(values[-1], 3)}  # fmt: skip


def steady(rate: float, seconds: float, act) -> None:
    """Call act(n) on schedule, open loop, for `seconds` at `rate` per second."""
    start = time.monotonic()
    for n in range(int(rate * seconds)):
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        act(n)


def wait_for(ids: set[str], timeout: float, shop: str = SHOP) -> dict[str, datetime]:
    deadline = time.monotonic() + timeout
    found = ingested(shop)
    while not ids <= found.keys() and time.monotonic() < deadline:
        time.sleep(0.2)
        found = ingested(shop)
    return found


def until(done, timeout: float) -> bool:
    """Poll done() until it is true or `timeout` seconds have passed; its last answer."""
    deadline = time.monotonic() + timeout
    while not done() and time.monotonic() < deadline:
        time.sleep(0.05)
    return bool(done())


def hub_process(*argv: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`zhongshu <argv>` in a subprocess (this process's environment, plus `env`), logging to the home."""
    log = open(Path(os.environ["ZHONGSHU_HOME"]) / f"{argv[0]}.log", "w")  # noqa: SIM115 - lives with the child
    return subprocess.Popen([sys.executable, "-c", BOOT, *argv], cwd=ROOT, stdout=log, stderr=log,
                            env={**os.environ, **(env or {})})  # fmt: skip


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def pull_latency(rate: float, seconds: float, interval: int) -> dict:
    from django.db import connection
    from tests.integration.channels.fake_platform import FakeDouble

    with FakeDouble() as double:
        setup_hub(double, interval)
        connection.close()
        worker = hub_process("worker", "--workers", "4")
        try:
            time.sleep(3)  # the worker starts and makes its first pulls
            paid: dict[str, datetime] = {}

            def pay(n: int) -> None:
                now = datetime.now(UTC)
                paid[f"P{n:06d}"] = now
                double.add(f"P{n:06d}", now)

            steady(rate, seconds, pay)
            found = wait_for(set(paid), timeout=60)
        finally:
            stop(worker)
        pulls = sum(1 for r in double.requests if r.path == "/orders")
    lat = [(found[i] - t).total_seconds() for i, t in paid.items() if i in found]
    return {"pull_orders_paid": len(paid), "pull_orders_found": len(found), "pull_requests": pulls,
            **percentiles(lat, "pull_latency")}  # fmt: skip


def push_latency(rate: float, seconds: float) -> dict:
    import socket

    import httpx
    from django.db import connection
    from tests.integration.channels.fake_platform import FakeDouble, order_payload, push_body

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with FakeDouble() as double:
        setup_hub(double, 3600)
        connection.close()
        server = hub_process("serve", "--port", str(port), "--workers", "2", "--no-worker", "--no-access-log")
        base = f"http://127.0.0.1:{port}"
        try:
            common.wait_http(f"{base}/api/v1/health")
            if "/api/v1/push/{shop}" not in httpx.get(f"{base}/api/openapi.json", timeout=5).text:
                stop(server)
                return push_in_process(rate, seconds, double)
            paid, answers, errors = {}, [], []
            lock = threading.Lock()
            local = threading.local()

            def send(n: int) -> None:
                oid, now = f"H{n:06d}", datetime.now(UTC)
                headers, body = push_body(order_payload(oid, now), f"msg-{n}")
                local.c = getattr(local, "c", None) or httpx.Client(base_url=base, timeout=30)
                t = time.perf_counter()
                r = local.c.post(f"/api/v1/push/{SHOP}", content=body, headers=headers)
                with lock:
                    paid[oid] = now
                    answers.append(time.perf_counter() - t)
                    if r.status_code != 200:
                        errors.append(r.status_code)

            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=16) as pool:
                steady(rate, seconds, lambda n: pool.submit(send, n))
            found = wait_for(set(paid), timeout=30)
        finally:
            stop(server)
    lat = [(found[i] - t).total_seconds() for i, t in paid.items() if i in found]
    return {"push_mode": "HTTP POST /api/v1/push/<shop> (zhongshu serve)", "push_messages": len(paid),
            "push_http_errors": len(errors), "push_orders_found": len(found), **percentiles(lat, "push_latency"),
            **percentiles(answers, "push_http_answer")}  # fmt: skip


def push_in_process(rate: float, seconds: float, double) -> dict:
    from tests.integration.channels.fake_platform import order_payload, push_body

    from zhongshu.channels.services import accept_push

    paid: dict[str, datetime] = {}

    def send(n: int) -> None:
        oid, now = f"H{n:06d}", datetime.now(UTC)
        headers, body = push_body(order_payload(oid, now), f"msg-{n}")
        accept_push(SHOP, headers, body)
        paid[oid] = now

    steady(rate, seconds, send)
    found = ingested()
    lat = [(found[i] - t).total_seconds() for i, t in paid.items() if i in found]
    return {"push_mode": "in-process accept_push (no push endpoint in this hub)", "push_messages": len(paid),
            "push_orders_found": len(found), **percentiles(lat, "push_latency")}  # fmt: skip


def tmc_latency(rate: float, seconds: float) -> dict:
    from django.db import connection
    from tests.integration.channels.harness import authorised_shop
    from tests.platforms.taobao_tmc import TaobaoTmcTop, TmcDouble

    from zhongshu.channels.models import SyncState

    # TMC redelivers an unconfirmed message after about five minutes: none within the run
    with TaobaoTmcTop() as top, TmcDouble(top.app_key, top.app_secret, redeliver_after=300) as tmc:
        setup_stock()
        shop = authorised_shop(top, TMC_SHOP, "天猫旗舰店", "taobao", [], app_key=top.app_key,
                               platform_shop_id=top.seller_id)  # fmt: skip
        SyncState.objects.create(shop=shop, enabled=False)  # only TMC brings orders in
        top.add_item(SKU, 600_000_000_001)  # listed, so the stock write-back after each order succeeds
        connection.close()
        worker = hub_process("worker", "--workers", "4", env={"ZHONGSHU_TAOBAO_TMC_URL": tmc.url})
        try:
            if not until(lambda: tmc.connections and top.permits, timeout=30):
                raise RuntimeError("the worker's TMC listener did not connect within 30 s")
            paid: dict[str, datetime] = {}

            def pay(n: int) -> None:
                tid, now = f"39{n:017d}", datetime.now(UTC)
                paid[tid] = now
                top.put_trade(taobao_trade(tid, now), RECEIVER, now)
                message = {"tid": int(tid), "payment": "64.80", "type": "guarantee_trade"}
                tmc.publish(PAY, message, top.seller_id)

            steady(rate, seconds, pay)
            found = wait_for(set(paid), timeout=60, shop=TMC_SHOP)
            until(lambda: len(tmc.confirmed) >= len(found), timeout=5)  # each confirm follows its commit
        finally:
            stop(worker)
    lat = [(found[i] - t).total_seconds() for i, t in paid.items() if i in found]
    return {"tmc_scheduled_pull": "disabled (SyncState.enabled = False)", "tmc_messages_sent": len(paid),
            "tmc_orders_found": len(found), "tmc_confirms": len(tmc.confirmed),
            "tmc_deliveries": len(tmc.delivered), **percentiles(lat, "tmc_latency")}  # fmt: skip


RECEIVER = {"state": "四川省", "city": "成都市", "district": "武侯区", "name": "王小明", "mobile": "13800138000",
            "address": "天府大道北段1700号"}  # fmt: skip


def taobao_trade(tid: str, paid: datetime) -> dict:
    """A paid TOP trade of two SKU units, as taobao.trade.fullinfo.get returns it (before the receiver)."""
    from tests.platforms.taobao import fmt

    sub = {"oid": int(tid) * 10, "title": "手工水饺 500g", "price": "32.40", "num": 2, "payment": "64.80",
           "total_fee": "64.80", "discount_fee": "0.00", "adjust_fee": "0.00", "outer_iid": "SPU-DUMPLING",
           "outer_sku_id": SKU, "status": "WAIT_SELLER_SEND_GOODS", "refund_status": "NO_REFUND"}  # fmt: skip
    return {"tid": int(tid), "status": "WAIT_SELLER_SEND_GOODS", "type": "fixed",
            "created": fmt(paid - timedelta(minutes=1)), "pay_time": fmt(paid), "payment": "64.80",
            "post_fee": "0.00", "total_fee": "64.80", "buyer_open_uid": "AAH12345678", "buyer_nick": "t**8",
            "orders": {"order": [sub]}}  # fmt: skip


def outage_backfill(per_minute: int, minutes: int = 60, outage=(25, 35)) -> dict:
    """Simulated time: pulls every 10 s, orders paid throughout, the platform down for 10 minutes."""
    from django.utils import timezone
    from tests.integration.channels.fake_platform import FakeDouble

    from zhongshu.channels.models import SyncState
    from zhongshu.channels.services import sync_shop
    from zhongshu.orders.models import Order

    rnd = random.Random(11)
    start = timezone.now().replace(microsecond=0) - timedelta(minutes=minutes + 5)
    statuses: dict[str, str] = {}
    report = {"failed_pulls": 0}
    with FakeDouble() as double:
        setup_hub(double, 10)
        SyncState.objects.filter(shop__code=SHOP).update(cursor=start)
        for step in range(minutes * 6 + 1):
            now = start + timedelta(seconds=10 * step)
            _simulate_orders(double, rnd, now, per_minute, statuses)
            down = outage[0] * 6 <= step < outage[1] * 6
            if down:
                double.outage(3600)
            else:
                double.end_outage()
            if down and step % 30:  # while down, try once every 5 simulated minutes (each try retries ~6 s)
                continue
            _pull(sync_shop, now, report, step == outage[1] * 6)
        final = timezone.now()
        _pull(sync_shop, final, report, False)
        found = dict(Order.objects.filter(shop__code=SHOP).values_list("channel_order_id", "channel_status"))
    wrong = sum(1 for oid, s in statuses.items() if oid in found and found[oid] != s)
    return {"outage_orders_expected": len(statuses), "outage_orders_found": len(found),
            "outage_missing": len(set(statuses) - set(found)), "outage_extra": len(set(found) - set(statuses)),
            "outage_wrong_status": wrong, **report}  # fmt: skip


def _simulate_orders(double, rnd: random.Random, now: datetime, per_minute: int, statuses: dict) -> None:
    for _ in range(rnd.randint(0, per_minute // 3)):
        oid = f"O{len(statuses):06d}"
        modified = now - timedelta(seconds=rnd.uniform(0, 10))
        double.add(oid, modified)
        statuses[oid] = "paid"
    if statuses and rnd.random() < 0.3:  # a refund request on an earlier order (modified twice)
        oid = rnd.choice(list(statuses))
        with double._data:
            paid_at = datetime.fromisoformat(double.orders[oid]["pay_time"])
        double.add(oid, now, paid=paid_at, status="refund_requested")
        statuses[oid] = "refund_requested"


def _pull(sync_shop, now: datetime, report: dict, catch_up: bool) -> None:
    t = time.perf_counter()
    try:
        r = sync_shop(SHOP, now=now)
    except Exception:  # noqa: BLE001 - the outage: counted, the cursor stays
        report["failed_pulls"] += 1
        return
    if catch_up:
        report["catch_up_windows"] = r.windows
        report["catch_up_orders_received"] = r.received
        report["catch_up_seconds"] = round(time.perf_counter() - t, 2)


# --- the parent --------------------------------------------------------------------------------


def child(part: str, args) -> dict:
    import django

    django.setup()
    if part == "pull":
        return pull_latency(args.rate, args.seconds, args.interval)
    if part == "push":
        return push_latency(args.rate, args.seconds)
    if part == "tmc":
        return tmc_latency(args.rate, args.seconds)
    return outage_backfill(args.per_minute)


def run_child(part: str, args) -> dict:
    return common.run_child(__file__, [part, "--rate", str(args.rate), "--seconds", str(args.seconds),
                            "--interval", str(args.interval), "--per-minute", str(args.per_minute)],
                            extra_env={"ZHONGSHU_LOG_LEVEL": "WARNING"})  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--rate", type=float, default=3.5, help="orders paid per second (Double-11 first hour: 3.3)"
    )
    p.add_argument("--seconds", type=float, default=30.0, help="how long orders are paid")
    p.add_argument("--interval", type=int, default=1, help="the shop's pull interval in seconds")
    p.add_argument("--per-minute", type=int, default=60, help="outage part: about this many orders a minute")
    p.add_argument("--parts", default="pull,push,tmc,outage")
    p.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args), ensure_ascii=False, default=str))
        return
    for part in args.parts.split(","):
        print(f"--- {part}")
        for key, value in run_child(part, args).items():
            print(f"{key:32} {value}")


if __name__ == "__main__":
    main()
