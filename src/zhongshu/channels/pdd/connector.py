"""Pinduoduo (拼多多开放平台) connector: OAuth, incremental pull, ship, stock, receiver decryption.

Incremental pull is pdd.order.number.list.increment.get: a window of at most 30 minutes on the
orders' modified time (start_updated_at/end_updated_at, unix seconds), ending at least 3 minutes
behind PDD's clock, paged from the last page back to the first — the platform's documented way
not to miss orders that change while we page. PDD pushes order messages only through its
websocket message service (`channels/pdd/messages.py`), not HTTP callbacks, so `verify_push` keeps
the base behaviour; `permit_messages` opens that service for the shop.
"""

import json
import logging
import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from urllib.parse import urlencode

from pydantic import ValidationError

from zhongshu.channels.base import Connector, ConnectorError, Credentials, Receiver, TokenSet, TransientError
from zhongshu.channels.pdd.client import PddClient
from zhongshu.channels.pdd.mapping import to_order_in, when
from zhongshu.channels.pdd.signing import AUTHORIZE_URL
from zhongshu.channels.registry import register
from zhongshu.orders.schemas import OrderIn

log = logging.getLogger(__name__)

INCREMENT = "pdd.order.number.list.increment.get"
PAGE_SIZE = 100  # the API's maximum
REPAGE_ATTEMPTS = 3


