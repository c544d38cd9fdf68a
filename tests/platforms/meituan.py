"""A local 美团外卖/闪购 open-platform double: `/api/v1/...` over real HTTP.

It checks every call like the platform: app_id known, `sig` = md5(URL + "?" + sorted k=v pairs
joined by & + app_secret) over the raw values, an empty value as `k=` like the official Java SDK
(703 签名验证错误 otherwise), timestamp within 10
minutes of the wall clock, access_token known and not expired (on its own `now`). Answers are
`{"data": …}` / `{"data": "ng", "error": {"code", "msg"}}`; money is yuan as JSON numbers.

It serves oauth/token (authorization_code, refresh_token), order/getOrderDetail,
ecommerce/order/getOrderIdByDaySeq (one date_time per call, at most 100 sequence numbers, the
newest numbers listed only `seq_delay` after payment, 30 days back), ecommerce/order/
getOrderRefundDetail, order/batchPullPhoneNumber (real numbers behind privacy numbers),
ecommerce/order/logistics/btoc/sync and retail/sku/stock, and records what the write APIs and the
phone API received. `push(...)` builds the signed form posts Meituan sends to a callback URL.
Codes other than 703 are this double's (see zhongshu/channels/meituan/client.py).
"""

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from urllib.parse import quote_plus, urlencode

from tests.platforms.server import SHANGHAI, OAuthDouble, Request, Response

SEGMENT, PHONE_LIMIT, DAYS_BACK = 100, 1000, 30
ORDER_BASE = 270_000_000_000_000_000
PUSH_URL = "https://hub.example/api/v1/push/{shop}"


