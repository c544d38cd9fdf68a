"""Taobao/Tmall connector over the TOP open platform (淘宝开放平台).

- OAuth: the seller authorises at oauth.taobao.com/authorize (response_type=code); the code is
  exchanged with `taobao.top.auth.token.create` and the token renewed with
  `taobao.top.auth.token.refresh`; both answer `token_result`, a JSON string with access_token,
  refresh_token, expires_in / expire_time, re_expires_in / refresh_token_valid_time, taobao_user_id.
- Pull: `taobao.trades.sold.increment.get` by modified time, `end_modified - start_modified ≤ 1 day`,
  results sorted by modified time descending. The documented way not to miss orders that change
  while paging is to page from the LAST page back to the first: first ask with use_has_next=false
  for `total_results`, then fetch pages N…1.
- Orders are pushed by Taobao through TMC (a long-lived message connection, `tmc.py`), not HTTP
  webhooks, so `verify_push` keeps the base behaviour; `permit_messages` opens TMC for the seller
  (`taobao.tmc.user.permit`).
"""

import json
import math
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from django.utils import timezone
from pydantic import ValidationError

from zhongshu.channels.base import AuthError, Connector, ConnectorError, Receiver, TokenSet, TransientError
from zhongshu.channels.registry import register
from zhongshu.channels.taobao import mapping
from zhongshu.channels.taobao.client import TopClient, parse_json_field
from zhongshu.orders.schemas import OrderIn

AUTHORIZE_URL = "https://oauth.taobao.com/authorize"
PAGE_SIZE = 50  # 1–100 allowed; the documentation recommends 40–50 for speed and success rate
DECRYPT_SCENE = "1004"  # 其他电子面单发货 (waybill printing)
TRADE_FIELDS = ",".join(
    [
        "tid", "tid_str", "status", "type", "created", "pay_time", "modified", "payment", "total_fee",
        "post_fee", "discount_fee", "adjust_fee", "buyer_open_uid", "buyer_nick", "seller_memo",
        "step_trade_status", "receiver_name", "receiver_mobile", "receiver_phone", "receiver_state",
        "receiver_city", "receiver_district", "receiver_town", "receiver_address", "oaid", "orders",
    ]
)  # fmt: skip


