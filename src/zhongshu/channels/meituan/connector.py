"""The 美团外卖/闪购 connector: store authorisation, reconciliation pull, push messages, write-back.

Authorisation: a 服务商 (ISV) app acts for a store (app_poi_code) once the merchant authorises it
(open-shangou 服务商接入 guide): `GET /api/v1/oauth/authorize?response_type=code&app_poi_code=…&
redirect_uri=…&state=…` (signed) sends the code to the redirect URI; `POST /api/v1/oauth/token`
with grant_type=authorization_code or refresh_token answers access_token/expires_in/refresh_token/
re_expires_in. Every business call then carries access_token next to app_id/timestamp/sig.

Orders: Meituan pushes them (推送已支付订单, 订单取消, 退款…; see `verify_push`). The pull is the
documented reconciliation by day sequence (当日订单流水号): paid orders of a store are numbered
1, 2, … per day and the number never changes, so `ecommerce/order/getOrderIdByDaySeq` read in
ascending segments (date_time=yyyyMMdd, day_seq_start…day_seq_end, at most SEGMENT numbers a
call) lists every order of a day exactly once however orders change meanwhile. There is no list
by modified time, so a window [start, end] reads every day from `start - refund_lookback` to
`end`, fetches each order (order/getOrderDetail, several at a time) and keeps those whose `utime`
is ≥ start; their refund records (ecommerce/order/getOrderRefundDetail) give the after-sale state.
The newest numbers become visible a few seconds after payment, hence `lag`.
"""

import os
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

from django.conf import settings
from django.utils import timezone

from zhongshu.channels.base import Connector, ConnectorError, PushResult, Receiver, TokenSet
from zhongshu.channels.meituan import mapping
from zhongshu.channels.meituan.client import call, signed, token_call, url_of
from zhongshu.channels.meituan.signing import push_params
from zhongshu.channels.registry import register
from zhongshu.core.timeutil import SHANGHAI
from zhongshu.orders.schemas import OrderIn

SEGMENT = 100  # day sequence numbers per getOrderIdByDaySeq call
PHONE_PAGE = 1000  # order/batchPullPhoneNumber limit
WORKERS = 8  # detail calls in flight at once (settings.MEITUAN_PULL_WORKERS overrides)
PUSH_WINDOW = 600  # seconds a push's timestamp may differ from our clock
PUSH_PATH = "/api/v1/push/{shop}"
# the hub's carrier codes → logistics_provider_code (10001 顺丰 … 10017 其他, 10032 美团跑腿)
PROVIDER_CODES = {"SF": "10001", "DADA": "10002", "SHANSONG": "10003", "FENGNIAO": "10004",
                  "UU": "10005", "DIANWODA": "10008", "MTPT": "10032"}  # fmt: skip
OTHER_PROVIDER = "10017"


