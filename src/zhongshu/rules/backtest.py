"""Backtest (dry run over history): which stored orders a rule — as saved, or a proposed change not
yet saved — would have caught over the last N days, and how that differs from the current version.

The pure evaluator (`engine.evaluate`) runs over OrderInfo built from stored orders with three
queries whatever the number of orders (orders, lines with their SKUs, the routing regions). History
facts are counted in memory *as of each order's own time*: an order sees the orders placed before it
(same time: the lower primary key first, i.e. the one taken in first), as the review hook saw them
at intake. SKU facts (cost price, presale, supply date, tags) are today's catalogue values.
"""

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal

from zhongshu.core.pii import address_hash, phone_hash
from zhongshu.core.timeutil import SHANGHAI, local_day, now
from zhongshu.orders.models import Order, OrderLine
from zhongshu.orders.review import LineInfo, OrderInfo
from zhongshu.orders.states import OrderStatus
from zhongshu.routing.models import ProvinceRegion
from zhongshu.rules.actions import validate_actions
from zhongshu.rules.conditions import validate
from zhongshu.rules.engine import CompiledRule, compile_rule, evaluate, history_needs
from zhongshu.rules.facts import History
from zhongshu.rules.models import Rule
from zhongshu.rules.selectors import ADDRESS_HOURS, ID_TODAY, PHONE_HOURS, RULE_FIELDS, runtime
from zhongshu.rules.services import RuleInvalid

MAX_DAYS = 366
LISTED = 200  # orders listed per set; counts and values cover all of them
ORDER_COLUMNS = (
    "pk", "shop__code", "shop__platform", "channel_order_id", "status", "placed_at", "paid_at", "ship_by",
    "receiver_province", "receiver_address", "receiver_phone", "buyer_vip", "id_number_hash", "freight",
    "discount", "paid_amount", "presale",
)  # fmt: skip
LINE_COLUMNS = (
    "order_id", "sku__code", "quantity", "unit_price", "promo_price", "paid_amount", "sku__cost_price",
    "sku__presale", "sku__tags", "sku__supply_date",
)  # fmt: skip


@dataclass(frozen=True)
class Caught:
    order_id: int
    shop: str
    channel_order_id: str
    placed_at: datetime
    paid_amount: Decimal
    status: str


@dataclass
class CatchSet:
    orders: list[Caught] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.orders)

    @property
    def value(self) -> Decimal:
        return sum((c.paid_amount for c in self.orders), start=Decimal("0.00"))

    def as_dict(self, limit: int = LISTED) -> dict:
        return {"count": self.count, "value": self.value, "orders": [c.__dict__ for c in self.orders[:limit]]}


@dataclass
class BacktestResult:
    rule: str
    days: int
    since: datetime
    scanned: int
    proposed: bool  # a changed condition/actions was tried (otherwise new == current)
    caught: CatchSet  # by the version tried (the proposal, or the current version)
    only_new: CatchSet
    only_current: CatchSet
    both: CatchSet
    seconds: float = 0.0


def backtest(
    rule: Rule, days: int, condition: object = None, actions: object = None, at: datetime | None = None
) -> BacktestResult:
    """Run the rule's current version and, when given, a proposed condition/actions over the orders
    placed in the last `days` days; raises RuleInvalid (errors with paths) for an invalid proposal."""
    if not 1 <= days <= MAX_DAYS:
        raise RuleInvalid([{"path": "days", "msg": f"an integer from 1 to {MAX_DAYS}"}])
    started = now()
    current = _compiled(rule, None, None)
    proposed = condition is not None or actions is not None
    new = _compiled(rule, condition, actions) if proposed else current
    end = at or started
    since = end - timedelta(days=days)
    infos, rows = order_infos(since, end, history_needs([current, new]))
    peak = rule.peak_only or runtime()[1]  # a peak-only rule is tried as if peak mode were on
    result = BacktestResult(rule.code, days, since, len(infos), proposed, CatchSet(), CatchSet(), CatchSet(),
                            CatchSet())  # fmt: skip
    for info, history in infos:
        matched = evaluate((current, new) if proposed else (current,), info, history, peak).matched
        by_current = any(m is current for m in matched)  # identity: the two may compare equal
        by_new = any(m is new for m in matched)
        if not (by_current or by_new):
            continue
        caught = _caught(rows[info.order_pk])
        if by_new:
            result.caught.orders.append(caught)
        if by_new and by_current:
            result.both.orders.append(caught)
        elif by_new:
            result.only_new.orders.append(caught)
        else:
            result.only_current.orders.append(caught)
    for s in (result.caught, result.only_new, result.only_current, result.both):
        s.orders.reverse()  # newest first
    result.seconds = (now() - started).total_seconds()
    return result


def _compiled(rule: Rule, condition: object, actions: object) -> CompiledRule:
    data = {k: getattr(rule, k) for k in RULE_FIELDS}
    if condition is not None or actions is not None:
        data["condition"] = rule.condition if condition is None else condition
        data["actions"] = rule.actions if actions is None else actions
        errors = validate(data["condition"]) + validate_actions(data["actions"])
        if errors:
            raise RuleInvalid(errors)
    # dry_run: the evaluator only reports the match, no outcome is built; peak is decided by the caller
    return compile_rule(data | {"dry_run": True, "peak_only": False})


def _caught(row: dict) -> Caught:
    return Caught(row["pk"], row["shop__code"], row["channel_order_id"], row["placed_at"], row["paid_amount"],
                  row["status"])  # fmt: skip


