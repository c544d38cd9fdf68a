"""The 快手小店 (Kuaishou shop) connector: OAuth, incremental pull, write-back, receiver decryption.

Incremental pull uses `open.order.cursor.list` by update time (queryType=2, beginTime/endTime in
ms, at most 7 days apart and not older than 90 days, orderViewStatus=1 = all, pageSize ≤ 50). It
pages by cursor: the first call sends "", each next call the cursor returned, until "nomore".
The window is read in ascending update time (sort=2): the cursor is a position in that order, so
an order changed while the window is paged moves behind the cursor (read again later in this
window, or in the next one) and is never skipped; the window also ends `lag` behind now. The
newest version of each order is kept.

Credentials: Kuaishou apps have an appSecret (OAuth), a separate signSecret (API signatures) and a
message secret (消息推送 decryption). The credential's app secret holds the appSecret, its push
secret the signSecret and its message secret the message secret (all encrypted at rest).

Push messages (消息推送, see `push`): one AES-encrypted message per request; its appKey must be the
shop's, msgId is the replay key, and an order or after-sale event names the order, which is then
fetched with open.order.detail. A message of another merchant authorised on the same app (openId
not the shop's), a test message and any other event are acknowledged and take nothing in; the pull
reads every order anyway.
"""

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.utils import timezone

from zhongshu.channels.base import Connector, ConnectorError, PushResult, Receiver, TokenSet
from zhongshu.channels.kuaishou import mapping, push
from zhongshu.channels.kuaishou.client import call, oauth
from zhongshu.channels.registry import register
from zhongshu.orders.schemas import OrderIn

AUTHORIZE_URL = "https://open.kwaixiaodian.com/oauth/authorize"
SCOPES = "merchant_order,merchant_item,merchant_logistics,merchant_refund"
PAGE_SIZE = 50  # documented maximum of open.order.cursor.list
NO_MORE = "nomore"
BY_UPDATE_TIME, ASCENDING, ALL_STATUSES = 2, 2, 1
ITEM_PAGE_SIZE = 100
INCREASE, DECREASE = 1, 2
REFRESH_TOKEN_LIFETIME = timedelta(days=180)
# the hub's carrier codes → 快手 expressCode (快递公司编码); SF = 4 as in the platform's deliver example
EXPRESS_CODES = {"SF": 4}


