"""The merchant's own shop (mini-program / web shop): signed webhooks both ways (docs/own-shop-webhook.md).

The shop pushes contract orders to `POST /api/v1/push/{shop}`; the hub posts shipments and stock
to the shop's callback URL. Both directions carry the same three headers: a message id, a unix
timestamp, and an HMAC-SHA256 over `message id + "." + timestamp + "." + raw body` keyed by the shop's
push secret (as Standard Webhooks sign `id.timestamp.body`), so neither the id nor the time can be
changed on a captured message. A push without a message id signs `timestamp + "." + raw body` and its
signature serves as its id. There is no OAuth and nothing to pull: the shop pushes every change itself.
"""

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Annotated

import httpx
from pydantic import Field, ValidationInfo, field_validator

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
from zhongshu.channels.registry import register
from zhongshu.orders.schemas import Contract, OrderIn

TIMESTAMP_HEADER = "X-Zhongshu-Timestamp"
SIGNATURE_HEADER = "X-Zhongshu-Signature"
MESSAGE_ID_HEADER = "X-Zhongshu-Message-Id"
TOLERANCE_SECONDS = 300
MAX_ORDERS = 500
TIMEOUT = httpx.Timeout(5.0, connect=3.0)


class BadSignature(ConnectorError):
    """Missing, stale or wrong signature on a push: answer 401."""


def signature(secret: str, timestamp: str, body: bytes, message_id: str = "") -> str:
    """`sha256=<hex HMAC-SHA256(secret, message_id + "." + timestamp + "." + body)>`; without a
    message id, over `timestamp + "." + body`."""
    signed = (message_id + "." if message_id else "") + timestamp + "."
    mac = hmac.new(secret.encode(), signed.encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(
    secret: str, body: bytes, now: float | None = None, message_id: str = ""
) -> dict[str, str]:
    """The headers of a signed message (used for the hub's callbacks to the shop)."""
    ts = str(int(now if now is not None else time.time()))
    message_id = message_id or uuid.uuid4().hex
    return {
        "Content-Type": "application/json; charset=utf-8",
        TIMESTAMP_HEADER: ts,
        SIGNATURE_HEADER: signature(secret, ts, body, message_id),
        MESSAGE_ID_HEADER: message_id,
    }


class OwnOrder(OrderIn):
    """A contract order that must belong to the shop whose secret signed it."""

    @field_validator("shop")
    @classmethod
    def _same_shop(cls, value: str, info: ValidationInfo) -> str:
        expected = (info.context or {}).get("shop")
        if expected and value != expected:
            raise ValueError(f"must be '{expected}', the shop this push was signed for")
        return value


class OwnBatch(Contract):
    orders: Annotated[list[OwnOrder], Field(min_length=1, max_length=MAX_ORDERS)]


def parse_orders(body: bytes, shop: str) -> list[OrderIn]:
    """One contract order or {"orders": [...]}; raises pydantic.ValidationError naming the field."""
    ctx = {"shop": shop}
    try:
        data = json.loads(body)
    except ValueError:
        return [OwnOrder.model_validate_json(body, context=ctx)]  # raises json_invalid
    if isinstance(data, dict) and "orders" in data:
        return list(OwnBatch.model_validate(data, context=ctx).orders)
    return [OwnOrder.model_validate(data, context=ctx)]


@register
class OwnShopConnector(Connector):
    platform = "own"
    max_window = timedelta(days=1)  # nothing to pull; keeps the sync loop's arithmetic valid

    # --- OAuth: the own shop has none (the push secret is configured in the admin) ---
    def authorize_url(self, redirect_uri: str, state: str) -> str:
        raise ConnectorError("the own shop has no OAuth authorisation", code="no_oauth")

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        raise ConnectorError("the own shop has no OAuth authorisation", code="no_oauth")

    def refresh(self) -> TokenSet:
        raise ConnectorError("the own shop has no OAuth authorisation", code="no_oauth")

    # --- orders: pushed by the shop ---
    def pull_changed(self, start: datetime, end: datetime) -> Iterator[OrderIn]:
        return iter(())

    def fetch_one(self, channel_order_id: str) -> OrderIn:
        raise ConnectorError("the own shop pushes whole orders; there is nothing to fetch", code="no_fetch")

    def verify_push(self, headers: Mapping[str, str], body: bytes) -> PushResult:
        h = {k.lower(): v for k, v in headers.items()}
        message_id = h.get(MESSAGE_ID_HEADER.lower(), "")
        if len(message_id) > 128:
            raise BadSignature("message id longer than 128 characters", code="bad_message_id")
        sig = self._check_signature(h, body, message_id)
        return PushResult(message_id=message_id or sig, orders=parse_orders(body, self.shop))

    def _check_signature(
        self, h: dict[str, str], body: bytes, message_id: str, now: float | None = None
    ) -> str:
        ts, sig = h.get(TIMESTAMP_HEADER.lower(), ""), h.get(SIGNATURE_HEADER.lower(), "")
        if not (ts.isascii() and ts.isdigit()) or not sig:
            raise BadSignature("timestamp or signature header missing", code="unsigned")
        if abs((now if now is not None else time.time()) - int(ts)) > TOLERANCE_SECONDS:
            raise BadSignature(f"timestamp outside ±{TOLERANCE_SECONDS} s", code="stale")
        if not hmac.compare_digest(signature(self._secret(), ts, body, message_id), sig):
            raise BadSignature("signature does not match", code="bad_signature")
        return sig

    # --- write-back: signed callbacks to the shop ---
    def confirm_shipment(self, channel_order_id: str, carrier: str, tracking_no: str) -> None:
        payload = {
            "shop": self.shop,
            "channel_order_id": channel_order_id,
            "carrier": carrier,
            "tracking_no": tracking_no,
        }
        self._post("/zhongshu/shipment", payload)

    def push_stock(self, sku_code: str, quantity: int) -> None:
        self._post("/zhongshu/stock", {"shop": self.shop, "sku": sku_code, "quantity": quantity})

    def decrypt_receiver(self, channel_order_id: str) -> Receiver:
        raise ConnectorError(
            "own-shop receivers arrive in plain text; read them from the order", code="plain"
        )

    # --- plumbing ---
    def _secret(self) -> str:
        if not self.credentials.push_secret:
            raise BadSignature(f"shop {self.shop} has no push secret configured", code="no_secret")
        return self.credentials.push_secret

    def _post(self, path: str, payload: dict) -> None:
        base = self.credentials.base_url.rstrip("/")
        if not base:
            raise ConnectorError(f"shop {self.shop} has no callback URL (api_base_url)", code="no_url")
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            resp = httpx.post(
                base + path, content=body, headers=signed_headers(self._secret(), body), timeout=TIMEOUT
            )
        except httpx.TransportError as exc:
            raise TransientError(f"{path}: {type(exc).__name__}") from exc
        _raise_for(path, resp)


def _raise_for(path: str, resp: httpx.Response) -> None:
    code = str(resp.status_code)
    if resp.status_code == 429:
        raise RateLimited(f"{path}: throttled", code=code, retry_after=_retry_after(resp))
    if resp.status_code >= 500:
        raise TransientError(f"{path}: HTTP {code}", code=code)
    if resp.status_code in (401, 403):
        raise AuthError(f"{path}: the shop refused our signature (HTTP {code})", code=code)
    if resp.status_code >= 400:
        raise ConnectorError(f"{path}: HTTP {code} {resp.text[:200]}", code=code)


def _retry_after(resp: httpx.Response) -> float:
    try:
        return max(float(resp.headers.get("Retry-After", "1")), 0.0)
    except ValueError:
        return 1.0
