"""Local double of the Taobao/Tmall TOP gateway (`/router/rest`), speaking the real contract.

What it enforces, as the platform does: the request signature (md5 / hmac / hmac-sha256 over the
sorted k+v pairs, exact upper-case hex) → error 25; app key → 29; timestamp within 10 minutes of the
real clock → 31; session (access token) present, known and unexpired on the double's simulated
clock → 26 / 27 invalid-sessionkey; `trades.sold.increment.get` window ≤ 1 day and page_size
1–100 → 41; its results sorted by modified time descending, and orders modified in the last
`index_delay` not yet visible (the index trails the store). `churn_per_page` modifies that many
orders of the queried window after every page served, as buyers and sellers keep working while a
client pages: a client paging forward misses orders, one paging from the last page does not.
Throttling answers error 7 App Call Limited with `accesscontrol.limited-by-app-access-count`.

`now` is the double's clock: tests step it together with `sync_shop(now=...)`.
"""

import hashlib
import hmac
import json
import random
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from zhongshu.doubles.server import PlatformDouble, Request, Response, page_of
from zhongshu.doubles.waybill_book import Refused, WaybillBook

SHANGHAI = ZoneInfo("Asia/Shanghai")
FMT = "%Y-%m-%d %H:%M:%S"
SESSION_FREE = {"taobao.top.auth.token.create", "taobao.top.auth.token.refresh"}


def fmt(dt: datetime) -> str:
    return dt.astimezone(SHANGHAI).strftime(FMT)


def parse(value: str) -> datetime:
    return datetime.strptime(value, FMT).replace(tzinfo=SHANGHAI)


def top_sign(params: dict, secret: str) -> str:
    """The double's own reading of the TOP signing rule (kept apart from the connector's code)."""
    pairs = "".join(k + str(params[k]) for k in sorted(params) if k != "sign" and params[k] != "")
    method = params.get("sign_method", "md5")
    if method == "md5":
        return hashlib.md5((secret + pairs + secret).encode()).hexdigest().upper()
    digest = {"hmac": hashlib.md5, "hmac-sha256": hashlib.sha256}.get(method)
    return hmac.new(secret.encode(), pairs.encode(), digest).hexdigest().upper() if digest else ""


def error(code: int, msg: str, sub_code: str = "", sub_msg: str = "") -> Response:
    body = {"code": code, "msg": msg, "request_id": secrets.token_hex(6)}
    body |= {"sub_code": sub_code} if sub_code else {}
    body |= {"sub_msg": sub_msg} if sub_msg else {}
    return Response.json({"error_response": body})


class ApiError(Exception):
    def __init__(self, response: Response):
        self.response = response


def mask_name(name: str) -> str:
    return name[0] + "*" * (len(name) - 1)


def mask_mobile(mobile: str) -> str:
    return "*******" + mobile[-4:]


