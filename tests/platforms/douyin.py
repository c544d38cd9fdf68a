"""A local 抖店 (Douyin shop) open-platform double: the gateway's contract over real HTTP.

It verifies every call like the gateway (app_key, timestamp within 10 minutes, sign = HMAC-SHA256 of
the secret-wrapped `app_key…method…param_json…timestamp…v` string, access token known and not
expired) and answers the platform's envelope `{code, msg, sub_code, sub_msg, data, log_id}` with its
real error codes. It serves token.create / token.refresh, order.searchList (update-time window,
page from 0, size ≤ 100, the 50,000-row cap, the 90-day look-back, a search index that trails
writes by `index_delay`), order.orderDetail, order.batchDecrypt, order.logisticsAdd and
sku.syncStock, and records what the write APIs received. Receivers come back as ciphertext and
masked forms, as the platform returns them.

`now` is the double's clock for data and token expiry (tests step it with the sync's `now`);
request timestamps are checked against the wall clock, as the gateway does.
"""

import base64
import hashlib
import hmac
import json
import re
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from tests.platforms.server import SHANGHAI, OAuthDouble, Request, Response, page_of
from tests.platforms.waybill_book import Refused, WaybillBook

MAX_SIZE, MAX_ROWS, LOOKBACK = 100, 50_000, timedelta(days=90)
TOKEN_METHODS = {"token.create", "token.refresh"}
TOKEN_FAULTS = {
    "missing": (40001, "缺少必选参数（平台校验）", "isv.access-token-missing", "access_token不能为空"),
    "unknown": (40003, "非法的参数（平台校验）", "isv.access-token-no-existed", "access_token不存在"),
    "expired": (40003, "非法的参数（平台校验）", "isv.access-token-expired", "access_token已过期"),
}


