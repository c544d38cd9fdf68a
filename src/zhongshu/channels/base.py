"""The one interface every platform connector implements (Taobao, JD, PDD, Douyin, Kuaishou, Meituan).

A connector speaks one platform's open API: signing, OAuth, incremental pull by modified-time
window, shipment confirmation, stock push, push-message verification, receiver decryption. It maps
the platform's orders into the hub's contract (`OrderIn`), so nothing outside `channels/` knows a
platform's field names. Connectors hold no state: the sync service gives them credentials and the
window to pull, and stores what they return.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from zhongshu.orders.schemas import OrderIn


class ConnectorError(Exception):
    """A platform call failed; `code` is the platform's error code when it gave one."""

    def __init__(self, message: str, code: str = ""):
        super().__init__(message)
        self.code = code


class AuthError(ConnectorError):
    """The token is invalid or expired and cannot be refreshed: stop and ask for re-authorisation."""


class RateLimited(ConnectorError):
    """The platform throttled us; retry after `retry_after` seconds."""

    def __init__(self, message: str, code: str = "", retry_after: float = 1.0):
        super().__init__(message, code)
        self.retry_after = retry_after


class TransientError(ConnectorError):
    """Timeout, 5xx, malformed page: retry with backoff."""


@dataclass(frozen=True)
class Credentials:
    app_key: str
    app_secret: str
    access_token: str = ""
    refresh_token: str = ""
    expires_at: datetime | None = None
    platform_shop_id: str = ""
    base_url: str = ""  # empty: the platform's production gateway
    push_secret: str = ""  # signs webhooks where the shop itself pushes (the own channel)
    message_secret: str = ""  # decrypts a platform's push messages (Kuaishou)


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_at: datetime
    refresh_expires_at: datetime | None = None
    platform_shop_id: str = ""


@dataclass(frozen=True)
class Receiver:
    name: str
    phone: str
    address: str


@dataclass
class PushResult:
    """Orders carried by a verified push message (some platforms push only ids: fetch those)."""

    message_id: str
    orders: list[OrderIn] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)


class Connector(ABC):
    platform: str
    max_window: timedelta  # longest modified-time window the incremental API accepts
    overlap: timedelta = timedelta(minutes=2)  # re-read so late writes on the platform are caught
    lag: timedelta = timedelta(seconds=0)  # how far behind the platform's clock the window must end

    def __init__(self, shop_code: str, credentials: Credentials):
        self.shop = shop_code
        self.credentials = credentials

    # --- OAuth ---
    @abstractmethod
    def authorize_url(self, redirect_uri: str, state: str) -> str: ...

    @abstractmethod
    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet: ...

    @abstractmethod
    def refresh(self) -> TokenSet: ...

    # --- orders ---
    @abstractmethod
    def pull_changed(self, start: datetime, end: datetime) -> Iterator[OrderIn]:
        """Every order modified in [start, end] (end - start ≤ max_window), all pages, each once."""

    @abstractmethod
    def fetch_one(self, channel_order_id: str) -> OrderIn: ...

    def verify_push(self, headers: Mapping[str, str], body: bytes) -> PushResult:
        raise NotImplementedError(f"{self.platform} does not push orders")

    # --- write-back ---
    @abstractmethod
    def confirm_shipment(self, channel_order_id: str, carrier: str, tracking_no: str) -> None: ...

    @abstractmethod
    def push_stock(self, sku_code: str, quantity: int) -> None: ...

    @abstractmethod
    def decrypt_receiver(self, channel_order_id: str) -> Receiver:
        """The plain receiver, through the platform's decrypt API (waybill time only)."""
