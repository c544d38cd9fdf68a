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
The connection loop, the worker's listener threads and the take-in step are shared with the other
long-connection services (`zhongshu.channels.listener`); this module is TMC's codec and handshake.

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
import struct
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum

from websockets.sync.client import ClientConnection

from zhongshu.channels.listener import FrameError, HandshakeRefused, Listener, ListenerService, take_in
from zhongshu.channels.models import Platform
from zhongshu.channels.taobao.signing import sign

PRODUCTION_URL = "ws://mc.api.taobao.com/"
SANDBOX_URL = "ws://mc.api.tbsandbox.com/"
GROUP = "default"
SDK = "zhongshu-tmc-1"
PROTOCOL_VERSION = 2
ORDER_TOPICS = ("taobao_trade_", "taobao_refund_")
PULL_INTERVAL = 30.0  # seconds between pull requests (a catch-up beside the push)


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


# --- the listener ----------------------------------------------------------------------------------


class TmcListener(Listener):
    """One app's TMC connection: the signed CONNECT, pull requests, data messages confirmed by id."""

    service = "TMC"
    platform = Platform.TAOBAO
    interval = PULL_INTERVAL

    def open(self, ws: ClientConnection) -> None:
        ws.send(encode(connect_frame(self.app_key, self.secret())))
        data = ws.recv(timeout=10)
        ack = decode(data) if isinstance(data, bytes) else Frame(MessageType.SEND)
        if ack.type != MessageType.CONNECTACK or ack.status_code or not ack.token:
            raise HandshakeRefused(f"{ack.status_code} {ack.status_phrase}".strip())
        self.token = ack.token

    def periodic(self) -> bytes:
        return encode(pull_frame(self.token))

    def parse(self, data: str | bytes) -> TmcMessage | None:
        frame = decode(data) if isinstance(data, bytes) else None
        if frame is None or frame.type != MessageType.SEND or not {"id", "topic"} <= frame.content.keys():
            return None  # SENDACKs, text frames: nothing to do
        return TmcMessage.from_frame(frame)

    def take_in(self, message: TmcMessage) -> bool:
        if not message.topic.startswith(ORDER_TOPICS):
            return True
        return take_in(self.service, self.platform, self.app_key, f"tmc:{message.id}", message.content.get("tid"),
                       message.user_id)  # fmt: skip

    def ack(self, message: TmcMessage) -> bytes:
        return encode(confirm_frame(self.token, message.id))


class TmcService(ListenerService):
    """A worker's TMC side: one listener per Taobao app key, taobao.tmc.user.permit once per shop."""

    listener_class = TmcListener
    switch = "ZHONGSHU_TAOBAO_TMC"
    production_url = PRODUCTION_URL
    permit_api = "taobao.tmc.user.permit"
