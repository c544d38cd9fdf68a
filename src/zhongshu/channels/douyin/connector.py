"""The 抖店 (Douyin shop) connector: OAuth, incremental pull, write-back, decryption, push messages.

Incremental pull uses `order.searchList` by update time (update_time_start/update_time_end in unix
seconds, order_by=update_time, page from 0, size ≤ 100). Offset paging over a live result set skips
rows when an order on an earlier page changes (it leaves the window and every later row moves up
one place), so a window with more than one page is read from its last page backwards to page 0:
a row that moves up then lands on a page still to be read (a duplicate at worst, never a gap). The
window ends `lag` behind now so no new change can enter it while it is paged; duplicates are
removed keeping the newest version. A window over the platform's 50,000-row paging cap
(isv.parameter-invalid:20013) is split in two.
"""

import hashlib
import hmac
import json
import os
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.utils import timezone

from zhongshu.channels.base import Connector, ConnectorError, PushResult, Receiver, TokenSet
from zhongshu.channels.douyin import mapping
from zhongshu.channels.douyin.client import call
from zhongshu.channels.douyin.signing import event_sign
from zhongshu.channels.registry import register
from zhongshu.orders.schemas import OrderIn

AUTHORIZE_URL = "https://fuwu.jinritemai.com/authorize"
PAGE_SIZE = 100  # the documented maximum (isv.parameter-invalid:20008 above it)
MAX_RESULTS = 50_000  # page * size may not pass it (isv.parameter-invalid:20013)
REFRESH_TOKEN_LIFETIME = timedelta(days=14)
DECRYPT_OK = 0
# the hub's carrier codes → 抖店 logistics company codes (order.logisticsCompanyList); others pass through
COMPANY_CODES = {
    "SF": "shunfeng",
    "ZTO": "zhongtong",
    "YTO": "yuantong",
    "STO": "shentong",
    "YD": "yunda",
    "JD": "jd",
    "EMS": "ems",
    "JT": "jtexpress",
}


