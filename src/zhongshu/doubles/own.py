"""The merchant's own shop as a double: it receives the hub's signed callbacks (docs/own-shop-webhook.md).

`POST /zhongshu/shipment` {shop, channel_order_id, carrier, tracking_no} and
`POST /zhongshu/stock` {shop, sku, quantity}, each with X-Zhongshu-Timestamp (±300 s),
X-Zhongshu-Message-Id and X-Zhongshu-Signature `sha256=<hex HMAC-SHA256(secret, message id + "." +
timestamp + "." + raw body)>` (without a message id: over `timestamp + "." + raw body`). A bad signature gets 401; a message id seen before is answered 200 but not
applied again (as a careful shop would). It also signs order pushes for the tests (`signed_push`).
"""

import hashlib
import hmac
import json
import time
import uuid

from zhongshu.doubles.server import PlatformDouble, Request, Response


def sign(secret: str, timestamp: str, body: bytes, message_id: str = "") -> str:
    content = f"{message_id}.{timestamp}." if message_id else f"{timestamp}."
    return "sha256=" + hmac.new(secret.encode(), content.encode() + body, hashlib.sha256).hexdigest()


def signed_push(secret: str, payload, timestamp: int | None = None, message_id: str | None = None):
    """(body, headers) of an order push from the shop to the hub, as Django test-client kwargs.
    A new message id unless one is given; "" sends none."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    ts = str(int(time.time()) if timestamp is None else timestamp)
    message_id = uuid.uuid4().hex if message_id is None else message_id
    headers = {
        "HTTP_X_ZHONGSHU_TIMESTAMP": ts,
        "HTTP_X_ZHONGSHU_SIGNATURE": sign(secret, ts, body, message_id),
    }
    if message_id:
        headers["HTTP_X_ZHONGSHU_MESSAGE_ID"] = message_id
    return body, headers


class OwnShopDouble(PlatformDouble):
    def __init__(self, secret: str):
        super().__init__()
        self.secret = secret
        self.shipments: list[dict] = []
        self.stock: list[dict] = []  # every applied stock message, in arrival order
        self._seen: set[str] = set()

    def handle(self, request: Request) -> Response:
        if request.method != "POST" or request.path not in ("/zhongshu/shipment", "/zhongshu/stock"):
            return Response.json({"error": "not found"}, status=404)
        if not self._signed(request):
            return Response.json({"error": "bad signature"}, status=401)
        message_id = request.headers.get("x-zhongshu-message-id", "")
        with self._lock:
            if message_id in self._seen:
                return Response.json({"ok": True, "duplicate": True})
            self._seen.add(message_id)
            target = self.shipments if request.path.endswith("shipment") else self.stock
            target.append(request.json())
        return Response.json({"ok": True})

    def _signed(self, request: Request) -> bool:
        ts = request.headers.get("x-zhongshu-timestamp", "")
        sig = request.headers.get("x-zhongshu-signature", "")
        message_id = request.headers.get("x-zhongshu-message-id", "")
        if not ts.isdigit() or abs(time.time() - int(ts)) > 300:
            return False
        return hmac.compare_digest(sign(self.secret, ts, request.body, message_id), sig)

    def stock_of(self, shop: str, sku: str) -> list[int]:
        """Every quantity received for (shop, sku), oldest first."""
        return [m["quantity"] for m in self.stock if m["shop"] == shop and m["sku"] == sku]
