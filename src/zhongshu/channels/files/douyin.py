"""Douyin shop (抖店 → 订单管理 → 导出查询订单, standard report by goods) export: one row per
sub-order (子订单) with its main order's columns repeated.

Quirks: order numbers are written with a leading tab so Excel keeps all 19 digits (the reader strips
it); the receiver's name, phone and detailed address are the platform's ciphertext (`##…##`), kept
verbatim and decrypted only through the platform's API at waybill time; 省/市/区 stay plain.
A row's 订单应付金额 is what the buyer pays for that sub-order; 运费 is the order's, repeated.
"""

from zhongshu.channels.files.fields import Cells, is_cipher
from zhongshu.channels.files.formats import Draft, ExportFormat, Line, combine_status, receiver
from zhongshu.core.money import ZERO

ORDER_ID, SUB_ID = "主订单编号", "子订单编号"
TITLE, SPEC, QUANTITY, SKU = "选购商品", "商品规格", "商品数量", ("商家编码", "商品编码")
PRICE, PAYABLE, FREIGHT = ("商品单价", "商品金额"), "订单应付金额", "运费"
STATUS, AFTER_SALE = "订单状态", "售后状态"
NAME, PHONE = "收件人", "收件人手机号"
PROVINCE, CITY, DISTRICT, STREET, DETAIL = "省", "市", "区", "街道", "详细地址"
CREATED, PAID_AT, LATER = "订单提交时间", "支付完成时间", ("订单完成时间", "发货时间", "修改时间")

_REFUNDING = ("售后中", "退款中", "待商家处理", "待买家退货", "待商家收货", "处理中")


def status(text: str, after_sale: str, paid: bool) -> str | None:
    """Contract status of one sub-order row's 订单状态 and 售后状态."""
    if "退款成功" in after_sale or "售后完成" in after_sale:
        return "refunded"
    if "关闭" in text or "取消" in text:
        return "refunded" if paid else "cancelled"
    if "待支付" in text or "待付款" in text:
        return "pending_payment"
    if any(k in text for k in ("备货中", "待发货", "已发货", "部分发货", "已完成", "已签收")):
        return "refund_requested" if any(k in after_sale for k in _REFUNDING) else "paid"
    return None


def build(shop: str, rows: list[Cells]) -> dict | None:
    first = rows[0]
    paid_at = first.time(PAID_AT)
    state = combine_status([_status(c, paid_at is not None) for c in rows])
    lines = [_line(c) for c in rows]
    payable = [c.amount(PAYABLE) for c in rows]
    freight = first.amount(FREIGHT, required=False)
    paid = None if None in payable else sum(payable, start=freight or ZERO)  # type: ignore[arg-type]
    draft = Draft(
        shop=shop, order_id=first.text(ORDER_ID), status=state, created=first.time(CREATED, required=True),
        paid_at=paid_at, times=[c.time(col) for c in rows for col in LATER],
        receiver=_receiver(first), lines=lines, freight=freight, paid=paid, remark=first.text("买家留言"),
    )  # fmt: skip
    return draft.contract(rows)


def _status(cells: Cells, paid: bool) -> str | None:
    state = status(cells.required(STATUS), cells.text(AFTER_SALE), paid)
    if cells.text(STATUS) and state is None:
        cells.fail(STATUS, f"unknown order status '{cells.text(STATUS)}'")
    return state


def _receiver(first: Cells) -> dict:
    detail = first.required(DETAIL)
    street = first.text(STREET)
    address = detail if is_cipher(detail) or not street or detail.startswith(street) else street + detail
    return receiver(first.required(NAME), first.required(PHONE), first.text(PROVINCE), first.text(CITY),
                    first.text(DISTRICT), address)  # fmt: skip


def _line(cells: Cells) -> Line | None:
    sku, quantity, price = cells.required(*SKU), cells.count(QUANTITY), cells.amount(*PRICE)
    if price is None:
        return None
    title = " ".join(t for t in (cells.text(TITLE), cells.text(SPEC)) if t)
    return Line(sku, title, quantity, price, price * quantity)


FORMAT = ExportFormat(
    platform="douyin",
    label="抖店 订单导出（商品维度）",
    signature=frozenset({ORDER_ID, SUB_ID, TITLE}),
    order_id=(ORDER_ID,),
    build=build,
    columns={"channel_order_id": ORDER_ID, "receiver.name": NAME, "receiver.phone": PHONE,
             "receiver.address": DETAIL, "receiver.province": PROVINCE, "receiver.city": CITY,
             "receiver.district": DISTRICT, "paid_amount": PAYABLE, "freight": FREIGHT, "status": STATUS,
             "created_at": CREATED, "paid_at": PAID_AT, "remark": "买家留言"},
    line_columns={"sku": SKU[0], "title": TITLE, "quantity": QUANTITY, "unit_price": PRICE[0],
                  "paid_amount": PRICE[0]},
)  # fmt: skip
