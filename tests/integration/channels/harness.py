"""What the platform connector tests share: a shop authorised on its double with SKUs in stock, a day
of order events played on a double, and the checks every connector passes (every order exactly once,
a second pull that changes nothing, an outage back-filled, a refused token asking for re-authorisation).
"""

import random
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from tests.factories import put_stock
from tests.platforms.server import OAuthDouble, PlatformDouble, Request
from zhongshu.catalog.models import Sku
from zhongshu.channels.base import AuthError, TransientError
from zhongshu.channels.models import Shop, ShopCredential, SyncState
from zhongshu.channels.services import SyncReport
from zhongshu.core.threads import start_daemon
from zhongshu.orders.models import Order, OrderLine, OrderTransition

Sync = Callable[[PlatformDouble, datetime], SyncReport]  # a module's sync: steps the double's clock, pulls


def connect_shop(
    code: str, name: str, platform: str, skus: dict[str, Decimal], physical: int = 100_000, **credential
) -> Shop:
    """Shop `code` (made unless the hub has it) with its credential (secrets and tokens given plain), and
    each SKU (code → cost price) in the catalogue with `physical` units in both warehouses."""
    shop, _ = Shop.objects.get_or_create(code=code, defaults={"name": name, "platform": platform})
    ShopCredential.objects.create(shop=shop, **credential)
    for sku, cost in skus.items():
        Sku.objects.get_or_create(code=sku, defaults={"title": sku, "cost_price": cost})
        put_stock(sku, "CD", physical)
        put_stock(sku, "GZ", physical)
    return shop


def authorised_shop(
    double: OAuthDouble, code: str, name: str, platform: str, skus: Iterable[str], **credential
) -> Shop:
    """`connect_shop` on the double (its URL and app secret, tokens fresh from it, valid `access_ttl`),
    the SKUs at a cost price of 10.00."""
    tokens = double.issue_tokens()
    skus = dict.fromkeys(skus, Decimal("10.00"))
    return connect_shop(code, name, platform, skus, api_base_url=double.url, app_secret=double.app_secret,
                        access_token=tokens["access_token"], refresh_token=tokens["refresh_token"],
                        expires_at=double.now + double.access_ttl, **credential)  # fmt: skip


def change_credential(shop_code: str, **fields) -> None:
    """Change fields of the shop's credential (secrets and tokens given plain)."""
    cred = ShopCredential.objects.get(shop__code=shop_code)
    for name, value in fields.items():
        setattr(cred, name, value)
    cred.save()


def hub_counts() -> tuple[int, int, int]:
    return Order.objects.count(), OrderLine.objects.count(), OrderTransition.objects.count()


def assert_pulling_again_changes_nothing(pull: Callable[[], SyncReport]) -> SyncReport:
    """`pull` (of orders the hub has already taken) creates and updates nothing and writes no row; its report."""
    before = hub_counts()
    again = pull()
    assert (again.created, again.updated) == (0, 0)
    assert hub_counts() == before
    return again


def assert_needs_reauth(shop_code: str, code: str, pull: Callable) -> AuthError:
    """`pull` fails with the platform's auth error `code` and the shop is marked for re-authorisation."""
    with pytest.raises(AuthError) as refused:
        pull()
    assert refused.value.code == code
    assert ShopCredential.objects.get(shop__code=shop_code).needs_reauth is True
    return refused.value


def expire_soon(shop: Shop, double: OAuthDouble, at: datetime) -> str:
    """The shop's access token, made to expire 10 minutes after `at` in the hub and on the double."""
    token = ShopCredential.objects.get(shop=shop).access_token
    ShopCredential.objects.filter(shop=shop).update(expires_at=at + timedelta(minutes=10))
    double.access_tokens[token] = at + timedelta(minutes=10)
    return token


def assert_refreshed(shop: Shop, double: OAuthDouble, old: str) -> ShopCredential:
    """The shop holds a new access token from the double, and the pull after the refresh used it."""
    cred = ShopCredential.objects.get(shop=shop)
    assert cred.access_token != old and cred.access_token in double.access_tokens
    assert double.requests[1].query["access_token"] == cred.access_token
    return cred