# --- building OrderInfo from stored orders (bulk) ----------------------------------------------------


def order_infos(
    since: datetime, end: datetime, needs: frozenset
) -> tuple[list[tuple[OrderInfo, History]], dict]:
    """(OrderInfo, History) of every reviewed order placed in [since, end), oldest first, and the
    order rows by pk. Orders still awaiting payment were never reviewed and are left out."""
    reviewed = Order.objects.exclude(status=OrderStatus.PENDING_PAYMENT)
    qs = reviewed.filter(placed_at__gte=since, placed_at__lt=end).order_by("placed_at", "pk")
    rows = {r["pk"]: r for r in qs.values(*ORDER_COLUMNS)}
    lines: dict[int, list[LineInfo]] = defaultdict(list)
    line_qs = OrderLine.objects.filter(order__placed_at__gte=since, order__placed_at__lt=end).order_by("pk")
    for ln in line_qs.values_list(*LINE_COLUMNS):
        if ln[0] in rows:
            lines[ln[0]].append(_line(ln))
    regions = dict(ProvinceRegion.objects.values_list("province", "region"))
    counter = HistoryCounter(needs, _history_rows(since, end, needs))
    out = []
    for pk, r in rows.items():
        info = _info(r, tuple(lines[pk]), regions)
        out.append((info, counter.history(info)))
    return out, rows


def _line(v: tuple) -> LineInfo:
    _, sku, qty, unit, promo, paid, cost, presale, tags, supply = v
    return LineInfo(
        sku, qty, unit, promo, paid, cost, presale, tuple(t for t in tags.split(",") if t), supply
    )


def _info(r: dict, lines: tuple[LineInfo, ...], regions: dict) -> OrderInfo:
    province = r["receiver_province"] or None
    return OrderInfo(
        shop=r["shop__code"], platform=r["shop__platform"], channel_order_id=r["channel_order_id"],
        placed_at=r["placed_at"], paid_at=r["paid_at"], ship_by=r["ship_by"], province=province,
        address=r["receiver_address"], phone=r["receiver_phone"], buyer_vip=r["buyer_vip"],
        id_number_hash=r["id_number_hash"], lines=lines, freight=r["freight"], discount=r["discount"],
        paid_amount=r["paid_amount"], presale=r["presale"], region=regions.get(province) if province else None,
        order_pk=r["pk"],
    )  # fmt: skip


def _history_rows(since: datetime, end: datetime, needs: frozenset) -> list[tuple]:
    """(pk, placed_at, id hash, phone hash, address hash: blind indexes) of the orders history facts
    may count (all statuses, as the review hook counts): from the start of the first calendar day (or
    the longest hour window) before `since` up to `end`."""
    if not needs:
        return []
    day_start = datetime.combine(local_day(since), time.min, tzinfo=SHANGHAI)
    hours = max((p or 0 for f, p in needs if f in (PHONE_HOURS, ADDRESS_HOURS)), default=0)
    start = min(day_start, since - timedelta(hours=hours))
    cols = ("pk", "placed_at", "id_number_hash", "receiver_phone_hash", "receiver_address_hash")
    return list(Order.objects.filter(placed_at__gte=start, placed_at__lt=end).values_list(*cols))


class HistoryCounter:
    """Counts of the history facts as of an order's own time, from sorted lists per key (bisect)."""

    def __init__(self, needs: frozenset, rows: Iterable[tuple]):
        self.needs = needs
        self.by: dict[int, dict[str, list[tuple]]] = {1: defaultdict(list), 2: defaultdict(list),
                                                       3: defaultdict(list)}  # fmt: skip
        wanted = {1: any(f == ID_TODAY for f, _ in needs), 2: any(f == PHONE_HOURS for f, _ in needs),
                  3: any(f == ADDRESS_HOURS for f, _ in needs)}  # fmt: skip
        for row in rows:
            for col, on in wanted.items():
                if on and row[col + 1]:
                    self.by[col][row[col + 1]].append((row[1], row[0]))
        for index in self.by.values():
            for times in index.values():
                times.sort()

    def _count(
        self, col: int, value: str, start: datetime, pk: int, placed: datetime, open_start: bool
    ) -> int:
        """Orders with this value placed from `start` up to this order (itself included)."""
        times = self.by[col].get(value, [])
        hi = bisect_right(times, (placed, pk))
        lo = bisect_right(times, (start, float("inf"))) if open_start else bisect_left(times, (start, -1))
        return max(hi - lo, 1)

    def history(self, o: OrderInfo) -> History:
        same_id, phone, address = None, {}, {}
        for fact, param in self.needs:
            if fact == ID_TODAY and o.id_number_hash:
                day = datetime.combine(local_day(o.placed_at), time.min, tzinfo=SHANGHAI)
                same_id = self._count(1, o.id_number_hash, day, o.order_pk, o.placed_at, False)
            elif fact == PHONE_HOURS and o.phone:
                start = o.placed_at - timedelta(hours=param)
                phone[param] = self._count(2, phone_hash(o.phone), start, o.order_pk, o.placed_at, True)
            elif fact == ADDRESS_HOURS and o.address:
                start = o.placed_at - timedelta(hours=param)
                address[param] = self._count(3, address_hash(o.address), start, o.order_pk, o.placed_at, True)
        return History(same_id, phone, address)
