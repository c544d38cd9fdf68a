"""Local doubles of Taobao's message service TMC and of the TOP call that opens it for a seller.

`TmcDouble` is a WebSocket server on 127.0.0.1 speaking TMC's binary frames. It uses the hub's frame
codec (`zhongshu.channels.taobao.tmc.encode/decode`, itself pinned by frames built by hand from the
protocol description in the tests) but its own reading of the handshake rule: a CONNECT whose app
key, timestamp (within 10 minutes) or sign (upper-case hex MD5 of secret + app_key k + group_name g +
timestamp t + secret) is wrong gets a CONNECTACK with status code 401 and the connection closes.
It pushes each published message as a data SEND, records confirms and pull requests, delivers every
unconfirmed message again `redeliver_after` seconds later (on the same or the next connection), and
`drop()` cuts the current connection without a closing handshake.

`TaobaoTmcTop` is the TOP double (`tests/platforms/taobao.py`, as it is) with
`taobao.tmc.user.permit` and the OAuth helpers `harness.authorised_shop` expects.
"""

import hashlib
import json
import logging
import secrets
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from tests.platforms.taobao import SHANGHAI, TaobaoDouble
from zhongshu.channels.taobao.tmc import Frame, Kind, MessageType, decode, encode

REFUSED = 401  # the double's status code for a refused handshake (the real one is not documented)
TICK = 0.02
QUIET = logging.getLogger(__name__ + ".server")  # the server's own log lines would outlive pytest's capture
QUIET.propagate = False
QUIET.addHandler(logging.NullHandler())


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


class TmcDouble:
    """Start with `with TmcDouble(app_key, secret) as tmc:`; `tmc.url` is its ws:// address."""

    def __init__(self, app_key: str, app_secret: str, redeliver_after: float = 0.3):
        self.app_key, self.app_secret, self.redeliver_after = app_key, app_secret, redeliver_after
        self._lock = threading.Lock()
        self._pending: dict[int, list] = {}  # message id → [frame, when it is due again]
        self._current: ServerConnection | None = None
        self._ids = iter(range(2_000_000_000_001, 3_000_000_000_000))
        self.connections = 0  # handshakes accepted
        self.refused: list[str] = []  # why each refused handshake was refused
        self.delivered: list[int] = []  # message ids, once per delivery
        self.confirmed: list[int] = []
        self.pulls = 0
        self.on_confirm: Callable[[int], None] | None = None  # called before a confirm is recorded

    # --- test helpers -------------------------------------------------------------------------
    def publish(self, topic: str, content: dict, user_id: str, nick: str = "zhongshu旗舰店",
                message_id: int | None = None) -> int:  # fmt: skip
        """Queue a message of the seller `user_id` for delivery now; its id (`message_id`: the same again)."""
        with self._lock:
            message_id = message_id or next(self._ids)
            now = datetime.now(UTC)
            data = {
                "__kind": Kind.DATA,
                "id": message_id,
                "topic": topic,
                "time": now,
                "outtime": now,
                "content": json.dumps(content, ensure_ascii=False),
                "userid": int(user_id),
                "nick": nick,
            }
            frame = Frame(MessageType.SEND, data)
            self._pending[message_id] = [frame, 0.0]
        return message_id

    def drop(self) -> None:
        """Cut the current connection as a network failure would (no closing handshake)."""
        with self._lock:
            current = self._current
        if current is not None:
            current.socket.shutdown(socket.SHUT_RDWR)

    # --- the service --------------------------------------------------------------------------
    def _serve(self, ws: ServerConnection) -> None:
        try:
            hello = decode(ws.recv(timeout=5))
        except (TimeoutError, ConnectionClosed):
            return
        refusal = self._refusal(hello)
        if refusal:
            with self._lock:
                self.refused.append(refusal)
            ws.send(encode(Frame(MessageType.CONNECTACK, status_code=REFUSED, status_phrase=refusal)))
            return  # the server closes the connection
        token = secrets.token_hex(8)
        ws.send(encode(Frame(MessageType.CONNECTACK, token=token)))
        with self._lock:
            self._current, self.connections = ws, self.connections + 1
        try:
            while True:
                self._deliver_due(ws)
                try:
                    self._on_frame(decode(ws.recv(timeout=TICK)), token)
                except TimeoutError:
                    continue
        except ConnectionClosed:
            return

    def _refusal(self, hello: Frame) -> str:
        c = hello.content
        if hello.type != MessageType.CONNECT or c.get("app_key") != self.app_key:
            return "invalid app key"
        if abs(time.time() * 1000 - int(c.get("timestamp") or 0)) > 600_000:
            return "invalid timestamp"
        want = tmc_sign(self.app_key, str(c.get("group_name")), str(c["timestamp"]), self.app_secret)
        return "" if c.get("sign") == want else "invalid sign"

    def _deliver_due(self, ws: ServerConnection) -> None:
        now = time.monotonic()
        with self._lock:
            due = [(mid, entry) for mid, entry in self._pending.items() if entry[1] <= now]
            for mid, entry in due:
                entry[1] = now + self.redeliver_after
                self.delivered.append(mid)
        for _, entry in due:
            ws.send(encode(entry[0]))

    def _on_frame(self, frame: Frame, token: str) -> None:
        if frame.type != MessageType.SEND or frame.token != token:
            return
        kind = frame.content.get("__kind")
        if kind == Kind.PULL_REQUEST:
            with self._lock:
                self.pulls += 1
        if kind == Kind.CONFIRM:
            message_id = frame.content["id"]
            if self.on_confirm:
                self.on_confirm(message_id)
            with self._lock:
                self._pending.pop(message_id, None)
                self.confirmed.append(message_id)

    def __enter__(self) -> "TmcDouble":
        self._server = serve(self._serve, "127.0.0.1", 0, compression=None, logger=QUIET)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/"