class DouyinDouble(OAuthDouble):
    app_key = "7010000000000000001"
    shop_id = "4463798"
    access_ttl, refresh_ttl = timedelta(days=7), timedelta(days=14)

    def __init__(
        self, app_secret: str = "dy-secret-0123456789", index_delay: timedelta = timedelta(seconds=5)
    ):
        self.app_secret = app_secret
        self.index_delay = index_delay
        self._handlers = {
            "token.create": self._token_create,
            "token.refresh": self._token_refresh,
            "order.searchList": self._search,
            "order.orderDetail": self._detail,
            "order.batchDecrypt": self._decrypt,
            "order.logisticsAdd": self._ship,
            "sku.syncStock": self._sync_stock,
            "logistics.newCreateOrder": self._waybill_create,
            "logistics.waybillApply": self._waybill_apply,
            "logistics.cancelOrder": self._waybill_cancel,
        }
        super().__init__()

    def reset(self) -> None:
        """Forget every order, token, switch and recorded call; the server keeps running."""
        super().reset()
        self.orders: dict[str, dict] = {}
        self.plain: dict[str, str] = {}  # ciphertext → plain text
        self.sku_ids: dict[str, int] = {}  # merchant SKU code → platform sku_id
        self.shipments: list[dict] = []
        self.stock: list[dict] = []
        self.decrypts: list[dict] = []
        self.after_search: list[Callable[[DouyinDouble], None]] = []  # run after each page served
        self.waybills = WaybillBook("DY66")

    # --- test helpers: authorisation ---
    def issue_tokens(self) -> dict:
        access, refresh = f"at-{uuid.uuid4()}", f"rt-{uuid.uuid4()}"
        self.grant(access, refresh)
        return {"access_token": access, "refresh_token": refresh, "expires_in": int(self.access_ttl.total_seconds()),
                "scope": "SCOPE", "shop_id": int(self.shop_id), "shop_name": "抖店测试旗舰店",
                "authority_id": self.shop_id, "auth_subject_type": "MiniShop"}  # fmt: skip

    # --- test helpers: orders ---
    def add_order(self, n: int, at: datetime, lines: list[tuple[str, int, int]], status: int = 2,
                  post_fen: int = 0, promo_fen: int = 0, region=("四川省", "成都市", "武侯区")) -> dict:  # fmt: skip
        """Order number n placed (and paid unless status 1) at `at`; lines are (code, quantity, price in fen)."""
        order_id = str(6_920_000_000_000_000_000 + n)
        ts = int(at.timestamp())
        skus = [self._sku(order_id, i, *line, ts if status != 1 else 0) for i, line in enumerate(lines)]
        goods = sum(s["sum_amount"] for s in skus)
        order = {
            "order_id": order_id, "shop_id": int(self.shop_id), "order_status": status, "main_status": status,
            "order_status_desc": {1: "待支付", 2: "备货中", 4: "已取消"}.get(status, ""),
            "create_time": ts, "pay_time": ts if status != 1 else 0, "update_time": ts, "exp_ship_time": ts + 172800,
            "order_amount": goods + post_fen, "pay_amount": goods + post_fen - promo_fen, "post_amount": post_fen,
            "promotion_amount": promo_fen, "modify_amount": 0, "buyer_words": "", "doudian_open_id": f"1@#{n:016x}",
            **self._receiver(n, region), "sku_order_list": skus,
        }  # fmt: skip
        self.orders[order_id] = order
        return order

    def touch(self, order_id: str, at: datetime | None = None, **changes) -> dict:
        order = self.orders[order_id]
        order.update(changes)
        order["update_time"] = int((at or self.now).timestamp())
        return order

    def pay(self, order_id: str, at: datetime) -> None:
        ts = int(at.timestamp())
        for s in self.orders[order_id]["sku_order_list"]:
            s["pay_time"] = ts
        self.touch(order_id, at, order_status=2, main_status=2, pay_time=ts)

    def cancel(self, order_id: str, at: datetime) -> None:
        self.touch(order_id, at, order_status=4, main_status=4, order_status_desc="已取消")

    def request_refund(self, order_id: str, at: datetime) -> None:
        self._after_sale(order_id, {"after_sale_status": 6, "after_sale_type": 2, "refund_status": 1})
        self.touch(order_id, at)

    def refund(self, order_id: str, at: datetime) -> None:
        """A refund before shipping succeeded: the platform closes the order (status 4)."""
        self._after_sale(order_id, {"after_sale_status": 12, "after_sale_type": 2, "refund_status": 3})
        self.touch(order_id, at, order_status=4, main_status=4, order_status_desc="已取消")

    def plain_receiver(self, order_id: str) -> dict:
        o = self.orders[order_id]
        return {k: self.plain[o[k]] for k in ("encrypt_post_receiver", "encrypt_post_tel")} | {
            "detail": self.plain[o["post_addr"]["encrypt_detail"]]
        }

    # --- test helpers: push messages (消息推送) ---
    def push_message(self, tag: str, order_ids: list[str], msg_id: str = "", sign_method: str = "md5",
                     secret: str | None = None) -> tuple[dict[str, str], bytes]:  # fmt: skip
        """Headers and body of a push of one message per order (tag 101 = 订单支付)."""
        items = [{"tag": tag, "msg_id": msg_id or uuid.uuid4().hex, "data": json.dumps(self._push_data(i))}
                 for i in order_ids]  # fmt: skip
        body = json.dumps(items).encode()
        payload = self.app_key.encode() + body + (secret or self.app_secret).encode()
        key = (secret or self.app_secret).encode()
        sign = (
            hmac.new(key, payload, hashlib.sha256) if sign_method == "hmac-sha256" else hashlib.md5(payload)
        )
        headers = {"app-id": self.app_key, "event-sign": sign.hexdigest(), "sign-method": sign_method,
                   "Content-Type": "application/json"}  # fmt: skip
        return headers, body

    # --- the gateway ---
    def rate_limited(self, request: Request) -> Response:
        return _envelope(60000, "触发限流，请稍后重试")

    def handle(self, request: Request) -> Response:
        q = request.query
        method = q.get("method", "")
        body = request.body.decode()
        refusal = self._check(request.path, q, method, body)
        if refusal is not None:
            return refusal
        handler = self._handlers.get(method)
        if handler is None:
            return _envelope(70000, "接口服务已下线", "isp.api-service-off", "API不存在或API已下线")
        return handler(json.loads(body or "{}"))

    def _check(self, path: str, q: dict, method: str, body: str) -> Response | None:
        if path != "/" + method.replace(".", "/"):
            return _envelope(70000, "接口服务已下线", "isp.api-service-off", "API不存在或API已下线")
        if q.get("app_key") != self.app_key:
            return _envelope(
                40001, "缺少必选参数（平台校验）", "isv.app-id-missing", "认证失败，app_key不存在"
            )
        if not q.get("sign"):
            return _envelope(40001, "缺少必选参数（平台校验）", "isv.signature-missing", "获取签名失败")
        if not hmac.compare_digest(q["sign"], self._expected_sign(q, method, body)):
            return _envelope(40003, "非法的参数（平台校验）", "isv.signature-invalid", "签名校验失败")
        if not _fresh(q.get("timestamp", "")):
            return _envelope(40003, "非法的参数（平台校验）", "isv.timestamp-invalid", "时间戳不合法")
        try:
            json.loads(body or "{}")
        except ValueError:
            return _envelope(
                40003, "非法的参数（平台校验）", "isv.parameter-format-invalid", "业务参数json解析失败"
            )
        return None if method in TOKEN_METHODS else self._check_token(q.get("access_token", ""))

    def _expected_sign(self, q: dict, method: str, body: str) -> str:
        pattern = f"app_key{self.app_key}method{method}param_json{body}timestamp{q.get('timestamp', '')}v{q.get('v')}"
        wrapped = (self.app_secret + pattern + self.app_secret).encode()
        if q.get("sign_method") == "hmac-sha256":
            return hmac.new(self.app_secret.encode(), wrapped, hashlib.sha256).hexdigest()
        return hashlib.md5(wrapped).hexdigest()

    def _check_token(self, token: str) -> Response | None:
        fault = self.access_token_fault(token)
        return _envelope(*TOKEN_FAULTS[fault]) if fault else None

    # --- methods ---
    def _token_create(self, p: dict) -> Response:
        if p.get("grant_type") != "authorization_code":
            return _token_failed("grant-type-invalid")
        if not self.redeem_code(p.get("code")):
            return _token_failed("code-invalid")
        return _envelope(data=self.issue_tokens())

    def _token_refresh(self, p: dict) -> Response:
        if p.get("grant_type") != "refresh_token":
            return _token_failed("grant-type-invalid")
        fault = self.spend_refresh_token(p.get("refresh_token", ""))
        if fault:
            return _token_failed({"unknown": "token-invalid", "expired": "token-expired"}[fault])
        return _envelope(data=self.issue_tokens())

    def _search(self, p: dict) -> Response:
        page, size = int(p.get("page", 0)), int(p.get("size", 10))
        invalid = _search_invalid(p, page, size, self.now)
        if invalid:
            return _envelope(
                40004, "非法的参数（业务校验）", f"isv.parameter-invalid:{invalid[0]}", invalid[1]
            )
        rows = self._window(
            int(p["update_time_start"]), int(p.get("update_time_end") or self.now.timestamp())
        )
        rows.sort(key=lambda o: (o["update_time"], o["order_id"]), reverse=not p.get("order_asc", False))
        data = {
            "page": page,
            "size": size,
            "total": len(rows),
            "shop_order_list": page_of(rows, page + 1, size),
        }
        response = _envelope(data=data)  # serialised now: later changes do not leak into this page
        self.run_next(self.after_search)
        return response

    def _window(self, start: int, end: int) -> list[dict]:
        indexed = int((self.now - self.index_delay).timestamp())
        return [o for o in self.orders.values() if start <= o["update_time"] <= min(end, indexed)]

    def _detail(self, p: dict) -> Response:
        order = self.orders.get(str(p.get("shop_order_id")))
        if order is None:
            return _envelope(50002, "业务处理失败", "isv.business-failed:20001", "订单不存在")
        return _envelope(data={"shop_order_detail": order})

    def _decrypt(self, p: dict) -> Response:
        infos = p.get("cipher_infos") or []
        if not infos or len(infos) > 50:
            return _envelope(40004, "非法的参数（业务校验）", "isv.parameter-invalid", "最大支持一次解密50条")
        out = [self._decrypt_one(str(i.get("auth_id")), i.get("cipher_text", "")) for i in infos]
        self.decrypts.append({"auth_ids": [str(i.get("auth_id")) for i in infos], "count": len(infos)})
        return _envelope(data={"decrypt_infos": out, "custom_err": {"err_code": 0, "err_msg": ""}})

    def _decrypt_one(self, auth_id: str, cipher: str) -> dict:
        order = self.orders.get(auth_id, {})
        own = {order.get("encrypt_post_receiver"), order.get("encrypt_post_tel"),
               (order.get("post_addr") or {}).get("encrypt_detail")}  # fmt: skip
        if cipher not in own:
            return {"auth_id": auth_id, "cipher_text": cipher, "decrypt_text": "", "err_no": 300008,
                    "err_msg": "解密失败"}  # fmt: skip
        return {"auth_id": auth_id, "cipher_text": cipher, "decrypt_text": self.plain[cipher], "err_no": 0,
                "err_msg": "", "is_virtual_tel": False}  # fmt: skip

    def _ship(self, p: dict) -> Response:
        order_id = str(p.get("order_id"))
        if order_id not in self.orders:
            return _envelope(50002, "业务处理失败", "isv.business-failed:20001", "订单不存在")
        if not p.get("logistics_code") or not (p.get("company_code") or p.get("logistics_id")):
            return _envelope(
                40002, "缺少必选参数（业务校验）", "isv.missing-parameter", "物流公司或运单号不能为空"
            )
        self.shipments.append({k: p.get(k) for k in ("order_id", "company_code", "logistics_code")})
        self.touch(order_id, order_status=3, main_status=3, order_status_desc="已发货")
        return _envelope(data={})

    def _sync_stock(self, p: dict) -> Response:
        sku_id = self.sku_ids.get(str(p.get("code")))
        if sku_id is None:
            return _envelope(40004, "非法的参数（业务校验）", "isv.parameter-invalid:5", "找不到对应的sku")
        if int(p.get("stock_num", -1)) < 0:
            return _envelope(40004, "非法的参数（业务校验）", "isv.parameter-invalid", "库存值不能小于0")
        self.stock.append({"code": p["code"], "sku_id": sku_id, "stock_num": int(p["stock_num"]),
                           "incremental": bool(p.get("incremental", False))})  # fmt: skip
        return _envelope(data={})

    # --- e-waybills (LogisticsNewCreateOrder.cs / LogisticsWaybillApply.cs): per-package err_infos;
    # the err_code values are this double's (the real ones are not public) ---
    def _waybill_create(self, p: dict) -> Response:
        infos = p.get("order_infos") or []
        if not p.get("logistics_code") or not p.get("sender_info") or not 1 <= len(infos) <= 50:
            return _envelope(40004, "非法的参数（业务校验）", "isv.parameter-invalid", "order_infos 最多50个")
        self.waybills.calls += 1
        ebills, errors = [], []
        for info in infos:
            if not re.fullmatch(r"[0-9A-Za-z_]{1,15}", str(info.get("pack_id") or "0")):
                return _envelope(40004, "非法的参数（业务校验）", "isv.parameter-invalid:4010",
                                 "包裹id只能传入15位以内的数字、字母和下划线")  # fmt: skip
            key = f"{info.get('order_id')}/{info.get('pack_id')}"  # same order, same pack_id → same number
            province = info["receiver_info"]["address"]["province_name"]
            try:
                number = self.waybills.take(key, province)
            except Refused as exc:
                code, msg = (
                    (3001, "电子面单余额不足") if exc.kind == "balance" else (3002, "收件地址超区，不可达")
                )
                errors.append(
                    {
                        "order_id": info.get("order_id"),
                        "pack_id": info.get("pack_id"),
                        "err_code": code,
                        "err_msg": msg,
                    }
                )
                continue
            ebills.append({"order_id": info.get("order_id"), "pack_id": info.get("pack_id"), "track_no": number,
                           "company": p["logistics_code"], "sort_code": "510-A12", "package_center_code": "028",
                           "package_center_name": "成都转运中心", "short_address_code": "028",
                           "short_address_name": f"川 {province[:2]}"})  # fmt: skip
        return _envelope(data={"ebill_infos": ebills, "err_infos": errors})

    def _waybill_apply(self, p: dict) -> Response:
        rows = [a for a in p.get("waybill_applies") or [] if self.waybills.known(str(a.get("track_no")))]
        return _envelope(data={"waybill_infos": [{"track_no": a["track_no"], "print_data": "DYENC" + a["track_no"],
                                                  "sign": "DYSIG" + a["track_no"]} for a in rows]})  # fmt: skip

    def _waybill_cancel(self, p: dict) -> Response:
        if not self.waybills.cancel(str(p.get("track_no"))):
            return _envelope(50002, "业务处理失败", "isv.business-failed:3003", "运单号不存在或已取消")
        return _envelope(data={"cancel_result": {"success": True}})

    # --- building blocks ---
    def _sku(self, order_id: str, i: int, code: str, quantity: int, price: int, paid_ts: int) -> dict:
        sku_id = self.sku_ids.setdefault(code, 3_500_000_000_000 + len(self.sku_ids))
        return {"order_id": f"{order_id}{i}", "parent_order_id": order_id, "sku_id": sku_id, "code": code,
                "out_sku_id": "", "product_name": f"商品 {code}", "item_num": quantity, "goods_price": price,
                "origin_amount": price, "sum_amount": price * quantity, "pay_amount": price * quantity,
                "pay_time": paid_ts, "pre_sale_type": 0,
                "after_sale_info": {"after_sale_status": 0, "after_sale_type": 0, "refund_status": 0}}  # fmt: skip

    def _receiver(self, n: int, region: tuple[str, str, str]) -> dict:
        name, phone, detail = f"买家{n}", f"138{n:08d}", f"天府大道北段{n}号"
        addr = {"province": {"name": region[0], "id": "51"}, "city": {"name": region[1], "id": "510100"},
                "town": {"name": region[2], "id": "510107"}, "street": {"name": "桂溪街道", "id": "510107001"},
                "encrypt_detail": self._cipher("#", detail, 140)}  # fmt: skip
        return {"encrypt_post_receiver": self._cipher("##", name, 120), "mask_post_receiver": name[0] + "**",
                "encrypt_post_tel": self._cipher("$$", phone, 120), "mask_post_tel": phone[:3] + "****" + phone[-4:],
                "post_addr": addr, "mask_post_addr": {**addr, "detail": detail[:4] + "****"}}  # fmt: skip

    def _cipher(self, mark: str, plain: str, length: int) -> str:
        """Ciphertext shaped like the platform's (`##…*…#1##`, `$$…$1$$`, `#idx#…#1##`), mapped back to plain."""
        raw = hashlib.sha512((mark + plain).encode()).digest() * 3
        body = base64.b64encode(raw).decode()[:length]
        key = base64.b64encode(hashlib.sha256(plain.encode()).digest()).decode()
        end = mark[0] + "1" + mark
        text = f"{mark}{body}*{key}{end}" if mark != "#" else f"#{key[:4]}#{body}*{key}#1##"
        self.plain[text] = plain
        return text

    def _after_sale(self, order_id: str, info: dict) -> None:
        for s in self.orders[order_id]["sku_order_list"]:
            s["after_sale_info"] = dict(info)

    def _push_data(self, order_id: str) -> dict:
        o = self.orders[order_id]
        return {"p_id": int(order_id), "s_ids": [int(s["order_id"]) for s in o["sku_order_list"]],
                "shop_id": int(self.shop_id), "order_status": o["order_status"], "order_type": 0, "biz": 2,
                "pay_type": 1, "pay_time": o["pay_time"], "pay_amount": o["pay_amount"]}  # fmt: skip