@register
class TaobaoConnector(Connector):
    platform = "taobao"
    max_window = timedelta(days=1)  # end_modified - start_modified ≤ 1 day
    lag = timedelta(minutes=1)  # the increment index trails the trade store by seconds to a minute
    overlap = timedelta(minutes=5)  # re-read so writes indexed later than the lag are still caught

    @property
    def top(self) -> TopClient:
        c = self.credentials
        return TopClient(c.app_key, c.app_secret, c.base_url, c.access_token)

    # --- OAuth ---
    def authorize_url(self, redirect_uri: str, state: str) -> str:
        base = (
            f"{self.credentials.base_url.rstrip('/')}/authorize"
            if self.credentials.base_url
            else AUTHORIZE_URL
        )
        query = {"response_type": "code", "client_id": self.credentials.app_key, "redirect_uri": redirect_uri,
                 "state": state, "view": "web"}  # fmt: skip
        return f"{base}?{urlencode(query)}"

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        return self._token("taobao.top.auth.token.create", {"code": code})

    def refresh(self) -> TokenSet:
        if not self.credentials.refresh_token:
            raise AuthError("no refresh token: the seller must authorise again", code="no-refresh-token")
        return self._token("taobao.top.auth.token.refresh", {"refresh_token": self.credentials.refresh_token})

    def _token(self, method: str, params: dict) -> TokenSet:
        try:
            body = self.top.call(method, params, with_session=False)
        except ConnectorError as exc:
            if type(exc) is ConnectorError:  # a refused code or refresh token: only a new authorisation helps
                raise AuthError(str(exc), code=exc.code) from exc
            raise
        return token_set(parse_json_field(body.get("token_result")))

    # --- orders ---
    def pull_changed(self, start: datetime, end: datetime) -> Iterator[OrderIn]:
        if end - start > self.max_window:
            raise ValueError(f"window {start}..{end} is longer than {self.max_window}")
        query = {"fields": TRADE_FIELDS, "start_modified": mapping.format_time(start),
                 "end_modified": mapping.format_time(end), "page_size": PAGE_SIZE, "use_has_next": "false"}  # fmt: skip
        first = self._page(query, 1)
        trades: dict[str, dict] = {}
        _keep_newest(trades, first)
        pages = math.ceil(int(first.get("total_results") or 0) / PAGE_SIZE)
        for page in range(pages, 0, -1) if pages > 1 else ():
            _keep_newest(trades, self._page(query, page))
        for trade in trades.values():
            yield self._map(trade)

    def _page(self, query: dict, page: int) -> dict:
        return self.top.call("taobao.trades.sold.increment.get", {**query, "page_no": page})

    def fetch_one(self, channel_order_id: str) -> OrderIn:
        body = self.top.call("taobao.trade.fullinfo.get", {"tid": channel_order_id, "fields": TRADE_FIELDS})
        if not body.get("trade"):
            raise ConnectorError(f"trade {channel_order_id} not returned", code="isv.trade-not-exist")
        return self._map(body["trade"])

    def _map(self, trade: dict) -> OrderIn:
        try:
            return mapping.to_order_in(self.shop, trade)
        except (ValidationError, mapping.MappingError, KeyError, ValueError, ArithmeticError) as exc:
            fields = (
                sorted({".".join(map(str, e["loc"])) for e in exc.errors()})
                if isinstance(exc, ValidationError)
                else []
            )
            raise ConnectorError(f"trade {mapping.trade_id(trade)} cannot be mapped: {fields or type(exc).__name__}",
                                 code="mapping") from None  # fmt: skip

    # --- TMC messages ---
    def permit_messages(self, topics: Iterable[str] = ()) -> None:
        """Let TMC deliver this seller's messages (taobao.tmc.user.permit with the seller's session).

        No topics: every topic the app subscribes (a list given replaces the seller's whole list)."""
        body = self.top.call("taobao.tmc.user.permit", {"topics": ",".join(topics)})
        if str(body.get("is_success")).lower() != "true":
            raise ConnectorError("tmc.user.permit not successful", code="not-success")

    # --- write-back ---
    def confirm_shipment(self, channel_order_id: str, carrier: str, tracking_no: str) -> None:
        params = {"tid": channel_order_id, "out_sid": tracking_no, "company_code": carrier}
        body = self.top.call("taobao.logistics.offline.send", params)
        if not (body.get("shipping") or {}).get("is_success"):
            raise ConnectorError(
                f"logistics.offline.send for {channel_order_id} not successful", code="not-success"
            )

    def push_stock(self, sku_code: str, quantity: int) -> None:
        """Full update (type=1) of every SKU whose outer_id is the code, else of the item with that outer_id."""
        targets = self._skus_by_outer_id(sku_code) or self._items_by_outer_id(sku_code)
        if not targets:
            raise ConnectorError(f"no Taobao item or SKU with outer id {sku_code}", code="isv.item-not-exist")
        for num_iid, sku_id in targets:
            params = {"num_iid": num_iid, "sku_id": sku_id, "quantity": max(quantity, 0), "type": 1}
            self.top.call("taobao.item.quantity.update", params)

    def _skus_by_outer_id(self, code: str) -> list[tuple[str, str | None]]:
        body = self.top.call(
            "taobao.skus.custom.get", {"outer_id": code, "fields": "sku_id,num_iid,outer_id"}
        )
        return [(str(s["num_iid"]), str(s["sku_id"])) for s in mapping.listed(body.get("skus"), "sku")]

    def _items_by_outer_id(self, code: str) -> list[tuple[str, str | None]]:
        body = self.top.call("taobao.items.custom.get", {"outer_id": code, "fields": "num_iid,outer_id"})
        return [(str(i["num_iid"]), None) for i in mapping.listed(body.get("items"), "item")]

    def decrypt_receiver(self, channel_order_id: str) -> Receiver:
        trade = self.top.call("taobao.trade.fullinfo.get", {"tid": channel_order_id, "fields": "tid,oaid"})
        oaid = (trade.get("trade") or {}).get("oaid")
        if not oaid:
            raise ConnectorError(f"trade {channel_order_id} has no oaid", code="no-oaid")
        query = [{"tid": channel_order_id, "oaid": oaid, "scene": DECRYPT_SCENE}]
        body = self.top.call("taobao.top.oaid.decrypt", {"query_list": _json(query)})
        found = [
            r
            for r in mapping.listed(body.get("receiver_list"), "receiver")
            if str(r.get("tid")) == channel_order_id
        ]
        if not found:
            raise ConnectorError(
                f"oaid decrypt returned no receiver for {channel_order_id}", code="no-receiver"
            )
        r = found[0]
        return Receiver(name=r.get("name", ""), phone=r.get("mobile") or r.get("phone", ""),
                        address=r.get("address_detail", ""))  # fmt: skip


def token_set(token: dict) -> TokenSet:
    """TokenSet from TOP's token_result (absolute expire_time in ms preferred, else expires_in seconds)."""
    if not token.get("access_token"):
        raise TransientError("token_result without access_token")
    now = timezone.now()
    return TokenSet(
        access_token=token["access_token"],
        refresh_token=token.get("refresh_token", ""),
        expires_at=_expiry(token.get("expire_time"), token.get("expires_in"), now),
        refresh_expires_at=_expiry(token.get("refresh_token_valid_time"), token.get("re_expires_in"), now),
        platform_shop_id=str(token.get("taobao_user_id") or ""),
    )


def _expiry(epoch_ms, seconds, now: datetime) -> datetime | None:
    if epoch_ms:
        return datetime.fromtimestamp(int(epoch_ms) / 1000, tz=UTC)
    return now + timedelta(seconds=int(seconds)) if seconds else None


def _keep_newest(trades: dict[str, dict], body: dict) -> None:
    for trade in mapping.listed(body.get("trades"), "trade"):
        tid = mapping.trade_id(trade)
        if tid not in trades or (trade.get("modified") or "") >= (trades[tid].get("modified") or ""):
            trades[tid] = trade


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