@register
class DouyinConnector(Connector):
    platform = "douyin"
    # order.searchList documents no update-time span limit, only the 90-day look-back and the
    # 50,000-row paging cap; one day per window keeps a first pull to one window per day.
    max_window = timedelta(days=1)
    overlap = timedelta(minutes=2)
    # the order search index trails writes by seconds: end the window behind now
    lag = timedelta(seconds=10)

    # --- OAuth ---
    def authorize_url(self, redirect_uri: str, state: str) -> str:
        """The service-market page where the merchant authorises (the callback URL is set in the market)."""
        service_id = getattr(settings, "DOUYIN_SERVICE_ID", "") or os.environ.get(
            "ZHONGSHU_DOUYIN_SERVICE_ID", ""
        )
        if not service_id:
            raise ConnectorError("douyin: DOUYIN_SERVICE_ID (服务市场 service id) is not configured")
        return f"{AUTHORIZE_URL}?{urlencode({'service_id': service_id, 'state': state})}"

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        data = call(
            self.credentials, "token.create", {"code": code, "grant_type": "authorization_code"}, False
        )
        return _tokens(data)

    def refresh(self) -> TokenSet:
        params = {"grant_type": "refresh_token", "refresh_token": self.credentials.refresh_token}
        return _tokens(call(self.credentials, "token.refresh", params, False))

    # --- orders ---
    def pull_changed(self, start: datetime, end: datetime) -> Iterator[OrderIn]:
        newest = self._collect(int(start.timestamp()), int(end.timestamp()))
        for raw in sorted(
            newest.values(), key=lambda r: (int(r.get("update_time") or 0), str(r["order_id"]))
        ):
            order = mapping.to_order(self.shop, raw)
            if order is not None:
                yield order

    def fetch_one(self, channel_order_id: str) -> OrderIn:
        order = mapping.to_order(self.shop, self._detail(channel_order_id))
        if order is None:
            raise ConnectorError(f"douyin order {channel_order_id} could not be mapped")
        return order

    # --- write-back ---
    def confirm_shipment(self, channel_order_id: str, carrier: str, tracking_no: str) -> None:
        params = {
            "order_id": channel_order_id,
            "company_code": COMPANY_CODES.get(carrier.upper(), carrier),
            "logistics_code": tracking_no,
        }
        call(self.credentials, "order.logisticsAdd", params)

    def push_stock(self, sku_code: str, quantity: int) -> None:
        params = {"code": sku_code, "stock_num": max(quantity, 0), "incremental": False}
        call(self.credentials, "sku.syncStock", params)

    def decrypt_receiver(self, channel_order_id: str) -> Receiver:
        raw = self._detail(channel_order_id)
        addr = raw.get("post_addr") or {}
        fields = (raw.get("encrypt_post_receiver"), raw.get("encrypt_post_tel"), addr.get("encrypt_detail"))
        ciphers = [str(c or "") for c in fields]
        if not all(ciphers):
            raise ConnectorError(f"douyin order {channel_order_id} has no encrypted receiver")
        plain = self._decrypt(channel_order_id, ciphers)
        street = (addr.get("street") or {}).get("name") or ""
        return Receiver(name=plain[0], phone=plain[1], address=street + plain[2])

    # --- push messages (消息推送) ---
    def verify_push(self, headers: Mapping[str, str], body: bytes) -> PushResult:
        """Check app-id and event-sign; the result names the orders to fetch (messages carry ids only)."""
        h = {k.lower(): v for k, v in headers.items()}
        if h.get("app-id") != self.credentials.app_key:
            raise ConnectorError("douyin push: app-id does not match", "app-id")
        expected = event_sign(
            self.credentials.app_key, self.credentials.app_secret, body, h.get("sign-method", "md5")
        )
        if not hmac.compare_digest(h.get("event-sign", ""), expected):
            raise ConnectorError("douyin push: event-sign does not match", "event-sign")
        messages = _messages(body)
        ids = [m["msg_id"] for m in messages]
        return PushResult(message_id=_message_id(ids), order_ids=self._order_ids(messages))

    # --- helpers ---
    def _collect(self, start: int, end: int) -> dict[str, dict]:
        """Every order of the window, read last page first; the newest version of each."""
        params = {"update_time_start": start, "update_time_end": end, "order_by": "update_time",
                  "order_asc": True, "size": PAGE_SIZE}  # fmt: skip
        total, first = self._search(params, 0)
        if total > MAX_RESULTS and end - start > 1:
            middle = (start + end) // 2
            return _newest(self._collect(start, middle), self._collect(middle, end))
        if total <= PAGE_SIZE:
            return first  # one page is one consistent read
        last = (min(total, MAX_RESULTS) - 1) // PAGE_SIZE
        return _newest(*(self._search(params, page)[1] for page in range(last, -1, -1)))

    def _search(self, params: dict, page: int) -> tuple[int, dict[str, dict]]:
        data = call(self.credentials, "order.searchList", {**params, "page": page})
        rows = data.get("shop_order_list") or []
        return int(data.get("total") or 0), {str(r["order_id"]): r for r in rows}

    def _detail(self, channel_order_id: str) -> dict:
        data = call(self.credentials, "order.orderDetail", {"shop_order_id": channel_order_id})
        raw = data.get("shop_order_detail")
        if not raw:
            raise ConnectorError(f"douyin order {channel_order_id} not found")
        return raw

    def _decrypt(self, channel_order_id: str, ciphers: list[str]) -> list[str]:
        infos = [{"auth_id": channel_order_id, "cipher_text": c} for c in ciphers]
        data = call(self.credentials, "order.batchDecrypt", {"cipher_infos": infos})
        err = data.get("custom_err") or {}
        if err.get("err_code", DECRYPT_OK) != DECRYPT_OK:
            raise ConnectorError(f"douyin decrypt failed: {err.get('err_msg', '')}", str(err.get("err_code")))
        plain = {d.get("cipher_text"): d for d in data.get("decrypt_infos") or []}
        failed = [c for c in ciphers if c not in plain or plain[c].get("err_no", DECRYPT_OK) != DECRYPT_OK]
        if failed:
            raise ConnectorError(
                f"douyin decrypt failed for {len(failed)} field(s) of order {channel_order_id}"
            )
        return [plain[c]["decrypt_text"] for c in ciphers]

    def _order_ids(self, messages: list[dict]) -> list[str]:
        shop_id = self.credentials.platform_shop_id
        ids: list[str] = []
        for m in messages:
            data = m["data"]
            if shop_id and str(data.get("shop_id", shop_id)) != shop_id:
                continue
            order_id = str(data.get("p_id") or "")
            if order_id and order_id not in ids:
                ids.append(order_id)
        return ids


def _tokens(data: dict) -> TokenSet:
    if not data.get("access_token"):
        raise ConnectorError("douyin token answer without access_token")
    now = timezone.now()
    return TokenSet(
        access_token=data["access_token"],
        refresh_token=data.get("refresh_token", ""),
        expires_at=now + timedelta(seconds=int(data.get("expires_in") or 0)),
        refresh_expires_at=now + REFRESH_TOKEN_LIFETIME,
        platform_shop_id=str(data.get("shop_id") or ""),
    )


def _newest(*pages: dict) -> dict[str, dict]:
    """Merge pages by order id, keeping the version with the latest update_time."""
    out: dict[str, dict] = {}
    for page in pages:
        for order_id, raw in page.items():
            if order_id not in out or int(raw.get("update_time") or 0) > int(
                out[order_id].get("update_time") or 0
            ):
                out[order_id] = raw
    return out


def _messages(body: bytes) -> list[dict]:
    """The pushed array of {tag, msg_id, data}; data is itself a JSON string."""
    try:
        items = json.loads(body)
        messages = [
            {"tag": str(i["tag"]), "msg_id": str(i["msg_id"]), "data": _json_object(i.get("data"))}
            for i in items
        ]
    except (ValueError, TypeError, KeyError) as exc:
        raise ConnectorError("douyin push: malformed message body", "body") from exc
    if not messages:
        raise ConnectorError("douyin push: no messages", "body")
    return messages


def _json_object(data) -> dict:
    value = json.loads(data) if isinstance(data, str) else (data or {})
    if not isinstance(value, dict):
        raise ValueError("data is not an object")
    return value


def _message_id(ids: list[str]) -> str:
    joined = ",".join(ids)
    return joined if len(joined) <= 128 else "sha256:" + hashlib.sha256(joined.encode()).hexdigest()
