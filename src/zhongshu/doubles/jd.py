"""Local double of the JD JOS open platform: gateway `/routerjson` and OAuth `/oauth2/...`.

It speaks the JOS contract the connector must meet: system parameters and the MD5 signature
(secret + sorted name+value pairs + secret, upper hex) checked exactly, gateway errors as
{error_response: {code, zh_desc, en_desc}} (12 invalid signature, 19 invalid access_token,
2 App Call Limited, 8 invalid timestamp), `<method>_responce` bodies, and business answers in
`apiResult`. Its clock `now` is the simulated time the test steps (tokens expire by it, the
search index trails it by `index_delay`); the timestamp parameter is checked against the wall
clock, as the gateway does.

The order search (jingdong.pop.order.enSearch) is a live offset query over a store that keeps
changing: with `churn_per_page` > 0, every page served modifies that many matched orders to
`now`, so they leave the window and later orders move up a place, as on the real platform.
"""

import base64
import calendar
import dataclasses
import hashlib
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from zhongshu.doubles.server import PlatformDouble, Request, Response, page_of
from zhongshu.doubles.waybill_book import Refused, WaybillBook

SHANGHAI = ZoneInfo("Asia/Shanghai")
FMT = "%Y-%m-%d %H:%M:%S"
MAX_PAGE_SIZE = 50
OK = {"success": True, "englishErrCode": "success", "chineseErrCode": "成功", "numberCode": 10100000}
ERRORS = {
    "2": ("限制时间内调用失败次数", "App Call Limited"),
    "4": ("缺少版本参数", "Missing Version"),
    "5": ("不支持的版本号", "Unsupported Version"),
    "7": ("缺少时间戳参数", "Missing Timestamp"),
    "8": ("非法的时间戳参数", "Invalid Timestamp"),
    "11": ("缺少签名参数", "Missing Signature"),
    "12": ("无效签名", "Invalid Signature"),
    "14": ("缺少方法名参数", "Missing Method"),
    "15": ("不存在的方法名", "Invalid Method"),
    "19": ("无效access_token", "Invalid access_token"),
}


def jos_sign(params: dict[str, str], secret: str) -> str:
    """The double's own implementation of the JOS signature; a key sent empty counts, as in JD's SDKs."""
    text = secret + "".join(k + v for k, v in sorted(params.items()) if k != "sign") + secret
    return hashlib.md5(text.encode()).hexdigest().upper()


def fmt(dt: datetime) -> str:
    return dt.astimezone(SHANGHAI).strftime(FMT)


def parse(text: str) -> datetime:
    return datetime.strptime(text, FMT).replace(tzinfo=SHANGHAI)


def plus_month(dt: datetime) -> datetime:
    year, month = dt.year + dt.month // 12, dt.month % 12 + 1
    return dt.replace(year=year, month=month, day=min(dt.day, calendar.monthrange(year, month)[1]))


@dataclass
class Item:
    outer_sku_id: str
    sku_id: int
    name: str
    price: Decimal  # jdPrice, yuan
    quantity: int


@dataclass
class Consignee:
    name: str
    mobile: str
    province: str
    city: str
    county: str
    address: str  # full address, as the buyer typed it


@dataclass
class JdOrder:
    order_id: str
    state: str
    created: datetime
    paid: datetime | None
    modified: datetime
    items: list[Item]
    consignee: Consignee
    oaid: str
    freight: Decimal = Decimal("0.00")
    seller_discount: Decimal = Decimal("0.00")
    platform_discount: Decimal = Decimal("0.00")  # JD coupons etc., not the seller's
    state_remark: str = ""
    remark: str = ""
    modifications: int = 0

    @property
    def total(self) -> Decimal:
        return sum((i.price * i.quantity for i in self.items), start=Decimal("0.00"))

    @property
    def payment(self) -> Decimal:
        return self.total - self.seller_discount + self.freight - self.platform_discount


@dataclass
class Token:
    access: str
    refresh: str
    expires_at: datetime


