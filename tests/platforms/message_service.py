"""What the websocket message-service doubles share (Taobao TMC, PDD 消息服务): a server on 127.0.0.1,
a queue of published messages delivered to the current connection and delivered again
`redeliver_after` seconds later until acknowledged (on the same or the next connection), the counts
the tests read, and `drop()` that cuts the connection without a closing handshake.

A platform's double says how a connection is accepted (`_serve` after its handshake calls `_pump`),
how a queued frame is written (`_encode`) and what a received frame means (`_on_frame`, which calls
`_acknowledged(id)` for an acknowledgement)."""

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

REFUSED = 401  # the doubles' status code for a refused connection (the real ones are not documented)
TICK = 0.02
QUIET = logging.getLogger(__name__ + ".server")  # the server's own log lines would outlive pytest's capture
QUIET.propagate = False
QUIET.addHandler(logging.NullHandler())


class MessageServiceDouble:
    url_path = "/"  # what the service's address ends with

    def __init__(self, ids: Iterator[int], redeliver_after: float = 0.3):
        self.redeliver_after = redeliver_after
        self._ids = ids
        self._lock = threading.Lock()
        self._pending: dict[int, list] = {}  # message id → [frame, when it is due again]
        self._current: ServerConnection | None = None
        self.connections = 0  # connections accepted
        self.refused: list[str] = []  # why each refused connection was refused
        self.delivered: list[int] = []  # message ids, once per delivery
        self.on_ack: Callable[[int], None] | None = None  # called before an acknowledgement is recorded

    # --- test helpers -------------------------------------------------------------------------
    def drop(self) -> None:
        """Cut the current connection as a network failure would (no closing handshake)."""
        with self._lock:
            current = self._current
        if current is not None:
            current.socket.shutdown(socket.SHUT_RDWR)

    # --- for the platform's double ----------------------------------------------------------------
    def _queue(self, build: Callable[[int], object], message_id: int | None = None) -> int:
        """Queue the frame `build(id)` for delivery now; its id (`message_id`: the same again)."""
        with self._lock:
            message_id = message_id or next(self._ids)
            self._pending[message_id] = [build(message_id), 0.0]
        return message_id

    def _refuse(self, why: str) -> None:
        with self._lock:
            self.refused.append(why)

    def _acknowledged(self, message_id: int) -> None:
        if self.on_ack:
            self.on_ack(message_id)
        with self._lock:
            self._pending.pop(message_id, None)

    def _pump(self, ws: ServerConnection) -> None:
        """An accepted connection: deliver what is due, hand every received frame to `_on_frame`."""
        with self._lock:
            self._current, self.connections = ws, self.connections + 1
        try:
            while True:
                self._deliver_due(ws)
                try:
                    self._on_frame(ws.recv(timeout=TICK))
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
            ws.send(self._encode(entry[0]))

    def _serve(self, ws: ServerConnection) -> None:
        self._pump(ws)

    def _check(self, ws: ServerConnection, request):
        """Refuse the HTTP upgrade (None: accept)."""
        return None

    def _encode(self, frame) -> str | bytes:
        raise NotImplementedError

    def _on_frame(self, data: str | bytes) -> None:
        raise NotImplementedError

    def __enter__(self):
        self._server = serve(self._serve, "127.0.0.1", 0, compression=None, process_request=self._check,
                             logger=QUIET)  # fmt: skip
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()

    @property
    def url(self) -> str:
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}{self.url_path}"
