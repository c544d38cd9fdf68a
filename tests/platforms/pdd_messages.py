"""Local doubles of PDD's message service (消息服务) and of the gateway call that opens it for a shop.

`PddMessageDouble` is a WebSocket server on 127.0.0.1 speaking the service's JSON text frames. It
checks the connect path `/message/{client_id}/{timestamp}/{sign}` by its own reading of the rule
(timestamp in ms within 10 minutes, sign = base64 of the lower-case hex MD5 of client_id + timestamp +
client_secret) and refuses a wrong one with HTTP 401 at the upgrade (how the real service refuses is
not documented). It pushes each published message as a "Common" command, records acks (by id, with
the type and mallID they echo) and heartbeats, delivers every unacknowledged message again
`redeliver_after` seconds later (on the same or the next connection), and `drop()` cuts the current
connection without a closing handshake.

`PddMessagesPlatform` is the PDD gateway double (`tests/platforms/pdd.py`, as it is) with
pdd.pmc.user.permit, recording the access token of each permit.
"""

import base64
import hashlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request
from websockets.sync.server import ServerConnection, serve

from tests.platforms.pdd import PddDouble

REFUSED = 401
TICK = 0.02
QUIET = logging.getLogger(__name__ + ".server")  # the server's own log lines would outlive pytest's capture
QUIET.propagate = False
QUIET.addHandler(logging.NullHandler())


class PddMessagesPlatform(PddDouble):
    """The PDD gateway double on the real clock, with pdd.pmc.user.permit."""

    def __init__(self):
        super().__init__()
        self.permits: list[str] = []

    def _route(self, form: dict[str, str]) -> tuple[str, dict]:
        if form["type"] != "pdd.pmc.user.permit":
            return super()._route(form)
        self._authorised(form)
        self.permits.append(form["access_token"])
        return "pmc_user_permit_response", {"is_success": True}

    def fetches(self, order_sn: str) -> int:
        """How many pdd.order.information.get requests for `order_sn` reached the double (failed ones too)."""
        return sum(1 for r in self.requests if r.form.get("type") == "pdd.order.information.get"
                   and r.form.get("order_sn") == order_sn)  # fmt: skip


def message_sign(client_id: str, timestamp: str, client_secret: str) -> str:
    """The double's own reading of the connect signature."""
    digest = hashlib.md5(f"{client_id}{timestamp}{client_secret}".encode()).hexdigest()
    return base64.b64encode(digest.encode()).decode()


class PddMessageDouble:
    """Start with `with PddMessageDouble(client_id, secret) as service:`; `service.url` is its ws:// address."""

    def __init__(self, client_id: str, client_secret: str, redeliver_after: float = 0.3):
        self.client_id, self.client_secret, self.redeliver_after = client_id, client_secret, redeliver_after
        self._lock = threading.Lock()
        self._pending: dict[int, list] = {}  # message id → [command, when it is due again]
        self._current: ServerConnection | None = None
        self._ids = iter(range(7_000_000_000_000_000_001, 8_000_000_000_000_000_000))
        self.connections = 0  # connections accepted
        self.refused: list[str] = []  # why each refused connection was refused
        self.delivered: list[int] = []  # message ids, once per delivery
        self.acks: list[dict] = []  # the ack commands as received
        self.heartbeats = 0
        self.on_ack: Callable[[int], None] | None = None  # called before an ack is recorded

    @property
    def acked(self) -> list[int]:
        return [a["id"] for a in self.acks]

    # --- test helpers -------------------------------------------------------------------------
    def publish(self, type_: str, content: dict, mall_id: int, message_id: int | None = None) -> int:
        """Queue a message of mall `mall_id` for delivery now; its id (`message_id`: the same again)."""
        with self._lock:
            message_id = message_id or next(self._ids)
            now = int(time.time() * 1000)
            message = {"type": type_, "mallID": mall_id, "content": json.dumps(content, ensure_ascii=False)}
            command = {"id": message_id, "commandType": "Common", "time": now, "sendTime": now}
            command["message"] = message
            self._pending[message_id] = [command, 0.0]
        return message_id

    def drop(self) -> None:
        """Cut the current connection as a network failure would (no closing handshake)."""
        with self._lock:
            current = self._current
        if current is not None:
            current.socket.shutdown(socket.SHUT_RDWR)

    # --- the service --------------------------------------------------------------------------
    def _check(self, ws: ServerConnection, request: Request):
        refusal = self._refusal(request.path)
        if not refusal:
            return None
        with self._lock:
            self.refused.append(refusal)
        return ws.respond(REFUSED, refusal)

    def _refusal(self, path: str) -> str:
        parts = path.split("/")
        if len(parts) != 5 or parts[1] != "message" or parts[2] != self.client_id:
            return "invalid client id"
        _, _, client_id, timestamp, signature = parts
        if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > 600_000:
            return "invalid timestamp"
        return "" if signature == message_sign(client_id, timestamp, self.client_secret) else "invalid sign"

    def _serve(self, ws: ServerConnection) -> None:
        with self._lock:
            self._current, self.connections = ws, self.connections + 1
        try:
            while True:
                self._deliver_due(ws)
                try:
                    self._on_command(json.loads(ws.recv(timeout=TICK)))
                except TimeoutError:
                    continue
        except ConnectionClosed:
            return

    def _deliver_due(self, ws: ServerConnection) -> None:
        now = time.monotonic()
        with self._lock:
            due = [(mid, entry) for mid, entry in self._pending.items() if entry[1] <= now]
            for mid, entry in due:
                entry[1] = now + self.redeliver_after
                self.delivered.append(mid)
        for _, entry in due:
            ws.send(json.dumps(entry[0], ensure_ascii=False))

    def _on_command(self, command: dict) -> None:
        if command.get("commandType") == "HeartBeat":
            with self._lock:
                self.heartbeats += 1
        if command.get("commandType") == "Ack":
            if self.on_ack:
                self.on_ack(command["id"])
            with self._lock:
                self._pending.pop(command["id"], None)
                self.acks.append(command)

    def __enter__(self) -> "PddMessageDouble":
        self._server = serve(self._serve, "127.0.0.1", 0, compression=None, process_request=self._check,
                             logger=QUIET)  # fmt: skip
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}"
