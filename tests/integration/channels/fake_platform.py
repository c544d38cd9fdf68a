"""A small test-only platform ("zstest") and its connector, until the real connectors land.

The double speaks a minimal OAuth + incremental-pull contract over real HTTP: an authorisation-code
token endpoint, bearer tokens that expire, orders listed by modified-time window and paged, HMAC
signed push messages. It honours the failure switches of `PlatformDouble` (5xx, throttling, outage).
The connector maps its answers into `OrderIn` and raises AuthError / RateLimited / TransientError
like a real one; it is registered in the connector registry when this module is imported.
"""

import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import httpx

from tests.platforms.server import PlatformDouble, Request, Response, page_of
from zhongshu.channels.base import (
    AuthError,
    Connector,
    ConnectorError,
    PushResult,
    RateLimited,
    Receiver,
    TokenSet,
    TransientError,
)
from zhongshu.channels.models import Shop, ShopCredential, SyncState
from zhongshu.channels.registry import register
from zhongshu.orders.schemas import OrderIn

PLATFORM = "zstest"
PAGE_SIZE = 50
APP_KEY, APP_SECRET = "zs-app", "zs-app-secret-0123456789"


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


def order_payload(oid: str, modified: datetime, paid: datetime | None = None, status: str = "paid") -> dict:
    """An order as the double stores and lists it (money in fen, like several real platforms)."""
    paid = paid or modified
    return {
        "tid": oid, "status": status, "created": iso(paid - timedelta(minutes=1)), "pay_time": iso(paid),
        "modified": iso(modified), "payment_fen": 6480, "post_fee_fen": 0, "discount_fen": 500,
        "receiver": {"name": "王小明", "mobile": "13800138000", "state": "四川省", "city": "成都市",
                     "district": "武侯区", "address": "天府大道北段1700号"},
        "items": [{"outer_sku_id": "DUMPLING-500G", "title": "手工水饺 500g", "num": 2, "price_fen": 3990,
                   "payment_fen": 6980}],
    }  # fmt: skip


class FakeDouble(PlatformDouble):
    """The zstest platform: /oauth/token, /orders (window + page), bearer tokens."""

    def __init__(self, token_ttl: timedelta = timedelta(days=1)):
        super().__init__()
        self.orders: dict[str, dict] = {}
        self.tokens: dict[str, datetime] = {}
        self.codes: set[str] = set()
        self.refuse_refresh = False
        self.token_ttl = token_ttl
        self.max_window = timedelta(hours=1)
        self._data = threading.Lock()

    # --- test set-up ---
    def add(self, oid: str, modified: datetime, paid: datetime | None = None, status: str = "paid") -> None:
        with self._data:
            self.orders[oid] = order_payload(oid, modified, paid, status)

    def issue_code(self) -> str:
        code = secrets.token_hex(8)
        self.codes.add(code)
        return code

    def issue_token(self) -> str:
        token = "at-" + secrets.token_hex(12)
        self.tokens[token] = datetime.now(UTC) + self.token_ttl
        return token

    # --- contract ---
    def handle(self, request: Request) -> Response:
        if request.path == "/oauth/token" and request.method == "POST":
            return self._token(request.form)
        if request.path == "/orders" and request.method == "GET":
            return self._orders(request)
        return Response.json({"code": "not_found"}, status=404)

    def rate_limited(self, request: Request) -> Response:
        return Response.json({"code": "rate_limited", "retry_after": 0.1}, status=429)

    def _token(self, form: dict) -> Response:
        if (form.get("client_id"), form.get("client_secret")) != (APP_KEY, APP_SECRET):
            return Response.json({"code": "invalid_client"}, status=401)
        if form.get("grant_type") == "authorization_code" and form.get("code") in self.codes:
            self.codes.discard(form["code"])
        elif form.get("grant_type") != "refresh_token" or self.refuse_refresh:
            return Response.json({"code": "invalid_grant"}, status=400)
        ttl = int(self.token_ttl.total_seconds())
        return Response.json({"access_token": self.issue_token(), "refresh_token": "rt-" + secrets.token_hex(12),
                              "expires_in": ttl, "re_expires_in": ttl * 30, "shop_id": "S-1001"})  # fmt: skip

    def _orders(self, request: Request) -> Response:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if self.tokens.get(token, datetime.min.replace(tzinfo=UTC)) < datetime.now(UTC):
            return Response.json({"code": "invalid_token"}, status=401)
        start, end = (datetime.fromisoformat(request.query[k]) for k in ("start", "end"))
        if not start < end or end - start > self.max_window:
            return Response.json({"code": "invalid_window"}, status=400)
        with self._data:
            rows = sorted((o for o in self.orders.values() if start <= datetime.fromisoformat(o["modified"]) < end),
                          key=lambda o: (o["modified"], o["tid"]))  # fmt: skip
        page = int(request.query.get("page", "1"))
        chunk = page_of(rows, page, PAGE_SIZE)
        return Response.json({"total": len(rows), "page": page, "orders": chunk})


def push_body(order: dict, message_id: str) -> tuple[dict[str, str], bytes]:
    """A signed push message of the double: HMAC-SHA256 of the body with the app secret."""
    body = json.dumps({"id": message_id, "order": order}, ensure_ascii=False).encode()
    sign = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"x-zstest-sign": sign}, body


