"""A pull re-reads its overlap window: orders the hub already has at that modification time are left
out before intake with one read — no lock, no write — and counted unchanged (SQLite and PostgreSQL)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import example_order, put_stock
from zhongshu.channels.models import Shop
from zhongshu.channels.services import SyncReport, take_in_orders
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn


def orders(n: int, updated: str = "2026-11-27T20:16:00+08:00") -> list[OrderIn]:
    return [OrderIn.model_validate(example_order(shop="tb", channel_order_id=f"TB-{i}", updated_at=updated))
            for i in range(n)]  # fmt: skip


@pytest.mark.django_db(transaction=True)
def test_known_orders_are_left_out_with_one_read_and_changed_ones_go_in(hub):
    put_stock("DUMPLING-500G", "CD", 100)
    shop = Shop.objects.get(code="tb")
    first = SyncReport(shop="tb")
    take_in_orders(shop, orders(5), first)
    assert (first.received, first.created) == (5, 5)

    again = SyncReport(shop="tb")
    with CaptureQueriesContext(connection) as q:
        take_in_orders(shop, orders(5), again)  # the overlap re-read: nothing changed
    assert (again.received, again.unchanged, again.created, again.updated) == (5, 5, 0, 0)
    writes = [x["sql"] for x in q if not x["sql"].lstrip().upper().startswith("SELECT")]
    assert writes == [] and not any("FOR UPDATE" in x["sql"].upper() for x in q)
    assert sum("orders_order" in x["sql"] for x in q) == 1, [x["sql"] for x in q]  # the one read

    later = SyncReport(shop="tb")
    mixed = orders(5)[:3] + orders(7, updated="2026-11-28T09:00:00+08:00")[3:]  # 2 changed, 2 new
    take_in_orders(shop, mixed, later)
    assert (later.unchanged, later.updated + later.created, later.created) == (3, 4, 2)
    assert Order.objects.filter(shop=shop).count() == 7
