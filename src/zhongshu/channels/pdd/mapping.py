"""A PDD order (pdd.order.number.list.increment.get / pdd.order.information.get) → OrderIn.

Facts of the platform this relies on:
- order_status 1 待发货, 2 已发货待签收, 3 已签收; refund_status 1 无售后或售后关闭, 2 售后处理中,
  3 退款中, 4 退款成功; confirm_status 0 未成交, 1 已成交, 2 已取消; group_status 2 团失败.
- amounts are yuan (numbers or strings): pay_amount = goods_amount − discount_amount + postage.
- times are "YYYY-MM-DD HH:MM:SS" in Beijing time; updated_at is the modified time.
- receiver_name / receiver_phone / address / receiver_address are ciphertext, with *_mask forms;
  province / city / town are plain.
- item_list[].outer_id is the merchant SKU code (outer_goods_id the merchant goods code).
"""

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from zhongshu.core.timeutil import SHANGHAI
from zhongshu.orders.schemas import OrderIn, platform_order

CENT = Decimal("0.01")
# the hub's receiver columns; a ciphertext longer than its column is replaced by the masked form
NAME_MAX, PHONE_MAX, ADDRESS_MAX = 64, 32, 256


def to_order_in(shop: str, o: dict) -> OrderIn:
    pay, postage = money(o.get("pay_amount")), money(o.get("postage"))
    items = o.get("item_list") or []
    return platform_order(
        dict(
            shop=shop,
            channel_order_id=str(o["order_sn"]),
            status=status(o),
            created_at=when(o.get("created_time")) or when(o["updated_at"]),
            paid_at=when(o.get("pay_time")),
            updated_at=when(o["updated_at"]),
            receiver=receiver(o),
            lines=lines(items, None if o.get("goods_amount") in (None, "") else money(o["goods_amount"])),
            freight=str(postage),
            discount=str(money(o.get("discount_amount"))),
            paid_amount=str(pay),
            presale=str(o.get("is_pre_sale", 0)) == "1",
            ship_by=when(o.get("last_ship_time")),
            remark=_remark(o),
        )
    )


def status(o: dict) -> str:
    """Closed deals are cancelled; refunds win over the shipping state, which the hub tracks itself."""
    refund, confirm = _num(o.get("refund_status"), 1), _num(o.get("confirm_status"), 1)
    if confirm == 2 or _num(o.get("group_status"), 1) == 2:
        return "cancelled"
    if refund == 4:
        return "refunded"
    if refund in (2, 3):
        return "refund_requested"
    if confirm == 0:
        return "pending_payment"  # 拼团中 / not yet a deal: nothing may ship
    return "paid"


def receiver(o: dict) -> dict:
    return {
        "name": _fit(o.get("receiver_name"), o.get("receiver_name_mask"), NAME_MAX),
        "phone": _fit(o.get("receiver_phone"), o.get("receiver_phone_mask"), PHONE_MAX),
        "province": o.get("province") or None,
        "city": o.get("city") or None,
        "district": o.get("town") or None,
        "address": _fit(
            o.get("receiver_address") or o.get("address"),
            o.get("receiver_address_mask") or o.get("address_mask"),
            ADDRESS_MAX,
        ),
    }


def lines(items: list[dict], goods_amount: Decimal | None) -> list[dict]:
    """Lines carrying goods_amount (price × count − seller's price changes), before order discounts.

    PDD gives no per-line amount: goods_amount is spread over the lines by gross value, cent-exact,
    so that lines + postage − discount_amount = pay_amount, as the hub's price check expects.
    """
    gross = [money(i.get("goods_price")) * int(i.get("goods_count") or 0) for i in items]
    shares = allocate(sum(gross, Decimal("0.00")) if goods_amount is None else goods_amount, gross)
    return [
        {
            "sku": str(i.get("outer_id") or i.get("outer_goods_id") or i.get("sku_id") or ""),
            "title": (i.get("goods_name") or "")[:256] or None,
            "quantity": int(i.get("goods_count") or 0),
            "unit_price": str(money(i.get("goods_price"))),
            "paid_amount": str(share),
        }
        for i, share in zip(items, shares, strict=True)
    ]


def allocate(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    if not weights:
        return []
    whole = sum(weights)
    if whole <= 0:
        weights, whole = [Decimal(1)] * len(weights), Decimal(len(weights))
    shares = [(total * w / whole).quantize(CENT, ROUND_HALF_UP) for w in weights[:-1]]
    return shares + [total - sum(shares, Decimal(0))]


def money(value) -> Decimal:
    """Yuan as number or string ("39.9", 39.90, "") → Decimal with two places."""
    if value in (None, ""):
        return Decimal("0.00")
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


def when(value) -> datetime | None:
    """PDD's Beijing-time "YYYY-MM-DD HH:MM:SS" (or unix seconds) → aware datetime."""
    if value in (None, ""):
        return None
    if isinstance(value, int | Decimal) or str(value).isdigit():
        return datetime.fromtimestamp(int(value), SHANGHAI)
    return datetime.strptime(str(value)[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)


def _fit(cipher, mask, limit: int) -> str:
    cipher, mask = str(cipher or ""), str(mask or "")
    return cipher if cipher and len(cipher) <= limit else (mask or cipher[:limit])


def _remark(o: dict) -> str | None:
    memo = o.get("buyer_memo") or o.get("remark")
    return str(memo)[:512] if memo else None


def _num(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default
