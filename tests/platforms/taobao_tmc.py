"""Local doubles of Taobao's message service TMC and of the TOP call that opens it for a seller.

`TmcDouble` is a WebSocket server on 127.0.0.1 speaking TMC's binary frames. It uses the hub's frame
codec (`zhongshu.channels.taobao.tmc.encode/decode`, itself pinned by frames built by hand from the
protocol description in the tests) but its own reading of the handshake rule: a CONNECT whose app
key, timestamp (within 10 minutes) or sign (upper-case hex MD5 of secret + app_key k + group_name g +
timestamp t + secret) is wrong gets a CONNECTACK with status code 401 and the connection closes.
It pushes each published message as a data SEND, records confirms and pull requests, delivers every
unconfirmed message again `redeliver_after` seconds later (on the same or the next connection), and
`drop()` cuts the current connection without a closing handshake.

`TaobaoTmcTop` is the TOP double (`zhongshu/doubles/taobao.py`, as it is) with
`taobao.tmc.user.permit` and the OAuth helpers `harness.authorised_shop` expects.
"""

import hashlib
import json
import secrets
import time
from datetime import UTC, datetime, timedelta

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection

from tests.platforms.message_service import REFUSED, MessageServiceDouble
from tests.platforms.taobao import SHANGHAI, TaobaoDouble
from zhongshu.channels.taobao.tmc import Frame, Kind, MessageType, decode, encode


class TaobaoTmcTop(TaobaoDouble):
    """The TOP double on the real clock, with taobao.tmc.user.permit (recording each seller's session)."""

    access_ttl = timedelta(days=1)

    def __init__(self):
        super().__init__(now=datetime.now(SHANGHAI))
        self.permits: list[str] = []

    def issue_tokens(self) -> dict:
        return self.issue_token(self.access_ttl)

    def api_tmc_user_permit(self, p: dict) -> dict:
        self.permits.append(p["session"])
        return {"is_success": True}

    def fetches(self, tid: str) -> int:
        """How many taobao.trade.fullinfo.get requests for `tid` reached the double (failed ones too)."""
        return sum(1 for r in self.requests if r.form.get("method") == "taobao.trade.fullinfo.get"
                   and r.form.get("tid") == tid)  # fmt: skip


def tmc_sign(app_key: str, group: str, timestamp: str, secret: str) -> str:
    """The double's own reading of the handshake signature."""
    text = f"{secret}app_key{app_key}group_name{group}timestamp{timestamp}{secret}"
    return hashlib.md5(text.encode()).hexdigest().upper()


class TmcDouble(MessageServiceDouble):
    """Start with `with TmcDouble(app_key, secret) as tmc:`; `tmc.url` is its ws:// address."""

    def __init__(self, app_key: str, app_secret: str, redeliver_after: float = 0.3):
        super().__init__(iter(range(2_000_000_000_001, 3_000_000_000_000)), redeliver_after)
        self.app_key, self.app_secret = app_key, app_secret
        self._token = ""
        self.confirmed: list[int] = []
        self.pulls = 0

    # --- test helpers -------------------------------------------------------------------------
    def publish(self, topic: str, content: dict, user_id: str, nick: str = "zhongshu旗舰店",
                message_id: int | None = None) -> int:  # fmt: skip
        """Queue a message of the seller `user_id` for delivery now; its id (`message_id`: the same again)."""

        def frame(mid: int) -> Frame:
            now = datetime.now(UTC)
            return Frame(MessageType.SEND, {"__kind": Kind.DATA, "id": mid, "topic": topic, "time": now,
                                            "outtime": now, "content": json.dumps(content, ensure_ascii=False),
                                            "userid": int(user_id), "nick": nick})  # fmt: skip

        return self._queue(frame, message_id)

    # --- the service --------------------------------------------------------------------------
    def _serve(self, ws: ServerConnection) -> None:
        try:
            hello = decode(ws.recv(timeout=5))
        except (TimeoutError, ConnectionClosed):
            return
        refusal = self._refusal(hello)
        if refusal:
            self._refuse(refusal)
            ws.send(encode(Frame(MessageType.CONNECTACK, status_code=REFUSED, status_phrase=refusal)))
            return  # the server closes the connection
        self._token = secrets.token_hex(8)
        ws.send(encode(Frame(MessageType.CONNECTACK, token=self._token)))
        self._pump(ws)

    def _refusal(self, hello: Frame) -> str:
        c = hello.content
        if hello.type != MessageType.CONNECT or c.get("app_key") != self.app_key:
            return "invalid app key"
        if abs(time.time() * 1000 - int(c.get("timestamp") or 0)) > 600_000:
            return "invalid timestamp"
        want = tmc_sign(self.app_key, str(c.get("group_name")), str(c["timestamp"]), self.app_secret)
        return "" if c.get("sign") == want else "invalid sign"

    def _encode(self, frame: Frame) -> bytes:
        return encode(frame)

    def _on_frame(self, data: bytes) -> None:
        frame = decode(data)
        if frame.type != MessageType.SEND or frame.token != self._token:
            return
        kind = frame.content.get("__kind")
        if kind == Kind.PULL_REQUEST:
            with self._lock:
                self.pulls += 1
        if kind == Kind.CONFIRM:
            message_id = frame.content["id"]
            self._acknowledged(message_id)
            with self._lock:
                self.confirmed.append(message_id)
