"""What the alert rules measure, against the database: pending orders, the return-rate rise over the
7-day baseline (cancelled after payment as the proxy), sync lag per shop, queue backlog, failed
shipment confirmations; and a per-shop rule fires for the lagging shop only."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone
from huey.contrib.djhuey import HUEY

from tests.factories import example_order, put_stock
from zhongshu.channels.models import Shop, SyncState
from zhongshu.core import outbox
from zhongshu.notify import metrics, services
from zhongshu.notify.models import AlertEvent, AlertRule, AlertState
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake


def orders(prefix: str, n: int, paid_at) -> list[Order]:
    rows = [OrderIn.model_validate(example_order(channel_order_id=f"{prefix}{i}", paid_at=paid_at.isoformat(),
                                                 created_at=paid_at.isoformat(), updated_at=paid_at.isoformat()))
            for i in range(n)]  # fmt: skip
    return [r.order for r in intake(rows, actor="test")]


def cancel(order: Order, at) -> None:
    Order.objects.filter(pk=order.pk).update(status="cancelled", updated_at=at)


def test_pending_orders_count_paid_not_shipped(hub):
    put_stock("DUMPLING-500G", "CD", 1)
    now = timezone.now()
    made = orders("P", 3, now - timedelta(minutes=5))  # one allocated, two backordered
    assert metrics.measure("pending_orders", now, 60) == {"": Decimal(3)}
    cancel(made[0], now)
    assert metrics.measure("pending_orders", now, 60) == {"": Decimal(2)}


def test_return_rate_rise_against_the_7_day_baseline(hub):
    put_stock("DUMPLING-500G", "CD", 1000)
    now = timezone.now()
    old = orders("B", 10, now - timedelta(days=3))
    cancel(old[0], now - timedelta(days=3))  # baseline: 1 of 10 = 10 %
    assert metrics.measure("return_rate_rise", now, 1440) == {}  # nothing paid in the last 24 h
    recent = orders("R", 5, now - timedelta(hours=2))
    assert metrics.measure("return_rate_rise", now, 1440) == {"": Decimal("-100.00")}
    cancel(recent[0], now - timedelta(hours=1))  # 1 of 5 = 20 %: +100 % of the baseline
    assert metrics.measure("return_rate_rise", now, 1440) == {"": Decimal("100.00")}


def test_sync_lag_per_shop_fires_for_the_lagging_shop(hub):
    now = timezone.now()
    jd = Shop.objects.create(code="jd1", name="京东店", platform="jd")
    tb = Shop.objects.get(code="tb")
    SyncState.objects.create(shop=tb, last_success_at=now - timedelta(minutes=45))
    SyncState.objects.create(shop=jd, last_success_at=now - timedelta(minutes=2))
    SyncState.objects.create(
        shop=Shop.objects.get(code="mp"), last_success_at=now - timedelta(days=2)
    )  # push-only
    assert metrics.measure("sync_lag_minutes", now, 60) == {"tb": Decimal(45), "jd1": Decimal(2)}

    rule = AlertRule.objects.get(metric="sync_lag_minutes")  # shipped: > 30 minutes
    services.evaluate(now)
    assert list(AlertState.objects.filter(rule=rule, firing=True).values_list("subject", flat=True)) == ["tb"]
    event = AlertEvent.objects.get(rule=rule)
    assert event.subject == "tb" and "店铺：tb" in event.text and "**45**" in event.text


def test_queue_backlog_counts_pending_tasks(db):
    HUEY.storage.enqueue(b"a task")
    try:
        assert metrics.measure("queue_backlog", timezone.now(), 60) == {"": Decimal(HUEY.pending_count())}
        assert HUEY.pending_count() >= 1
    finally:
        HUEY.storage.flush_queue()


def test_ship_confirmation_failures_in_the_window(db):
    outbox.write([outbox.event("channel.shipment_failed", key="order:1", payload={"error": "x"}, actor="t")])
    outbox.write([outbox.event("channel.shipment_confirmed", key="order:2", payload={}, actor="t")])
    now = timezone.now()
    assert metrics.measure("ship_confirm_failures", now, 60) == {"": Decimal(1)}
    assert metrics.measure("ship_confirm_failures", now + timedelta(hours=2), 60) == {"": Decimal(0)}
