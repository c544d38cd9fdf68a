"""Taobao/Tmall order messages through TMC (淘宝消息服务), the push path of Taobao shops.

TMC delivers an app's messages over one long-lived WebSocket (ws://mc.api.taobao.com/, sandbox
ws://mc.api.tbsandbox.com/) in binary frames, little-endian:

    byte   protocol version (2)
    byte   message type: 0 CONNECT, 1 CONNECTACK, 2 SEND, 3 SENDACK
    headers, each an int16 type and its value, closed by the int16 0 (end of headers):
        1 custom         counted string name, typed value
        2 status code    int32
        3 status phrase  counted string
        4 flag           int32
        5 token          counted string
    counted string: int32 byte length + UTF-8 (length 0: none)
    typed value: a format byte, then 0 void (nothing), 1 counted string, 2 byte, 3 int16, 4 int32,
        5 int64, 6 date (int64 ms since the epoch), 7 byte array (int32 length + bytes)

The conversation (group "default"):

- client → CONNECT with the custom headers app_key, group_name, timestamp (ms), sign, sdk, where
  sign = upper-case hex MD5(secret + "app_key" k + "group_name" g + "timestamp" t + secret): the TOP
  md5 rule over those three parameters;
- server → CONNECTACK with a token header; a status code > 0 with a status phrase is a refusal;
- server → SEND with custom __kind 3 (data), id (int64), topic, content (JSON text, or gzip bytes),
  time, userid (int64: the seller), nick (the seller's nick), …;
- client → SEND with the token header, __kind 2 (confirm) and the id once the message is processed;
  an unconfirmed message is delivered again later. __kind 1 (pull request) asks for waiting
  messages: the SDKs send it every 5–30 s as a catch-up beside the push. Heartbeats are WebSocket
  ping/pong, answered by the websockets library.

Here every trade (`taobao_trade_*`) and refund (`taobao_refund_*`) message with a `tid` fetches the
trade (`fetch_one`) and takes it in through the same path as the HTTP pushes
(`services.accept_message`: a PushReceipt keyed `tmc:<id>` in one transaction with the intake). The
message is confirmed only after that transaction has committed, or when its receipt already exists,
or when it is not for the hub (another topic, a seller who is no active shop of the app). A failed
fetch is not confirmed: TMC delivers the message again, and the scheduled pull reads the trade too.
The seller is found by the message's `userid` against the credential's `platform_shop_id`, which
the OAuth token exchange fills with `taobao_user_id`; the seller nick is not stored by the hub.

Sources (read, not copied): the TOP Java SDK `com.taobao.api.internal.tmc` (TmcClient: handshake
headers and `signTopRequestNew` md5; MessageFields, MessageKind; TmcHandler.parse: gzip content)
and `com.taobao.api.internal.toplink.endpoint.protocol.MessageEncoder02`; the TOP Node SDK
`tmc/tmcCodec.js` and `tmc/tmcClient.js` (confirm with the token, pull every 5 s, ping/pong); the
C# `Taobao.Top.Link.Endpoints.MessageIO`; the Python client tmcpy 0.3.x (baocaixiong:
client.py, messageio.py, messagetype.py, message.py, utils.py); hucsuper/taobao-tmc (PHP).

Not confirmed by those sources, so chosen here and to be checked against the live service:
- the status code and phrase of a refused handshake (any status code > 0, or no token, is taken as
  a refusal); tmcpy also sends a flag header (1) with CONNECT, the official Java and Node SDKs do not,
  and neither is done here;
- whether a redelivered message keeps its id (the SDKs confirm by the id they received): a
  redelivery under a new id is fetched and taken in again, which intake makes a no-op;
- how soon TMC redelivers an unconfirmed message (the SDKs' comments say about five minutes) and
  how often a message that keeps failing (a trade that cannot be mapped) is redelivered.
"""

import gzip
import json
import logging
import os
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum

