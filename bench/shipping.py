"""Waybill benchmark (prints figures; asserts nothing): waybills for a wave of N packages through each
waybill service's local double (issue 10: "waybills for a wave of 500 packages through the provider
doubles, batched where the platform batches").

  .venv/bin/python bench/shipping.py                       # SQLite only
  .venv/bin/python bench/shipping.py --postgres postgresql://postgres@127.0.0.1:5432/zhongshu_bench

Setup (not measured): N pending packages per service (bench/fulfilment.py's floor, the packages then
given to a shop of that platform with a waybill account), each platform's double on localhost
checking signatures as the platform does. Measured: `shipping.services.issue_waybills` over the
N package ids — what POST /api/v1/waves/{id}/waybills does — with its provider calls (Cainiao, PDD,
Kuaishou 10 a call, Douyin 50, JD and SF one) and a stored waybill + outbox event per package.
Figures: packages/s and calls made per service. Each database runs in a child process.
"""

import argparse
import json
import sys
import time

import common
import fulfilment

SERVICES = ["cainiao", "pdd", "douyin", "kuaishou", "jd", "sf"]
PLATFORM_OF = {
    "cainiao": "taobao",
    "pdd": "pdd",
    "douyin": "douyin",
    "kuaishou": "kuaishou",
    "jd": "jd",
    "sf": "sf",
}


def child(db: str, n: int) -> dict:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from tests.integration.shipping.platforms import platform

    from zhongshu.fulfilment.models import Package
    from zhongshu.orders.models import Order
    from zhongshu.shipping import services
    from zhongshu.shipping.models import Waybill

    call_command("migrate", verbosity=0)
    fulfilment.setup_floor(n * len(SERVICES))
    ids = list(Package.objects.order_by("pk").values_list("pk", flat=True))
    out: dict = {"database": db, "packages_per_service": n}
    for i, code in enumerate(SERVICES):
        mine = ids[i * n : (i + 1) * n]
        with platform(PLATFORM_OF[code], settings) as p:
            from zhongshu.channels.models import Shop

            Package.objects.filter(pk__in=mine).update(shop=Shop.objects.get(code=p.shop))
            if code == "cainiao":  # Taobao orders: the trades (with their oaid) exist on the platform
                for cid in Order.objects.filter(package_orders__package__in=mine).values_list(
                    "channel_order_id", flat=True
                ):
                    p.double.put_trade({"tid": cid, "status": "WAIT_SELLER_SEND_GOODS"},
                                       {"name": "王小明", "mobile": "13800138000", "state": "四川省",
                                        "address": "天府大道北段1700号"}, p.double.now)  # fmt: skip
            t = time.perf_counter()
            batch = services.issue_waybills(mine, "bench")
            dt = time.perf_counter() - t
            assert len(batch.issued) == n, batch.refused
            out[f"{code}_packages_per_s"] = round(n / dt, 1)
            out[f"{code}_calls"] = p.book.calls
    out["waybills_stored"] = Waybill.objects.count()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--packages", type=int, default=500, help="packages per waybill service")
    p.add_argument(
        "--postgres", default="", help="PostgreSQL URL of a scratch database (dropped and created)"
    )
    p.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.packages), ensure_ascii=False))
        return
    runs = [common.run_child(__file__, ["sqlite", "--packages", str(args.packages)])]
    if args.postgres:
        runs.append(
            common.run_child(__file__, ["postgresql", "--packages", str(args.packages)], args.postgres)
        )
    common.print_table(runs)


if __name__ == "__main__":
    sys.exit(main())
