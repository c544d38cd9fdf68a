"""The fact catalogue: everything a condition may look at, with labels, type and scope.

Scope "order": one value per order. Scope "line": one value per order line; a comparison on a line
fact holds when it holds for ANY line (default) or for ALL lines (`"quantifier": "all"`). Scope
"history": counted from earlier orders (rules.selectors) and handed to the evaluator in `History`;
facts with `param` take a number of hours (`"param": 24`).

A fact whose value is unknown (no promo price, cost price 0, no ID number, …) makes every comparison
on it false. Getters are pure functions over OrderInfo/LineInfo: no ORM here.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from zhongshu.core.timeutil import local_day
from zhongshu.orders.review import LineInfo, OrderInfo

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
PLATFORMS = ("own", "taobao", "jd", "pdd", "douyin", "kuaishou", "meituan", "files")
REGIONS = ("华北", "东北", "华东", "华中", "华南", "西南", "西北", "港澳台")


@dataclass(frozen=True)
class History:
    """Counted facts of one order (each count includes the order itself); None when not counted."""

    same_id_number_today: int | None = None
    same_phone_hours: dict[int, int] = field(default_factory=dict)
    same_address_hours: dict[int, int] = field(default_factory=dict)


class Env:
    """What the getters see: the order, its counted history and the peak-mode switch."""

    __slots__ = ("order", "history", "peak_mode")

    def __init__(self, order: OrderInfo, history: History, peak_mode: bool = False):
        self.order, self.history, self.peak_mode = order, history, peak_mode


@dataclass(frozen=True)
class Fact:
    name: str
    zh: str
    en: str
    type: str  # money, number, percent, text, bool, date, choice
    scope: str  # order, line, history
    get: Callable = field(repr=False, compare=False)
    choices: tuple[str, ...] = ()
    multi: bool = False  # the value is a set of texts (tags): contains = has the tag
    param: str = ""  # name of the parameter (hours) for parametrised history facts
    help: str = ""
    help_en: str = ""


# --- getters -------------------------------------------------------------------------------------


def weight_kg(order: OrderInfo) -> Decimal:
    """Sum of quantity × catalogue weight, in kg (exact Decimal)."""
    return Decimal(sum(ln.quantity * ln.weight_g for ln in order.lines)) / 1000


def lines_total(o: OrderInfo) -> Decimal:
    return sum((ln.paid_amount for ln in o.lines), start=Decimal("0.00"))


def price_mismatch(o: OrderInfo) -> bool:
    """Lines + freight − discount ≠ paid amount, compared to the fen."""
    return (lines_total(o) + o.freight - o.discount).quantize(CENT) != o.paid_amount.quantize(CENT)


def deviation_percent(ln: LineInfo) -> Decimal | None:
    """|promo − cost| / cost × 100, exact (no rounding); None without a promo price or a cost."""
    if ln.promo_price is None or not ln.cost_price:
        return None
    return abs(ln.promo_price - ln.cost_price) / ln.cost_price * HUNDRED


def below_cost_percent(ln: LineInfo) -> Decimal | None:
    """(cost − promo) / cost × 100: how far the promo price is under the cost (negative above it)."""
    if ln.promo_price is None or not ln.cost_price:
        return None
    return (ln.cost_price - ln.promo_price) / ln.cost_price * HUNDRED


def supply_late(ln: LineInfo, o: OrderInfo) -> bool:
    """A presale line whose supply date is after the promised ship date (Asia/Shanghai day)."""
    if not ln.presale or ln.supply_date is None or o.ship_by is None:
        return False
    return ln.supply_date > local_day(o.ship_by)


def _ship_by(e: Env) -> date | None:
    return local_day(e.order.ship_by) if e.order.ship_by else None


_O = "order"
_L = "line"
_H = "history"

FACTS: dict[str, Fact] = {
    f.name: f
    for f in [
        Fact("order.paid_amount", "实付金额", "Paid amount", "money", _O, lambda e: e.order.paid_amount),
        Fact("order.lines_total", "商品实付合计", "Lines total", "money", _O, lambda e: lines_total(e.order)),
        Fact("order.freight", "运费", "Freight", "money", _O, lambda e: e.order.freight),
        Fact("order.discount", "优惠", "Discount", "money", _O, lambda e: e.order.discount),
        Fact("order.price_mismatch", "金额对不上", "Price mismatch", "bool", _O, lambda e: price_mismatch(e.order),
             help="商品实付合计 + 运费 − 优惠 ≠ 实付金额（精确到分）",
             help_en="lines total + freight − discount ≠ paid amount (to the fen)"),
        Fact("order.presale", "预售订单", "Presale order", "bool", _O, lambda e: e.order.presale),
        Fact("order.ship_by", "承诺发货日", "Promised ship date", "date", _O, _ship_by),
        Fact("order.line_count", "商品行数", "Number of lines", "number", _O, lambda e: Decimal(len(e.order.lines))),
        Fact("order.weight_kg", "包裹重量(千克)", "Parcel weight (kg)", "number", _O, lambda e: weight_kg(e.order)),
        Fact("order.cold_chain", "冷链商品", "Cold-chain goods", "bool", _O,
             lambda e: any(ln.cold_chain for ln in e.order.lines)),
        Fact("order.warehouse", "发货仓", "Ships from warehouse", "text", _O, lambda e: e.order.warehouse,
             help="只在快递选择规则中有值", help_en="set in carrier rules only"),
        Fact("receiver.province", "收货省份", "Province", "text", _O, lambda e: e.order.province),
        Fact("receiver.region", "收货区域", "Region", "choice", _O, lambda e: e.order.region, choices=REGIONS),
        Fact("receiver.address", "收货地址", "Address", "text", _O, lambda e: e.order.address),
        Fact("shop.code", "店铺", "Shop", "text", _O, lambda e: e.order.shop),
        Fact("shop.platform", "平台", "Platform", "choice", _O, lambda e: e.order.platform, choices=PLATFORMS),
        Fact("buyer.vip", "VIP 买家", "VIP buyer", "bool", _O, lambda e: e.order.buyer_vip),
        Fact("peak_mode", "大促模式", "Peak mode", "bool", _O, lambda e: e.peak_mode),
        Fact("line.sku", "商品编码", "SKU", "text", _L, lambda ln, o: ln.sku),
        Fact("line.tags", "商品标签", "SKU tags", "text", _L, lambda ln, o: ln.tags, multi=True),
        Fact("line.quantity", "数量", "Quantity", "number", _L, lambda ln, o: Decimal(ln.quantity)),
        Fact("line.unit_price", "单价", "Unit price", "money", _L, lambda ln, o: ln.unit_price),
        Fact("line.promo_price", "促销价", "Promo price", "money", _L, lambda ln, o: ln.promo_price),
        Fact("line.cost_price", "成本价", "Cost price", "money", _L, lambda ln, o: ln.cost_price),
        Fact("line.paid_amount", "行实付", "Line paid amount", "money", _L, lambda ln, o: ln.paid_amount),
        Fact("line.promo_cost_deviation_percent", "促销价偏离成本", "Promo deviation from cost", "percent", _L,
             lambda ln, o: deviation_percent(ln), help="|促销价 − 成本价| ÷ 成本价 × 100",
             help_en="|promo price − cost price| ÷ cost price × 100"),
        Fact("line.promo_below_cost_percent", "促销价低于成本", "Promo below cost", "percent", _L,
             lambda ln, o: below_cost_percent(ln), help="(成本价 − 促销价) ÷ 成本价 × 100，高于成本时为负",
             help_en="(cost price − promo price) ÷ cost price × 100; negative above cost"),
        Fact("line.presale", "预售商品", "Presale SKU", "bool", _L, lambda ln, o: ln.presale),
        Fact("line.presale_supply_date", "预售到货日", "Presale supply date", "date", _L,
             lambda ln, o: ln.supply_date if ln.presale else None),
        Fact("line.presale_supply_late", "预售到货晚于承诺发货日", "Presale supply after ship-by date", "bool",
             _L, supply_late),
        Fact("orders_same_id_number_today", "同身份证当日订单数", "Orders with this ID number today", "number",
             _H, lambda e: e.history.same_id_number_today, help="按上海时间自然日，所有店铺，含本单",
             help_en="calendar day in Shanghai time, all shops, this order included"),
        Fact("orders_same_phone_hours", "同手机号近 N 小时订单数", "Orders with this phone in N hours",
             "number", _H, lambda e, n: e.history.same_phone_hours.get(n), param="hours",
             help="所有店铺，含本单", help_en="all shops, this order included"),
        Fact("orders_same_address_hours", "同地址近 N 小时订单数", "Orders to this address in N hours",
             "number", _H, lambda e, n: e.history.same_address_hours.get(n), param="hours",
             help="所有店铺，含本单", help_en="all shops, this order included"),
    ]
}  # fmt: skip


def catalogue() -> list[dict]:
    """The catalogue as plain data (API, console builder)."""
    return [
        {
            "name": f.name, "zh": f.zh, "en": f.en, "type": f.type, "scope": f.scope,
            "choices": list(f.choices), "multi": f.multi, "param": f.param or None, "help": f.help,
            "help_en": f.help_en,
        }
        for f in FACTS.values()
    ]  # fmt: skip
