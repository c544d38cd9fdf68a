"""JD (京东 JOS open platform) connector: POP orders by modified-time window, OAuth, write-back.

Facts from the platform's documentation (jos.jd.com) that shape this module:
- incremental pull: jingdong.pop.order.enSearch (the encrypted-receiver version of
  jingdong.pop.order.search) with start_date/end_date, dateType=0 (modified time), sortType=0
  (ascending), order_state list, optional_fields (required), page/page_size (≤ 50); the two
  dates may not be more than one month apart, and modified-time queries reach back 3 months;
- the search is a live offset query: an order modified while we page leaves the window and
  every later order moves one place up. Paging from the last page backwards (and reading the
  first page again at the end) makes such a move cause a duplicate, never a gap; the order
  that moved is caught by the next window under its new modified time;
- JD pushes order messages through JMQ, not over HTTP: no push receiver (base behaviour).
"""

import logging
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from pydantic import ValidationError

from zhongshu.channels.base import Connector, ConnectorError, Credentials, Receiver, TokenSet
from zhongshu.channels.jd import mapping
from zhongshu.channels.jd.client import JosClient
from zhongshu.channels.jd.signing import jos_time
from zhongshu.channels.registry import register
from zhongshu.orders.schemas import OrderIn

log = logging.getLogger(__name__)

PAGE_SIZE = 50
SEARCH = "jingdong.pop.order.enSearch"
GET = "jingdong.pop.order.enGet"
DECRYPT = "jingdong.jos.order.oaid.decrypt"
SHIP = "jingdong.pop.order.shipment"
SKU_SEARCH = "jingdong.sku.read.searchSkuList"
STOCK = "jingdong.stock.write.updateSkuStock"
# JD logistics company ids (logiCoprId) for the hub's carrier codes; a numeric carrier passes as is
CARRIERS = {
    "SF": "467",
    "EMS": "465",
    "YTO": "463",
    "STO": "470",
    "ZTO": "1499",
    "YUNDA": "1327",
    "JD": "2087",
}


