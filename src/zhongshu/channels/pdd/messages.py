"""Pinduoduo order messages through PDD's message service (消息服务), the push path of PDD shops.

PDD's pull must end its window 3 minutes behind PDD's clock; the message service brings an order
within seconds. It delivers an app's messages over one WebSocket, JSON text frames both ways:

- connect to `wss://message-api.pinduoduo.com/message/{client_id}/{timestamp}/{sign}`, where
  timestamp is the client's clock in milliseconds and sign = base64(lower-case hex MD5(client_id +
  timestamp + client_secret)), the base64 of the 32 hex characters, not of the 16 digest bytes;
- server → `{"id": 123, "commandType": "Common", "time": ms, "sendTime": ms, "message": {"type":
  "pdd_trade_TradeConfirmed", "mallID": 100, "content": "{\"mall_id\":100,\"tid\":\"…\"}"}}`: the
  content is JSON in a string; trade and refund messages carry the order sn as `tid` (refund
  messages also refund_id, refund_fee, operation, modified …). commandType is also "HeartBeat",
  "Ack" (nothing to do) or "Fail" (an error; its reason in message.content);
- client → `{"id": 123, "commandType": "Ack", "time": ms, "sendTime": ms, "type": "…",
  "mallID": 100}` once the message is processed: the id, sendTime, type and mallID it came with;
- client → `{"commandType": "HeartBeat", "time": ms}` every 10 s (the SDKs: 5–10 s).

Here every trade (`pdd_trade_*`) and refund (`pdd_refund_*`) message with a `tid` fetches the order
(`fetch_one`: pdd.order.information.get) and takes it in through `services.accept_message` with the
receipt `pddmsg:<id>`, acknowledged after the commit, when the receipt already exists, or when the
message is not for the hub (another type, a mall that is no active shop of the app); a failed fetch
is not acknowledged. The mall is the envelope's `mallID` against the credential's
`platform_shop_id`, which the token exchange fills with `owner_id` (the authorised mall's id). The
connection loop, the worker's threads and the take-in step are `zhongshu.channels.listener`;
pdd.pmc.user.permit is called once per shop (`PddConnector.permit_messages`).

Sources (read, not copied): bububa/openpdd (Go: core/client.go WSSUrl and signWSS, core/const.go,
api/pmc/message.go Command, Message and AckMessage, api/pmc/user_permit.go); a Rust PmcClient
(tokio-tungstenite: URL, sign, ack, a HeartBeat every 5 s); whalesky-labs/pdd-sdk-php
(src/Message/MessageProtocol.php and its tests: the path with a test vector, heartbeat, ack after
the handler's commit); a Node PddWsClient (URL and sign, heartbeat every 10 s, 3 min timeout);
juejin.cn/post/7459762467289202751 (read from the decompiled Java SDK `com.pdd.pop.sdk.message.
WsClient`: URL, sign, heartbeat and ack frames); Java projects handling pdd_trade_TradeConfirmed,
pdd_trade_TradeSellerShip, pdd_refund_RefundCreated … with WsClient(url, clientId, secret, handler).

Not confirmed by those sources, so chosen here and to be checked against the live service:
- how a wrong sign or a stale timestamp is refused (an HTTP error at the upgrade is taken as a
  refusal; a "Fail" frame ends the connection, which is made again after the backoff), and how far
  the timestamp may be off;
- whether the sign is URL-encoded (its trailing "=" is sent as it is, as the Go, Rust and Node
  clients and the Java SDK do; the PHP SDK sends %3D);
- the heartbeat's optional fields (the Java SDK also sends id and timeMetrics) and whether the
  server answers it; whether a redelivered message keeps its id, and how soon an unacknowledged one
  comes again (a redelivery under a new id is fetched again, which intake makes a no-op).
"""

import base64
import hashlib
import json
import time
from dataclasses import dataclass

from zhongshu.channels.listener import FrameError, Listener, ListenerService, take_in
from zhongshu.channels.models import Platform

PRODUCTION_URL = "wss://message-api.pinduoduo.com"
ORDER_TYPES = ("pdd_trade_", "pdd_refund_")
HEARTBEAT_INTERVAL = 10.0


def sign(client_id: str, timestamp_ms: int, client_secret: str) -> str:
    digest = hashlib.md5(f"{client_id}{timestamp_ms}{client_secret}".encode()).hexdigest()
    return base64.b64encode(digest.encode()).decode()


def address(url: str, client_id: str, client_secret: str, timestamp_ms: int | None = None) -> str:
    """The signed URL of one connection."""
    timestamp = timestamp_ms or _now_ms()
    return f"{url.rstrip('/')}/message/{client_id}/{timestamp}/{sign(client_id, timestamp, client_secret)}"


@dataclass(frozen=True)
class PddMessage:
    """A business message: its id, sendTime, type and mallID (echoed in the ack) and decoded content."""

    id: int
    send_time: int | None
    type: str
    mall_id: int | str
    content: dict

    @classmethod
    def parse(cls, data: str | bytes) -> "PddMessage | None":
        """The message in a frame; None for heartbeats, acks and other commands; FrameError for
        text that is no command and for a Fail."""
        try:
            command = json.loads(data)
        except ValueError as exc:
            raise FrameError(f"PDD frame is not JSON: {exc}") from exc
        if not isinstance(command, dict):
            raise FrameError("PDD frame is not a JSON object")
        body = command.get("message") if isinstance(command.get("message"), dict) else {}
        if command.get("commandType") == "Fail":
            raise FrameError(f"PDD answered Fail: {body.get('content') or command}")
        if command.get("commandType") != "Common" or command.get("id") is None:
            return None
        try:
            content = json.loads(body.get("content") or "{}")
        except ValueError:  # a corrupt body: no tid, so acknowledged and left to the pull
            content = {}
        content = content if isinstance(content, dict) else {}
        mall_id = body.get("mallID") or content.get("mall_id") or ""
        return cls(command["id"], command.get("sendTime"), str(body.get("type") or ""), mall_id, content)

    def ack(self) -> str:
        return json.dumps({"id": self.id, "commandType": "Ack", "time": _now_ms(), "sendTime": self.send_time,
                           "type": self.type, "mallID": self.mall_id})  # fmt: skip


def heartbeat() -> str:
    return json.dumps({"commandType": "HeartBeat", "time": _now_ms()})


def _now_ms() -> int:
    return time.time_ns() // 10**6


class PddListener(Listener):
    """One app's connection to the message service: signed URL, heartbeats, messages acknowledged."""

    service = "PDD"
    platform = Platform.PDD
    interval = HEARTBEAT_INTERVAL

    def address(self) -> str:
        return address(self.url, self.app_key, self.secret())

    def periodic(self) -> str:
        return heartbeat()

    def parse(self, data: str | bytes) -> PddMessage | None:
        return PddMessage.parse(data)

    def take_in(self, message: PddMessage) -> bool:
        if not message.type.startswith(ORDER_TYPES):
            return True
        return take_in(self.service, self.platform, self.app_key, f"pddmsg:{message.id}", message.content.get("tid"),
                       str(message.mall_id))  # fmt: skip

    def ack(self, message: PddMessage) -> str:
        return message.ack()


class PddMessageService(ListenerService):
    """A worker's side of PDD's message service: one listener per PDD app (client id), pdd.pmc.user.permit
    once per shop; idle without an authorised PDD shop."""

    listener_class = PddListener
    switch = "ZHONGSHU_PDD_MESSAGES"
    production_url = PRODUCTION_URL
    permit_api = "pdd.pmc.user.permit"