@register
class PddConnector(Connector):
    platform = "pdd"
    max_window = timedelta(minutes=30)  # end_updated_at - start_updated_at <= 30 min
    lag = timedelta(minutes=3)  # the window must end >= 3 min before PDD's system time
    overlap = timedelta(minutes=2)

    def __init__(self, shop_code: str, credentials: Credentials, timeout: float | None = None):
        super().__init__(shop_code, credentials)
        self.client = PddClient(credentials, timeout=timeout)
        self._carriers: dict[str, int] | None = None

    # --- OAuth ---
    def authorize_url(self, redirect_uri: str, state: str) -> str:
        query = {"response_type": "code", "client_id": self.credentials.app_key, "redirect_uri": redirect_uri}
        return f"{AUTHORIZE_URL}?{urlencode(query | {'state': state})}"

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        return _tokens(self.client.call("pdd.pop.auth.token.create", {"code": code}, authorised=False))

    def refresh(self) -> TokenSet:
        params = {"refresh_token": self.credentials.refresh_token}
        return _tokens(self.client.call("pdd.pop.auth.token.refresh", params, authorised=False))

    # --- orders ---
    def pull_changed(self, start: datetime, end: datetime) -> Iterator[OrderIn]:
        if end - start > self.max_window:
            raise ValueError(f"window {start}..{end} is longer than {self.max_window}")
        latest: dict[str, dict] = {}
        for raw in self._window(start, end):
            sn = str(raw["order_sn"])
            if sn not in latest or when(raw["updated_at"]) >= when(latest[sn]["updated_at"]):
                latest[sn] = raw
        log.info("pdd shop %s: %d orders changed in %s..%s", self.shop, len(latest), start, end)
        for raw in latest.values():
            yield self._map(raw)

    def _window(self, start: datetime, end: datetime) -> list[dict]:
        params = {
            "start_updated_at": int(start.timestamp()),
            "end_updated_at": int(end.timestamp()),
            "is_lucky_flag": 0,
            "order_status": 5,
            "refund_status": 5,
            "page_size": PAGE_SIZE,
        }
        for _ in range(REPAGE_ATTEMPTS):
            probe = self._page(params, 1)
            total = _total(probe)
            pages = max(1, math.ceil(total / PAGE_SIZE))
            if pages == 1:  # one answer holds the whole window: nothing can shift between pages
                return probe.get("order_sn_list") or []
            answers = [self._page(params, page) for page in range(pages, 0, -1)]
            if _total(answers[-1]) <= total:  # orders leaving the window are safe; new ones are not
                return [o for a in answers for o in a.get("order_sn_list") or []]
        raise TransientError(f"orders kept entering the window {start}..{end} while paging")

    def _page(self, params: dict, page: int) -> dict:
        answer = self.client.call(INCREMENT, params | {"page": page})
        if not isinstance(answer.get("order_sn_list", []), list) or (
            "order_sn_list" not in answer and _total(answer) > 0
        ):
            raise TransientError(f"{INCREMENT}: page {page} came without its order list")
        return answer

    def fetch_one(self, channel_order_id: str) -> OrderIn:
        return self._map(self._order_info(channel_order_id))

    def _map(self, raw: dict) -> OrderIn:
        try:
            return to_order_in(self.shop, raw)
        except (ValidationError, KeyError, ValueError) as exc:
            # stop loudly rather than skip an order: the sync keeps its cursor and records the error
            raise ConnectorError(
                f"pdd order {raw.get('order_sn')} cannot be mapped: {_why(exc)}", code="mapping"
            ) from None

    def _order_info(self, order_sn: str) -> dict:
        info = self.client.call("pdd.order.information.get", {"order_sn": order_sn}).get("order_info")
        if not info:
            raise ConnectorError(f"pdd order {order_sn} not found", code="not_found")
        return info

    # --- message service ---
    def permit_messages(self) -> None:
        """Let the message service deliver this shop's messages (pdd.pmc.user.permit with its token).

        No topics: every topic the app subscribes (PDD's advice: set them only for a subset)."""
        if not self.client.call("pdd.pmc.user.permit").get("is_success"):
            raise ConnectorError("pdd.pmc.user.permit not successful", code="is_success=false")

    # --- write-back ---
    def confirm_shipment(self, channel_order_id: str, carrier: str, tracking_no: str) -> None:
        params = {
            "order_sn": channel_order_id,
            "logistics_id": self._logistics_id(carrier),
            "tracking_number": tracking_no,
        }
        if not self.client.call("pdd.logistics.online.send", params).get("is_success"):
            raise ConnectorError(f"pdd refused the shipment of {channel_order_id}", code="is_success=false")

    def _logistics_id(self, carrier: str) -> int:
        if carrier.isdigit():
            return int(carrier)
        if self._carriers is None:
            companies = self.client.call("pdd.logistics.companies.get").get("logistics_companies") or []
            self._carriers = {}
            for c in companies:
                if str(c.get("available", 1)) == "1":
                    for key in (c.get("code"), c.get("logistics_company")):
                        if key:
                            self._carriers[str(key).upper()] = int(c["id"])
        try:
            return self._carriers[carrier.upper()]
        except KeyError:
            raise ConnectorError(
                f"carrier {carrier!r} is not a PDD logistics company", code="carrier"
            ) from None

    def push_stock(self, sku_code: str, quantity: int) -> None:
        goods_id, sku_id = self._sku(sku_code)
        params = {"goods_id": goods_id, "sku_id": sku_id, "quantity": max(quantity, 0), "update_type": 1}
        if not self.client.call("pdd.goods.quantity.update", params).get("is_success"):
            raise ConnectorError(f"pdd refused the stock of {sku_code}", code="is_success=false")

    def _sku(self, sku_code: str) -> tuple[int, int]:
        """goods_id and sku_id of the PDD SKU whose merchant code (outer_id) is `sku_code`."""
        found = self.client.call("pdd.goods.list.get", {"outer_id": sku_code, "page": 1, "page_size": 100})
        for goods in found.get("goods_list") or []:
            for sku in goods.get("sku_list") or []:
                if str(sku.get("outer_id")) == sku_code:
                    return int(goods["goods_id"]), int(sku["sku_id"])
        raise ConnectorError(f"no PDD SKU with merchant code {sku_code}", code="sku_not_found")

    def decrypt_receiver(self, channel_order_id: str) -> Receiver:
        info = self._order_info(channel_order_id)
        fields = {k: info.get(k) or "" for k in ("receiver_name", "receiver_phone", "address")}
        data_list = [{"data_tag": channel_order_id, "encrypted_data": v} for v in fields.values() if v]
        answer = self.client.call("pdd.open.decrypt.batch", {"data_list": _json(data_list)})
        plain = {}
        for item in answer.get("data_decrypt_list") or []:
            if str(item.get("error_code", 0)) != "0":
                raise ConnectorError(f"pdd could not decrypt a receiver field: {item.get('error_msg')}")
            plain[item.get("encrypted_data")] = item.get("decrypted_data") or ""
        missing = [k for k, v in fields.items() if v and v not in plain]
        if missing:
            raise ConnectorError(f"pdd decrypted no value for {', '.join(missing)}", code="decrypt")
        return Receiver(*(plain.get(v, "") for v in fields.values()))


def _tokens(body: dict) -> TokenSet:
    return TokenSet(
        access_token=body["access_token"],
        refresh_token=body.get("refresh_token", ""),
        expires_at=_epoch(body.get("expires_at"), body.get("expires_in")),
        refresh_expires_at=_epoch(body.get("refresh_token_expires_at"), body.get("refresh_token_expires_in")),
        platform_shop_id=str(body.get("owner_id") or ""),
    )


def _epoch(at, seconds) -> datetime | None:
    if at not in (None, "", 0):
        return when(int(at))
    if seconds not in (None, ""):
        return datetime.now().astimezone() + timedelta(seconds=int(seconds))
    return None


def _why(exc: Exception) -> str:
    """Which fields failed (never their values: they may be personal data)."""
    if isinstance(exc, ValidationError):
        return ", ".join(sorted({".".join(map(str, e["loc"])) for e in exc.errors()}))
    return type(exc).__name__


def _total(answer: dict) -> int:
    return int(answer.get("total_count") or 0)


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