@register
class KuaishouConnector(Connector):
    platform = "kuaishou"
    max_window = timedelta(days=7)  # documented: endTime - beginTime ≤ 7 days
    overlap = timedelta(minutes=2)
    # undocumented: updates reach the order list with a delay of seconds; end windows behind now
    lag = timedelta(seconds=10)

    # --- OAuth ---
    def authorize_url(self, redirect_uri: str, state: str) -> str:
        scope = getattr(settings, "KUAISHOU_SCOPES", SCOPES)
        query = {"app_id": self.credentials.app_key, "redirect_uri": redirect_uri, "scope": scope,
                 "response_type": "code", "state": state}  # fmt: skip
        return f"{AUTHORIZE_URL}?{urlencode(query)}"

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        return _tokens(oauth(self.credentials, "access_token", {"grant_type": "code", "code": code}))

    def refresh(self) -> TokenSet:
        params = {"grant_type": "refresh_token", "refresh_token": self.credentials.refresh_token}
        return _tokens(oauth(self.credentials, "refresh_token", params))

    # --- orders ---
    def pull_changed(self, start: datetime, end: datetime) -> Iterator[OrderIn]:
        newest = self._collect(_ms(start), _ms(end))
        for raw in sorted(newest.values(), key=lambda r: (mapping.updated_ms(r), mapping.order_id(r))):
            order = mapping.to_order(self.shop, raw)
            if order is not None:
                yield order

    def fetch_one(self, channel_order_id: str) -> OrderIn:
        order = mapping.to_order(self.shop, self._detail(channel_order_id))
        if order is None:
            raise ConnectorError(f"kuaishou order {channel_order_id} could not be mapped")
        return order

    # --- write-back ---
    def confirm_shipment(self, channel_order_id: str, carrier: str, tracking_no: str) -> None:
        params = {"orderId": int(channel_order_id), "expressCode": _express_code(carrier),
                  "expressNo": tracking_no}  # fmt: skip
        call(self.credentials, "open.seller.order.goods.deliver", params)

    def push_stock(self, sku_code: str, quantity: int) -> None:
        """Set the sellable stock of a merchant SKU code (the platform's update is a signed delta)."""
        item_id, sku = self._find_sku(sku_code)
        delta = max(quantity, 0) - int(sku.get("skuStock") or 0)
        if delta == 0:
            return
        params = {"kwaiItemId": item_id, "skuId": int(sku["kwaiSkuId"]), "skuChangeStock": abs(delta),
                  "changeType": INCREASE if delta > 0 else DECREASE}  # fmt: skip
        call(self.credentials, "open.item.sku.stock.update", params)

    def decrypt_receiver(self, channel_order_id: str) -> Receiver:
        addr = self._detail(channel_order_id).get("orderAddress") or {}
        keys = ("encryptedConsignee", "encryptedMobile", "encryptedAddress")
        ciphers = [str(addr.get(k) or "") for k in keys]
        if not all(ciphers):
            raise ConnectorError(f"kuaishou order {channel_order_id} has no encrypted receiver")
        name, phone, address = self._decrypt(channel_order_id, ciphers)
        return Receiver(name=name, phone=phone, address=address)

    # --- push messages (消息推送) ---
    def verify_push(self, headers: Mapping[str, str], body: bytes) -> PushResult:
        """Decrypt with the message secret and check the appKey; the result names the order to fetch."""
        message = push.parse(push.decrypt(body, self.credentials.message_secret))
        if message.app_key != self.credentials.app_key:
            raise ConnectorError("kuaishou push: appKey does not match", "appKey")
        open_id = self.credentials.platform_shop_id
        if open_id and message.open_id and message.open_id != open_id:
            return PushResult(message_id=message.msg_id)
        oid = push.order_id(message)
        return PushResult(message_id=message.msg_id, order_ids=[oid] if oid else [])

    # --- helpers ---
    def _collect(self, begin: int, end: int) -> dict[str, dict]:
        """Every order of the window, all cursor pages; the newest version of each."""
        params = {"queryType": BY_UPDATE_TIME, "sort": ASCENDING, "orderViewStatus": ALL_STATUSES,
                  "pageSize": PAGE_SIZE, "beginTime": begin, "endTime": end, "cpsType": 0}  # fmt: skip
        newest: dict[str, dict] = {}
        cursor = ""
        while True:
            data = call(self.credentials, "open.order.cursor.list", {**params, "cursor": cursor})
            for raw in data.get("orderList") or []:
                oid = mapping.order_id(raw)
                if oid not in newest or mapping.updated_ms(raw) >= mapping.updated_ms(newest[oid]):
                    newest[oid] = raw
            following = str(data.get("cursor") or NO_MORE)
            if following == NO_MORE or following == cursor or not data.get("orderList"):
                return newest
            cursor = following

    def _detail(self, channel_order_id: str) -> dict:
        data = call(self.credentials, "open.order.detail", {"oid": int(channel_order_id)})
        if not data:
            raise ConnectorError(f"kuaishou order {channel_order_id} not found")
        return data

    def _decrypt(self, channel_order_id: str, ciphers: list[str]) -> list[str]:
        batch = [{"encryptedData": c, "bizId": channel_order_id} for c in ciphers]
        data = call(self.credentials, "open.order.decrypt.batch", {"batchDecryptList": batch})
        plain = {d.get("encryptedData"): d for d in data.get("decryptList") or []}
        failed = [c for c in ciphers if c not in plain or int(plain[c].get("errorCode") or 0) != 0]
        if failed:
            raise ConnectorError(
                f"kuaishou decrypt failed for {len(failed)} field(s) of order {channel_order_id}"
            )
        return [plain[c]["decryptedData"] for c in ciphers]

    def _find_sku(self, sku_code: str) -> tuple[int, dict]:
        """The item and SKU carrying a merchant SKU code (skuNick), with its current stock."""
        page, total = 1, 1
        while page <= total:
            params = {"itemStatus": 1, "pageNumber": page, "pageSize": ITEM_PAGE_SIZE}
            data = call(self.credentials, "open.item.list.get", params)
            for item in data.get("items") or []:
                for sku in item.get("skuList") or []:
                    if sku.get("skuNick") == sku_code:
                        return int(item["kwaiItemId"]), sku
            total, page = int(data.get("totalPage") or 0), page + 1
        raise ConnectorError(f"kuaishou: no SKU with merchant code {sku_code}", "sku-not-found")


def _tokens(data: dict) -> TokenSet:
    if not data.get("access_token"):
        raise ConnectorError("kuaishou token answer without access_token")
    now = timezone.now()
    refresh_life = data.get("refresh_token_expires_in")
    return TokenSet(
        access_token=data["access_token"],
        refresh_token=data.get("refresh_token", ""),
        expires_at=now + timedelta(seconds=int(data.get("expires_in") or 0)),
        refresh_expires_at=now
        + (timedelta(seconds=int(refresh_life)) if refresh_life else REFRESH_TOKEN_LIFETIME),
        platform_shop_id=str(data.get("open_id") or ""),
    )


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _express_code(carrier: str) -> int:
    code = EXPRESS_CODES.get(carrier.upper(), carrier)
    try:
        return int(code)
    except ValueError:
        raise ConnectorError(f"kuaishou: no expressCode for carrier {carrier}", "express-code") from None
