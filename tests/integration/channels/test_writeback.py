"""Write-back: sellable stock by each shop's strategy (R-INV5), coalesced per SKU; shipment confirmation.

Stock changes go the real way: stocktake → stock.changed outbox event → relay → channels consumer →
delayed huey task (immediate mode keeps it in the schedule) → `run_due_tasks` fires what is due, as
the huey scheduler would → the own-shop connector posts to the double over HTTP.
"""

import datetime as dt
from decimal import Decimal

import pytest
from huey.contrib.djhuey import HUEY

from tests.factories import example_order, put_stock
from tests.platforms.own import OwnShopDouble
from zhongshu.catalog.models import Sku
from zhongshu.channels.base import TransientError
from zhongshu.channels.models import Shop, ShopCredential, StockPush
from zhongshu.channels.writeback import (
    NEVER_PUSHED,
    WritebackFailed,
    confirm_shipment,
    push_stock_for_skus,
    sellable,
)
from zhongshu.core.models import OutboxEvent, TimelineEntry
from zhongshu.inventory.models import Warehouse
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake, stocktake

SECRET = "own-callback-secret"
SKU = "DUMPLING-500G"


# --- the strategy, pure ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "share", "buffer", "cap", "expected"),
    [
        (10, 60, 0, None, 6),  # share of the pool
        (10, 33, 0, None, 3),  # floor, never rounded up
        (100, 60, 5, None, 55),  # buffer kept back from the share
        (3, 100, 5, None, 0),  # buffer larger than stock
        (-4, 100, 0, None, 0),  # oversold pool: never negative
        (100, 100, 0, 20, 20),  # cap
        (10, 100, 0, 20, 10),  # cap above the value changes nothing
        (10, 100, 0, 0, 0),  # cap 0 stops selling
        (10, 0, 0, None, 0),  # share 0
    ],
)
def test_sellable(total, share, buffer, cap, expected):
    assert sellable(total, share, buffer, cap) == expected


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def clean_queue():
    HUEY.storage.flush_all()  # immediate mode: in-memory schedule and dedupe keys
    yield
    HUEY.storage.flush_all()


@pytest.fixture
def double():
    with OwnShopDouble(SECRET) as d:
        yield d


def own_shop(code: str, url: str, share: int = 100, buffer: int = 0, cap: int | None = None) -> Shop:
    shop = Shop.objects.create(
        code=code, name=code, platform="own", stock_share_percent=share, stock_buffer=buffer, stock_cap=cap
    )
    cred = ShopCredential(shop=shop, app_key=code, api_base_url=url)
    cred.push_secret = SECRET
    cred.save()
    return shop


@pytest.fixture
def shops(hub, double):
    """own-a sells 60 % of the pool; own-b keeps 2 back and sells at most 5. mp/tb have no credentials."""
    return own_shop("own-a", double.url, share=60), own_shop("own-b", double.url, buffer=2, cap=5)


def count(physical: int, in_transit: int = 0) -> None:
    stocktake(Sku.objects.get(code=SKU), Warehouse.objects.get(code="GZ"), physical, in_transit,
              Decimal("0.8"), actor="test")  # fmt: skip


def run_due_tasks() -> int:
    """Fire every scheduled huey task as the scheduler would once its delay has passed."""
    later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(minutes=5)  # huey keeps UTC naive
    tasks = HUEY.read_schedule(later)
    for task in tasks:
        HUEY.execute(task, timestamp=later)
    return len(tasks)


def pushed() -> dict[str, int]:
    return dict(StockPush.objects.values_list("shop__code", "quantity"))


# --- stock write-back -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_stocktake_pushes_each_shops_strategy_quantity(shops, double):
    count(10)
    assert double.stock == []  # coalescing: nothing before the delay
    assert run_due_tasks() == 1
    assert double.stock_of("own-a", SKU) == [6]
    assert double.stock_of("own-b", SKU) == [5]  # 10 - 2 = 8, capped at 5
    assert pushed() == {"own-a": 6, "own-b": 5}  # nothing for mp/tb: no connector credentials
    assert StockPush.objects.filter(last_error="").count() == 2