@register
class JdConnector(Connector):
    platform = "jd"
    # documented: start_date and end_date at most one month apart; 28 days fits every month
    max_window = timedelta(days=28)
    overlap = timedelta(minutes=2)
    # the search index trails writes; not documented as a figure, one minute is our safety margin
    lag = timedelta(minutes=1)

    def __init__(self, shop_code: str, credentials: Credentials):
        super().__init__(shop_code, credentials)
        self.jos = JosClient(credentials)

    # --- OAuth ---
    def authorize_url(self, redirect_uri: str, state: str) -> str:
        query = {"app_key": self.credentials.app_key, "response_type": "code", "redirect_uri": redirect_uri,
                 "state": state, "scope": "snsapi_base"}  # fmt: skip
        return f"{self.jos.oauth}/to_login?{urlencode(query)}"

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        return _tokens(self.jos.token("access_token", {"grant_type": "authorization_code", "code": code}))

    def refresh(self) -> TokenSet:
        params = {"grant_type": "refresh_token", "refresh_token": self.credentials.refresh_token}
        return _tokens(self.jos.token("refresh_token", params))

    # --- orders ---
    def pull_changed(self, start: datetime, end: datetime) -> Iterator[OrderIn]:
        if end - start > self.max_window:
            raise ValueError(f"JD window {start}..{end} is longer than {self.max_window}")
        found: dict[str, dict] = {}
        for rows in self._pages_backwards(start, end):
            _keep_newest(found, rows)
        for info in found.values():
            order = self._map(info)
            if order is not None:
                yield order

    def fetch_one(self, channel_order_id: str) -> OrderIn:
        order = self._map(self._get(channel_order_id))
        if order is None:
            raise ConnectorError(f"JD order {channel_order_id} cannot be mapped")
        return order

    # --- write-back ---
    def confirm_shipment(self, channel_order_id: str, carrier: str, tracking_no: str) -> None:
        logi = carrier if carrier.isdigit() else CARRIERS.get(carrier.upper())
        if logi is None:
            raise ConnectorError(f"no JD logistics company id for carrier {carrier!r}")
        body = self.jos.call(SHIP, {"orderId": channel_order_id, "logiCoprId": logi, "logiNo": tracking_no})
        result = body.get("sopjosshipment_result") or {}
        if str(result.get("success")).lower() != "true":
            raise ConnectorError(
                f"JD shipment of {channel_order_id} refused", code=str(result.get("errorCode", ""))
            )

    def push_stock(self, sku_code: str, quantity: int) -> None:
        body = self.jos.call(STOCK, {"skuId": self._jd_sku_id(sku_code), "stockNum": max(quantity, 0)})
        if str(body.get("success")).lower() != "true":
            raise ConnectorError(f"JD stock update of {sku_code} refused")

    def decrypt_receiver(self, channel_order_id: str) -> Receiver:
        oaid = (self._get(channel_order_id).get("consigneeInfo") or {}).get("oaid", "")
        request = {
            "orderType": "POP",
            "scenesType": "1001",
            "orderInfos": [{"orderId": channel_order_id, "oaid": oaid}],
        }
        result = self.jos.call(DECRYPT, {"getReceiverInfoListReqVO": request}).get("returnType") or {}
        rows = [r for r in result.get("data") or [] if str(r.get("orderId")) == str(channel_order_id)]
        if str(result.get("code")) not in ("0", "200") or not rows:
            raise ConnectorError(
                f"JD decrypt of {channel_order_id} refused", code=str(result.get("code", ""))
            )
        row = rows[0]
        return Receiver(row.get("customerName") or "", row.get("consMobilePhone") or row.get("customerPhone") or "",
                        row.get("address") or "")  # fmt: skip

    # --- helpers ---
    def _pages_backwards(self, start: datetime, end: datetime) -> Iterator[list[dict]]:
        """Page 1 for the total, then the last page down to 2, then page 1 again (see module doc)."""
        first = self._search(start, end, 1)
        pages = math.ceil(first["orderTotal"] / PAGE_SIZE)
        for page in range(pages, 1, -1):
            yield self._search(start, end, page)["orderInfoList"]
        yield (self._search(start, end, 1) if pages > 1 else first)["orderInfoList"]

    def _search(self, start: datetime, end: datetime, page: int) -> dict:
        business = {
            "start_date": jos_time(start), "end_date": jos_time(end), "order_state": mapping.SEARCH_STATES,
            "optional_fields": mapping.OPTIONAL_FIELDS, "page": str(page), "page_size": str(PAGE_SIZE),
            "dateType": 0, "sortType": 0,
        }  # fmt: skip
        result = self.jos.call(SEARCH, business).get("searchorderinfo_result") or {}
        _check_api_result(result)
        if not isinstance(result.get("orderTotal"), int) or not isinstance(
            result.get("orderInfoList", []), list
        ):
            raise ConnectorError("JD order search answered without orderTotal/orderInfoList")
        result.setdefault("orderInfoList", [])
        return result

    def _get(self, order_id: str) -> dict:
        body = self.jos.call(GET, {"order_id": order_id, "optional_fields": mapping.OPTIONAL_FIELDS})
        detail = body.get("orderDetailInfo") or {}
        _check_api_result(detail)
        if not detail.get("orderInfo"):
            raise ConnectorError(f"JD order {order_id} not found")
        return detail["orderInfo"]

    def _jd_sku_id(self, sku_code: str) -> int:
        body = self.jos.call(
            SKU_SEARCH, {"outId": sku_code, "field": "skuId,outerId", "pageNo": 1, "page_size": 20}
        )
        rows = [r for r in (body.get("page") or {}).get("data") or [] if r.get("outerId") == sku_code]
        if not rows:
            raise ConnectorError(f"no JD sku with outer id {sku_code!r}")
        return int(rows[0]["skuId"])

    def _map(self, info: dict) -> OrderIn | None:
        try:
            return mapping.to_order_in(self.shop, info)
        except ValidationError as exc:  # log fields only: the values may be personal data
            log.warning(
                "JD order %s skipped: invalid %s", info.get("orderId"), [e["loc"] for e in exc.errors()]
            )
        except (KeyError, ValueError, TypeError) as exc:
            log.warning("JD order %s skipped: %s", info.get("orderId"), type(exc).__name__)
        return None


def _keep_newest(found: dict[str, dict], rows: list[dict]) -> None:
    for row in rows:
        key = str(row.get("orderId"))
        if key not in found or row.get("modified", "") >= found[key].get("modified", ""):
            found[key] = row


def _check_api_result(result: dict) -> None:
    api = result.get("apiResult") or {}
    if api and str(api.get("success")).lower() != "true":
        raise ConnectorError(
            f"JD refused: {api.get('englishErrCode', '')}", code=str(api.get("numberCode", ""))
        )


def _tokens(body: dict) -> TokenSet:
    issued = (
        datetime.fromtimestamp(int(body.get("time") or 0) / 1000, UTC)
        if body.get("time")
        else datetime.now(UTC)
    )
    return TokenSet(
        access_token=body["access_token"],
        refresh_token=body.get("refresh_token") or "",
        expires_at=issued + timedelta(seconds=int(body.get("expires_in") or 0)),
        platform_shop_id=str(body.get("uid") or body.get("open_id") or ""),
    )
