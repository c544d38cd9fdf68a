"""A local 快手电商开放平台 (Kuaishou shop) double: the gateway and OAuth contract over real HTTP.

It verifies every API call like the gateway (path = method with dots as slashes, the method's
HTTP verb — GET for the reads in GET_METHODS with `param` in the query, POST with `param` in the
body for the rest, as the Node SDK kuaishou-merchant-open-api sends them — appkey, version 1,
sign over the sorted `k=v&…&signSecret=` string with MD5 hex or base64 HMAC-SHA256, access token
known and not expired) and answers `{result: 1, data}` or `{result, error_msg}`; a wrong verb is
refused (BAD_PARAM, this double's choice: the gateway's answer is not documented). It serves
/oauth2/access_token (GET) and /oauth2/refresh_token (POST, parameters in the query string; a
used refresh token is discarded),
open.order.cursor.list (update-time window ≤ 7 days, ≤ 90 days back, pageSize ≤ 50, cursor
paging ending in "nomore", a list that trails writes by `index_delay`), open.order.detail,
open.order.decrypt.batch, open.seller.order.goods.deliver, open.item.list.get and
open.item.sku.stock.update, and records what the write APIs received. Receivers come back as
ciphertext plus masked forms. `now` is the double's clock (tests step it with the sync's `now`).
"""

import base64
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from tests.platforms.server import SHANGHAI, OAuthDouble, Request, Response, page_of
from tests.platforms.waybill_book import Refused, WaybillBook

