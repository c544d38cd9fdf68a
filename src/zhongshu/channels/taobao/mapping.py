"""Taobao/Tmall trade JSON (TOP `Trade` with its sub-orders `Order`) → the hub's `OrderIn`.

Facts from the TOP trade API documentation:
- times are "yyyy-MM-dd HH:mm:ss" in Beijing time; amounts are yuan strings ("200.07");
- trade `status`: WAIT_BUYER_PAY / TRADE_NO_CREATE_PAY / PAY_PENDING / WAIT_PRE_AUTH_CONFIRM (not paid),
  WAIT_SELLER_SEND_GOODS, SELLER_CONSIGNED_PART, WAIT_BUYER_CONFIRM_GOODS, TRADE_BUYER_SIGNED,
  TRADE_FINISHED, PAID_FORBID_CONSIGN (paid), TRADE_CLOSED (closed after payment: refunded in full),
  TRADE_CLOSED_BY_TAOBAO (closed before payment: cancelled);
- sub-order `refund_status`: WAIT_SELLER_AGREE, WAIT_BUYER_RETURN_GOODS, WAIT_SELLER_CONFIRM_GOODS
  (a refund in progress), SELLER_REFUSE_BUYER, CLOSED, NO_REFUND (none), SUCCESS (refunded);
- sub-order `payment` = price × num + adjust_fee − discount_fee (its own discounts); shop-level
  discounts come off the trade's `payment`, which also includes `post_fee`;
- merchant SKU code: `outer_sku_id`, or the item's `outer_iid` when the item has no SKUs;
- receivers are OAID-protected: name/mobile/address come masked (or encrypted) and are kept as
  given; `receiver_state/city/district` are plain. A county-level city directly under a province
  (e.g. 河南 济源) comes in `receiver_district` with `receiver_city` empty: it is then the city.
"""

from datetime import datetime
from decimal import Decimal

from zhongshu.core.timeutil import SHANGHAI
from zhongshu.orders.schemas import OrderIn, platform_order

NOT_PAID = {"WAIT_BUYER_PAY", "TRADE_NO_CREATE_PAY", "PAY_PENDING", "WAIT_PRE_AUTH_CONFIRM"}
PAID = {
    "WAIT_SELLER_SEND_GOODS",
    "SELLER_CONSIGNED_PART",
    "WAIT_BUYER_CONFIRM_GOODS",
    "TRADE_BUYER_SIGNED",
    "TRADE_FINISHED",
    "PAID_FORBID_CONSIGN",
}
REFUND_OPEN = {"WAIT_SELLER_AGREE", "WAIT_BUYER_RETURN_GOODS", "WAIT_SELLER_CONFIRM_GOODS"}
REFUND_DONE = "SUCCESS"
CENT = Decimal("0.01")
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class MappingError(ValueError):
    """A trade the hub cannot take in as it stands (unknown status, no lines)."""


def parse_time(value: str | None) -> datetime | None:
    """A TOP time string (Beijing time) as an aware datetime."""
    if not value:
        return None
    return datetime.strptime(value, TIME_FORMAT).replace(tzinfo=SHANGHAI)


def format_time(value: datetime) -> str:
    return value.astimezone(SHANGHAI).strftime(TIME_FORMAT)


def listed(container, key: str) -> list[dict]:
    """TOP JSON wraps lists as {"orders": {"order": [...]}}; with simplify=true they come bare."""
    if not container:
        return []
    if isinstance(container, dict):
        container = container.get(key) or []
    return container if isinstance(container, list) else [container]


def trade_id(trade: dict) -> str:
    return str(trade.get("tid_str") or trade["tid"])


def yuan(value) -> Decimal:
    return Decimal(str(value or "0")).quantize(CENT)


def to_order_in(shop: str, trade: dict) -> OrderIn:
    """Map one TOP trade (with the fields `connector.TRADE_FIELDS`) into the hub's contract."""
    subs = listed(trade.get("orders"), "order")
    live = [o for o in subs if o.get("refund_status") != REFUND_DONE] or subs
    if not live:
        raise MappingError(f"trade {trade_id(trade)} has no sub-orders")
    lines = [_line(o) for o in live]
    freight, paid = yuan(trade.get("post_fee")), yuan(trade.get("payment"))
    discount = max(sum((ln["paid_amount"] for ln in lines), Decimal("0")) + freight - paid, Decimal("0"))
    return platform_order(
        {
            "shop": shop,
            "channel_order_id": trade_id(trade),
            "status": status(trade, subs),
            "created_at": parse_time(trade.get("created")),
            "paid_at": parse_time(trade.get("pay_time")),
            "updated_at": parse_time(trade.get("modified")),
            "buyer": _buyer(trade),
            "receiver": receiver(trade),
            "lines": [
                {**ln, "unit_price": str(ln["unit_price"]), "paid_amount": str(ln["paid_amount"])}
                for ln in lines
            ],
            "freight": str(freight),
            "discount": str(discount),
            "paid_amount": str(paid),
            "presale": trade.get("type") == "step" or bool(trade.get("step_trade_status")),
            "remark": (trade.get("seller_memo") or None) and trade["seller_memo"][:512],
        }
    )


def status(trade: dict, subs: list[dict]) -> str:
    """The hub's channel status from the trade status and its sub-orders' refund states."""
    code = trade.get("status", "")
    refunds = [o.get("refund_status") or "NO_REFUND" for o in subs]
    if code == "TRADE_CLOSED_BY_TAOBAO":
        return "cancelled"
    if code == "TRADE_CLOSED":
        return "refunded" if trade.get("pay_time") else "cancelled"
    if code in NOT_PAID:
        return "pending_payment"
    if code not in PAID:
        raise MappingError(f"trade {trade_id(trade)}: unknown status {code}")
    if refunds and all(r == REFUND_DONE for r in refunds):
        return "refunded"
    if any(r in REFUND_OPEN for r in refunds):
        return "refund_requested"
    return "paid"


def receiver(trade: dict) -> dict:
    """Masked/encrypted name, phone and address kept as given; the plain region for routing."""
    city, district = trade.get("receiver_city") or "", trade.get("receiver_district") or ""
    if not city and district:  # county-level city under the province: Taobao puts it in the district
        city, district = district, ""
    return {
        "name": trade.get("receiver_name") or "",
        "phone": trade.get("receiver_mobile") or trade.get("receiver_phone") or "",
        "province": trade.get("receiver_state") or None,
        "city": city or None,
        "district": district or None,
        "address": trade.get("receiver_address") or "",
    }


def _line(sub: dict) -> dict:
    num = int(sub.get("num") or 0)
    price, paid = yuan(sub.get("price")), yuan(sub.get("payment"))
    line = {
        "sku": sub.get("outer_sku_id") or sub.get("outer_iid") or "",
        "title": (sub.get("title") or "")[:256] or None,
        "quantity": num,
        "unit_price": price,
        "paid_amount": paid,
    }
    if num and paid != price * num:
        line["promo_price"] = str((paid / num).quantize(CENT))
    return line


def _buyer(trade: dict) -> dict | None:
    ref = trade.get("buyer_open_uid")
    if not ref:
        return None
    return {"id": str(ref)[:64], "nick": (trade.get("buyer_nick") or None) and trade["buyer_nick"][:64]}
