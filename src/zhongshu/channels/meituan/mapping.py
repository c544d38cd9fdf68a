"""A 美团外卖/闪购 order (order/getOrderDetail, or the 推送已支付订单 push) mapped into `OrderIn`.

Platform facts used (open-shangou.meituan.com 获取订单详细信息 / 推送已支付订单):
- money is yuan as JSON numbers (total, shipping_fee, original_price; detail[].price,
  extras[].reduce_fee) or yuan strings (detail[].original_price); read as Decimal via str();
- times are unix seconds: ctime (下单), order_send_time (支付完成), utime (最近订单/配送状态更新),
  delivery_time (用户选择的送达时间, 0 = 立即送出); shown in Asia/Shanghai;
- status: 1 用户已提交, 2 向商家推送, 4 商家已确认, 8 已完成, 9 已取消;
- `detail` and `extras` are lists, or JSON strings of lists (pushes, older answers);
- the merchant SKU code is detail[].sku_id (商家规格编码), else app_food_code / app_medicine_code;
  the quantity field is `quantity` (some answers spell it `quanity`);
- receiver: recipient_name, recipient_phone (real or privacy number `138xxxxxxxx_1234` /
  `138****5678`), recipient_address (may carry `@#` + reverse-geocoded address) kept as given;
  province/city/area from recipient_address_detail where the platform gives it, else the hub
  parses the address; latitude/longitude are not part of the hub's contract;
- refunds (ecommerce/order/getOrderRefundDetail): refund_type 1 全额 / 2 部分, res_type 0 等待处理,
  1/3 驳回, 2 商家同意, 4 客服同意, 5 超时自动同意, 6 系统自动确认, 7/8 用户取消.
"""

import json
import logging
from datetime import datetime
from decimal import Decimal

from pydantic import ValidationError

from zhongshu.core.timeutil import SHANGHAI
from zhongshu.orders.schemas import OrderIn, error_list, platform_order

log = logging.getLogger(__name__)

FEN = Decimal("0.01")
SUBMITTED, CANCELLED = 1, 9
FULL_REFUND = 1
REFUND_PENDING = {0}
REFUND_AGREED = {2, 4, 5, 6}


def to_order(shop: str, raw: dict, refunds: list | None = None) -> OrderIn | None:
    """The order as the hub's contract, or None (logged without personal data) if it cannot be mapped."""
    try:
        return platform_order(order_dict(shop, raw, refunds or []))
    except (ValidationError, ValueError, TypeError) as exc:
        fields = (
            ", ".join(f"{e['field']}: {e['msg']}" for e in error_list(exc))
            if isinstance(exc, ValidationError)
            else type(exc).__name__
        )
        log.warning("meituan order %s of shop %s not mapped: %s", raw.get("order_id"), shop, fields)
        return None


def order_dict(shop: str, raw: dict, refunds: list) -> dict:
    code = int(raw.get("status") or 0)
    extras = json_list(raw.get("extras"))
    return {
        "shop": shop,
        "channel_order_id": str(raw.get("order_id") or raw.get("wm_order_id_view") or ""),
        "status": status(code, refunds),
        "created_at": when(raw.get("ctime")),
        "paid_at": when(raw.get("order_send_time") or raw.get("ctime")) if code != SUBMITTED else None,
        "updated_at": when(raw.get("utime")),
        "receiver": receiver(raw),
        "lines": [line(d) for d in json_list(raw.get("detail"))],
        "freight": yuan(raw.get("shipping_fee")),
        "discount": yuan(sum((money(e.get("reduce_fee")) for e in extras), Decimal(0))),
        "paid_amount": yuan(raw.get("total")),
        "presale": _flag(raw.get("is_pre_sale_order")),
        "scheduled_delivery": when(raw.get("delivery_time")),
        "remark": (str(raw.get("caution") or ""))[:512] or None,
    }


def status(code: int, refunds: list) -> str:
    """An open refund request or an agreed full refund wins over the order status."""
    latest = max(refunds, key=lambda r: (int(r.get("utime") or r.get("ctime") or 0), str(r.get("refund_id"))),
                 default=None)  # fmt: skip
    if latest is not None:
        res = int(latest.get("res_type") or 0)
        if res in REFUND_PENDING:
            return "refund_requested"
        if res in REFUND_AGREED and int(latest.get("refund_type") or 0) == FULL_REFUND:
            return "refunded"
    if code == SUBMITTED:
        return "pending_payment"
    if code == CANCELLED:
        return "cancelled"
    return "paid"


def receiver(raw: dict) -> dict:
    region = _json_object(raw.get("recipient_address_detail"))
    return {
        "name": str(raw.get("recipient_name") or ""),
        "phone": str(raw.get("recipient_phone") or ""),
        "province": _part(region, "province"),
        "city": _part(region, "city"),
        "district": _part(region, "area") or _part(region, "district"),
        "address": str(raw.get("recipient_address") or ""),
    }


def line(item: dict) -> dict:
    quantity = int(item.get("quantity") or item.get("quanity") or 0)
    price = money(item.get("price"))
    original = money(item.get("original_price")) if item.get("original_price") not in (None, "") else price
    code = item.get("sku_id") or item.get("app_food_code") or item.get("app_medicine_code") or ""
    return {
        "sku": str(code),
        "title": (str(item.get("food_name") or ""))[:256] or None,
        "quantity": quantity,
        "unit_price": yuan(original),
        "promo_price": yuan(price) if price != original else None,
        "paid_amount": yuan(price * quantity),
    }


def money(value) -> Decimal:
    """Yuan as the platform gives it (number read as Decimal, or string) → Decimal; never via float math."""
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def yuan(value) -> str:
    return str(money(value).quantize(FEN))


def when(seconds) -> datetime | None:
    """Unix seconds → aware Asia/Shanghai datetime; 0 or missing → None."""
    return datetime.fromtimestamp(int(seconds), SHANGHAI) if seconds and int(seconds) else None


def json_list(value) -> list[dict]:
    if isinstance(value, str):
        value = json.loads(value or "[]", parse_float=Decimal)
    return [v for v in value or [] if isinstance(v, dict)]


def _json_object(value) -> dict:
    if isinstance(value, str):
        try:
            value = json.loads(value or "{}")
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _part(region: dict, key: str) -> str | None:
    return (str(region.get(key) or ""))[:32] or None


def _flag(value) -> bool:
    return value is True or str(value).lower() in {"true", "1"}
