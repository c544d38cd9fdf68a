"""KPI report benchmark (prints figures; asserts nothing): the demo hub plus 30 days of floor records
(packages packed and shipped, weigh stops, refused scans, manual order events) and a minute health
sample for every one of those 43,200 minutes, then the report per day (30 rows) and per week, and
its Excel.

  .venv/bin/python bench/kpi.py
  .venv/bin/python bench/kpi.py --packages 50000 --postgres postgresql://postgres@127.0.0.1:5432/zhongshu_bench_kpi

Each database runs in a child process with its own ZHONGSHU_HOME.
"""

import argparse
import json
import random
import time
from datetime import timedelta

import common

DAYS = 30


def seed(n_packages: int) -> None:
    from django.utils import timezone

    from zhongshu.core.models import OutboxEvent
    from zhongshu.demo import load_demo
    from zhongshu.fulfilment.models import Package, PackageTransition
    from zhongshu.inventory.models import Warehouse
    from zhongshu.monitor.models import HealthSample
    from zhongshu.shops.models import Shop

    load_demo()
    rnd, now = random.Random(7), timezone.now()
    wh, shop = Warehouse.objects.get(code="GZ"), Shop.objects.get(code="tb")
    start = now - timedelta(days=DAYS)
    packages = []
    for n in range(n_packages):
        paid = start + timedelta(seconds=n * DAYS * 86400 // n_packages)
        packed = paid + timedelta(minutes=rnd.randint(20, 600))
        shipped = packed + timedelta(minutes=rnd.randint(30, 900)) if n % 5 else None
        packages.append(Package(warehouse=wh, shop=shop, paid_at=paid, packed_at=min(packed, now),
                                shipped_at=shipped if shipped and shipped < now else None,
                                status="shipped" if shipped else "packed", measured_weight_g=500))  # fmt: skip
    Package.objects.bulk_create(packages, batch_size=2000)
    ids = list(
        Package.objects.filter(shop=shop).order_by("-pk").values_list("pk", "packed_at")[: n_packages // 50]
    )
    PackageTransition.objects.bulk_create(
        [PackageTransition(package_id=pk, from_status="picked", to_status="stopped", actor="pda:x", at=at)
         for pk, at in ids[::2]], batch_size=2000)  # fmt: skip
    events = [OutboxEvent(topic="package.check_refused", key=f"package:{pk}", payload={}, actor="pda:x")
              for pk, _ in ids[1::2]]  # fmt: skip
    events += [OutboxEvent(topic="order.status_changed", key=f"order:{n}", payload={}, actor="admin:ops")
               for n in range(n_packages // 20)]  # fmt: skip
    OutboxEvent.objects.bulk_create(events, batch_size=2000)
    HealthSample.objects.bulk_create(
        [HealthSample(at=now - timedelta(minutes=m), api_ok=True, worker_ok=True, db_latency_ms=2, ok=m % 997 != 0)
         for m in range(1, DAYS * 1440 + 1)], batch_size=5000)  # fmt: skip


def child(db: str, n_packages: int) -> dict:
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    from zhongshu.core.timeutil import local_day
    from zhongshu.monitor import kpi

    call_command("migrate", verbosity=0)
    seed(n_packages)
    now = timezone.now()
    last = local_day(now)
    out: dict = {"database": db, "packages": n_packages, "health samples": DAYS * 1440}
    for period in ("day", "week"):
        t = time.perf_counter()
        rep = kpi.report(period, last - timedelta(days=DAYS - 1), last, now)
        out[f"report per {period} (s)"] = round(time.perf_counter() - t, 2)
    t = time.perf_counter()
    kpi.workbook(rep)
    out["Excel (s)"] = round(time.perf_counter() - t, 2)
    out["p90 paid→shipped (h)"] = rep.total.shipped_p90_h
    out["availability (%)"] = rep.total.availability_pct
    return out


def run_child(db_url: str | None, args) -> dict:
    return common.run_child(
        __file__, ["postgresql" if db_url else "sqlite", "--packages", str(args.packages)], db_url
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--packages", type=int, default=50_000, help="packages packed over the 30 days")
    p.add_argument(
        "--postgres", default="", help="PostgreSQL URL of a scratch database (dropped and created)"
    )
    p.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.packages), ensure_ascii=False))
        return
    common.print_table([run_child(None, args)] + ([run_child(args.postgres, args)] if args.postgres else []))


if __name__ == "__main__":
    main()
