"""JD POP order (jingdong.pop.order.enSearch / enGet `orderInfo`) → the hub's `OrderIn`.

Money: JOS gives yuan strings (orderTotalPrice = goods at jdPrice, sellerDiscount, orderSellerPrice
= goods after seller discounts, freightPrice, orderPayment = what the buyer pays). Lines carry
jdPrice × itemTotal; every discount (seller's and platform's) is the order-level difference, so
lines + freight − discount = orderPayment exactly. Receiver: enSearch returns fullname, mobile
and fullAddress as ciphertext (plus `desen_mobile`, the masked mobile, and an `oaid`); they are
kept as given, and the plain province/city/county are kept for routing.
"""

from decimal import Decimal

from zhongshu.channels.jd.signing import parse_jos_time
from zhongshu.orders.schemas import OrderIn, platform_order

CENT = Decimal("0.01")

STATES = {
    "WAIT_SELLER_STOCK_OUT": "paid",  # 等待出库
    "WAIT_SELLER_DELIVERY": "paid",  # 等待发货 (海外购)
    "WAIT_GOODS_RECEIVE_CONFIRM": "paid",  # 等待确认收货 (shipped)
    "FINISHED_L": "paid",  # 完成
    "PAUSE": "paid",  # 暂停 (LOC)
    "POP_ORDER_PAUSE": "paid",
    "LOCKED": "refund_requested",  # 已锁定: buyer asked to cancel/refund, must not ship
    "TRADE_CANCELED": "cancelled",  # 取消
}
# the states the incremental search asks for (all of the above)
SEARCH_STATES = ",".join(STATES)
OPTIONAL_FIELDS = ",".join(
    [
        "orderId", "venderId", "orderState", "orderStateRemark", "orderTotalPrice", "orderSellerPrice",
        "orderPayment", "freightPrice", "sellerDiscount", "orderStartTime", "paymentConfirmTime",
        "modified", "orderRemark", "consigneeInfo", "itemInfoList", "pin", "open_id_buyer",
    ]
)  # fmt: skip


def channel_status(info: dict) -> str:
    state = info.get("orderState", "")
    status = STATES.get(state)
    if status is None:
        raise ValueError(f"unknown JD orderState {state!r}")
    # a paid order cancelled with its money returned: JD remarks it 退款 (refund)
    if status == "cancelled" and "退款" in (info.get("orderStateRemark") or ""):
        return "refunded"
    return status


def money(value) -> Decimal:
    return Decimal(str(value or "0")).quantize(CENT)


def to_order_in(shop: str, info: dict) -> OrderIn:
    """Map one JD orderInfo; raises ValueError / pydantic.ValidationError on a malformed order."""
    lines = [_line(item) for item in info.get("itemInfoList") or []]
    goods = sum((Decimal(ln["paid_amount"]) for ln in lines), start=Decimal("0.00"))
    freight, paid = money(info.get("freightPrice")), money(info.get("orderPayment"))
    paid_at = info.get("paymentConfirmTime")
    return platform_order(
        dict(
            shop=shop,
            channel_order_id=str(info["orderId"]),
            status=channel_status(info),
            created_at=parse_jos_time(info["orderStartTime"]),
            paid_at=parse_jos_time(paid_at) if paid_at and not paid_at.startswith("0001") else None,
            updated_at=parse_jos_time(info["modified"]),
            buyer={"id": (info.get("open_id_buyer") or info.get("pin") or "")[:64] or None},
            receiver=receiver(info.get("consigneeInfo") or {}),
            lines=lines,
            freight=str(freight),
            discount=str(max(goods + freight - paid, Decimal("0.00"))),  # never negative (the contract)
            paid_amount=str(paid),
            remark=(info.get("orderRemark") or "")[:512] or None,
        )
    )


def _line(item: dict) -> dict:
    qty = int(item["itemTotal"])
    price = money(item["jdPrice"])
    return {
        "sku": item.get("outerSkuId") or str(item["skuId"]),
        "title": (item.get("skuName") or "")[:256] or None,
        "quantity": qty,
        "unit_price": str(price),
        "paid_amount": str(price * qty),
    }


def receiver(c: dict) -> dict:
    """Ciphertext/masked receiver as given; a too-long ciphertext falls back to the masked form."""
    phone = c.get("mobile") or c.get("telephone") or ""
    masked = c.get("desen_mobile") or c.get("desen_telephone") or ""
    return {
        "name": _fit(c.get("fullname"), 64, "*"),
        "phone": phone if 5 <= len(phone) <= 32 else _fit(masked, 32, "*******"),
        "province": c.get("province") or None,
        "city": c.get("city") or None,
        "district": c.get("county") or None,
        "address": _fit(c.get("fullAddress"), 256, _region(c) + "****"),
    }


def _fit(value: str | None, limit: int, fallback: str) -> str:
    return value if value and len(value) <= limit else fallback


def _region(c: dict) -> str:
    return "".join(c.get(k) or "" for k in ("province", "city", "county", "town"))
