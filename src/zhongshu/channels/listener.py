"""What the worker's long-connection message listeners share (Taobao TMC, PDD 消息服务).

A platform's module says how its service is reached and spoken (handshake, frames, periodic frame,
acknowledgement) by subclassing `Listener`, and which shops it serves by subclassing `ListenerService`.
What is the same for every platform lives here:

- the connection loop of one app key: connect, hand each message to `take_in`, acknowledge it only
  when that says so, reconnect with exponential backoff until the worker's stop event is set;
- the worker's side: every `rescan` seconds, the platform's authorised shops; one listener thread
  per app key among them (nothing connects without one) and the platform's permit call once per
  shop and process (a failure is tried again at the next look);
- the step "take one message's order in, then acknowledge": `services.accept_message` writes the
  receipt and the intake in one transaction, so the message is acknowledged after the commit, or
  when its receipt already exists, or when it is not for the hub; a failed fetch is not
  acknowledged, so the platform delivers it again.
"""

import logging
import os
import threading
import time

from django.db import close_old_connections
from websockets.exceptions import InvalidStatus, WebSocketException
from websockets.sync.client import ClientConnection, connect

from zhongshu.channels.base import ConnectorError
from zhongshu.channels.models import Shop
from zhongshu.channels.services import ReplayedPush, accept_message, connector_for
from zhongshu.core.threads import start_daemon

log = logging.getLogger(__name__)

RESCAN = 60.0  # seconds between looks for new apps and shops
BACKOFF = (1.0, 60.0)  # first and longest wait before reconnecting
RECV_TICK = 0.5  # how often a listener looks at the stop event while the connection is quiet


class FrameError(ValueError):
    """Data that is not a frame of the platform's protocol."""


class HandshakeRefused(ConnectionError):
    """The service refused the connection (wrong app key or secret, clock far off)."""


# --- shops ---------------------------------------------------------------------------------------


def authorised_shops(platform: str) -> list[Shop]:
    """Active shops of `platform` with an access token and no pending re-authorisation."""
    shops = Shop.objects.select_related("credential").filter(
        platform=platform, active=True, credential__needs_reauth=False
    )
    return [s for s in shops.order_by("pk") if s.credential.access_token]


def app_secret(platform: str, app_key: str) -> str:
    """The app's secret as the hub holds it now, so a corrected secret is used at the next connection."""
    shops = authorised_shops(platform)
    return next((s.credential.app_secret for s in shops if s.credential.app_key == app_key), "")


def shop_of(platform: str, app_key: str, seller: str) -> Shop | None:
    """The active shop of the app whose credential names the seller (`platform_shop_id`)."""
    if not seller:
        return None
    shops = Shop.objects.select_related("credential").filter(platform=platform, active=True)
    return shops.filter(credential__app_key=app_key, credential__platform_shop_id=seller).first()


# --- taking a message in -------------------------------------------------------------------------


def take_in(service: str, platform: str, app_key: str, receipt: str, tid, seller: str) -> bool:
    """Take in the order `tid` that message `receipt` names; True when the message may be acknowledged
    (taken in, seen before, or not for the hub), False when it must come again (not fetched)."""
    if not tid:
        log.warning("%s message %s of app %s has no tid; ignored", service, receipt, app_key)
        return True
    shop = shop_of(platform, app_key, seller)
    if shop is None:
        log.warning("%s message %s of app %s: seller %s is no active shop; ignored",
                    service, receipt, app_key, seller)  # fmt: skip
        return True
    try:
        accept_message(shop, receipt, order_ids=[str(tid)], retry_fetch=False)
    except ReplayedPush:
        return True
    except ConnectorError as exc:
        log.warning("%s message %s for shop %s not taken in (%s delivers it again): %s %s",
                    service, receipt, shop.code, service, type(exc).__name__, exc.code)  # fmt: skip
        return False
    return True


# --- the connection --------------------------------------------------------------------------------


