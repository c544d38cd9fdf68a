"""The generated orders the benchmarks send: contract orders over 50 SKUs (BENCH-000…049)."""

import random
from datetime import datetime, timedelta, timezone

from common import PROVINCES

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