class MeituanDouble(OAuthDouble):
    app_id = "6201"
    poi = "MT-POI-31"
    access_ttl, refresh_ttl = timedelta(days=30), timedelta(days=60)

    def __init__(
        self, app_secret: str = "mt-secret-0123456789abcdef", seq_delay: timedelta = timedelta(seconds=3)
    ):
        self.app_secret, self.seq_delay = app_secret, seq_delay
        self._handlers = {
            "oauth/token": self._token,
            "order/getOrderDetail": self._detail,
            "ecommerce/order/getOrderIdByDaySeq": self._day_seq,
            "ecommerce/order/getOrderRefundDetail": self._refund_detail,
            "order/batchPullPhoneNumber": self._phones,
            "ecommerce/order/logistics/btoc/sync": self._ship,
            "retail/sku/stock": self._sku_stock,
        }
        super().__init__()

    def reset(self) -> None:
        """Forget every order, token, switch and recorded call; the server keeps running."""
        super().reset()
        self.orders: dict[str, dict] = {}
        self.days: dict[date, list[tuple[str, datetime]]] = {}  # day → [(order id, paid at)] by day_seq
        self.refund_records: dict[str, list[dict]] = {}
        self.real_phones: dict[str, str] = {}
        self.spus: dict[str, str] = {}  # merchant sku_id → app_food_code
        self.shipments: list[dict] = []
        self.stock: list[dict] = []
        self.phone_pulls: list[dict] = []
        self.after_detail: list[Callable[[MeituanDouble], None]] = []  # run after each detail served

    # --- test helpers: authorisation ---
    def issue_tokens(self) -> dict:
        access, refresh = f"mt-at-{uuid.uuid4().hex}", f"mt-rt-{uuid.uuid4().hex}"
        self.grant(access, refresh)
        return {"status": 0, "access_token": access, "expires_in": int(self.access_ttl.total_seconds()),
                "refresh_token": refresh, "re_expires_in": int(self.refresh_ttl.total_seconds()),
                "app_poi_code": self.poi}  # fmt: skip

    # --- test helpers: orders ---
    def add_order(self, n: int, at: datetime, lines: list[tuple[str, int, str]], shipping: str = "0",
                  discount: str = "0", status: int = 2, region=("四川省", "成都市", "武侯区")) -> dict:  # fmt: skip
        """Order number n paid at `at`; lines are (merchant sku code, quantity, unit price in yuan)."""
        order_id, ts = str(ORDER_BASE + n), int(at.timestamp())
        seq = self._assign_seq(order_id, at)
        goods = sum((Decimal(p) * q for _, q, p in lines), Decimal(0))
        detail = [self._item(code, q, p) for code, q, p in lines]
        extras = [{"act_detail_id": 9000 + n, "reduce_fee": _num(Decimal(discount)), "mt_charge": 0,
                   "poi_charge": _num(Decimal(discount)), "remark": "满减优惠", "type": 2}] if Decimal(discount) else []  # fmt: skip
        order = {
            "order_id": int(order_id), "wm_order_id_view": int(order_id), "app_poi_code": self.poi,
            "wm_poi_name": "闪购测试店", "status": status, "ctime": ts - 30, "order_send_time": ts, "utime": ts,
            "delivery_time": 0, "day_seq": seq, "is_pre_sale_order": False, "pay_type": 2,
            "shipping_fee": _num(Decimal(shipping)), "original_price": _num(goods + Decimal(shipping)),
            "total": _num(goods + Decimal(shipping) - Decimal(discount)), "caution": "",
            "invoice_title": "",  # empty fields are common in real pushes: they are signed as `k=`
            "detail": json.dumps(detail, ensure_ascii=False), "extras": json.dumps(extras, ensure_ascii=False),
            **self._receiver(n, region),
        }  # fmt: skip
        self.orders[order_id] = order
        return order

    def touch(self, order_id: str, at: datetime | None = None, **changes) -> dict:
        order = self.orders[order_id]
        order.update(changes)
        order["utime"] = int((at or self.now).timestamp())
        return order

    def confirm(self, order_id: str, at: datetime) -> None:
        self.touch(order_id, at, status=4, order_confirm_time=int(at.timestamp()))

    def cancel(self, order_id: str, at: datetime) -> None:
        self.touch(order_id, at, status=9, order_cancel_time=int(at.timestamp()))

    def request_refund(self, order_id: str, at: datetime) -> None:
        """The buyer applies for a full refund (res_type 0 等待处理)."""
        o, ts = self.orders[order_id], int(at.timestamp())
        record = {"order_id": o["order_id"], "wm_order_id_view": o["wm_order_id_view"],
                  "refund_id": 5_000_000 + len(self.refund_records) + 1, "ctime": ts, "utime": ts, "refund_type": 1,
                  "res_type": 0, "apply_type": 0, "apply_reason": "不想要了", "money": o["total"]}  # fmt: skip
        self.refund_records.setdefault(order_id, []).append(record)
        self.touch(order_id, at)

    def refund(self, order_id: str, at: datetime) -> None:
        """The merchant agrees (res_type 2); a full refund closes the order (status 9)."""
        if not self.refund_records.get(order_id):
            self.request_refund(order_id, at)
        self.refund_records[order_id][-1].update(res_type=2, utime=int(at.timestamp()))
        self.touch(order_id, at, status=9, order_cancel_time=int(at.timestamp()))

    def plain_receiver(self, order_id: str) -> dict:
        o = self.orders[order_id]
        return {"name": o["recipient_name"], "phone": self.real_phones[order_id],
                "address": o["recipient_address"].split("@#")[0]}  # fmt: skip

    # --- test helpers: pushes (the platform posting to our callback URL) ---
    def push(self, kind: str, order_id: str, shop: str = "mt", secret: str | None = None,
             timestamp: int | None = None, encoded_twice: bool = False) -> tuple[dict[str, str], bytes]:  # fmt: skip
        """Headers and form body of a push: kind 'paid' (the whole order), 'cancel' or 'refund'.

        `encoded_twice`: every value URL-encoded once more before the form encoding, as a public
        receiver built on the Java SDK expects (it decodes each value again before checking `sig`).
        """
        o = self.orders[order_id]
        if kind == "paid":
            params = {k: _form(v) for k, v in o.items()}
        elif kind == "cancel":
            params = {"order_id": order_id, "reason_code": "1002", "reason": "用户取消"}
        else:
            params = {"order_id": order_id, "notify_type": "apply", "reason": "不想要了", "res_type": "0"}
        params.update(app_id=self.app_id, timestamp=str(timestamp or int(time.time())))
        url = PUSH_URL.format(shop=shop)
        params["sig"] = _sig(url, params, secret or self.app_secret)
        if encoded_twice:
            params = {k: v if k == "sig" else quote_plus(v) for k, v in params.items()}
        headers = {"Host": "hub.example", "X-Forwarded-Proto": "https",
                   "Content-Type": "application/x-www-form-urlencoded"}  # fmt: skip
        return headers, urlencode(params).encode()

    # --- the gateway ---
    def rate_limited(self, request: Request) -> Response:
        return _error(711, "调用频率超过限制")

    def handle(self, request: Request) -> Response:
        if not request.path.startswith("/api/v1/"):
            return Response.json({"error": "not found"}, status=404)
        api = request.path[len("/api/v1/") :]
        params = {**request.query, **(request.form if request.method == "POST" else {})}
        refusal = self._check(request.path, params, api)
        if refusal is not None:
            return refusal
        handler = self._handlers.get(api)
        if handler is None:
            return _error(808, "接口不存在")
        return handler(params)

    def _check(self, path: str, p: dict, api: str) -> Response | None:
        if p.get("app_id") != self.app_id:
            return _error(701, "app_id不存在")
        if p.get("sig", "") != _sig(self.url + path, p, self.app_secret):
            return _error(703, "签名验证错误")
        ts = p.get("timestamp", "")
        if not ts.isdigit() or abs(int(ts) - time.time()) > 600:
            return _error(705, "timestamp参数错误")
        fault = "" if api == "oauth/token" else self.access_token_fault(p.get("access_token", ""))
        if fault == "expired":
            return _error(1002, "access_token已过期")
        return _error(1001, "access_token无效") if fault else None

    # --- APIs ---
    def _token(self, p: dict) -> Response:
        if p.get("grant_type") == "authorization_code" and self.redeem_code(p.get("code")):
            return Response.json(self.issue_tokens())
        if p.get("grant_type") == "refresh_token" and not self.spend_refresh_token(p.get("refresh_token")):
            return Response.json(self.issue_tokens())
        failed = 1005 if p.get("grant_type") == "authorization_code" else 1006
        return Response.json({"status": failed, "message": "code或refresh_token无效或已过期"})

    def _day_seq(self, p: dict) -> Response:
        if p.get("app_poi_code") != self.poi:
            return _error(808, "门店不存在")
        try:
            day = datetime.strptime(p.get("date_time", ""), "%Y%m%d").date()
            first, last = int(p["day_seq_start"]), int(p["day_seq_end"])
        except (KeyError, ValueError):
            return _error(2001, "参数错误")
        today = self.now.astimezone(SHANGHAI).date()
        if first < 1 or last < first or last - first + 1 > SEGMENT:
            return _error(2001, f"流水号区间须在1到{SEGMENT}之间")
        if day > today or (today - day).days > DAYS_BACK:
            return _error(2001, f"只能查询近{DAYS_BACK}天的订单")
        listed = self.now - self.seq_delay
        rows = self.days.get(day, [])[first - 1 : last]
        return Response.json({"data": {"order_ids": [int(i) for i, paid in rows if paid <= listed]}})

    def _detail(self, p: dict) -> Response:
        order = self.orders.get(str(p.get("order_id")))
        if order is None:
            return _error(808, "订单不存在")
        response = Response.json({"data": order})  # serialised now: later changes do not leak into it
        self.run_next(self.after_detail)
        return response

    def _refund_detail(self, p: dict) -> Response:
        order_id = str(p.get("wm_order_id_view"))
        if order_id not in self.orders:
            return _error(808, "订单不存在")
        return Response.json({"data": self.refund_records.get(order_id, [])})

    def _phones(self, p: dict) -> Response:
        offset, limit = int(p.get("offset", 0)), int(p.get("limit", 0))
        if p.get("app_poi_code") != self.poi or not 0 < limit <= PHONE_LIMIT:
            return _error(2001, "参数错误")
        rows = [{"order_id": o["order_id"], "wm_order_id_view": o["wm_order_id_view"], "app_poi_code": self.poi,
                 "day_seq": o["day_seq"], "real_phone_number": self.real_phones[i]}
                for i, o in self.orders.items()]  # fmt: skip
        self.phone_pulls.append({"offset": offset, "limit": limit})
        return Response.json({"data": rows[offset : offset + limit]})

    def _ship(self, p: dict) -> Response:
        order_id = str(p.get("order_id"))
        if order_id not in self.orders:
            return _error(808, "订单不存在")
        if not p.get("logistics_code") or not p.get("logistics_provider_code"):
            return _error(2001, "物流公司或运单号不能为空")
        self.shipments.append({k: p[k] for k in ("order_id", "logistics_provider_code", "logistics_code")})
        self.touch(order_id, logistics_status=20)
        return Response.json({"data": "ok"})

    def _sku_stock(self, p: dict) -> Response:
        try:
            foods = json.loads(p.get("food_data", ""))
        except ValueError:
            return _error(2001, "food_data格式错误")
        if p.get("app_poi_code") != self.poi:
            return _error(808, "门店不存在")
        for food in foods:
            for sku in food.get("skus") or []:
                if self.spus.get(sku.get("sku_id")) != food.get("app_food_code"):
                    return _error(808, f"商品不存在: {sku.get('sku_id')}")
                self.stock.append({"app_food_code": food["app_food_code"], "sku_id": sku["sku_id"],
                                   "stock": sku.get("stock")})  # fmt: skip
        return Response.json({"data": "ok"})

    # --- building blocks ---
    def _assign_seq(self, order_id: str, at: datetime) -> int:
        rows = self.days.setdefault(at.astimezone(SHANGHAI).date(), [])
        rows.append((order_id, at))
        return len(rows)

    def _item(self, code: str, quantity: int, price: str) -> dict:
        self.spus.setdefault(code, code)  # single-spec goods: app_food_code = sku_id = merchant code
        return {"app_food_code": self.spus[code], "sku_id": code, "food_name": f"商品 {code}", "quantity": quantity,
                "price": _num(Decimal(price)), "original_price": price, "box_num": 0, "box_price": 0, "unit": "件",
                "upc": ""}  # fmt: skip

    def _receiver(self, n: int, region: tuple[str, str, str]) -> dict:
        order_id = str(ORDER_BASE + n)
        self.real_phones[order_id] = f"139{n:08d}"
        street = f"天府大道北段{n}号"
        detail = {"province": region[0], "city": region[1], "area": region[2], "town": "桂溪街道",
                  "detail_address": street}  # fmt: skip
        return {"recipient_name": f"买家{n}(先生)", "recipient_phone": f"1700000{n % 10000:04d}_{n % 10000:04d}",
                "backup_recipient_phone": [], "recipient_address": f"{street}@#{''.join(region)}桂溪街道{street}",
                "recipient_address_detail": json.dumps(detail, ensure_ascii=False),
                "latitude": 30572269, "longitude": 104066541}  # fmt: skip


def _sig(url: str, params: dict, secret: str) -> str:
    pairs = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sig")  # empty values too, as `k=`
    return hashlib.md5(f"{url}?{pairs}{secret}".encode()).hexdigest()


def _error(code: int, msg: str) -> Response:
    return Response.json({"data": "ng", "error": {"code": code, "msg": msg}})


def _num(value: Decimal) -> float:
    """Yuan as the platform writes it: a JSON number (its shortest repr is the exact decimal)."""
    return float(value)


def _form(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return json.dumps(value)
    return str(value)