class JdDouble(PlatformDouble):
    def __init__(
        self, app_key: str = "jd-app-key", app_secret: str = "jd-app-secret", now: datetime | None = None
    ):
        super().__init__()
        self.app_key, self.app_secret = app_key, app_secret
        self.now = now or datetime(2026, 3, 10, tzinfo=SHANGHAI)
        self.index_delay = timedelta(minutes=1)
        self.access_ttl = timedelta(days=1)
        self.tokens: dict[str, Token] = {}
        self.codes: set[str] = set()
        self.orders: dict[str, JdOrder] = {}
        self.skus: dict[str, int] = {}  # merchant code (outerId) -> JD skuId
        self.stock: dict[int, int] = {}
        self.shipments: list[dict] = []
        self.stock_updates: list[dict] = []
        self.decrypts: list[dict] = []
        self.gateway_errors: list[str] = []
        self.churn_per_page = 0
        self.search_calls = 0
        self.on_search_call: dict[int, Callable[[], None]] = {}
        self._rng = random.Random(20260310)
        self._seq = 0
        self.waybills = WaybillBook("JDVA")

    # --- test set-up ------------------------------------------------------------------------
    def issue_token(self, expires_at: datetime | None = None) -> Token:
        self._seq += 1
        token = Token(f"at-{self._seq:06d}", f"rt-{self._seq:06d}", expires_at or self.now + self.access_ttl)
        self.tokens[token.access] = token
        return token

    def authorization_code(self) -> str:
        code = f"code-{len(self.codes) + 1}"
        self.codes.add(code)
        return code

    def add_sku(self, outer_id: str) -> int:
        return self.skus.setdefault(outer_id, 10_000_000 + len(self.skus))

    def add_order(self, order_id: str, created: datetime, items: list[tuple[str, str, int]], **kw) -> JdOrder:
        """items: (outer sku, jdPrice, quantity); paid a few minutes after creation unless given."""
        lines = [
            Item(code, self.add_sku(code), f"商品 {code}", Decimal(price), qty) for code, price, qty in items
        ]
        paid = kw.pop("paid", created + timedelta(minutes=2))
        consignee = kw.pop("consignee", None) or Consignee("王小明", "13800138000", "四川", "成都市", "武侯区",
                                                           "四川成都市武侯区天府大道北段1700号")  # fmt: skip
        order = JdOrder(order_id, kw.pop("state", "WAIT_SELLER_STOCK_OUT"), created, paid, kw.pop("modified", paid),
                        lines, consignee, oaid=f"OAID{order_id}", **kw)  # fmt: skip
        self.orders[order_id] = order
        return order

    def modify(
        self, order_id: str, at: datetime, state: str | None = None, state_remark: str = ""
    ) -> JdOrder:
        order = self.orders[order_id]
        order.state, order.modified = state or order.state, at.replace(microsecond=0)
        order.state_remark = state_remark or order.state_remark
        order.modifications += 1
        return order

    # --- encryption of receiver fields (stand-in for JD's TDE ciphertext) --------------------
    def encrypt(self, text: str) -> str:
        key = hashlib.sha256(self.app_secret.encode()).digest()
        data = bytes(b ^ key[i % len(key)] for i, b in enumerate(text.encode()))
        return f"~{base64.b64encode(data).decode()}~1~"

    @staticmethod
    def masked_mobile(mobile: str) -> str:
        return mobile[:3] + "****" + mobile[-4:]

    # --- serving ------------------------------------------------------------------------------
    def rate_limited(self, request: Request) -> Response:
        return self._gateway_error("2")

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/oauth2/"):
            return self._oauth(request)
        if request.path != "/routerjson":
            return Response(404, b'{"error":"not found"}')
        params = request.form if request.method == "POST" else request.query
        error = self._check(params)
        if error:
            self.gateway_errors.append(error)
            return self._gateway_error(error)
        handler = {
            "jingdong.pop.order.enSearch": self._search,
            "jingdong.pop.order.enGet": self._get,
            "jingdong.jos.order.oaid.decrypt": self._decrypt,
            "jingdong.pop.order.shipment": self._ship,
            "jingdong.sku.read.searchSkuList": self._sku_search,
            "jingdong.stock.write.updateSkuStock": self._stock,
            "jingdong.ldop.alpha.waybill.receive": self._waybill_receive,
            "jingdong.printing.printData.pullData": self._print_data,
            "jingdong.ldop.alpha.waybill.api.unbind": self._waybill_unbind,
        }.get(params["method"])
        if handler is None:
            return self._gateway_error("15")
        body = handler(json.loads(params.get("360buy_param_json") or "{}"))
        return Response.json({params["method"].replace(".", "_") + "_responce": {"code": "0", **body}})

    def _check(self, p: dict[str, str]) -> str | None:
        """The gateway's checks, in its order; the error code or None."""
        if not p.get("method"):
            return "14"
        if not p.get("v"):
            return "4"
        if p["v"] != "2.0":
            return "5"
        if not p.get("timestamp"):
            return "7"
        try:
            skew = abs(parse(p["timestamp"]) - datetime.now(UTC))
        except ValueError:
            return "8"
        if skew > timedelta(minutes=6):
            return "8"
        if not p.get("sign"):
            return "11"
        if p.get("app_key") != self.app_key or p["sign"] != jos_sign(p, self.app_secret):
            return "12"
        token = self.tokens.get(p.get("access_token", ""))
        if token is None or token.expires_at <= self.now:
            return "19"
        return None

    @staticmethod
    def _gateway_error(code: str) -> Response:
        zh, en = ERRORS[code]
        return Response.json({"error_response": {"code": code, "zh_desc": zh, "en_desc": en}})

    # --- OAuth ----------------------------------------------------------------------------------
    def _oauth(self, request: Request) -> Response:
        q = request.query
        if request.path == "/oauth2/to_login":
            return Response(200, b"<html>login</html>", {"Content-Type": "text/html"})
        if q.get("app_key") != self.app_key or q.get("app_secret") != self.app_secret:
            return self._oauth_error(401, "app_key或app_secret无效")
        if request.path == "/oauth2/access_token" and q.get("grant_type") == "authorization_code":
            if q.get("code") not in self.codes:
                return self._oauth_error(402, "code无效或已过期")
            self.codes.discard(q["code"])
        elif request.path == "/oauth2/refresh_token" and q.get("grant_type") == "refresh_token":
            old = next((t for t in self.tokens.values() if t.refresh == q.get("refresh_token")), None)
            if old is None:
                return self._oauth_error(402, "refresh_token无效或已过期")
            old.refresh = ""  # a refresh token is used once
        else:
            return self._oauth_error(400, "grant_type无效")
        token = self.issue_token()
        return Response.json({
            "access_token": token.access, "expires_in": int(self.access_ttl.total_seconds()),
            "refresh_token": token.refresh, "scope": "snsapi_base", "open_id": "open-id-1", "uid": "9000001",
            "time": int(self.now.timestamp() * 1000), "token_type": "bearer", "code": 0, "xid": "o*AAxid",
        })  # fmt: skip

    @staticmethod
    def _oauth_error(code: int, msg: str) -> Response:
        return Response.json({"code": code, "msg": msg, "requestId": "req-1"})

    # --- orders ---------------------------------------------------------------------------------
    def _search(self, q: dict) -> dict:
        try:
            start, end = parse(q["start_date"]), parse(q["end_date"])
            page, size = int(q.get("page", 1)), int(q.get("page_size", 20))
        except (KeyError, ValueError):
            return self._refused("参数错误", "param error", 10100001)
        refusal = self._search_refusal(q, start, end, page, size)
        if refusal:
            return refusal
        rows = self._matching(q, start, end)
        chunk = page_of(rows, page, size)
        answer = {
            "orderInfoList": [self.info(o, q["optional_fields"]) for o in chunk],
            "orderTotal": len(rows),
        }
        self.search_calls += 1
        self._after_page(rows)
        return {"searchorderinfo_result": {**answer, "apiResult": OK}}

    def _search_refusal(self, q: dict, start: datetime, end: datetime, page: int, size: int) -> dict | None:
        if not q.get("optional_fields"):
            return self._refused("optional_fields不能为空", "optional_fields required", 10100002)
        if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
            return self._refused("page_size最大50", "page_size out of range", 10100003)
        if end < start or end > plus_month(start):
            return self._refused("开始时间和结束时间不得相差超过1个月", "date range over one month", 10100004)
        if str(q.get("dateType", 0)) != "1" and start < self.now - timedelta(days=92):
            return self._refused("按修改时间只能查询三个月内", "modified range over 3 months", 10100005)
        return None

    def _matching(self, q: dict, start: datetime, end: datetime) -> list[JdOrder]:
        states = set(str(q.get("order_state", "")).split(","))
        by_created = str(q.get("dateType", 0)) == "1"
        visible_until = self.now - self.index_delay

        def when(o: JdOrder) -> datetime:
            return o.created if by_created else o.modified

        rows = [o for o in self.orders.values() if o.state in states and o.modified <= visible_until
                and start <= when(o) <= end]  # fmt: skip
        return sorted(rows, key=lambda o: (when(o), o.order_id), reverse=str(q.get("sortType", 0)) == "1")

    def _after_page(self, rows: list[JdOrder]) -> None:
        action = self.on_search_call.pop(self.search_calls, None)
        if action:
            action()
        for order in self._rng.sample(rows, min(self.churn_per_page, len(rows))):
            self.modify(order.order_id, self.now)

    def _get(self, q: dict) -> dict:
        order = self.orders.get(str(q.get("order_id")))
        if order is None or not q.get("optional_fields"):
            return {"orderDetailInfo": {"apiResult": {**OK, "success": False, "numberCode": 10100010}}}
        return {"orderDetailInfo": {"orderInfo": self.info(order, q["optional_fields"]), "apiResult": OK}}

    @staticmethod
    def _refused(zh: str, en: str, number: int) -> dict:
        api = {"success": False, "chineseErrCode": zh, "englishErrCode": en, "numberCode": number}
        return {"searchorderinfo_result": {"orderInfoList": [], "orderTotal": 0, "apiResult": api}}

    def info(self, o: JdOrder, fields: str) -> dict:
        """The order as JOS answers it (amounts as yuan strings, receiver encrypted)."""
        c = o.consignee
        full = {
            "orderId": o.order_id, "venderId": "20001", "orderType": "22", "payType": "4-在线支付",
            "orderState": o.state, "orderStateRemark": o.state_remark,
            "orderTotalPrice": str(o.total), "orderSellerPrice": str(o.total - o.seller_discount),
            "orderPayment": str(o.payment), "freightPrice": str(o.freight), "sellerDiscount": str(o.seller_discount),
            "orderStartTime": fmt(o.created), "paymentConfirmTime": fmt(o.paid) if o.paid else "",
            "modified": fmt(o.modified), "orderRemark": o.remark, "pin": "", "open_id_buyer": f"ob-{o.order_id}",
            "consigneeInfo": {
                "fullname": self.encrypt(c.name), "mobile": self.encrypt(c.mobile), "telephone": "",
                "fullAddress": self.encrypt(c.address), "province": c.province, "city": c.city, "county": c.county,
                "town": "", "oaid": o.oaid, "desen_mobile": self.masked_mobile(c.mobile),
            },
            "itemInfoList": [
                {"skuId": str(i.sku_id), "outerSkuId": i.outer_sku_id, "skuName": i.name, "jdPrice": str(i.price),
                 "itemTotal": str(i.quantity), "wareId": str(i.sku_id // 10), "giftPoint": "0"}
                for i in o.items
            ],
        }  # fmt: skip
        wanted = set(fields.split(","))
        return {k: v for k, v in full.items() if k in wanted}

    # --- receiver decryption, shipment, stock ------------------------------------------------
    def _decrypt(self, q: dict) -> dict:
        vo = q.get("getReceiverInfoListReqVO") or {}
        self.decrypts.append(vo)
        data = []
        for ref in vo.get("orderInfos") or []:
            order = self.orders.get(str(ref.get("orderId")))
            if order is None or ref.get("oaid") != order.oaid:
                return {
                    "returnType": {"code": 400, "message": "oaid与订单不匹配", "requestId": "r", "data": []}
                }
            c = order.consignee
            data.append({"orderId": int(order.order_id), "oaid": order.oaid, "customerName": c.name,
                         "consMobilePhone": c.mobile, "address": c.address, "customerPhone": ""})  # fmt: skip
        return {"returnType": {"code": 200, "message": "success", "requestId": "r", "data": data}}

    def _ship(self, q: dict) -> dict:
        self.shipments.append(dict(q))
        order = self.orders.get(str(q.get("orderId")))
        if order is None or not q.get("logiCoprId") or not q.get("logiNo"):
            fail = {"success": False, "chineseErrCode": "订单不存在或参数错误", "errorCode": "10400001"}
            return {"sopjosshipment_result": fail}
        self.modify(order.order_id, self.now, "WAIT_GOODS_RECEIVE_CONFIRM")
        return {
            "sopjosshipment_result": {"success": True, "chineseErrCode": "成功", "englishErrCode": "success"}
        }

    def _sku_search(self, q: dict) -> dict:
        rows = [
            {"skuId": sku_id, "outerId": outer}
            for outer, sku_id in self.skus.items()
            if outer == q.get("outId")
        ]
        return {"page": {"data": rows, "pageNo": 1, "pageSize": 20, "totalItem": len(rows)}}

    def _stock(self, q: dict) -> dict:
        self.stock_updates.append(dict(q))
        if int(q.get("skuId", 0)) not in self.skus.values():
            return {"success": False}
        self.stock[int(q["skuId"])] = int(q["stockNum"])
        return {"success": True}

    # --- 无界电子面单: resultInfo {statusCode, statusMessage, data}; refusal codes are this double's ---
    def _waybill_receive(self, q: dict) -> dict:
        c = json.loads(q.get("content") or "{}")
        if not c.get("providerId") or not c.get("toAddress") or not c.get("venderOrderCode"):
            return {"resultInfo": {"statusCode": 1001, "statusMessage": "参数错误"}}
        self.waybills.calls += 1
        try:
            number = self.waybills.take(c["venderOrderCode"], c["toAddress"]["provinceName"])
        except Refused as exc:
            code, msg = (2001, "单号库存不足") if exc.kind == "balance" else (2002, "收件地址超区")
            return {"resultInfo": {"statusCode": code, "statusMessage": msg}}
        data = {"platformOrderNo": c.get("platformOrderNo"), "waybillCodeList": [number]}
        return {"resultInfo": {"statusCode": 0, "statusMessage": "成功", "data": data}}

    def _print_data(self, q: dict) -> dict:
        infos = (q.get("param1") or {}).get("wayBillInfos") or []
        rows = [
            {"wayBillNo": i["wayBillCode"], "perPrintData": "JDENC" + i["wayBillCode"]}
            for i in infos
            if self.waybills.known(i.get("wayBillCode", ""))
        ]
        return {"returnType": {"code": 1, "message": "成功", "prePrintDatas": rows}}

    def _waybill_unbind(self, q: dict) -> dict:
        c = json.loads(q.get("content") or "{}")
        ok = self.waybills.cancel(str(c.get("waybillCode")))
        return {
            "resultInfo": {"statusCode": 0 if ok else 3001, "statusMessage": "成功" if ok else "运单不存在"}
        }

    # --- helpers for assertions ------------------------------------------------------------------
    def snapshot(self) -> dict[str, JdOrder]:
        return {k: dataclasses.replace(v) for k, v in self.orders.items()}

    def searches(self) -> list[dict]:
        """Business parameters of every order search received (signature-checked or not)."""
        out = []
        for r in self.requests:
            form = r.form if r.method == "POST" else r.query
            if form.get("method") == "jingdong.pop.order.enSearch":
                out.append(json.loads(form["360buy_param_json"]))
        return out


__all__ = ["Consignee", "JdDouble", "JdOrder", "jos_sign"]
