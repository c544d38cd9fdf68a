"""`paid → shipped` per order and per day (SQLite and PostgreSQL): average and 90th percentile of the
orders shipped each Asia/Shanghai day, from the audited transition; unpaid orders left out."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.factories import example_order
from zhongshu.orders.intake import intake
from zhongshu.orders.models import Order, OrderTransition
from zhongshu.orders.schemas import OrderIn
from zhongshu.shipping.selectors import paid_to_shipped, processing_time_by_day

SH = ZoneInfo("Asia/Shanghai")


def shipped_order(cid: str, paid: datetime | None, shipped: datetime, shop: str = "mp") -> Order:
    [result] = intake([OrderIn.model_validate(example_order(channel_order_id=cid, shop=shop))], actor="test")
    Order.objects.filter(pk=result.order.pk).update(paid_at=paid, status="shipped")
    OrderTransition.objects.create(order=result.order, from_status="packed", to_status="shipped",
                                   actor="test", at=shipped)  # fmt: skip
    return result.order


def test_average_and_p90_per_local_day(hub):
    day = datetime(2026, 12, 2, 10, 0, tzinfo=SH)
    for minutes in range(1, 11):  # 1..10 minutes
        shipped_order(f"P{minutes}", day, day + timedelta(minutes=minutes))
    # paid in the evening, shipped 23:30 Shanghai time (15:30 UTC): still 2 December
    late = datetime(2026, 12, 2, 23, 30, tzinfo=SH)
    shipped_order("LATE", late - timedelta(minutes=22), late)
    shipped_order("UNPAID", None, day + timedelta(minutes=3))  # no paid time: not counted
    shipped_order("NEXT", day + timedelta(days=1), day + timedelta(days=1, minutes=6), shop="tb")

    days = processing_time_by_day(date(2026, 12, 1), date(2026, 12, 3))
    assert [(d.day, d.orders) for d in days] == [(date(2026, 12, 1), 0), (date(2026, 12, 2), 11),
                                                 (date(2026, 12, 3), 1)]  # fmt: skip
    empty, dec2, dec3 = days
    assert empty.average is None and empty.p90 is None and empty.average_minutes is None
    assert dec2.average == timedelta(minutes=(55 + 22) / 11)  # (1+…+10 + 22) / 11 = 7
    assert dec2.average_minutes == 7.0
    assert dec2.p90 == timedelta(minutes=10)  # nearest rank: the 10th of 11 sorted
    assert (dec3.average_minutes, dec3.p90_minutes) == (6.0, 6.0)
    assert [d.orders for d in processing_time_by_day(date(2026, 12, 2), date(2026, 12, 3), shop="tb")] == [
        0,
        1,
    ]
    assert len(paid_to_shipped(date(2026, 12, 2), date(2026, 12, 2))) == 11


def test_an_order_counts_once_from_its_first_move_to_shipped(hub):
    paid = datetime(2026, 12, 5, 9, 0, tzinfo=SH)
    order = shipped_order("TWICE", paid, paid + timedelta(minutes=8))
    OrderTransition.objects.create(order=order, from_status="shipped", to_status="shipped", actor="test",
                                   at=paid + timedelta(minutes=50))  # fmt: skip
    [row] = paid_to_shipped(date(2026, 12, 5), date(2026, 12, 5))
    assert row.duration == timedelta(minutes=8)