@register
class FakeConnector(Connector):
    platform = PLATFORM
    max_window = timedelta(hours=1)
    overlap = timedelta(seconds=30)

    def _client(self) -> httpx.Client:
        return httpx.Client(base_url=self.credentials.base_url, timeout=5.0)

    def _call(self, method: str, path: str, **kwargs) -> dict:
        try:
            with self._client() as client:
                resp = client.request(method, path, **kwargs)
            data = resp.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise TransientError(f"{type(exc).__name__}") from exc
        code = str(data.get("code", "")) if isinstance(data, dict) else ""
        if resp.status_code == 401:
            raise AuthError("token rejected", code)
        if resp.status_code == 429:
            raise RateLimited("throttled", code, float(data.get("retry_after", 1)))
        if resp.status_code >= 500:
            raise TransientError(f"HTTP {resp.status_code}", code)
        if resp.status_code >= 400:
            raise (AuthError if code == "invalid_grant" else ConnectorError)(f"HTTP {resp.status_code}", code)
        return data

    # --- OAuth ---
    def authorize_url(self, redirect_uri: str, state: str) -> str:
        query = {"response_type": "code", "client_id": self.credentials.app_key, "redirect_uri": redirect_uri,
                 "state": state}  # fmt: skip
        return f"{self.credentials.base_url}/oauth/authorize?{urlencode(query)}"

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        return self._tokens({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})

    def refresh(self) -> TokenSet:
        return self._tokens({"grant_type": "refresh_token", "refresh_token": self.credentials.refresh_token})

    def _tokens(self, form: dict) -> TokenSet:
        auth = {"client_id": self.credentials.app_key, "client_secret": self.credentials.app_secret}
        data = self._call("POST", "/oauth/token", data={**form, **auth})
        now = datetime.now(UTC)
        return TokenSet(data["access_token"], data["refresh_token"], now + timedelta(seconds=data["expires_in"]),
                        now + timedelta(seconds=data["re_expires_in"]), data.get("shop_id", ""))  # fmt: skip

    # --- orders ---
    def pull_changed(self, start: datetime, end: datetime) -> Iterator[OrderIn]:
        page, seen = 1, 0
        headers = {"Authorization": f"Bearer {self.credentials.access_token}"}
        while True:
            params = {"start": iso(start), "end": iso(end), "page": page}
            data = self._call("GET", "/orders", params=params, headers=headers)
            for row in data["orders"]:
                yield self._map(row)
            seen += len(data["orders"])
            if not data["orders"] or seen >= data["total"]:
                return
            page += 1

    def fetch_one(self, channel_order_id: str) -> OrderIn:
        raise ConnectorError("zstest pushes whole orders")

    def verify_push(self, headers: Mapping[str, str], body: bytes) -> PushResult:
        expected = hmac.new(self.credentials.app_secret.encode(), body, hashlib.sha256).hexdigest()
        given = {k.lower(): v for k, v in headers.items()}.get("x-zstest-sign", "")
        if not hmac.compare_digest(expected, given):
            raise ConnectorError("bad push signature", "invalid_sign")
        msg = json.loads(body)
        return PushResult(message_id=msg["id"], orders=[self._map(msg["order"])])

    def _map(self, row: dict) -> OrderIn:
        r = row["receiver"]
        return OrderIn(
            shop=self.shop, channel_order_id=row["tid"], status=row["status"],
            created_at=row["created"], paid_at=row["pay_time"], updated_at=row["modified"],
            receiver={"name": r["name"], "phone": r["mobile"], "province": r["state"], "city": r["city"],
                      "district": r["district"], "address": r["address"]},
            lines=[{"sku": i["outer_sku_id"], "title": i["title"], "quantity": i["num"],
                    "unit_price": _yuan(i["price_fen"]), "paid_amount": _yuan(i["payment_fen"])}
                   for i in row["items"]],
            freight=_yuan(row["post_fee_fen"]), discount=_yuan(row["discount_fen"]),
            paid_amount=_yuan(row["payment_fen"]),
        )  # fmt: skip

    # --- write-back (not exercised by the scheduler tests) ---
    def confirm_shipment(self, channel_order_id: str, carrier: str, tracking_no: str) -> None:
        raise ConnectorError("not implemented by the test platform")

    def push_stock(self, sku_code: str, quantity: int) -> None:
        raise ConnectorError("not implemented by the test platform")

    def decrypt_receiver(self, channel_order_id: str) -> Receiver:
        raise ConnectorError("not implemented by the test platform")


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def make_shop(double: FakeDouble, code: str = "zs1", authorised: bool = True, **sync) -> Shop:
    """A zstest shop connected to the double (a valid token unless authorised=False), its SyncState."""
    shop = Shop.objects.create(code=code, name=f"测试店 {code}", platform=PLATFORM)
    cred = ShopCredential(shop=shop, app_key=APP_KEY, api_base_url=double.url)
    cred.app_secret = APP_SECRET
    if authorised:
        cred.access_token, cred.refresh_token = double.issue_token(), "rt-initial"
        cred.expires_at = datetime.now(UTC) + timedelta(days=1)
    cred.save()
    SyncState.objects.create(shop=shop, **sync)
    return shop
