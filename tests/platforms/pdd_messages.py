"""Local doubles of PDD's message service (消息服务) and of the gateway call that opens it for a shop.

`PddMessageDouble` is a WebSocket server on 127.0.0.1 speaking the service's JSON text frames. It
checks the connect path `/message/{client_id}/{timestamp}/{sign}` by its own reading of the rule
(timestamp in ms within 10 minutes, sign = base64 of the lower-case hex MD5 of client_id + timestamp +
client_secret) and refuses a wrong one with HTTP 401 at the upgrade (how the real service refuses is
not documented). It pushes each published message as a "Common" command, records acks (by id, with
the type and mallID they echo) and heartbeats, delivers every unacknowledged message again
`redeliver_after` seconds later (on the same or the next connection), and `drop()` cuts the current
connection without a closing handshake.

`PddMessagesPlatform` is the PDD gateway double (`zhongshu/doubles/pdd.py`, as it is) with
pdd.pmc.user.permit, recording the access token of each permit.
"""

import base64
import hashlib
import json
import time

from websockets.http11 import Request
from websockets.sync.server import ServerConnection

from tests.platforms.message_service import REFUSED, MessageServiceDouble
from tests.platforms.pdd import PddDouble


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


class PddMessageDouble(MessageServiceDouble):
    """Start with `with PddMessageDouble(client_id, secret) as service:`; `service.url` is its ws:// address."""

    url_path = ""  # the listener appends /message/{client_id}/{timestamp}/{sign}

    def __init__(self, client_id: str, client_secret: str, redeliver_after: float = 0.3):
        super().__init__(iter(range(7_000_000_000_000_000_001, 8_000_000_000_000_000_000)), redeliver_after)
        self.client_id, self.client_secret = client_id, client_secret
        self.acks: list[dict] = []  # the ack commands as received
        self.heartbeats = 0

    @property
    def acked(self) -> list[int]:
        return [a["id"] for a in self.acks]

    # --- test helpers -------------------------------------------------------------------------
    def publish(self, type_: str, content: dict, mall_id: int, message_id: int | None = None) -> int:
        """Queue a message of mall `mall_id` for delivery now; its id (`message_id`: the same again)."""

        def command(mid: int) -> dict:
            now = int(time.time() * 1000)
            message = {"type": type_, "mallID": mall_id, "content": json.dumps(content, ensure_ascii=False)}
            return {"id": mid, "commandType": "Common", "time": now, "sendTime": now, "message": message}

        return self._queue(command, message_id)

    # --- the service --------------------------------------------------------------------------
    def _check(self, ws: ServerConnection, request: Request):
        refusal = self._refusal(request.path)
        if not refusal:
            return None
        self._refuse(refusal)
        return ws.respond(REFUSED, refusal)

    def _refusal(self, path: str) -> str:
        parts = path.split("/")
        if len(parts) != 5 or parts[1] != "message" or parts[2] != self.client_id:
            return "invalid client id"
        _, _, client_id, timestamp, signature = parts
        if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > 600_000:
            return "invalid timestamp"
        return "" if signature == message_sign(client_id, timestamp, self.client_secret) else "invalid sign"

    def _encode(self, command: dict) -> str:
        return json.dumps(command, ensure_ascii=False)

    def _on_frame(self, data: str) -> None:
        command = json.loads(data)
        if command.get("commandType") == "HeartBeat":
            with self._lock:
                self.heartbeats += 1
        if command.get("commandType") == "Ack":
            self._acknowledged(command["id"])
            with self._lock:
                self.acks.append(command)