def _envelope(
    code: int = 10000, msg: str = "success", sub_code: str = "", sub_msg: str = "", data=None
) -> Response:
    body = {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg, "log_id": uuid.uuid4().hex}
    if data is not None:
        body["data"] = data
    return Response.json(body)


def _token_failed(reason: str) -> Response:
    return _envelope(50001, "平台处理失败", f"dop.token-generate-failed:{reason}", "生成token失败")


def _fresh(timestamp: str) -> bool:
    """Unix seconds, or 'yyyy-MM-dd HH:mm:ss' in GMT+8; within 10 minutes of the gateway's clock."""
    try:
        ts = int(timestamp) if timestamp.isdigit() else _parse_local(timestamp)
    except ValueError:
        return False
    return abs(ts - time.time()) <= 600


def _parse_local(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI).timestamp())


def _search_invalid(p: dict, page: int, size: int, now: datetime) -> tuple[str, str] | None:
    if size > MAX_SIZE:
        return "20008", "单次查询订单数超过限制"
    if page < 0:
        return "10035", "查询订单列表页数不能小于0"
    if "update_time_start" not in p:
        return "20011", "订单查询开始时间不能为空"
    if int(p["update_time_start"]) < (now - LOOKBACK).timestamp():
        return "20022", "订单查询只支持查询最近90天内的数据"
    if (page + 1) * size > MAX_ROWS:
        return "20013", "订单查询最多支持查询5万"
    return None