def assert_outage_back_filled(
    shop: Shop,
    double: PlatformDouble,
    sync: Sync,
    day: datetime,
    add: Callable[[int, datetime, object], object],
    goods: Sequence,
    refunded: str,
) -> None:
    """40 orders pulled by 10:00 of `day`, 20 more before a ten-minute outage and 40 during it, and a
    refund of order `refunded` meanwhile: the failed pull keeps the cursor, the next takes all once.
    `add(n, at, goods[batch])` places order n at `at`, the first 40 with goods[0], then [1], then [2]."""
    t = day + timedelta(hours=10)
    for n in range(1, 41):
        add(n, t - timedelta(minutes=50 - n), goods[0])
    sync(double, day + timedelta(hours=9))
    sync(double, t)
    cursor = SyncState.objects.get(shop=shop).cursor
    for n in range(41, 61):
        add(n, t + timedelta(seconds=10 * n), goods[1])
    double.outage(600)
    with pytest.raises(TransientError):
        sync(double, t + timedelta(minutes=11))
    state = SyncState.objects.get(shop=shop)
    assert state.cursor == cursor and state.last_error.startswith("TransientError")
    for n in range(61, 101):  # orders keep arriving and changing during the outage
        add(n, t + timedelta(minutes=11, seconds=10 * (n - 60)), goods[2])
    double.refund(refunded, t + timedelta(minutes=15))
    double.end_outage()
    report = sync(double, t + timedelta(minutes=21))
    assert report.created == 60 and report.updated == 1
    assert Order.objects.filter(shop=shop).count() == 100 == len(double.orders)
    assert Order.objects.get(channel_order_id=refunded).channel_status == "refunded"


# --- a day of orders ---------------------------------------------------------------------------

EXPECTED_STATUS = {"create": "paid", "create_pending": "pending_payment", "pay": "paid", "confirm": "paid",
                   "cancel": "cancelled", "request_refund": "refund_requested", "refund": "refunded",
                   "edit": None}  # fmt: skip
EVERY_THREE_HOURS = [timedelta(hours=h) for h in range(3, 25, 3)] + [timedelta(hours=24, minutes=5)]


def plan_day(
    day: datetime,
    rng: random.Random,
    n_orders: int,
    fates: list[tuple[float, tuple[str, ...]]],
    unpaid: float = 0.0,
    settled: float = 0.0,
) -> list[tuple[datetime, str, int]]:
    """Events (time, kind, order number) over `day`. Each order is created, then meets the kinds of the
    first fate (bound, kinds) whose bound its roll is under, at two later times; a roll under `unpaid`
    leaves it unpaid instead, then paid or cancelled if the roll is under `settled` too."""
    events = []
    for n in range(1, n_orders + 1):
        placed = day + timedelta(seconds=rng.randrange(60, 20 * 3600))
        later = sorted(placed + timedelta(seconds=rng.randrange(60, 3 * 3600)) for _ in range(2))
        roll = rng.random()
        if roll < unpaid:
            events += [(placed, "create_pending", n)] + (
                [(later[0], rng.choice(["pay", "cancel"]), n)] * (roll < settled)
            )
            continue
        kinds = next((kinds for bound, kinds in fates if roll < bound), ())
        events += [(placed, "create", n)] + [(later[i], kind, n) for i, kind in enumerate(kinds)]
    return sorted(events)


