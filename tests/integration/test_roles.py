"""The shipped roles: ensure_roles is idempotent and each role can do what it should, and no more."""

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.urls import reverse

from tests.factories import example_order, put_stock
from zhongshu.channels.models import Shop
from zhongshu.core.roles import FINANCE, INTEGRATION, MANAGEMENT, OPERATIONS, WAREHOUSE, ensure_roles
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake


def member_of(role: str, username: str) -> User:
    user = User.objects.create_user(username, password="pw-for-tests", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)  # fresh: no cached permissions


@pytest.fixture
def order(hub):
    ensure_roles()
    put_stock("DUMPLING-500G", "CD", 10)
    [r] = intake([OrderIn.model_validate(example_order())], actor="test")
    return r.order


def test_ensure_roles_is_idempotent(db):
    first = ensure_roles()
    counts = {g.name: g.permissions.count() for g in Group.objects.all()}
    second = ensure_roles()
    assert first == second
    assert set(counts) == {OPERATIONS, WAREHOUSE, FINANCE, INTEGRATION, MANAGEMENT}
    assert {g.name: g.permissions.count() for g in Group.objects.all()} == counts
    assert Group.objects.count() == 5


def test_ensure_roles_keeps_permissions_an_admin_added(db):
    ensure_roles()
    finance = Group.objects.get(name=FINANCE)
    extra = Permission.objects.get(codename="view_notification")
    finance.permissions.add(extra)
    ensure_roles()
    assert finance.permissions.filter(pk=extra.pk).exists()


def test_operations_views_orders_but_cannot_change_a_shop(client, order):
    user = member_of(OPERATIONS, "ops")
    assert user.has_perm("orders.view_order")
    assert not user.has_perm("orders.change_order")
    assert user.has_perm("routing.change_regionroute")
    assert user.has_perm("inventory.change_transferalert")
    assert not user.has_perm("inventory.change_stocklevel")
    assert not user.has_perm("shops.change_shop")

    client.force_login(user)
    assert client.get(reverse("admin:orders_order_changelist")).status_code == 200
    page = client.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert page.status_code == 200
    assert "138****8000" in page.content.decode() and "手工水饺 500g" in page.content.decode()

    shop = Shop.objects.get(code="mp")
    assert client.get(reverse("admin:shops_shop_change", args=[shop.pk])).status_code == 403
    response = client.post(
        reverse("admin:shops_shop_change", args=[shop.pk]),
        {"code": "mp", "name": "改名", "platform": "own", "active": "on"},
    )
    assert response.status_code == 403
    shop.refresh_from_db()
    assert shop.name == "自有小程序"


def test_warehouse_changes_stock_and_finance_only_views_orders(client, order):
    keeper = member_of(WAREHOUSE, "wh")
    assert keeper.has_perm("inventory.change_stocklevel") and keeper.has_perm("inventory.view_warehouse")
    assert not keeper.has_perm("routing.change_regionroute")

    accountant = member_of(FINANCE, "fin")
    assert accountant.has_perm("orders.view_order")
    assert not accountant.has_perm("inventory.view_stocklevel")
    client.force_login(accountant)
    assert client.get(reverse("admin:orders_order_changelist")).status_code == 200
    assert client.get(reverse("admin:inventory_stocklevel_changelist")).status_code == 403


def test_management_views_everything_and_changes_nothing(db):
    ensure_roles()
    boss = member_of(MANAGEMENT, "boss")
    for perm in ("orders.view_order", "inventory.view_stocklevel", "routing.view_routingsettings",
                 "shops.view_shop", "catalog.view_sku", "core.view_timelineentry"):  # fmt: skip
        assert boss.has_perm(perm), perm
    perms = boss.get_all_permissions()
    assert perms and all(p.split(".")[1].startswith("view_") for p in perms)


def test_integration_sends_orders_skus_and_stock_and_nothing_else(db):
    ensure_roles()
    erp = member_of(INTEGRATION, "erp")
    for perm in (
        "orders.add_order",
        "catalog.change_sku",
        "inventory.change_stocklevel",
        "orders.view_order",
    ):
        assert erp.has_perm(perm), perm
    for perm in (
        "orders.change_order",
        "orders.review_exceptions",
        "rules.change_rule",
        "channels.change_shop",
    ):
        assert not erp.has_perm(perm), perm
