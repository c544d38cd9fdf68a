"""The one interface every waybill service (电子面单) is used through.

A provider gets waybill numbers for packages (in batches where the platform batches: Cainiao and
Pinduoduo take 10 per call, Douyin 50, Kuaishou 10), cancels one and updates one. The request's
`object_id` is the idempotency key: asking again with the same object id returns the same number,
never a second one (the platforms document this for `object_id` / `pack_id` / `packageCode`).
Everything here is plain data; no ORM.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field


class WaybillError(Exception):
    """A waybill service refused; `code` is stable for scripts and the console, `detail` says why in
    the provider's words. `retryable` errors (timeouts, rate limits) may succeed when asked again."""

    def __init__(self, code: str, detail: str, retryable: bool = False):
        super().__init__(f"[{code}] {detail}")
        self.code, self.detail, self.retryable = code, detail, retryable


# Stable refusal codes (the provider's own code is kept in the detail).
INSUFFICIENT_BALANCE = "insufficient_balance"  # 面单余额不足
ADDRESS_UNREACHABLE = "address_unreachable"  # 超区 / 地址不可达
INVALID_REQUEST = "invalid_request"
AUTH_FAILED = "auth_failed"
UNAVAILABLE = "provider_unavailable"  # timeout, 5xx, rate limit


@dataclass(frozen=True)
class Address:
    province: str
    city: str
    district: str
    detail: str


@dataclass(frozen=True)
class Party:
    """A sender or receiver. For a platform order the receiver fields may be the platform's ciphertext
    (and `ref` its open addressee id, e.g. Taobao `oaid`): only its own waybill service reads them."""

    name: str
    phone: str
    address: Address
    ref: str = ""


@dataclass(frozen=True)
class Account:
    """The shop's waybill account for the carrier (网点, 月结号, template, direct-carrier keys)."""

    shop: str
    platform: str
    carrier: str
    branch_code: str = ""
    customer_code: str = ""
    template_url: str = ""
    partner_id: str = ""
    check_word: str = ""


@dataclass(frozen=True)
class Item:
    name: str
    count: int


@dataclass(frozen=True)
class WaybillRequest:
    object_id: str  # idempotency key (stable per package)
    package_id: int
    carrier: str
    platform: str  # the orders' platform (order channel type)
    channel_order_ids: tuple[str, ...]
    sender: Party
    receiver: Party
    items: tuple[Item, ...]
    weight_g: int
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class WaybillResult:
    object_id: str
    waybill_no: str
    carrier: str
    sort_code: str = ""  # 大头笔 / 三段码 where the provider gives it
    print_data: dict = field(default_factory=dict)  # what the platform's print component prints
    parent_waybill_no: str = ""


@dataclass(frozen=True)
class Outcome:
    """One request's answer in a batch: a result or the refusal of that one package."""

    object_id: str
    result: WaybillResult | None = None
    error: WaybillError | None = None


class WaybillProvider(ABC):
    """A waybill service. `batch_size` is the most requests one `get` call may carry."""

    code: str
    batch_size: int = 1

    def __init__(self, account: Account, connection=None):
        self.account = account
        self.connection = connection  # the channel client of the shop, for platform services

    @abstractmethod
    def get(self, requests: list[WaybillRequest]) -> list[Outcome]:
        """Numbers for up to `batch_size` packages, one outcome per request in request order."""

    @abstractmethod
    def cancel(self, carrier: str, waybill_no: str, object_id: str = "") -> None:
        """Give a number back (before it ships); raises WaybillError when the service refuses.
        `object_id` is the request's idempotency key (SF cancels by its order id)."""

    def update(self, request: WaybillRequest, waybill_no: str) -> WaybillResult:
        """Change a number's receiver/package details (e.g. after an address change) — where supported."""
        raise WaybillError(INVALID_REQUEST, f"{self.code}: updating a waybill is not supported")