from django.db import close_old_connections, connections
from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection, connect

from zhongshu.channels.base import ConnectorError
from zhongshu.channels.models import Platform, Shop
from zhongshu.channels.services import ReplayedPush, accept_message, connector_for
from zhongshu.channels.taobao.signing import sign

log = logging.getLogger(__name__)

PRODUCTION_URL = "ws://mc.api.taobao.com/"
SANDBOX_URL = "ws://mc.api.tbsandbox.com/"
GROUP = "default"
SDK = "zhongshu-tmc-1"
PROTOCOL_VERSION = 2
ORDER_TOPICS = ("taobao_trade_", "taobao_refund_")
PULL_INTERVAL = 30.0  # seconds between pull requests (a catch-up beside the push)
RESCAN = 60.0  # seconds between looks for new Taobao apps and sellers to permit
BACKOFF = (1.0, 60.0)  # first and longest wait before reconnecting
RECV_TICK = 0.5  # how often a listener looks at the stop event while the connection is quiet


class MessageType(IntEnum):
    CONNECT = 0
    CONNECTACK = 1
    SEND = 2
    SENDACK = 3


class Header(IntEnum):
    END = 0
    CUSTOM = 1
    STATUS_CODE = 2
    STATUS_PHRASE = 3
    FLAG = 4
    TOKEN = 5


class Value(IntEnum):
    VOID = 0
    COUNTED_STRING = 1
    BYTE = 2
    INT16 = 3
    INT32 = 4
    INT64 = 5
    DATE = 6
    BYTE_ARRAY = 7


class Kind(IntEnum):
    """The `__kind` of a SEND frame."""

    PULL_REQUEST = 1
    CONFIRM = 2
    DATA = 3
    FAILED = 20


FIXED = {Value.BYTE: "<B", Value.INT16: "<h", Value.INT32: "<i", Value.INT64: "<q"}


class FrameError(ValueError):
    """Bytes that are not a TMC frame."""


class HandshakeRefused(ConnectionError):
    """TMC refused the CONNECT (wrong app key or secret, clock far off)."""


@dataclass
class Frame:
    type: int
    content: dict = field(default_factory=dict)  # the custom headers
    token: str = ""
    status_code: int = 0
    status_phrase: str = ""
    flag: int = 0
    version: int = PROTOCOL_VERSION


# --- codec ---------------------------------------------------------------------------------------


def encode(frame: Frame) -> bytes:
    """The frame's bytes: the fixed headers in the SDKs' order, then the custom ones, then the end."""
    out = bytearray(struct.pack("<BB", frame.version, frame.type))
    if frame.status_code:
        out += struct.pack("<hi", Header.STATUS_CODE, frame.status_code)
    if frame.status_phrase:
        out += struct.pack("<h", Header.STATUS_PHRASE) + _counted(frame.status_phrase)
    if frame.flag:
        out += struct.pack("<hi", Header.FLAG, frame.flag)
    if frame.token:
        out += struct.pack("<h", Header.TOKEN) + _counted(frame.token)
    for name, value in frame.content.items():
        out += struct.pack("<h", Header.CUSTOM) + _counted(name) + _typed(name, value)
    return bytes(out + struct.pack("<h", Header.END))


