"""A 快手小店 order (open.order.cursor.list / open.order.detail) mapped into the hub's `OrderIn`.

Platform facts used (open.order.cursor.list response; one order carries one item):
- orderBaseInfo: oid, status (10 待付款, 30 已付款/待发货, 40 已发货, 50 已收货, 70 交易成功,
  80 交易关闭), createTime / payTime / updateTime in epoch milliseconds, money in fen: totalFee
  (paid by the buyer, freight included), expressFee (freight), discountFee (discount); remark,
  buyerOpenId;
- orderItemInfo: skuNick (商家商品编码, the merchant SKU code), skuId, relSkuId, itemTitle, num,
  price (deal unit price) and originalPrice in fen;
- orderRefundList: the newest refund of the order, refundStatus 10…50 open (申请 / 平台介入 /
  回寄 / 退款执行中), 60 退款成功, 70 退款失败;
- orderAddress: encryptedConsignee / encryptedMobile / encryptedAddress (ciphertext),
  desensitiseConsignee / desensitiseMobile / desensitiseAddress (masked), and plain province,
  city, district, town.
"""

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import ValidationError

from zhongshu.core.timeutil import SHANGHAI
from zhongshu.orders.schemas import OrderIn, error_list, platform_order

log = logging.getLogger(__name__)

FEN = Decimal("0.01")
PENDING, CLOSED = 10, 80
REFUND_OPEN = range(10, 60)
REFUND_SUCCESS = 60
NAME_MAX, PHONE_MAX, ADDRESS_MAX, BUYER_ID_MAX = 256, 256, 1024, 64


def to_order(shop: str, raw: dict) -> OrderIn | None:
    """The order as the hub's contract, or None (logged without personal data) if it cannot be mapped."""
    try:
        return platform_order(order_dict(shop, raw))
    except ValidationError as exc:
        fields = ", ".join(f"{e['field']}: {e['msg']}" for e in error_list(exc))
        log.warning("kuaishou order %s of shop %s not mapped: %s", order_id(raw), shop, fields)
        return None


def order_id(raw: dict) -> str:
    return str((raw.get("orderBaseInfo") or {}).get("oid") or "")


def updated_ms(raw: dict) -> int:
    return int((raw.get("orderBaseInfo") or {}).get("updateTime") or 0)


def order_dict(shop: str, raw: dict) -> dict:
    base = raw.get("orderBaseInfo") or {}
    return {
        "shop": shop,
        "channel_order_id": order_id(raw),
        "status": status(raw),
        "created_at": when(base.get("createTime")),
        "paid_at": when(base.get("payTime")),
        "updated_at": when(base.get("updateTime")),
        "buyer": buyer(base),
        "receiver": receiver(raw.get("orderAddress") or {}),
        "lines": [line(raw.get("orderItemInfo") or {})],
        "freight": yuan(base.get("expressFee")),
        "discount": yuan(base.get("discountFee")),
        "paid_amount": yuan(base.get("totalFee")),
        "presale": bool(base.get("preSale")),
        "ship_by": when(base.get("validPromiseShipmentTimeStamp")),
        "remark": (base.get("remark") or "")[:512] or None,
    }


def status(raw: dict) -> str:
    """A successful or open refund wins over the order status; a closed order is cancelled."""
    refunds = [int(r.get("refundStatus") or 0) for r in raw.get("orderRefundList") or []]
    if REFUND_SUCCESS in refunds:
        return "refunded"
    if any(r in REFUND_OPEN for r in refunds):
        return "refund_requested"
    code = int((raw.get("orderBaseInfo") or {}).get("status") or 0)
    if code == PENDING:
        return "pending_payment"
    if code == CLOSED:
        return "cancelled"
    return "paid"


def receiver(addr: dict) -> dict:
    """Ciphertext kept as given where it fits the column, else the masked form; regions plain."""
    return {
        "name": _first_fitting(NAME_MAX, addr.get("encryptedConsignee"), addr.get("desensitiseConsignee")),
        "phone": _first_fitting(PHONE_MAX, addr.get("encryptedMobile"), addr.get("desensitiseMobile")),
        "province": (addr.get("province") or "")[:32] or None,
        "city": (addr.get("city") or "")[:32] or None,
        "district": (addr.get("district") or "")[:32] or None,
        "address": _first_fitting(ADDRESS_MAX, addr.get("encryptedAddress"), addr.get("desensitiseAddress")),
    }


def line(item: dict) -> dict:
    quantity = int(item.get("num") or 0)
    price = int(item.get("price") or 0)
    original = int(item.get("originalPrice") or price)
    return {
        "sku": str(item.get("skuNick") or item.get("relSkuId") or item.get("skuId") or ""),
        "title": (item.get("itemTitle") or "")[:256] or None,
        "quantity": quantity,
        "unit_price": yuan(original),
        "promo_price": yuan(price) if price != original else None,
        "paid_amount": yuan(price * quantity),
    }


def buyer(base: dict) -> dict | None:
    open_id = str(base.get("buyerOpenId") or "")
    return {"id": open_id} if open_id and len(open_id) <= BUYER_ID_MAX else None


def yuan(fen) -> str:
    """Integer fen → yuan string with two places (the contract's money form)."""
    return str((Decimal(int(fen or 0)) / 100).quantize(FEN))


def when(millis) -> datetime | None:
    """Epoch milliseconds → aware Asia/Shanghai datetime; 0 or missing → None."""
    if not millis:
        return None
    seconds, ms = divmod(int(millis), 1000)
    return datetime.fromtimestamp(seconds, SHANGHAI) + timedelta(milliseconds=ms)


def _first_fitting(limit: int, *candidates) -> str:
    values = [str(c) for c in candidates if c]
    return next((v for v in values if len(v) <= limit), values[-1][:limit] if values else "")
