"""Rules evaluator benchmark (prints figures; asserts nothing): µs per order for the shipped rule
set over 2,000 varied orders, pure evaluation (no database), peak mode off and on.

  .venv/bin/python bench/rules.py
"""

import random
import sys
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from zhongshu.core.timeutil import SHANGHAI  # noqa: E402
from zhongshu.orders.review import LineInfo, OrderInfo  # noqa: E402
from zhongshu.rules.engine import compile_rule, evaluate  # noqa: E402
from zhongshu.rules.facts import History  # noqa: E402
from zhongshu.rules.templates import TEMPLATES  # noqa: E402

ADDRESSES = ["天府大道北段1700号", "岳麓区菜鸟驿站", "科技园南路代收点", "张杨路500号"]


def make_line(rng: random.Random) -> LineInfo:
    unit = Decimal(rng.randint(500, 30000)) / 100
    promo = (unit * Decimal("0.8")).quantize(Decimal("0.01")) if rng.random() < 0.3 else None
    qty = rng.randint(1, 3)
    presale = rng.random() < 0.05
    return LineInfo(f"SKU-{rng.randint(1, 50)}", qty, unit, promo, (promo or unit) * qty,
                    (unit * Decimal("0.45")).quantize(Decimal("0.01")), presale, ("frozen",),
                    date(2026, 12, rng.randint(1, 20)) if presale else None)  # fmt: skip


def make_order(rng: random.Random, n: int) -> OrderInfo:
    lines = tuple(make_line(rng) for _ in range(rng.choice([1, 1, 2, 3])))
    total = sum((ln.paid_amount for ln in lines), start=Decimal("0.00"))
    placed = datetime(2026, 11, 27, 20, tzinfo=SHANGHAI) - timedelta(minutes=n)
    return OrderInfo("mp", "own", f"B{n}", placed, placed, placed + timedelta(days=rng.randint(1, 10)), "四川省",
                     rng.choice(ADDRESSES), "13800138000", rng.random() < 0.1, "h" if n % 3 else "", lines,
                     Decimal("0.00"), Decimal("0.00"), total - (Decimal("0.01") if n % 50 == 0 else 0),
                     any(ln.presale for ln in lines), region="西南")  # fmt: skip


def run(rules, orders, histories, peak: bool, rounds: int = 5) -> tuple[float, int]:
    best, matched = float("inf"), 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        matched = sum(
            len(evaluate(rules, o, h, peak).matched) for o, h in zip(orders, histories, strict=True)
        )
        best = min(best, time.perf_counter() - t0)
    return best / len(orders) * 1e6, matched


def main() -> None:
    rng = random.Random(7)
    rules = [compile_rule(t) for t in TEMPLATES]
    orders = [make_order(rng, n) for n in range(2000)]
    histories = [History(same_id_number_today=rng.randint(1, 5)) for _ in orders]
    for peak in (False, True):
        us, matched = run(rules, orders, histories, peak)
        print(f"shipped rule set ({len(rules)} rules), peak mode {'on ' if peak else 'off'}: "
              f"{us:6.1f} µs/order over {len(orders)} orders ({matched} rule matches)")  # fmt: skip


if __name__ == "__main__":
    main()