@pytest.mark.django_db(transaction=True)
def test_burst_of_50_changes_is_coalesced_to_the_final_value(shops, double):
    for physical in range(1, 51):
        count(physical)
    run_due_tasks()
    for code, final in (("own-a", 30), ("own-b", 5)):
        values = double.stock_of(code, SKU)
        assert 1 <= len(values) <= 2
        assert values[-1] == final
    assert pushed() == {"own-a": 30, "own-b": 5}


@pytest.mark.django_db(transaction=True)
def test_a_change_after_the_push_schedules_the_next_one(shops, double):
    count(10)
    run_due_tasks()
    count(20)
    run_due_tasks()
    assert double.stock_of("own-a", SKU) == [6, 12]
    assert double.stock_of("own-b", SKU) == [5]  # still capped at 5: not pushed again


@pytest.mark.django_db(transaction=True)
def test_unchanged_value_is_not_pushed_again(shops, double):
    count(10)
    run_due_tasks()
    sent = len(double.requests)
    count(10, in_transit=1)  # 1 × 0.8 in transit: still 10 available
    run_due_tasks()
    report = push_stock_for_skus([SKU])
    assert (report.pushed, report.unchanged) == ([], 2)
    assert len(double.requests) == sent


@pytest.mark.django_db(transaction=True)
def test_reservation_by_an_order_lowers_the_pushed_value(shops, double):
    put_stock(SKU, "CD", 10)
    intake([OrderIn.model_validate(example_order())], actor="test")  # reserves 2 in CD
    run_due_tasks()
    assert double.stock_of("own-a", SKU)[-1] == 4  # 60 % of 8


def test_failed_push_is_recorded_and_retried_next_time(shops, double):
    put_stock(SKU, "GZ", 10)
    double.fail_next(1, status=503)
    with pytest.raises(WritebackFailed):
        push_stock_for_skus([SKU])
    assert double.stock_of("own-b", SKU) == [5]  # the other shop still got its value
    failed = StockPush.objects.get(shop__code="own-a")
    assert failed.quantity == NEVER_PUSHED and "TransientError" in failed.last_error
    report = push_stock_for_skus([SKU])
    assert report.pushed == [("own-a", SKU, 6)]
    assert StockPush.objects.get(shop__code="own-a").last_error == ""


def test_wrong_secret_is_refused_by_the_shop_and_recorded(shops, double):
    put_stock(SKU, "GZ", 10)
    double.secret = "rotated-on-the-shop-side"
    with pytest.raises(WritebackFailed):
        push_stock_for_skus([SKU])
    assert double.stock == []
    assert all("AuthError" in e for e in StockPush.objects.values_list("last_error", flat=True))


# --- shipment confirmation ----------------------------------------------------------------------


def own_order(shop: str = "own-a"):
    put_stock(SKU, "CD", 10)
    [r] = intake([OrderIn.model_validate(example_order(shop=shop))], actor="test")
    return r.order


@pytest.mark.django_db(transaction=True)
def test_confirm_shipment_sends_carrier_and_tracking_number(shops, double):
    order = own_order()
    confirm_shipment(order, "SF", "SF1400000000001")
    assert double.shipments == [
        {
            "shop": "own-a",
            "channel_order_id": "MP202611270001",
            "carrier": "SF",
            "tracking_no": "SF1400000000001",
        }
    ]
    ev = OutboxEvent.objects.get(topic="channel.shipment_confirmed")
    assert (ev.key, ev.payload["tracking_no"], ev.payload["carrier"]) == (
        f"order:{order.pk}",
        "SF1400000000001",
        "SF",
    )
    assert TimelineEntry.objects.filter(event=ev, subject=f"order:{order.pk}").exists()


def test_confirm_shipment_failure_raises_after_recording(shops, double):
    order = own_order()
    double.outage()
    with pytest.raises(TransientError):
        confirm_shipment(order, "ZTO", "ZT7700000001")
    assert len(double.requests) == 3  # retried, then gave up
    ev = OutboxEvent.objects.get(topic="channel.shipment_failed")
    assert ev.payload["tracking_no"] == "ZT7700000001" and "503" in ev.payload["error"]
    assert not OutboxEvent.objects.filter(topic="channel.shipment_confirmed").exists()