class Listener:
    """One app's connection: messages handled and acknowledged, reconnects with backoff.

    A subclass names its `service` (in log lines) and `platform`, and implements `address` (the URL to
    connect to), `open` (the handshake after connecting), `periodic` (the frame sent every `interval`
    seconds: a pull request, a heartbeat), `parse` (a received frame as a message, or None for one
    that needs nothing), `take_in` (True when the message may be acknowledged) and `ack`."""

    service = ""
    platform = ""
    interval = 30.0

    def __init__(self, app_key: str, url: str, stop: threading.Event, backoff: tuple[float, float] = BACKOFF):
        self.app_key, self.url, self.stop, self.backoff = app_key, url, stop, backoff
        self.failures = 0

    def secret(self) -> str:
        return app_secret(self.platform, self.app_key)

    def run(self) -> None:
        """Stay connected until `stop` is set; every failure is logged and waited out, never raised."""
        while not self.stop.is_set():
            try:
                self._session()
            except HandshakeRefused as exc:
                why = f"{self.service} refused the handshake (check app key and secret): {exc}"
                self._failed(logging.ERROR, why)
            except (OSError, WebSocketException, FrameError) as exc:  # TimeoutError is an OSError
                self._failed(logging.WARNING, f"{self.service} connection lost: {type(exc).__name__} {exc}")
            except Exception as exc:  # noqa: BLE001 - the listener must outlive any surprise
                log.exception("app %s: %s listener failed", self.app_key, self.service)
                self._failed(logging.ERROR, f"{self.service} listener failed: {type(exc).__name__}")
            if not self.stop.is_set():
                first, longest = self.backoff
                self.stop.wait(min(first * 2 ** max(self.failures - 1, 0), longest))

    def _failed(self, level: int, text: str) -> None:
        self.failures += 1
        log.log(level, "app %s: %s (attempt %s)", self.app_key, text, self.failures)

    def _session(self) -> None:
        try:
            ws = connect(self.address(), open_timeout=10, close_timeout=2, compression=None)
        except InvalidStatus as exc:  # the HTTP upgrade answered with an error
            status, body = exc.response.status_code, exc.response.body.decode(errors="replace")
            if 400 <= status < 500:
                raise HandshakeRefused(f"HTTP {status} {body}".strip()) from exc
            raise
        with ws:
            self.open(ws)
            self.failures = 0
            log.info("app %s: %s connected to %s", self.app_key, self.service, self.url)
            self._receive(ws)

    def _receive(self, ws: ClientConnection) -> None:
        next_periodic = time.monotonic() + self.interval
        while not self.stop.is_set():
            if time.monotonic() >= next_periodic:
                ws.send(self.periodic())
                next_periodic = time.monotonic() + self.interval
            try:
                data = ws.recv(timeout=RECV_TICK)
            except TimeoutError:
                continue
            message = self.parse(data)
            if message is not None and self._handled(message):
                ws.send(self.ack(message))  # after the intake committed

    def _handled(self, message) -> bool:
        try:
            return self.take_in(message)
        except Exception:  # noqa: BLE001 - a database hiccup: not acknowledged, delivered again
            log.exception("app %s: %s message %s failed", self.app_key, self.service, message)
            return False
        finally:
            close_old_connections()

    def address(self) -> str:
        return self.url

    def open(self, ws: ClientConnection) -> None:
        """The handshake on a fresh connection; HandshakeRefused when the service says no."""

    def periodic(self) -> str | bytes:
        raise NotImplementedError

    def parse(self, data: str | bytes):
        raise NotImplementedError

    def take_in(self, message) -> bool:
        raise NotImplementedError

    def ack(self, message) -> str | bytes:
        raise NotImplementedError


# --- the worker's side -----------------------------------------------------------------------------


class ListenerService:
    """A worker's side of one platform's message service: one listener thread per app key of the
    authorised shops, and the platform's permit call (`connector.permit_messages`) once per process
    for each shop (a failure is tried again at the next look).

    A subclass sets `listener_class` (whose `platform` and `service` it serves), `switch` (the
    environment variable that turns the service off with 0; with `_URL` appended it sets the address),
    `production_url` and `permit_api` (the permit call's name in log lines)."""

    listener_class: type[Listener] = Listener
    switch = ""
    production_url = ""
    permit_api = ""

    def __init__(self, stop: threading.Event, url: str | None = None, rescan: float = RESCAN,
                 backoff: tuple[float, float] = BACKOFF):  # fmt: skip
        self.stop, self.rescan, self.backoff = stop, rescan, backoff
        self.platform, self.label = self.listener_class.platform, self.listener_class.service
        self.url = url or os.environ.get(f"{self.switch}_URL") or self.production_url
        self.listeners: dict[str, threading.Thread] = {}
        self.permitted: set[str] = set()

    @classmethod
    def serve(cls, stop: threading.Event) -> None:
        """The worker thread's entry point."""
        cls(stop).run()

    def enabled(self) -> bool:
        return os.environ.get(self.switch, "1") != "0"

    def run(self) -> None:
        """Look for apps and shops every `rescan` seconds until `stop`; nothing connects without a shop."""
        if not self.enabled():
            log.info("%s disabled (%s=0)", self.label, self.switch)
            return
        while not self.stop.is_set():
            try:
                self.look()
            except Exception:  # noqa: BLE001 - the loop must survive a database hiccup
                log.exception("%s: looking for shops failed", self.label)
                close_old_connections()
            self.stop.wait(self.rescan)
        for thread in self.listeners.values():
            thread.join(timeout=10)

    def look(self) -> None:
        shops = authorised_shops(self.platform)
        for app_key in dict.fromkeys(s.credential.app_key for s in shops):
            if app_key not in self.listeners:
                self._listen(app_key)
        for shop in shops:
            if shop.code not in self.permitted:
                self._permit(shop)

    def _listen(self, app_key: str) -> None:
        listener = self.listener_class(app_key, self.url, self.stop, backoff=self.backoff)
        self.listeners[app_key] = start_daemon(f"{self.platform}-messages-{app_key}", listener.run)

    def _permit(self, shop: Shop) -> None:
        try:
            connector_for(shop).permit_messages()
        except ConnectorError as exc:
            log.warning("%s for shop %s failed (tried again later): %s %s",
                        self.permit_api, shop.code, type(exc).__name__, exc.code)  # fmt: skip
            return
        self.permitted.add(shop.code)
        log.info("shop %s: messages permitted (%s)", shop.code, self.permit_api)
