"""Pinduoduo merchant backend (订单查询 → 导出订单) export: one row per order, one goods item each.

Quirks: the receiver is masked (收货人 `王**`, 手机 `138****8000` or a virtual number) and so is the
province, wholly (`**`) or partly (`四*`); it is recovered from 市/区/街道 by the address parser.
The amounts are yuan columns named with `(元)`, which some exports write with full-width brackets.
"""

from zhongshu.channels.files.fields import Cells
from zhongshu.channels.files.formats import Draft, ExportFormat, Line, receiver, unit_price

ORDER_ID, STATUS, AFTER_SALE = "订单号", "订单状态", "售后状态"
GOODS, QUANTITY, PAID = "商品总价(元)", "商品数量(件)", "用户实付金额(元)"
FREIGHT = ("邮费(元)", "运费(元)")
SKU, TITLE, SPEC = ("商家编码-规格维度", "商家编码-商品维度"), "商品", "商品规格"
NAME, PHONE, PROVINCE, CITY, DISTRICT, STREET = "收货人", "手机", "省", "市", "区", "街道"
CREATED, PAID_AT = "订单成交时间", "支付时间"
LATER = ("发货时间", "确认收货时间", "修改时间")

_REFUNDING = ("退款中", "处理中", "待商家处理", "待买家退货", "待商家收货")


def status(text: str, after_sale: str) -> str | None:
    """Contract status of a PDD order status (and its after-sale status)."""
    if "退款成功" in text or "退款成功" in after_sale:
        return "refunded"
    if "取消" in text:
        return "cancelled"
    if "待支付" in text or "待付款" in text:
        return "pending_payment"
    if any(k in text for k in ("待发货", "已发货", "待收货", "待签收", "已签收", "已收货")):
        return "refund_requested" if any(k in after_sale for k in _REFUNDING) else "paid"
    return None


def build(shop: str, rows: list[Cells]) -> dict | None:
    first = rows[0]
    state = status(first.required(STATUS), first.text(AFTER_SALE))
    if first.text(STATUS) and state is None:
        first.fail(STATUS, f"unknown order status '{first.text(STATUS)}'")
    name, phone, street = first.required(NAME), first.required(PHONE), first.required(STREET)
    draft = Draft(
        shop=shop, order_id=first.text(ORDER_ID), status=state, created=first.time(CREATED, required=True),
        paid_at=first.time(PAID_AT), times=[first.time(c) for c in LATER],
        receiver=receiver(name, phone, first.text(PROVINCE), first.text(CITY), first.text(DISTRICT), street),
        lines=[_line(c) for c in rows], freight=first.amount(*FREIGHT, required=False),
        paid=first.amount(PAID), remark=first.text("商家备注"),
    )  # fmt: skip
    return draft.contract(rows)


def _line(cells: Cells) -> Line | None:
    sku, quantity, goods = cells.required(*SKU), cells.count(QUANTITY), cells.amount(GOODS)
    if goods is None:
        return None
    title = " ".join(t for t in (cells.text(TITLE), cells.text(SPEC)) if t)
    return Line(sku, title, quantity, unit_price(goods, quantity), goods)


FORMAT = ExportFormat(
    platform="pdd",
    label="拼多多 商家后台 订单导出",
    signature=frozenset({ORDER_ID, QUANTITY, PAID}),
    order_id=(ORDER_ID,),
    build=build,
    columns={"channel_order_id": ORDER_ID, "receiver.name": NAME, "receiver.phone": PHONE,
             "receiver.address": STREET, "receiver.province": PROVINCE, "receiver.city": CITY,
             "receiver.district": DISTRICT, "paid_amount": PAID, "freight": FREIGHT[0], "status": STATUS,
             "created_at": CREATED, "paid_at": PAID_AT, "remark": "商家备注"},
    line_columns={"sku": SKU[0], "title": TITLE, "quantity": QUANTITY, "unit_price": GOODS, "paid_amount": GOODS},
)  # fmt: skip
