"""The shop moved from channels to its own app (shops) with its table: a database migrated before the
move keeps its shops, their orders and credentials, and the permissions groups hold on shops
(SQLite and PostgreSQL)."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from zhongshu.channels.models import ShopCredential
from zhongshu.orders.models import Order
from zhongshu.shops.models import Shop

BEFORE = [("channels", "0005_field_labels"), ("orders", "0003_field_labels"), ("shops", None)]


def migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    ContentType.objects.clear_cache()
    return MigrationExecutor(connection)  # a fresh graph: the applied set changed


@pytest.mark.django_db(transaction=True)
def test_a_database_from_before_the_move_keeps_shops_orders_and_permissions():
    executor = migrate(BEFORE)
    graph = executor.loader.graph
    auth = graph.leaf_nodes("auth") + graph.leaf_nodes("contenttypes")
    old = executor.loader.project_state([t for t in BEFORE if t[1]] + auth).apps
    OldShop, OldOrder = old.get_model("channels", "Shop"), old.get_model("orders", "Order")
    OldCredential = old.get_model("channels", "ShopCredential")
    shop = OldShop.objects.create(code="tb", name="天猫旗舰店", platform="taobao", stock_share_percent=60)
    OldCredential.objects.create(shop=shop, app_key="k")
    at = datetime(2026, 11, 27, 12, tzinfo=UTC)
    OldOrder.objects.create(
        shop=shop, channel_order_id="T1", status="paid", channel_status="paid", placed_at=at,
        channel_updated_at=at, receiver_name="王", receiver_phone="138", receiver_address="某路1号",
    )  # fmt: skip
    old_type = old.get_model("contenttypes", "ContentType").objects.get(app_label="channels", model="shop")
    group = old.get_model("auth", "Group").objects.create(name="店铺管理")
    group.permissions.add(
        old.get_model("auth", "Permission").objects.get(content_type=old_type, codename="change_shop")
    )

    migrate(graph.leaf_nodes())

    moved = Shop.objects.get(code="tb")
    assert (moved.pk, moved.name, moved.platform, moved.stock_share_percent) == (
        shop.pk,
        "天猫旗舰店",
        "taobao",
        60,
    )
    assert Order.objects.get(channel_order_id="T1").shop == moved
    assert ShopCredential.objects.get().shop == moved
    assert ContentType.objects.get_for_model(Shop).pk == old_type.pk
    assert not ContentType.objects.filter(app_label="channels", model="shop").exists()
    assert Group.objects.get(name="店铺管理").permissions.get().natural_key() == (
        "change_shop",
        "shops",
        "shop",
    )


def test_old_shop_page_addresses_lead_to_the_shops_app(hub, admin_client):
    pk = Shop.objects.get(code="mp").pk
    r = admin_client.get(f"/admin/channels/shop/{pk}/change/?_changelist_filters=q%3Dmp")
    assert (r.status_code, r["Location"]) == (
        302,
        f"/admin/shops/shop/{pk}/change/?_changelist_filters=q%3Dmp",
    )
    assert admin_client.get(r["Location"]).status_code == 200