MAX_SPAN, LOOKBACK, MAX_PAGE = timedelta(days=7), timedelta(days=90), 50
SIGNED = ("access_token", "appkey", "method", "param", "signMethod", "timestamp", "version")
ACCESS_DENIED, INVALID_GRANT, UNSUPPORTED_GRANT = 100200102, 100200105, 100200104
SIGN_INVALID, THROTTLED, BAD_PARAM, NOT_FOUND = 24, 802006, 2001, 3001
GET_METHODS = {"open.order.cursor.list", "open.order.detail", "open.item.list.get"}


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class KuaishouDouble(OAuthDouble):
    app_key = "ks660340295617067960"
    open_id = "f18759ac87a28ea514bf5724a5df5751"
    access_ttl, refresh_ttl = timedelta(hours=48), timedelta(days=180)

    def __init__(self, app_secret="ks-app-secret-0123", sign_secret="ks-sign-secret-4567",
                 index_delay=timedelta(seconds=5)):  # fmt: skip
        self.app_secret, self.sign_secret, self.index_delay = app_secret, sign_secret, index_delay
        self._api = {"open.order.cursor.list": self._list, "open.order.detail": self._detail,
                     "open.order.decrypt.batch": self._decrypt, "open.seller.order.goods.deliver": self._deliver,
                     "open.item.list.get": self._items, "open.item.sku.stock.update": self._stock,
                     "open.express.ebill.get": self._ebill_get, "open.express.ebill.cancel": self._ebill_cancel}  # fmt: skip
        super().__init__()

    def reset(self) -> None:
        """Forget every order, token, switch and recorded call; the server keeps running."""
        super().reset()
        self.orders: dict[str, dict] = {}
        self.plain: dict[str, str] = {}  # ciphertext → plain text
        self.skus: dict[str, dict] = {}  # merchant code → {kwaiItemId, kwaiSkuId, skuNick, skuStock}
        self.shipments: list[dict] = []
        self.stock_updates: list[dict] = []
        self.decrypts: list[dict] = []
        self.after_page: list[Callable[[KuaishouDouble], None]] = []  # run after each list page served
        self.waybills = WaybillBook("KS55")

    # --- test helpers ---
    def issue_tokens(self) -> dict:
        access, refresh = (
            f"ChFvYXV0aC5hY2Nlc3NUb2tlbh{uuid.uuid4().hex}",
            f"ChJvYXV0aC5yZWZyZXNo{uuid.uuid4().hex}",
        )
        self.grant(access, refresh)
        return {"result": 1, "access_token": access, "refresh_token": refresh, "open_id": self.open_id,
                "expires_in": int(self.access_ttl.total_seconds()),
                "refresh_token_expires_in": int(self.refresh_ttl.total_seconds()),
                "scopes": ["merchant_order", "merchant_item", "merchant_logistics"]}  # fmt: skip

    def add_order(self, n: int, at: datetime, code: str, num: int, price: int, status: int = 30,
                  express: int = 0, discount: int = 0, region=("四川省", "成都市", "武侯区")) -> dict:  # fmt: skip
        """Order n placed (and paid unless status 10) at `at`: `num` × merchant SKU `code` at `price` fen."""
        oid = str(2_321_300_000_000_000 + n)
        sku = self.sku(code)
        base = {"oid": int(oid), "status": status, "createTime": ms(at), "payTime": ms(at) if status != 10 else 0,
                "updateTime": ms(at), "totalFee": price * num + express - discount, "expressFee": express,
                "discountFee": discount, "remark": "", "buyerOpenId": f"buyer{n:08x}", "buyerNick": "买家",
                "validPromiseShipmentTimeStamp": ms(at + timedelta(hours=48))}  # fmt: skip
        item = {"itemId": sku["kwaiItemId"], "skuId": sku["kwaiSkuId"], "relSkuId": 0, "skuNick": code,
                "itemTitle": f"商品 {code}", "num": num, "price": price, "originalPrice": price,
                "discountFee": 0, "orderItemId": int(oid) * 10}  # fmt: skip
        order = {"orderBaseInfo": base, "orderItemInfo": item, "orderRefundList": [],
                 "orderLogisticsInfo": [], "orderAddress": self._address(n, region)}  # fmt: skip
        self.orders[oid] = order
        return order

    def sku(self, code: str, stock: int = 0) -> dict:
        n = len(self.skus)
        return self.skus.setdefault(code, {"kwaiItemId": 21_122_311_900_000 + n, "kwaiSkuId": 7_300_000_000 + n,
                                           "skuNick": code, "skuStock": stock})  # fmt: skip

    def touch(self, oid: str, at: datetime | None = None, **changes) -> dict:
        base = self.orders[oid]["orderBaseInfo"]
        base.update(changes)
        base["updateTime"] = ms(at or self.now)
        return self.orders[oid]

    def pay(self, oid: str, at: datetime) -> None:
        self.touch(oid, at, status=30, payTime=ms(at))

    def cancel(self, oid: str, at: datetime) -> None:
        self.touch(oid, at, status=80)

    def request_refund(self, oid: str, at: datetime) -> None:
        self.orders[oid]["orderRefundList"] = [
            {"refundId": int(oid) + 7, "refundStatus": 10, "handlingWay": 1}
        ]
        self.touch(oid, at)

    def refund(self, oid: str, at: datetime) -> None:
        """A refund before shipping succeeded: the platform closes the order (status 80)."""
        self.orders[oid]["orderRefundList"] = [
            {"refundId": int(oid) + 7, "refundStatus": 60, "handlingWay": 1}
        ]
        self.touch(oid, at, status=80)

    def plain_receiver(self, oid: str) -> tuple[str, str, str]:
        a = self.orders[oid]["orderAddress"]
        return tuple(self.plain[a[k]] for k in ("encryptedConsignee", "encryptedMobile", "encryptedAddress"))

    # --- the gateway ---
    def rate_limited(self, request: Request) -> Response:
        return _error(THROTTLED, "APP已达到调用频次限制，请稍后重试")

    def handle(self, request: Request) -> Response:
        if request.path == "/oauth2/access_token":
            return self._token(request.query)
        if request.path == "/oauth2/refresh_token":
            if request.method != "POST":
                return _error(BAD_PARAM, "请求方式错误，应为POST")
            return self._refresh(request.query)
        query = request.query
        method = query.get("method", "")
        verb = "GET" if method in GET_METHODS else "POST"
        if request.method != verb:
            return _error(BAD_PARAM, f"请求方式错误，应为{verb}")
        param = (query if verb == "GET" else request.form).get("param", "")
        refusal = self._check(request.path, query, param)
        if refusal is not None:
            return refusal
        try:
            params = json.loads(param or "{}")
        except ValueError:
            return _error(BAD_PARAM, "param不是合法的json")
        return self._api[method](params)

    def _check(self, path: str, q: dict, param: str) -> Response | None:
        method = q.get("method", "")
        if method not in self._api or path != "/" + method.replace(".", "/"):
            return _error(BAD_PARAM, "api不存在")
        if q.get("appkey") != self.app_key or q.get("version") != "1":
            return _error(100200101, "app非法", "unauthorized_client")
        if not hmac.compare_digest(q.get("sign", ""), self.expected_sign({**q, "param": param})):
            return _error(SIGN_INVALID, "签名校验失败")
        if self.access_token_fault(q.get("access_token", "")):
            return _error(ACCESS_DENIED, "access_token无效或已过期", "access_denied")
        return None

    def expected_sign(self, q: dict) -> str:
        text = "&".join(f"{k}={q[k]}" for k in sorted(SIGNED) if k in q) + f"&signSecret={self.sign_secret}"
        if q.get("signMethod") == "HMAC_SHA256":
            mac = hmac.new(self.sign_secret.encode(), text.encode(), hashlib.sha256).digest()
            return base64.b64encode(mac).decode()
        return hashlib.md5(text.encode()).hexdigest() if q.get("signMethod") == "MD5" else "?"

    # --- OAuth ---
    def _token(self, q: dict) -> Response:
        if q.get("app_id") != self.app_key or q.get("app_secret") != self.app_secret:
            return _error(100200101, "app非法", "unauthorized_client")
        if q.get("grant_type") != "code":
            return _error(UNSUPPORTED_GRANT, "grant_type错误", "unsupported_grant_type")
        if not self.redeem_code(q.get("code")):
            return _error(INVALID_GRANT, "code无效", "invalid_grant")
        return Response.json(self.issue_tokens())

    def _refresh(self, f: dict) -> Response:
        if f.get("app_id") != self.app_key or f.get("app_secret") != self.app_secret:
            return _error(100200101, "app非法", "unauthorized_client")
        if f.get("grant_type") != "refresh_token":
            return _error(UNSUPPORTED_GRANT, "grant_type错误", "unsupported_grant_type")
        if self.spend_refresh_token(f.get("refresh_token", "")):
            return _error(ACCESS_DENIED, "invalid refresh_token", "access_denied")
        return Response.json(self.issue_tokens())

    # --- API methods ---
    def _list(self, p: dict) -> Response:
        invalid = _list_invalid(p, self.now)
        if invalid:
            return _error(BAD_PARAM, invalid)
        visible = ms(self.now - self.index_delay)
        key = "updateTime" if p.get("queryType") == 2 else "createTime"
        rows = [o for o in self.orders.values()
                if p["beginTime"] <= o["orderBaseInfo"][key] <= min(p["endTime"], visible)]  # fmt: skip
        rows.sort(key=lambda o: _position(o, key), reverse=p.get("sort", 1) != 2)
        page = self._after_cursor(rows, key, str(p.get("cursor") or ""), p.get("sort", 1) == 2)
        size = int(p.get("pageSize") or 10)
        chunk = page[:size]
        cursor = "_".join(map(str, _position(chunk[-1], key))) if len(page) > size else "nomore"
        data = {"cursor": cursor, "orderList": chunk, "pageSize": size,
                "beginTime": p["beginTime"], "endTime": p["endTime"]}  # fmt: skip
        response = Response.json({"result": 1, "data": data})  # serialised now: later changes do not leak
        self.run_next(self.after_page)
        return response

    @staticmethod
    def _after_cursor(rows: list[dict], key: str, cursor: str, ascending: bool) -> list[dict]:
        if not cursor:
            return rows
        mark = tuple(int(x) for x in cursor.split("_"))
        return [o for o in rows if (_position(o, key) > mark if ascending else _position(o, key) < mark)]

    def _detail(self, p: dict) -> Response:
        order = self.orders.get(str(p.get("oid")))
        return (
            _error(NOT_FOUND, "订单不存在") if order is None else Response.json({"result": 1, "data": order})
        )

    def _decrypt(self, p: dict) -> Response:
        batch = p.get("batchDecryptList") or []
        if not batch or len(batch) > 100:
            return _error(BAD_PARAM, "批量解密list，每次请求，报文条数不超过100条")
        self.decrypts.append({"bizIds": [str(b.get("bizId")) for b in batch], "count": len(batch)})
        return Response.json({"result": 1, "data": {"decryptList": [self._decrypt_one(b) for b in batch]}})

    def _decrypt_one(self, b: dict) -> dict:
        cipher, oid = b.get("encryptedData", ""), str(b.get("bizId"))
        own = set((self.orders.get(oid) or {}).get("orderAddress", {}).values())
        if cipher not in own or cipher not in self.plain:
            return {
                "bizId": oid,
                "encryptedData": cipher,
                "decryptedData": "",
                "errorCode": 1,
                "errorMsg": "解密失败",
            }
        return {"bizId": oid, "encryptedData": cipher, "decryptedData": self.plain[cipher], "errorCode": 0}

    def _deliver(self, p: dict) -> Response:
        oid = str(p.get("orderId"))
        if oid not in self.orders:
            return _error(NOT_FOUND, "订单不存在")
        if not p.get("expressNo") or not isinstance(p.get("expressCode"), int):
            return _error(BAD_PARAM, "快递公司code或快递单号不能为空")
        self.shipments.append({k: p.get(k) for k in ("orderId", "expressCode", "expressNo")})
        self.touch(oid, status=40)
        return Response.json({"result": 1, "data": {}})

    def _ebill_get(self, p: dict) -> Response:
        """open.express.ebill.get: one result per request, each its own `data` list (refusal fields
        errorCode/errorMsg are this double's guess — not public)."""
        reqs = p.get("getEbillOrderRequest") or []
        if not 1 <= len(reqs) <= 10:
            return _error(BAD_PARAM, "一次最多取10个")
        self.waybills.calls += 1
        out = []
        for r in reqs:
            try:
                number = self.waybills.take(r["packageCode"], r["receiverAddress"]["provinceName"])
            except Refused as exc:
                code, msg = (
                    ("BALANCE_NOT_ENOUGH", "电子面单余额不足")
                    if exc.kind == "balance"
                    else ("ADDRESS_UNREACHABLE", "收件地址超区，不可达")
                )
                out.append({"requestId": r.get("requestId"), "errorCode": code, "errorMsg": msg, "data": []})
                continue
            out.append(
                {
                    "requestId": r.get("requestId"),
                    "data": [
                        {
                            "waybillCode": number,
                            "printData": "KSENC" + number,
                            "signature": "KSSIG",
                            "key": "K",
                            "version": "1",
                        }
                    ],
                }
            )
        return Response.json({"result": 1, "data": out})

    def _ebill_cancel(self, p: dict) -> Response:
        if not self.waybills.cancel(str(p.get("waybillCode"))):
            return _error(BAD_PARAM, "运单号不存在或已取消")
        return Response.json({"result": 1, "data": True})

    def _items(self, p: dict) -> Response:
        size = min(int(p.get("pageSize") or 100), 100)
        number = int(p.get("pageNumber") or 1)
        items = [{"kwaiItemId": s["kwaiItemId"], "title": f"商品 {code}", "skuList": [dict(s)]}
                 for code, s in sorted(self.skus.items())]  # fmt: skip
        total = max(1, -(-len(items) // size))
        data = {
            "items": page_of(items, number, size),
            "totalPage": total,
            "currentPageNumber": number,
        }
        return Response.json({"result": 1, "data": data})

    def _stock(self, p: dict) -> Response:
        sku = next((s for s in self.skus.values() if s["kwaiSkuId"] == p.get("skuId")
                    and s["kwaiItemId"] == p.get("kwaiItemId")), None)  # fmt: skip
        change, kind = int(p.get("skuChangeStock") or 0), p.get("changeType")
        if sku is None:
            return _error(NOT_FOUND, "商品sku不存在")
        if not 0 < change < 9_999_999 or kind not in (1, 2) or (kind == 2 and change > sku["skuStock"]):
            return _error(BAD_PARAM, "库存变更数量不合法")
        sku["skuStock"] += change if kind == 1 else -change
        self.stock_updates.append(
            {k: p.get(k) for k in ("kwaiItemId", "skuId", "skuChangeStock", "changeType")}
        )
        return Response.json({"result": 1, "data": {}})

    # --- building blocks ---
    def _address(self, n: int, region: tuple[str, str, str]) -> dict:
        name, phone, detail = f"买家{n}", f"139{n:08d}", f"{region[2]}天府大道北段{n}号"
        return {"province": region[0], "city": region[1], "district": region[2], "town": "桂溪街道",
                "encryptedConsignee": self._cipher(name), "encryptedMobile": self._cipher(phone),
                "encryptedAddress": self._cipher(detail), "desensitiseConsignee": name[0] + "**",
                "desensitiseMobile": phone[:3] + "****" + phone[-4:],
                "desensitiseAddress": detail[:4] + "****"}  # fmt: skip

    def _cipher(self, plain: str) -> str:
        """Opaque ciphertext (base64 of a digest, 88 characters), mapped back to plain."""
        text = base64.b64encode(hashlib.sha512(("ks" + plain).encode()).digest()).decode()
        self.plain[text] = plain
        return text


def _position(order: dict, key: str) -> tuple[int, int]:
    base = order["orderBaseInfo"]
    return base[key], base["oid"]


def _error(result: int, msg: str, error: str = "") -> Response:
    body = {"result": result, "error_msg": msg}
    if error:
        body["error"] = error
    return Response.json(body)


def _list_invalid(p: dict, now: datetime) -> str:
    begin, end = p.get("beginTime"), p.get("endTime")
    if not isinstance(begin, int) or not isinstance(end, int) or begin >= end:
        return "beginTime需要小于endTime"
    if end - begin > MAX_SPAN.total_seconds() * 1000:
        return "endTime与beginTime的时间范围不大于7天"
    if begin < ms(now - LOOKBACK):
        return "beginTime不能小于90天前"
    if int(p.get("pageSize") or 0) > MAX_PAGE:
        return "每页请求数量最多50条"
    return ""


__all__ = ["SHANGHAI", "KuaishouDouble", "ms"]