@register
class MeituanConnector(Connector):
    platform = "meituan"
    max_window = timedelta(days=1)  # the day-sequence API reads one calendar day per date_time
    overlap = timedelta(minutes=2)
    lag = timedelta(seconds=10)  # a new day sequence number is listed seconds after payment
    refund_lookback = timedelta(days=2)  # orders placed earlier still change (refunds, cancels)

    # --- OAuth (服务商授权) ---
    def authorize_url(self, redirect_uri: str, state: str) -> str:
        url = url_of(self.credentials, "oauth/authorize")
        params = {"app_poi_code": self.credentials.platform_shop_id, "response_type": "code",
                  "redirect_uri": redirect_uri, "state": state}  # fmt: skip
        return f"{url}?{urlencode(signed(self.credentials, url, params, with_token=False))}"

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        params = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                  "app_poi_code": self.credentials.platform_shop_id}  # fmt: skip
        return self._tokens(token_call(self.credentials, params))

    def refresh(self) -> TokenSet:
        params = {"grant_type": "refresh_token", "refresh_token": self.credentials.refresh_token}
        return self._tokens(token_call(self.credentials, params))

    # --- orders ---
    def pull_changed(self, start: datetime, end: datetime) -> Iterator[OrderIn]:
        changed = self._changed_since(start, end)
        refunds = self._parallel(self._refunds, changed)
        pairs = sorted(zip(changed, refunds, strict=True), key=lambda p: (int(p[0].get("utime") or 0),
                                                                          str(p[0]["order_id"])))  # fmt: skip
        for raw, refund in pairs:
            order = mapping.to_order(self.shop, raw, refund)
            if order is not None:
                yield order

    def fetch_one(self, channel_order_id: str) -> OrderIn:
        raw = self._detail(channel_order_id)
        order = mapping.to_order(self.shop, raw, self._refunds(raw))
        if order is None:
            raise ConnectorError(f"meituan order {channel_order_id} could not be mapped")
        return order

    # --- write-back ---
    def confirm_shipment(self, channel_order_id: str, carrier: str, tracking_no: str) -> None:
        """快递配送 (ecommerce/order/logistics/btoc/sync): carrier code and tracking number."""
        provider = PROVIDER_CODES.get(carrier.upper(), carrier if carrier.isdigit() else OTHER_PROVIDER)
        params = {
            "order_id": channel_order_id,
            "logistics_provider_code": provider,
            "logistics_code": tracking_no,
        }
        call(self.credentials, "ecommerce/order/logistics/btoc/sync", params, post=True)

    def push_stock(self, sku_code: str, quantity: int) -> None:
        """retail/sku/stock: single-spec goods, app_food_code and sku_id are the merchant code."""
        food = [{"app_food_code": sku_code, "skus": [{"sku_id": sku_code, "stock": str(max(quantity, 0))}]}]
        params = {"app_poi_code": self.credentials.platform_shop_id, "food_data": food}
        call(self.credentials, "retail/sku/stock", params, post=True)

    def decrypt_receiver(self, channel_order_id: str) -> Receiver:
        """Name and address as the order gives them; the real phone behind a privacy number."""
        raw = self._detail(channel_order_id)
        phone = self._real_phone(channel_order_id) or _plain_phone(str(raw.get("recipient_phone") or ""))
        if not phone:
            raise ConnectorError(f"meituan order {channel_order_id}: no real phone number available")
        address = str(raw.get("recipient_address") or "").split("@#")[0]
        return Receiver(name=str(raw.get("recipient_name") or ""), phone=phone, address=address)

    # --- push messages (推送订单/取消/退款 to our callback URL) ---
    def verify_push(self, headers: Mapping[str, str], body: bytes) -> PushResult:
        """Check app_id, sig over our callback URL and the timestamp; the paid-order push carries the order."""
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        params = push_params(self._callback_url(headers), form, self.credentials.app_secret)
        if params is None:
            raise ConnectorError("meituan push: sig does not match", "703")
        given = params["sig"]
        if params.get("app_id") != self.credentials.app_key:
            raise ConnectorError("meituan push: app_id does not match", "app_id")
        if not _fresh(params.get("timestamp", "")):
            raise ConnectorError("meituan push: timestamp outside the accepted window", "timestamp")
        order_id = params.get("order_id") or params.get("wm_order_id_view") or ""
        if not order_id:
            raise ConnectorError("meituan push: no order_id", "order_id")
        message_id = f"{order_id}:{params['timestamp']}:{given.lower()}"
        if "detail" in params and "recipient_phone" in params:  # 推送已支付订单: the whole order
            order = mapping.to_order(self.shop, params)
            if order is not None:
                return PushResult(message_id=message_id, orders=[order])
        return PushResult(message_id=message_id, order_ids=[order_id])

    # --- helpers ---
    def _changed_since(self, start: datetime, end: datetime) -> list[dict]:
        ids: dict[str, None] = {}
        for day in _days(start - self.refund_lookback, end):
            ids.update(dict.fromkeys(self._ids_of_day(day)))
        since = int(start.timestamp())
        return [raw for raw in self._parallel(self._detail, list(ids)) if int(raw.get("utime") or 0) >= since]

    def _ids_of_day(self, day: date) -> list[str]:
        """Every order id of a day, by ascending day-sequence segments until one comes back empty."""
        ids, first = [], 1
        while True:
            params = {"app_poi_code": self.credentials.platform_shop_id, "date_time": day.strftime("%Y%m%d"),
                      "day_seq_start": first, "day_seq_end": first + SEGMENT - 1}  # fmt: skip
            found = _order_ids(call(self.credentials, "ecommerce/order/getOrderIdByDaySeq", params))
            if not found:
                return ids
            ids += found
            first += SEGMENT

    def _detail(self, channel_order_id: str) -> dict:
        data = call(self.credentials, "order/getOrderDetail", {"order_id": channel_order_id})
        if not isinstance(data, dict) or not data.get("order_id"):
            raise ConnectorError(f"meituan order {channel_order_id} not found")
        return data

    def _refunds(self, raw: dict) -> list[dict]:
        view_id = raw.get("wm_order_id_view") or raw.get("order_id")
        data = call(self.credentials, "ecommerce/order/getOrderRefundDetail", {"wm_order_id_view": view_id})
        return [r for r in data or [] if isinstance(r, dict)] if isinstance(data, list) else []

    def _real_phone(self, channel_order_id: str) -> str:
        offset = 0
        while True:
            params = {
                "app_poi_code": self.credentials.platform_shop_id,
                "offset": offset,
                "limit": PHONE_PAGE,
            }
            rows = call(self.credentials, "order/batchPullPhoneNumber", params, post=True) or []
            for row in rows:
                if (
                    str(row.get("order_id")) == channel_order_id
                    or str(row.get("wm_order_id_view")) == channel_order_id
                ):
                    return str(row.get("real_phone_number") or "")
            if len(rows) < PHONE_PAGE:
                return ""
            offset += PHONE_PAGE

    def _callback_url(self, headers: Mapping[str, str]) -> str:
        h = {k.lower(): v for k, v in headers.items()}
        base = getattr(settings, "ZHONGSHU_PUBLIC_URL", "") or os.environ.get("ZHONGSHU_PUBLIC_URL", "")
        if not base:
            base = f"{h.get('x-forwarded-proto', 'https')}://{h.get('host', '')}"
        return base.rstrip("/") + PUSH_PATH.format(shop=self.shop)

    def _tokens(self, answer: dict) -> TokenSet:
        now = timezone.now()
        refresh_in = int(answer.get("re_expires_in") or 0)
        return TokenSet(
            access_token=answer["access_token"],
            refresh_token=str(answer.get("refresh_token") or ""),
            expires_at=now + timedelta(seconds=int(answer.get("expires_in") or 0)),
            refresh_expires_at=now + timedelta(seconds=refresh_in) if refresh_in else None,
            platform_shop_id=str(answer.get("app_poi_code") or self.credentials.platform_shop_id),
        )

    @staticmethod
    def _parallel(fn: Callable, items: list) -> list:
        if len(items) <= 1:
            return [fn(i) for i in items]
        workers = int(getattr(settings, "MEITUAN_PULL_WORKERS", WORKERS))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(fn, items))


def _days(start: datetime, end: datetime) -> list[date]:
    first, last = start.astimezone(SHANGHAI).date(), end.astimezone(SHANGHAI).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _order_ids(data) -> list[str]:
    """`{"order_ids": […]}` (or a list of such objects, as some SDKs model it)."""
    items = data if isinstance(data, list) else [data]
    return [str(i) for item in items if isinstance(item, dict) for i in item.get("order_ids") or []]


def _plain_phone(phone: str) -> str:
    return "" if ("_" in phone or "*" in phone) else phone


def _fresh(timestamp: str) -> bool:
    return timestamp.isdigit() and abs(int(timestamp) - time.time()) <= PUSH_WINDOW
