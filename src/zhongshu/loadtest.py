"""What `zhongshu loadtest` sends and what it checks afterwards (zhongshu.loadgen sends it).

The stream imitates the instance's own trade: SKUs in the proportions its history sold them (hot
SKUs hot), receivers' provinces as its history has them, repeat buyers (same buyer, phone and address
in the same shop: the orders the hub merges into one package), and a share of orders cancelled or
refunded seconds after they were paid. The rate over the run follows a curve compressed into the run:
- `history`: the instance's orders per hour of the day (Asia/Shanghai), 24 steps;
- `double11`: the built-in first hour of Double 11 (11-11 00:00–01:00), 60 steps: a burst at
  midnight almost four times the hour's mean, decaying to two thirds of it.
`auto` takes the history when it holds at least 500 orders over 7 days, else double11.

`--multiplier M`: M × the instance's normal busiest hour (its orders in its busiest hour of the day
÷ days of history). With too little history (the `auto` rule), the normal busiest hour is taken as
a tenth of the Double-11 first hour (12,000 orders/hour, SPEC R-PEAK1), so 10× replays that hour.

Checks at the end (stock invariants): per stock row, reserved ≤ physical + usable in-transit
(⌊in_transit × coefficient⌋), and reserved = Σ of what open orders hold there (allocated, picking,
packed; a split order what its split names per warehouse).
"""

import math
import random
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Avg, Count, Q, QuerySet, Sum
from django.db.models.functions import ExtractHour, TruncDate

from zhongshu.catalog.models import Sku
from zhongshu.inventory.models import StockLevel
from zhongshu.orders.models import Order, OrderLine
from zhongshu.orders.states import RESERVING
from zhongshu.shops.models import Shop

