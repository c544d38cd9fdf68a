"""Taobao/Tmall seller centre (已卖出的宝贝 → 批量导出) order report.

The order report is one row per order; merchants who export with item details get one row per item
(子订单) with the order columns repeated, and both are read here: rows sharing an 订单编号 are one
order. Quirks: `="2736…"` order numbers, `'138…` phones, header names with trailing spaces
(`收货地址 `, `联系电话 `, `订单付款时间 `, `宝贝标题 `; trimmed by the reader), the receiver's
address as one space-separated text `省 市 区 详细地址(邮编)`, GBK encoding.
"""

import re
from decimal import Decimal

from zhongshu.channels.files.fields import Cells
from zhongshu.channels.files.formats import Draft, ExportFormat, Line, receiver, unit_price

ORDER_ID = "订单编号"
GOODS, FREIGHT, PAID = "买家应付货款", ("买家应付邮费", "运费"), ("买家实际支付金额", "实际支付金额")
NAME, ADDRESS, PHONE = "收货人姓名", "收货地址", ("联系手机", "联系电话")
SKU, TITLE, QUANTITY, PRICE = (
    ("商家编码", "外部系统编号"),
    ("宝贝标题", "标题"),
    ("购买数量", "宝贝总数量"),
    "价格",
)
CREATED, PAID_AT, MODIFIED = "订单创建时间", "订单付款时间", "修改时间"
STATUS, REFUND, KINDS = "订单状态", "退款状态", "宝贝种类"

_POSTCODE = re.compile(r"\s*[(（]\d{6}[)）]\s*$")
_REFUNDING = ("退款中", "申请退款", "等待卖家同意", "等待买家退货", "等待卖家确认收货", "卖家拒绝退款")


def status(text: str, refund: str, paid: bool) -> str | None:
    """Contract status of a Taobao trade status (and the line's refund status)."""
    if "退款成功" in text or "退款成功" in refund:
        return "refunded"
    if "交易关闭" in text:
        return "refunded" if paid else "cancelled"
    if "等待买家付款" in text:
        return "pending_payment"
    if any(k in text for k in ("已付款", "等待卖家发货", "卖家已发货", "部分发货", "交易成功", "已签收")):
        return "refund_requested" if any(k in refund for k in _REFUNDING) else "paid"
    return None


def split_address(text: str) -> tuple[str, str, str, str]:
    """`四川省 成都市 武侯区 天府大道北段1700号(610041)` → province, city, district, the rest."""
    parts = _POSTCODE.sub("", text).split()
    if len(parts) >= 4:
        return parts[0], parts[1], parts[2], " ".join(parts[3:])
    return "", "", "", " ".join(parts)


def build(shop: str, rows: list[Cells]) -> dict | None:
    first = rows[0]
    paid_at = first.time(PAID_AT)
    goods = first.amount(GOODS, required=len(rows) == 1 and not first.text(PRICE))
    if len(rows) == 1 and not first.text(PRICE) and first.text(KINDS) not in ("", "1"):
        first.fail(KINDS, "an order of several kinds of goods in one row: export with item details")
    name, address = first.required(NAME), first.required(ADDRESS)
    province, city, district, street = split_address(address)
    state = status(first.required(STATUS), " ".join(c.text(REFUND) for c in rows), paid_at is not None)
    if first.text(STATUS) and state is None:
        first.fail(STATUS, f"unknown order status '{first.text(STATUS)}'")
    draft = Draft(
        shop=shop, order_id=first.text(ORDER_ID), status=state, created=first.time(CREATED, required=True),
        paid_at=paid_at, times=[first.time(MODIFIED)],
        receiver=receiver(name, first.required(*PHONE), province, city, district, street),
        lines=[_line(c, goods, len(rows) == 1) for c in rows],
        freight=first.amount(*FREIGHT, required=False), paid=first.amount(*PAID),
        buyer_nick=first.text("买家会员名"), remark=first.text("买家留言"),
    )  # fmt: skip
    return draft.contract(rows)


def _line(cells: Cells, order_goods: Decimal | None, single: bool) -> Line | None:
    """A row's item: its 价格 × 购买数量, or for an order of one row without 价格, 买家应付货款."""
    sku, quantity = cells.required(*SKU), cells.count(*QUANTITY, default=1)
    if cells.text(PRICE) or not single:
        price = cells.amount(PRICE)
        return Line(sku, cells.text(*TITLE), quantity, price, price * quantity) if price is not None else None
    if order_goods is None:
        return None
    return Line(sku, cells.text(*TITLE), quantity, unit_price(order_goods, quantity), order_goods)


FORMAT = ExportFormat(
    platform="taobao",
    label="淘宝/天猫 已卖出的宝贝 订单报表",
    signature=frozenset({ORDER_ID, NAME, ADDRESS, "买家会员名"}),
    order_id=(ORDER_ID,),
    build=build,
    columns={"channel_order_id": ORDER_ID, "receiver.name": NAME, "receiver.phone": "联系手机",
             "receiver.address": ADDRESS, "paid_amount": PAID[0], "freight": FREIGHT[0], "status": STATUS,
             "created_at": CREATED, "paid_at": PAID_AT, "buyer.nick": "买家会员名", "remark": "买家留言"},
    line_columns={"sku": SKU[0], "title": TITLE[0], "quantity": QUANTITY[0], "unit_price": PRICE,
                  "paid_amount": PRICE},
)  # fmt: skip
