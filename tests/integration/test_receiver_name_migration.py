"""The receiver-name blind index (orders 0009): orders stored before it get their index on migrate,
so a search by the receiver's name finds them too (SQLite and PostgreSQL)."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from zhongshu.core.pii import name_hash
from zhongshu.orders.models import Order
from zhongshu.orders.workbench import search_filter

BEFORE = [("orders", "0008_order_split")]


def migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)


@pytest.mark.django_db(transaction=True)
def test_orders_from_before_the_index_are_found_by_receiver_name():
    executor = migrate(BEFORE)
    others = [n for n in executor.loader.graph.leaf_nodes() if n[0] != "orders"]
    old = executor.loader.project_state(others + BEFORE).apps
    OldShop, OldOrder = old.get_model("shops", "Shop"), old.get_model("orders", "Order")
    shop = OldShop.objects.create(code="tb", name="天猫旗舰店", platform="taobao")
    at = datetime(2026, 11, 27, 12, tzinfo=UTC)
    for cid, name in (("T1", "王小明"), ("T2", "李四"), ("T3", "")):
        OldOrder.objects.create(
            shop=shop, channel_order_id=cid, status="paid", channel_status="paid", placed_at=at,
            channel_updated_at=at, receiver_name=name, receiver_phone="13800138000", receiver_address="某路1号",
        )  # fmt: skip

    migrate(executor.loader.graph.leaf_nodes())

    assert Order.objects.get(channel_order_id="T2").receiver_name_hash == name_hash("李四")
    assert Order.objects.get(channel_order_id="T3").receiver_name_hash == ""
    found = Order.objects.filter(search_filter("王小明")).values_list("channel_order_id", flat=True)
    assert list(found) == ["T1"]