SHANGHAI = ZoneInfo("Asia/Shanghai")
DOUBLE11_PER_HOUR = 12_000
PROVINCES = [
    "广东省",
    "浙江省",
    "江苏省",
    "上海市",
    "北京市",
    "四川省",
    "山东省",
    "湖北省",
    "福建省",
    "河南省",
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
REPEAT, CANCEL, REFUND = 0.15, 0.04, 0.03


def double11_curve() -> list[float]:
    raw = [0.5 + 2.5 * math.exp(-m / 6) for m in range(60)]
    mean = sum(raw) / len(raw)
    return [r / mean for r in raw]


LOADTEST_IDS = r"^(LT[0-9]{6}-[PF]?[0-9]{7}|8[0-9]{6}[0-9]{7})$"  # see route()


def history() -> QuerySet[Order]:
    """The instance's orders, without those of earlier load tests (LT123456-0000001, LT123456-P0000001,
    LT123456-F0000001, 81234560000001)."""
    return Order.objects.exclude(channel_order_id__regex=LOADTEST_IDS)


def history_curve() -> tuple[list[float] | None, float]:
    """(24 hourly weights of mean 1, or None when history is too thin; the busiest hour's orders/s)."""
    days = history().annotate(d=TruncDate("placed_at", tzinfo=SHANGHAI)).values("d").distinct().count()
    total = history().count()
    hours = Counter(
        {
            r["h"]: r["n"]
            for r in history()
            .annotate(h=ExtractHour("placed_at", tzinfo=SHANGHAI))
            .values("h")
            .annotate(n=Count("id"))
        }
    )
    if total < 500 or days < 7:
        return None, DOUBLE11_PER_HOUR / 10 / 3600
    mean = total / 24
    return [hours.get(h, 0) / mean for h in range(24)], max(hours.values()) / days / 3600


def due_times(mean_rate: float, seconds: float, curve: list[float], limit: int | None) -> list[float]:
    """Seconds into the run at which each order is due: the rate mean_rate × curve step."""
    out, expected, t, dt = [], 0.0, 0.0, 0.005
    step = seconds / len(curve)
    while t < seconds and (limit is None or len(out) < limit):
        expected += mean_rate * curve[min(int(t / step), len(curve) - 1)] * dt
        while expected >= 1 and (limit is None or len(out) < limit):
            out.append(round(t, 4))
            expected -= 1
        t += dt
    return out


def plan_orders(dues: list[float], shops: list[str], prefix: str, seed: int = 11) -> list:
    """[(due second, "new" | "update", order body)], sorted by due."""
    rng = random.Random(seed)
    skus = _weighted_skus()
    if not skus:
        raise ValueError("the instance has no active SKU to order")
    provinces = _weighted_provinces()
    codes, weights = zip(*skus.items(), strict=True)
    prices = _prices()
    start = datetime.now(SHANGHAI)
    buyers: dict[str, list[dict]] = {s: [] for s in shops}
    requests = []
    for n, due in enumerate(dues):
        shop = shops[n % len(shops)] if len(shops) > 1 and rng.random() < 0.5 else rng.choice(shops)
        if buyers[shop] and rng.random() < REPEAT:
            buyer = rng.choice(buyers[shop])
        else:
            buyer = _buyer(rng, n, provinces, prefix)
            buyers[shop].append(buyer)
        lines = []
        for sku in dict.fromkeys(rng.choices(codes, weights, k=rng.choice([1, 1, 1, 2, 2, 3]))):
            qty = rng.choice([1, 1, 1, 2, 3])
            price = prices.get(sku, Decimal("29.90"))
            lines.append(
                {"sku": sku, "quantity": qty, "unit_price": str(price), "paid_amount": str(price * qty)}
            )
        placed = start + timedelta(seconds=due)
        body = {
            "shop": shop, "channel_order_id": f"{prefix}{n:07d}", "status": "paid",
            "created_at": placed.isoformat(), "paid_at": placed.isoformat(), "updated_at": placed.isoformat(),
            "buyer": {"id": buyer["id"], "nick": buyer["nick"]}, "receiver": buyer["receiver"],
            "lines": lines, "freight": "0.00", "discount": "0.00",
            "paid_amount": str(sum(Decimal(ln["paid_amount"]) for ln in lines)),
        }  # fmt: skip
        requests.append((due, "new", body))
        roll = rng.random()
        if roll < CANCEL + REFUND:
            later = due + rng.uniform(0.5, 3.0)
            status = "cancelled" if roll < CANCEL else "refund_requested"
            updated = (start + timedelta(seconds=later)).isoformat()
            requests.append((later, "update", {**body, "status": status, "updated_at": updated}))
    requests.sort(key=lambda r: r[0])
    return requests


PULLED = ("taobao", "jd", "pdd")  # platforms whose doubles the load test runs (zhongshu.loadpaths)
PATHS = ("api", "pull", "push", "file")


def has_path(platform: str, paths: set[str]) -> bool:
    """Whether a shop of `platform` gets orders by one of `paths` (see route)."""
    return (
        bool(paths & {"api", "file"})
        or (platform in PULLED and "pull" in paths)
        or (platform == "own" and "push" in paths)
    )


def route(requests: list, platforms: dict[str, str], paths: set[str], prefix: str, run: int) -> list:
    """The planned requests [(due, kind, body)] → [(due, kind, path, body)], and their order ids:
    - shops of the pulled platforms (Taobao, JD, PDD): `pull`, through their double, a numeric id
      8RRRRRRNNNNNNN (Taobao's tids are numbers);
    - own shops: `push`, signed pushes, LTRRRRRR-PNNNNNNN;
    - the others: `api`, LTRRRRRR-NNNNNNN, except every fifth order (every order when api is not
      a path) as a line of a JSON Lines `file`, LTRRRRRR-FNNNNNNN.
    A cancel or refund goes the way of its order. Shops without a path are expected to be left out."""
    ids: dict[str, tuple[str | None, str]] = {}
    out = []
    for due, kind, body in requests:
        old = body["channel_order_id"]
        if old not in ids:
            n, platform = int(old[-7:]), platforms[body["shop"]]
            if platform in PULLED and "pull" in paths:
                ids[old] = ("pull", f"8{run:06d}{n:07d}")
            elif platform == "own" and "push" in paths:
                ids[old] = ("push", f"{prefix}P{n:07d}")
            elif "file" in paths and ("api" not in paths or n % 5 == 0):
                ids[old] = ("file", f"{prefix}F{n:07d}")
            else:
                ids[old] = ("api" if "api" in paths else None, old)
        path, new = ids[old]
        if path:
            out.append((due, kind, path, {**body, "channel_order_id": new}))
    return out


def run_ids(prefix: str, run: int) -> dict[str, Q]:
    """Per path, the run's orders (by their ids, see route)."""
    return {
        "api": Q(channel_order_id__startswith=prefix)
        & ~Q(channel_order_id__startswith=prefix + "P")
        & ~Q(channel_order_id__startswith=prefix + "F"),
        "pull": Q(channel_order_id__startswith=f"8{run:06d}"),
        "push": Q(channel_order_id__startswith=prefix + "P"),
        "file": Q(channel_order_id__startswith=prefix + "F"),
    }


def _buyer(rng: random.Random, n: int, provinces: dict, prefix: str) -> dict:
    province = rng.choices(list(provinces), list(provinces.values()))[0]
    name = rng.choice(SURNAMES) + rng.choice("小晓明华丽伟芳娜静")
    return {
        "id": f"{prefix}u{n}", "nick": f"买家{n}",
        "receiver": {"name": name, "phone": f"13{rng.randrange(10**9):09d}", "province": province,
                     "address": f"{province}测试区压测路{rng.randint(1, 999)}号"},
    }  # fmt: skip


def _weighted_skus() -> dict[str, float]:
    sold = dict(
        OrderLine.objects.values_list("sku__code").annotate(q=Sum("quantity")).values_list("sku__code", "q")
    )
    active = Sku.objects.filter(active=True, presale=False).values_list("code", flat=True)
    return {code: 1 + (sold.get(code) or 0) for code in active}


def _weighted_provinces() -> dict[str, int]:
    seen = dict(
        Order.objects.exclude(receiver_province="")
        .values_list("receiver_province")
        .annotate(n=Count("id"))
        .values_list("receiver_province", "n")
    )
    return seen or dict.fromkeys(PROVINCES, 1)


def _prices() -> dict[str, Decimal]:
    rows = OrderLine.objects.values("sku__code").annotate(p=Avg("unit_price"))
    return {r["sku__code"]: Decimal(r["p"]).quantize(Decimal("0.01")) for r in rows if r["p"]}


def default_shops() -> list[str]:
    return list(active_shops().values_list("code", flat=True))


def active_shops() -> QuerySet[Shop]:
    return Shop.objects.filter(active=True).order_by("code")


def shop_platforms() -> dict[str, str]:
    """Active shop code → platform."""
    return dict(active_shops().values_list("code", "platform"))


# --- checks ------------------------------------------------------------------------------------


def check_stock() -> dict:
    """Oversold rows (reserved above supply) and rows whose reserved differs from what orders hold."""
    held: Counter = Counter()
    orders = Order.objects.filter(status__in=RESERVING).exclude(warehouse=None).select_related("warehouse")
    split = {o.pk: o.split for o in orders if o.split}
    whs = {o.pk: o.warehouse.code for o in orders}
    for order_id, sku, qty in OrderLine.objects.filter(order__in=orders).values_list(
        "order_id", "sku__code", "quantity"
    ):
        if order_id not in split:
            held[(sku, whs[order_id])] += qty
    for parts in split.values():
        for wh, lines in parts.items():
            for sku, qty in lines.items():
                held[(sku, wh)] += qty
    oversold, mismatched = [], []
    for row in StockLevel.objects.select_related("sku", "warehouse"):
        key = (row.sku.code, row.warehouse.code)
        supply = row.physical + math.floor(row.in_transit * row.in_transit_coefficient)
        if row.reserved > supply:
            oversold.append(f"{key[0]}@{key[1]}: reserved {row.reserved} > supply {supply}")
        if row.reserved != held.pop(key, 0):
            mismatched.append(f"{key[0]}@{key[1]}")
    mismatched += [f"{sku}@{wh} (no stock row)" for (sku, wh), q in held.items() if q]
    return {"oversold": len(oversold), "oversold_rows": oversold[:20], "reserved_mismatch": mismatched[:20],
            "reserved_mismatch_count": len(mismatched)}  # fmt: skip


def outcome(mine_q: Q | str) -> dict:
    """The run's orders (a Q, or an id prefix) as the hub has them now: per status, and how many share
    a buyer."""
    mine = Order.objects.filter(mine_q if isinstance(mine_q, Q) else Q(channel_order_id__startswith=mine_q))
    statuses = dict(mine.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    repeat = mine.values("shop_id", "buyer_ref").annotate(n=Count("id")).filter(n__gt=1).count()
    return {"orders_in_hub": sum(statuses.values()), "by_status": statuses, "repeat_buyers": repeat}