class DayOfOrders(ABC):
    """A day of order events played on a platform double, and the status each order must end in.

    A platform's subclass says how its orders are numbered, made and edited, which orders change while
    the hub pages (`to_churn`), and how to read an order's paid amount and lines. The churn runs from
    the double's hook list named `churn_hook`, after the answers numbered in `churn_answers`.
    """

    fates = [(0.14, ("request_refund", "refund")),  # modified twice
             (0.17, ("request_refund",)), (0.20, ("cancel",)),
             (0.30, ("edit", "edit"))]  # modified twice, same content  # fmt: skip
    unpaid, settled = 0.08, 0.06
    churn_hook = "after_search"
    churn_answers = (2, 3)
    churn_lag = timedelta(0)  # how long before the double's clock the changes are dated

    def __init__(self, double: OAuthDouble, day: datetime, n_orders: int, seed: int = 20261127):
        self.double, self.day, self.n_orders = double, day, n_orders
        self.rng = random.Random(seed)
        self.events = plan_day(day, self.rng, n_orders, self.fates, self.unpaid, self.settled)
        self.expected: dict[str, str] = {}
        self.churned: list[str] = []

    @abstractmethod
    def order_id(self, n: int) -> str: ...

    @abstractmethod
    def create(self, n: int, at: datetime, pending: bool) -> None:
        """Place order n at `at` (unpaid if `pending`), its goods drawn with `self.rng`."""

    @abstractmethod
    def edit(self, order_id: str, at: datetime) -> None:
        """A change at `at` that leaves the order's status as it is."""

    @abstractmethod
    def to_churn(self, quiet: set[str]) -> list[str]:
        """The paid orders, among those no later event touches, that change first while the hub pages."""

    @abstractmethod
    def paid(self, raw: dict) -> Decimal: ...

    @abstractmethod
    def lines(self, raw: dict) -> Counter:
        """The order's (SKU code, quantity) lines."""

    def apply(self, event: tuple[datetime, str, int]) -> None:
        at, kind, n = event
        order_id = self.order_id(n)
        if kind.startswith("create"):
            self.create(n, at, pending=kind == "create_pending")
        elif kind == "edit":
            self.edit(order_id, at)
        else:
            getattr(self.double, kind)(order_id, at)
        self.expected[order_id] = EXPECTED_STATUS[kind] or self.expected[order_id]

    def churn_while_paging(self) -> None:
        """After the answers numbered in `churn_answers`, three orders (`to_churn`) get a refund request."""
        quiet = set(self.expected) - {self.order_id(n) for _, _, n in self.events}

        def mutate(double: OAuthDouble) -> None:
            for order_id in self.to_churn(quiet)[:3]:
                double.request_refund(order_id, double.now - self.churn_lag)
                self.expected[order_id] = "refund_requested"
                self.churned.append(order_id)

        last = max(self.churn_answers)
        hooks = [mutate if k in self.churn_answers else _nothing for k in range(1, last + 1)]
        setattr(self.double, self.churn_hook, hooks)

    def play(
        self, sync: Sync, checkpoints: list[timedelta], churn_at: tuple[int, ...]
    ) -> list[list[Request]]:
        """From the day's midnight (the first sync sets the cursor there), apply the events due by each
        checkpoint and sync there, orders changing while the syncs numbered in `churn_at` page; the
        requests of each sync."""
        sync(self.double, self.day)
        served = []
        for i, checkpoint in enumerate(self.day + c for c in checkpoints):
            while self.events and self.events[0][0] <= checkpoint:
                self.apply(self.events.pop(0))
            if i in churn_at:  # orders keep changing while the window is paged
                self.churn_while_paging()
            before = len(self.double.requests)
            sync(self.double, checkpoint)
            served.append(self.double.requests[before:])
        return served

    def arrives_exactly_once(
        self, shop_code: str, sync: Sync, checkpoints: list[timedelta], churn_at: tuple[int, ...]
    ) -> list[list[Request]]:
        """Play the day, then: every order is in the hub once with its final status, paid amount and
        lines, and pulling again changes nothing. The requests of each sync of the day."""
        served = self.play(sync, checkpoints, churn_at)
        assert len(self.double.orders) == self.n_orders and not self.events and len(self.churned) == 12
        self.assert_orders_match(shop_code)
        again = self.day + checkpoints[-1] + timedelta(minutes=1)
        assert_pulling_again_changes_nothing(lambda: sync(self.double, again))
        return served

    def assert_orders_match(self, shop_code: str) -> None:
        """Every order of the double once in the hub, with its expected status, paid amount and lines."""
        raw_orders = self.double.orders
        assert Order.objects.filter(shop__code=shop_code).count() == len(raw_orders)
        hub = {o["channel_order_id"]: o for o in Order.objects.values("id", "channel_order_id", "channel_status",
                                                                           "paid_amount")}  # fmt: skip
        hub_lines: dict[int, Counter] = {}
        for order_id, code, qty in OrderLine.objects.values_list("order_id", "sku__code", "quantity"):
            hub_lines.setdefault(order_id, Counter())[(code, qty)] += 1
        assert Counter(o["channel_status"] for o in hub.values()) == Counter(self.expected.values())
        for order_id, raw in raw_orders.items():
            got = hub[order_id]
            assert got["channel_status"] == self.expected[order_id], order_id
            assert got["paid_amount"] == self.paid(raw), order_id
            assert hub_lines[got["id"]] == self.lines(raw), order_id


def _nothing(double: PlatformDouble) -> None:
    pass


# --- long-connection message services (TMC, PDD) --------------------------------------------------


def wait(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    """Poll until `predicate()` holds; fail the test after `timeout` seconds (generous: a loaded CI
    machine with PostgreSQL was seen to need more than 5 s; a passing wait returns at once)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@contextmanager
def listening(service_class, url: str, rescan: float = 0.1) -> Iterator:
    """A worker's message service (channels.listener.ListenerService subclass) pointed at a double's
    `url`, run in a thread as run_worker runs it; stopped after, its threads all ended."""
    stop = threading.Event()
    service = service_class(stop, url=url, rescan=rescan, backoff=(0.05, 0.2))
    thread = start_daemon("test-message-service", service.run)
    try:
        yield service
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    assert not any(t.is_alive() for t in service.listeners.values())