def _counted(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<i", len(data)) + data


def _typed(name: str, value) -> bytes:
    """`__kind` is a byte (as the SDKs send it), other integers int64, datetimes dates."""
    if value is None:
        return struct.pack("<B", Value.VOID)
    if name == "__kind":
        return struct.pack("<BB", Value.BYTE, value)
    if isinstance(value, int) and not isinstance(value, bool):
        return struct.pack("<Bq", Value.INT64, value)
    if isinstance(value, datetime):
        return struct.pack("<Bq", Value.DATE, round(value.timestamp() * 1000))
    if isinstance(value, bytes):
        return struct.pack("<Bi", Value.BYTE_ARRAY, len(value)) + value
    return struct.pack("<B", Value.COUNTED_STRING) + _counted(str(value))


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def fixed(self, fmt: str):
        (value,) = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return value

    def chunk(self) -> bytes:
        size = self.fixed("<i")
        if size < 0 or self.at + size > len(self.data):
            raise FrameError(f"counted value of {size} bytes at {self.at} runs past the frame")
        self.at += size
        return self.data[self.at - size : self.at]

    def text(self) -> str:
        return self.chunk().decode()

    def typed(self):
        fmt = self.fixed("<B")
        if fmt == Value.VOID:
            return None
        if fmt in FIXED:
            return self.fixed(FIXED[fmt])
        if fmt == Value.DATE:
            return datetime.fromtimestamp(self.fixed("<q") / 1000, tz=UTC)
        if fmt == Value.BYTE_ARRAY:
            return self.chunk()
        return self.text()  # counted string (the SDKs read any other format as one)


def decode(data: bytes) -> Frame:
    """The frame in `data`; FrameError when it is cut short or has an unknown header."""
    reader = _Reader(data)
    try:
        frame = Frame(version=reader.fixed("<B"), type=reader.fixed("<B"))
        while (header := reader.fixed("<h")) != Header.END:
            if header == Header.CUSTOM:
                name = reader.text()
                frame.content[name] = reader.typed()
            elif header == Header.STATUS_CODE:
                frame.status_code = reader.fixed("<i")
            elif header == Header.STATUS_PHRASE:
                frame.status_phrase = reader.text()
            elif header == Header.FLAG:
                frame.flag = reader.fixed("<i")
            elif header == Header.TOKEN:
                frame.token = reader.text()
            else:
                raise FrameError(f"unknown header type {header}")
    except (struct.error, UnicodeDecodeError) as exc:
        raise FrameError(f"malformed TMC frame: {exc}") from exc
    return frame


def connect_frame(app_key: str, secret: str, group: str = GROUP, timestamp_ms: int | None = None) -> Frame:
    """The signed CONNECT of the handshake."""
    timestamp = str(timestamp_ms or time.time_ns() // 10**6)
    params = {"app_key": app_key, "group_name": group, "timestamp": timestamp}
    return Frame(MessageType.CONNECT, {**params, "sign": sign(params, secret, "md5"), "sdk": SDK})


def confirm_frame(token: str, message_id: int) -> Frame:
    return Frame(MessageType.SEND, {"__kind": Kind.CONFIRM, "id": message_id}, token=token)


def pull_frame(token: str) -> Frame:
    return Frame(MessageType.SEND, {"__kind": Kind.PULL_REQUEST}, token=token)


@dataclass(frozen=True)
class TmcMessage:
    """A data message: its id (what is confirmed), topic, decoded JSON content and seller."""

    id: int
    topic: str
    content: dict
    user_id: str
    nick: str

    @classmethod
    def from_frame(cls, frame: Frame) -> "TmcMessage":
        raw = frame.content.get("content")
        try:
            content = json.loads((gzip.decompress(raw).decode() if isinstance(raw, bytes) else raw) or "{}")
        except (OSError, EOFError, ValueError):  # a corrupt body: no tid, so confirmed and left to the pull
            content = {}
        c = frame.content
        return cls(int(c["id"]), str(c.get("topic") or ""), content if isinstance(content, dict) else {},
                   str(c.get("userid") or ""), str(c.get("nick") or ""))  # fmt: skip


# --- taking messages in ----------------------------------------------------------------------------


def take_in(app_key: str, message: TmcMessage) -> bool:
    """Take one message's trade in; True when the message may be confirmed (taken in, seen before, or
    not for the hub), False when it must come again (the trade could not be fetched)."""
    tid = message.content.get("tid")
    if not message.topic.startswith(ORDER_TOPICS):
        return True
    if not tid:
        log.warning("TMC message %s (%s) of app %s has no tid; ignored", message.id, message.topic, app_key)
        return True
    shop = _shop_of(app_key, message.user_id)
    if shop is None:
        log.warning("TMC message %s (%s) of app %s: seller %s is no active shop; ignored",
                    message.id, message.topic, app_key, message.user_id)  # fmt: skip
        return True
    try:
        accept_message(shop, f"tmc:{message.id}", order_ids=[str(tid)], retry_fetch=False)
    except ReplayedPush:
        return True
    except ConnectorError as exc:
        log.warning("TMC message %s for shop %s not taken in (TMC delivers it again): %s %s",
                    message.id, shop.code, type(exc).__name__, exc.code)  # fmt: skip
        return False
    return True


def _shop_of(app_key: str, user_id: str) -> Shop | None:
    if not user_id:
        return None
    shops = Shop.objects.select_related("credential").filter(platform=Platform.TAOBAO, active=True)
    return shops.filter(credential__app_key=app_key, credential__platform_shop_id=user_id).first()


def authorised_shops() -> list[Shop]:
    """Active Taobao shops with an access token and no pending re-authorisation."""
    shops = Shop.objects.select_related("credential").filter(
        platform=Platform.TAOBAO, active=True, credential__needs_reauth=False
    )
    return [s for s in shops.order_by("pk") if s.credential.access_token]


def app_secret(app_key: str) -> str:
    """The app's secret as the hub holds it now, so a corrected secret is used at the next connection."""
    return next((s.credential.app_secret for s in authorised_shops() if s.credential.app_key == app_key), "")


# --- the connection --------------------------------------------------------------------------------

Handler = Callable[[str, TmcMessage], bool]


class Listener:
    """One app's TMC connection: handshake, messages handled and confirmed, reconnects with backoff."""

    def __init__(self, app_key: str, url: str, stop: threading.Event, handle: Handler = take_in,
                 secret: Callable[[str], str] = app_secret, backoff: tuple[float, float] = BACKOFF,
                 pull_interval: float = PULL_INTERVAL):  # fmt: skip
        self.app_key, self.url, self.stop, self.handle, self.secret = app_key, url, stop, handle, secret
        self.backoff, self.pull_interval = backoff, pull_interval
        self.failures = 0

    def run(self) -> None:
        """Stay connected until `stop` is set; every failure is logged and waited out, never raised."""
        while not self.stop.is_set():
            try:
                self._session()
            except HandshakeRefused as exc:
                self._failed(logging.ERROR, f"TMC refused the handshake (check app key and secret): {exc}")
            except (OSError, WebSocketException, FrameError) as exc:  # TimeoutError is an OSError
                self._failed(logging.WARNING, f"TMC connection lost: {type(exc).__name__} {exc}")
            except Exception as exc:  # noqa: BLE001 - the listener must outlive any surprise
                log.exception("app %s: TMC listener failed", self.app_key)
                self._failed(logging.ERROR, f"TMC listener failed: {type(exc).__name__}")
            if not self.stop.is_set():
                first, longest = self.backoff
                self.stop.wait(min(first * 2 ** max(self.failures - 1, 0), longest))

    def _failed(self, level: int, text: str) -> None:
        self.failures += 1
        log.log(level, "app %s: %s (attempt %s)", self.app_key, text, self.failures)

    def _session(self) -> None:
        hello = encode(connect_frame(self.app_key, self.secret(self.app_key)))
        with connect(self.url, open_timeout=10, close_timeout=2, compression=None) as ws:
            ws.send(hello)
            data = ws.recv(timeout=10)
            ack = decode(data) if isinstance(data, bytes) else Frame(MessageType.SEND)
            if ack.type != MessageType.CONNECTACK or ack.status_code or not ack.token:
                raise HandshakeRefused(f"{ack.status_code} {ack.status_phrase}".strip())
            self.failures = 0
            log.info("app %s: TMC connected to %s", self.app_key, self.url)
            self._receive(ws, ack.token)

    def _receive(self, ws: ClientConnection, token: str) -> None:
        next_pull = time.monotonic() + self.pull_interval
        while not self.stop.is_set():
            if time.monotonic() >= next_pull:
                ws.send(encode(pull_frame(token)))
                next_pull = time.monotonic() + self.pull_interval
            try:
                data = ws.recv(timeout=RECV_TICK)
            except TimeoutError:
                continue
            frame = decode(data) if isinstance(data, bytes) else None
            if frame is None or frame.type != MessageType.SEND or not {"id", "topic"} <= frame.content.keys():
                continue  # SENDACKs, text frames: nothing to do
            message = TmcMessage.from_frame(frame)
            if self._handled(message):
                ws.send(encode(confirm_frame(token, message.id)))  # after the intake committed

    def _handled(self, message: TmcMessage) -> bool:
        try:
            return self.handle(self.app_key, message)
        except Exception:  # noqa: BLE001 - a database hiccup: not confirmed, TMC delivers it again
            log.exception("app %s: TMC message %s (%s) failed", self.app_key, message.id, message.topic)
            return False
        finally:
            close_old_connections()


# --- the worker's side -----------------------------------------------------------------------------


def enabled() -> bool:
    return os.environ.get("ZHONGSHU_TAOBAO_TMC", "1") != "0"


def tmc_url() -> str:
    return os.environ.get("ZHONGSHU_TAOBAO_TMC_URL") or PRODUCTION_URL


class TmcService:
    """A worker's TMC side: one listener thread per Taobao app key of the authorised shops, and
    taobao.tmc.user.permit once per process for each shop (a failure is tried again next look)."""

    def __init__(self, stop: threading.Event, url: str | None = None, rescan: float = RESCAN,
                 backoff: tuple[float, float] = BACKOFF):  # fmt: skip
        self.stop, self.url, self.rescan, self.backoff = stop, url or tmc_url(), rescan, backoff
        self.listeners: dict[str, threading.Thread] = {}
        self.permitted: set[str] = set()

    def run(self) -> None:
        """Look for apps and sellers every `rescan` seconds until `stop`; nothing connects without a shop."""
        if not enabled():
            log.info("Taobao TMC disabled (ZHONGSHU_TAOBAO_TMC=0)")
            return
        while not self.stop.is_set():
            try:
                self.look()
            except Exception:  # noqa: BLE001 - the loop must survive a database hiccup
                log.exception("Taobao TMC: looking for shops failed")
                close_old_connections()
            self.stop.wait(self.rescan)
        for thread in self.listeners.values():
            thread.join(timeout=10)

    def look(self) -> None:
        shops = authorised_shops()
        for app_key in dict.fromkeys(s.credential.app_key for s in shops):
            if app_key not in self.listeners:
                self._listen(app_key)
        for shop in shops:
            if shop.code not in self.permitted:
                self._permit(shop)

    def _listen(self, app_key: str) -> None:
        listener = Listener(app_key, self.url, self.stop, backoff=self.backoff)
        thread = threading.Thread(target=_closing(listener.run), name=f"taobao-tmc-{app_key}", daemon=True)
        thread.start()
        self.listeners[app_key] = thread

    def _permit(self, shop: Shop) -> None:
        try:
            connector_for(shop).permit_messages()
        except ConnectorError as exc:
            log.warning("taobao.tmc.user.permit for shop %s failed (tried again later): %s %s",
                        shop.code, type(exc).__name__, exc.code)  # fmt: skip
            return
        self.permitted.add(shop.code)
        log.info("shop %s: Taobao TMC messages permitted", shop.code)


def run_tmc(stop: threading.Event) -> None:
    """The worker thread's entry point."""
    TmcService(stop).run()


def _closing(fn: Callable[[], None]) -> Callable[[], None]:
    """`fn`, then this thread's database connections closed."""

    def run() -> None:
        try:
            fn()
        finally:
            connections.close_all()

    return run