class TaobaoDouble(PlatformDouble):
    def __init__(self, now: datetime, app_key: str = "12345678", app_secret: str = "tb-secret-0123456789"):
        super().__init__()
        self.now, self.app_key, self.app_secret = now, app_key, app_secret
        self.seller_id = "2200001234567"
        self.index_delay = timedelta(seconds=30)
        self.churn_per_page = 0
        self.churned: set[str] = set()
        self.trades: dict[str, dict] = {}  # tid → TOP trade JSON
        self.modified: dict[str, datetime] = {}
        self.plain: dict[str, dict] = {}  # tid → the unmasked receiver (what oaid decrypt returns)
        self.access: dict[str, datetime] = {}  # access token → expiry
        self.refresh_tokens: dict[str, datetime] = {}
        self.codes: set[str] = set()
        self.items: dict[str, list[tuple[int, int | None]]] = {}  # outer id → [(num_iid, sku_id)]
        self.quantities: dict[tuple[int, int | None], int] = {}
        self.shipments: list[dict] = []
        self.stock_updates: list[dict] = []
        self.decrypts: list[dict] = []
        self.methods: list[str] = []
        self.page_hooks: list[Callable[[int], None]] = []  # called with the count of pages served so far
        self.pages_served = 0
        self.waybills = WaybillBook("7730")  # Cainiao numbers (中通-like 77…)

    # --- test helpers -----------------------------------------------------------------------
    def issue_token(
        self, ttl: timedelta = timedelta(days=1), refresh_ttl: timedelta = timedelta(days=30)
    ) -> dict:
        """A token_result as taobao.top.auth.token.create answers it."""
        access, refresh = "6200" + secrets.token_hex(20), "6201" + secrets.token_hex(20)
        self.access[access], self.refresh_tokens[refresh] = self.now + ttl, self.now + refresh_ttl
        ms = lambda t: int(t.timestamp() * 1000)  # noqa: E731
        return {
            "w1_expires_in": int(ttl.total_seconds()), "refresh_token_valid_time": ms(self.now + refresh_ttl),
            "taobao_user_nick": "zhongshu%E6%97%97%E8%88%B0%E5%BA%97", "re_expires_in": int(refresh_ttl.total_seconds()),
            "expire_time": ms(self.now + ttl), "token_type": "Bearer", "access_token": access,
            "taobao_open_uid": "AAFx" + secrets.token_hex(8), "w1_valid": ms(self.now + ttl), "refresh_token": refresh,
            "w2_expires_in": 0, "w2_valid": ms(self.now), "r1_expires_in": int(ttl.total_seconds()),
            "r2_expires_in": int(ttl.total_seconds()), "r2_valid": ms(self.now + ttl), "r1_valid": ms(self.now + ttl),
            "taobao_user_id": self.seller_id, "expires_in": int(ttl.total_seconds()),
        }  # fmt: skip

    def add_item(self, outer_id: str, num_iid: int, sku_id: int | None = None) -> None:
        self.items.setdefault(outer_id, []).append((num_iid, sku_id))

    def put_trade(self, trade: dict, receiver: dict, modified: datetime) -> None:
        """Store a trade as the platform would show it: receiver masked, region plain, oaid set."""
        tid = str(trade["tid"])
        trade = trade | {
            "tid_str": tid, "modified": fmt(modified), "oaid": "1Bxx" + secrets.token_hex(12),
            "receiver_name": mask_name(receiver["name"]), "receiver_mobile": mask_mobile(receiver["mobile"]),
            "receiver_state": receiver["state"], "receiver_city": receiver.get("city", ""),
            "receiver_district": receiver.get("district", ""), "receiver_address": receiver["address"][:4] + "****",
        }  # fmt: skip
        self.trades[tid], self.modified[tid], self.plain[tid] = trade, modified, receiver

    def modify(self, tid: str, at: datetime, **changes) -> None:
        self.trades[tid] = self.trades[tid] | changes | {"modified": fmt(at)}
        self.modified[tid] = at

    def set_refund(self, tid: str, at: datetime, refund_status: str, status: str | None = None) -> None:
        orders = [o | {"refund_status": refund_status} for o in self.trades[tid]["orders"]["order"]]
        self.modify(tid, at, orders={"order": orders}, **({"status": status} if status else {}))

    # --- the platform ---------------------------------------------------------------------------
    def rate_limited(self, request: Request) -> Response:
        return error(7, "App Call Limited", "accesscontrol.limited-by-app-access-count",
                     "This ban will last for 1 more seconds")  # fmt: skip

    def handle(self, request: Request) -> Response:
        if request.path != "/router/rest":
            return Response(404, b"not found")
        params = request.query | (request.form if request.body else {})
        try:
            self._check(params)
            handler = getattr(self, "api_" + params["method"].removeprefix("taobao.").replace(".", "_"), None)
            if handler is None:
                return error(22, "Invalid method")
            with self._lock:
                self.methods.append(params["method"])
            return Response.json(
                {params["method"].removeprefix("taobao.").replace(".", "_") + "_response": handler(params)}
            )
        except ApiError as exc:
            return exc.response

    def _check(self, p: dict) -> None:
        for name, code in (("method", 21), ("sign", 24), ("app_key", 28), ("timestamp", 30), ("v", 32)):
            if not p.get(name):
                raise ApiError(error(code, f"Missing {name}"))
        if p["app_key"] != self.app_key:
            raise ApiError(error(29, "Invalid app Key"))
        if abs(datetime.now(SHANGHAI) - parse(p["timestamp"])) > timedelta(minutes=10):
            raise ApiError(error(31, "Invalid timestamp"))
        if not p.get("sign") or p["sign"] != top_sign(p, self.app_secret):
            raise ApiError(error(25, "Invalid signature"))
        if p["method"] in SESSION_FREE:
            return
        if not p.get("session"):
            raise ApiError(error(26, "Missing session"))
        if self.access.get(p["session"], self.now) <= self.now:
            raise ApiError(error(27, "Invalid session", "invalid-sessionkey", "SessionKey非法"))

    # --- OAuth ---
    def api_top_auth_token_create(self, p: dict) -> dict:
        if p.get("code") not in self.codes:
            raise ApiError(error(15, "Remote service error", "isv.code-invalid", "授权码无效或已过期"))
        self.codes.discard(p["code"])
        return {"token_result": json.dumps(self.issue_token())}

    def api_top_auth_token_refresh(self, p: dict) -> dict:
        if self.refresh_tokens.get(p.get("refresh_token", ""), self.now) <= self.now:
            raise ApiError(
                error(15, "Remote service error", "isv.refresh-token-invalid", "refresh_token无效或已过期")
            )
        return {"token_result": json.dumps(self.issue_token())}

    # --- trades ---
    def api_trades_sold_increment_get(self, p: dict) -> dict:
        start, end = self._window(p)
        size, page = int(p.get("page_size") or 40), int(p.get("page_no") or 1)
        if not 1 <= size <= 100 or page < 1:
            raise ApiError(error(41, "Invalid arguments", "isv.invalid-parameter", "page_size 1~100"))
        with self._lock:
            rows = self._in_window(start, end)
            chunk = page_of(rows, page, size)
            body = {"trades": {"trade": [self._fields(self.trades[t], p) for t in chunk]}} if chunk else {}
            self._churn(rows)
            self.pages_served += 1
        for hook in self.page_hooks:
            hook(self.pages_served)
        if p.get("use_has_next") == "true":
            return body | {"has_next": page * size < len(rows)}
        return body | {"total_results": len(rows)}

    def _window(self, p: dict) -> tuple[datetime, datetime]:
        if not p.get("start_modified") or not p.get("end_modified"):
            raise ApiError(
                error(
                    40, "Missing required arguments", "isv.missing-parameter", "start_modified/end_modified"
                )
            )
        start, end = parse(p["start_modified"]), parse(p["end_modified"])
        if not start < end or end - start > timedelta(days=1):
            raise ApiError(
                error(41, "Invalid arguments", "isv.invalid-parameter", "修改时间跨度不能大于一天")
            )
        return start, end

    def _in_window(self, start: datetime, end: datetime) -> list[str]:
        visible_until = self.now - self.index_delay
        tids = [t for t, m in self.modified.items() if start <= m <= end and m <= visible_until]
        return sorted(tids, key=lambda t: (self.modified[t], int(t)), reverse=True)

    def _churn(self, rows: list[str]) -> None:
        for tid in random.sample(rows, min(self.churn_per_page, len(rows))):
            memo = self.trades[tid].get("seller_memo", "") + "+"
            self.trades[tid] = self.trades[tid] | {"seller_memo": memo, "modified": fmt(self.now)}
            self.modified[tid] = self.now
            self.churned.add(tid)

    def _fields(self, trade: dict, p: dict) -> dict:
        wanted = set((p.get("fields") or "").split(","))
        return {k: v for k, v in trade.items() if k in wanted}

    def api_trade_fullinfo_get(self, p: dict) -> dict:
        trade = self.trades.get(p.get("tid", ""))
        if trade is None:
            raise ApiError(error(15, "Remote service error", "isv.trade-not-exist", "交易不存在"))
        return {"trade": self._fields(trade, p)}

    def api_top_oaid_decrypt(self, p: dict) -> dict:
        out = []
        for q in json.loads(p["query_list"]):
            self.decrypts.append(q)
            trade, plain = self.trades[q["tid"]], self.plain[q["tid"]]
            out.append({"tid": q["tid"], "oaid": q["oaid"], "matched": q["oaid"] == trade["oaid"], "name": plain["name"],
                        "mobile": plain["mobile"], "state": plain["state"], "city": plain.get("city", ""),
                        "district": plain.get("district", ""), "address_detail": plain["address"]})  # fmt: skip
        return {"receiver_list": {"receiver": out}}

    # --- write-back ---
    def api_logistics_offline_send(self, p: dict) -> dict:
        trade = self.trades.get(p.get("tid", ""))
        if trade is None or not p.get("out_sid") or not p.get("company_code"):
            raise ApiError(
                error(40, "Missing required arguments", "isv.missing-parameter", "tid/out_sid/company_code")
            )
        if trade["status"] != "WAIT_SELLER_SEND_GOODS":
            raise ApiError(
                error(
                    15,
                    "Remote service error",
                    "isv.logistics-offline-service-error:B04",
                    "当前订单状态不支持发货",
                )
            )
        self.shipments.append({k: p[k] for k in ("tid", "out_sid", "company_code")})
        self.modify(p["tid"], self.now, status="WAIT_BUYER_CONFIRM_GOODS", consign_time=fmt(self.now))
        return {"shipping": {"is_success": True}}

    def api_skus_custom_get(self, p: dict) -> dict:
        skus = [{"num_iid": n, "sku_id": s, "outer_id": p["outer_id"], "quantity": self.quantities.get((n, s), 0)}
                for n, s in self.items.get(p.get("outer_id", ""), []) if s is not None]  # fmt: skip
        return {"skus": {"sku": skus}} if skus else {}

    def api_items_custom_get(self, p: dict) -> dict:
        items = [
            {"num_iid": n, "outer_id": p["outer_id"]}
            for n, s in self.items.get(p.get("outer_id", ""), [])
            if s is None
        ]
        return {"items": {"item": items}} if items else {}

    def api_item_quantity_update(self, p: dict) -> dict:
        num_iid, sku_id = int(p["num_iid"]), int(p["sku_id"]) if p.get("sku_id") else None
        if int(p.get("type") or 1) != 1 or int(p["quantity"]) < 0:
            raise ApiError(error(41, "Invalid arguments", "isv.invalid-parameter", "quantity"))
        self.quantities[(num_iid, sku_id)] = int(p["quantity"])
        self.stock_updates.append({k: p.get(k) for k in ("num_iid", "sku_id", "quantity", "type")})
        return {"item": {"num_iid": num_iid, "num": int(p["quantity"]), "modified": fmt(self.now)}}

    # --- Cainiao e-waybills (cainiao.waybill.ii.*; bububa/opentaobao model/waybill) ----------------
    # The whole call is refused when one package of the batch is (a TOP error_response); the sub_codes
    # for an empty balance / an out-of-area address are this double's (the real ones are not public).
    def api_cainiao_waybill_ii_get(self, p: dict) -> dict:
        req = json.loads(p.get("param_waybill_cloud_print_apply_new_request") or "{}")
        dtos = req.get("trade_order_info_dtos") or []
        if not req.get("cp_code") or not req.get("sender") or not 1 <= len(dtos) <= 10:
            raise ApiError(
                error(15, "Remote service error", "isv.invalid-parameter", "cp_code/sender/最多10个订单")
            )
        self.waybills.calls += 1
        modules = []
        for dto in dtos:
            recipient = dto.get("recipient") or {}
            tid = (dto.get("order_info") or {}).get("trade_order_list", [""])[0]
            if dto["order_info"].get("order_channels_type") in ("TB", "TM"):
                trade = self.trades.get(str(recipient.get("tid")))
                if (
                    trade is None
                    or str(recipient.get("tid")) != str(tid)
                    or recipient.get("oaid") != trade["oaid"]
                ):
                    raise ApiError(
                        error(15, "Remote service error", "isv.OAID_DECRYPT_FAILED", "oaid与订单不匹配")
                    )
            try:
                number = self.waybills.take(dto["object_id"], recipient["address"]["province"])
            except Refused as exc:
                if exc.kind == "balance":
                    raise ApiError(
                        error(
                            15,
                            "Remote service error",
                            "isv.WAYBILL_BALANCE_NOT_ENOUGH",
                            "电子面单余额不足，请充值",
                        )
                    ) from None
                raise ApiError(
                    error(15, "Remote service error", "isv.ADDRESS_UNREACHABLE", "收件地址超区，不可达")
                ) from None
            print_data = {
                "encryptedData": "ENC" + number,
                "signature": "SIG" + number,
                "templateURL": dto.get("template_url") or "",
                "ver": "waybill_print_secret_version_1",
            }
            modules.append(
                {
                    "object_id": dto["object_id"],
                    "waybill_code": number,
                    "cp_code": req["cp_code"],
                    "print_data": json.dumps(print_data),
                }
            )
        return {"modules": {"waybill_cloud_print_response": modules}}

    def api_cainiao_waybill_ii_cancel(self, p: dict) -> dict:
        return {"cancel_result": self.waybills.cancel(p.get("waybill_code", ""))}

    def api_cainiao_waybill_ii_update(self, p: dict) -> dict:
        req = json.loads(p.get("param_waybill_cloud_print_update_request") or "{}")
        if not self.waybills.known(req.get("waybill_code", "")):
            raise ApiError(error(15, "Remote service error", "isv.WAYBILL_NOT_EXIST", "面单号不存在"))
        return {"waybill_code": req["waybill_code"], "print_data": json.dumps({"encryptedData": "UPD"})}
