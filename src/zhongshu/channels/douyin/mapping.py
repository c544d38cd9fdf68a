"""A 抖店 shop order (order.searchList / order.orderDetail) mapped into the hub's `OrderIn`.

Platform facts used (order.searchList response, op.jinritemai.com):
- money is in fen (integers): pay_amount, post_amount, promotion_amount, modify_amount; per SKU
  goods_price (original unit price), origin_amount (current unit price), sum_amount, item_num;
- times are unix seconds: create_time, pay_time (0 = unpaid), update_time, exp_ship_time;
- order_status: 1 待确认/待支付, 105 已支付, 2 备货中, 101 部分发货, 3 已发货, 4 已取消, 5 已完成;
- after-sale per SKU order (after_sale_info): after_sale_status 6 申请 / 7 退货中 / 11 售后已发货 are
  open, refund_status 3 = 退款成功, after_sale_type 3 = 换货 (an exchange, not a refund);
- the merchant SKU code is sku_order_list[].code (商家后台商品编码), else out_sku_id;
- the receiver's name, phone and detail address are ciphertext (encrypt_post_receiver "##…##",
  encrypt_post_tel "$$…$$", post_addr.encrypt_detail "#…#") with masked forms (mask_post_*);
  province/city/town names in post_addr are plain.
"""

import logging
from datetime import datetime
from decimal import Decimal

from pydantic import ValidationError

from zhongshu.core.timeutil import SHANGHAI
from zhongshu.orders.schemas import OrderIn, error_list, platform_order

log = logging.getLogger(__name__)

FEN = Decimal("0.01")
PENDING, CANCELLED = 1, 4
OPEN_AFTER_SALE = {6, 7, 11}
REFUND_SUCCESS = 3
EXCHANGE = 3
PRESALE_TYPES = {1, 2}
NAME_MAX, PHONE_MAX, ADDRESS_MAX, BUYER_ID_MAX = 64, 32, 256, 64


def to_order(shop: str, raw: dict) -> OrderIn | None:
    """The order as the hub's contract, or None (logged without personal data) if it cannot be mapped."""
    try:
        return platform_order(order_dict(shop, raw))
    except ValidationError as exc:
        fields = ", ".join(f"{e['field']}: {e['msg']}" for e in error_list(exc))
        log.warning("douyin order %s of shop %s not mapped: %s", raw.get("order_id"), shop, fields)
        return None


def order_dict(shop: str, raw: dict) -> dict:
    skus = raw.get("sku_order_list") or []
    paid_at = when(raw.get("pay_time"))
    return {
        "shop": shop,
        "channel_order_id": str(raw.get("order_id") or ""),
        "status": status(raw),
        "created_at": when(raw.get("create_time")),
        "paid_at": paid_at,
        "updated_at": when(raw.get("update_time")),
        "buyer": buyer(raw),
        "receiver": receiver(raw),
        "lines": [line(s) for s in skus],
        "freight": yuan(raw.get("post_amount")),
        # a seller's price raise (modify_amount above the promotions) is no negative discount: the
        # contract refuses those; the order's price check then flags the difference
        "discount": yuan(max(int(raw.get("promotion_amount") or 0) - int(raw.get("modify_amount") or 0), 0)),
        "paid_amount": yuan(raw.get("pay_amount")),
        "presale": any(s.get("pre_sale_type") in PRESALE_TYPES for s in skus),
        "ship_by": when(raw.get("exp_ship_time")),
        "remark": (raw.get("buyer_words") or "")[:512] or None,
    }


def status(raw: dict) -> str:
    """Refunds and open after-sales win over the order status; closed orders are cancelled."""
    infos = [s.get("after_sale_info") or {} for s in raw.get("sku_order_list") or []]
    if infos and all(i.get("refund_status") == REFUND_SUCCESS for i in infos):
        return "refunded"
    if any(
        i.get("after_sale_type") != EXCHANGE and i.get("after_sale_status") in OPEN_AFTER_SALE for i in infos
    ):
        return "refund_requested"
    code = int(raw.get("order_status") or 0)
    if code == PENDING:
        return "pending_payment"
    if code == CANCELLED:
        return "cancelled"
    return "paid"


def receiver(raw: dict) -> dict:
    """Ciphertext kept as given where it fits the column, else the platform's masked form."""
    addr, masked = raw.get("post_addr") or {}, raw.get("mask_post_addr") or {}
    return {
        "name": _first_fitting(
            NAME_MAX,
            raw.get("encrypt_post_receiver"),
            raw.get("mask_post_receiver"),
            raw.get("post_receiver"),
        ),  # fmt: skip
        "phone": _first_fitting(
            PHONE_MAX, raw.get("encrypt_post_tel"), raw.get("mask_post_tel"), raw.get("post_tel")
        ),
        "province": _name(addr, "province"),
        "city": _name(addr, "city"),
        "district": _name(addr, "town"),
        "address": _first_fitting(
            ADDRESS_MAX, addr.get("encrypt_detail"), masked.get("detail"), addr.get("detail")
        ),
    }


def line(sku: dict) -> dict:
    quantity = int(sku.get("item_num") or 0)
    current = int(sku.get("origin_amount") or 0)
    original = int(sku.get("goods_price") or current)
    total = sku.get("sum_amount")
    return {
        "sku": str(sku.get("code") or sku.get("out_sku_id") or sku.get("sku_id") or ""),
        "title": (sku.get("product_name") or "")[:256] or None,
        "quantity": quantity,
        "unit_price": yuan(original),
        "promo_price": yuan(current) if current != original else None,
        "paid_amount": yuan(total if total is not None else current * quantity),
    }


def buyer(raw: dict) -> dict | None:
    open_id = str(raw.get("doudian_open_id") or "")
    return {"id": open_id} if open_id and len(open_id) <= BUYER_ID_MAX else None


def yuan(fen) -> str:
    """Integer fen → yuan string with two places (the contract's money form)."""
    return str((Decimal(int(fen or 0)) / 100).quantize(FEN))


def when(seconds) -> datetime | None:
    """Unix seconds → aware Asia/Shanghai datetime; 0 or missing → None."""
    return datetime.fromtimestamp(int(seconds), SHANGHAI) if seconds else None


def _name(addr: dict, level: str) -> str | None:
    return ((addr.get(level) or {}).get("name") or "")[:32] or None


def _first_fitting(limit: int, *candidates) -> str:
    values = [str(c) for c in candidates if c]
    return next((v for v in values if len(v) <= limit), values[-1][:limit] if values else "")
