"""The admin, exercised through Django's test client as a logged-in superuser."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from tests.factories import example_order, put_stock
from zhongshu.catalog.models import Sku
from zhongshu.core.auth import create_token
from zhongshu.core.models import ApiToken, OutboxEvent, TimelineEntry
from zhongshu.core.outbox import relay
from zhongshu.inventory.models import StockLevel, TransferAlert, Warehouse
from zhongshu.orders.labels import humanize
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake
from zhongshu.routing.models import RoutingSettings

RAW_PHONE = "13800138000"
MASKED_PHONE = "138****8000"
REQUIRED = [
    "auth.user", "auth.group", "core.apitoken", "core.notification", "core.timelineentry", "core.outboxevent",
    "catalog.sku", "shops.shop", "inventory.warehouse", "inventory.stocklevel", "inventory.transferalert",
    "routing.provinceregion", "routing.regionroute", "routing.routingsettings", "orders.order",
]  # fmt: skip


@pytest.fixture
def order(hub) -> Order:
    put_stock("DUMPLING-500G", "CD", 10)
    [r] = intake([OrderIn.model_validate(example_order())], actor="test")
    relay()  # the timeline is built from the outbox (on_commit does not fire inside a test transaction)
    return r.order


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


def changelist_urls() -> list[str]:
    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    ]


def test_every_changelist_renders(staff, order):
    urls = changelist_urls()
    assert set(REQUIRED) <= {u.split("/admin/")[1].strip("/").replace("/", ".") for u in urls}
    for url in urls:
        response = staff.get(url)
        assert response.status_code == 200, url


def test_every_add_page_that_is_offered_renders(staff, admin_user, hub):
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    for model, model_admin in admin.site._registry.items():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_add")
        expected = 200 if model_admin.has_add_permission(request) else 403
        assert staff.get(url).status_code == expected, url


def test_order_list_shows_order_in_shanghai_time(staff, order):
    response = staff.get(reverse("admin:orders_order_changelist"))
    html = response.content.decode()
    assert "MP202611270001" in html
    assert "2026-11-27 20:15:03" in html  # placed at 20:15:03+08:00, stored in UTC
    assert "已分仓锁库" in html
    assert RAW_PHONE not in html


def test_order_search_by_channel_order_id(staff, order):
    url = reverse("admin:orders_order_changelist")
    assert "MP202611270001" in staff.get(url, {"q": "MP202611270001"}).content.decode()
    assert "MP202611270001" not in staff.get(url, {"q": "TB999"}).content.decode()


def test_order_page_masks_receiver_and_shows_history(staff, order):
    response = staff.get(reverse("admin:orders_order_change", args=[order.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert RAW_PHONE not in html
    assert MASKED_PHONE in html
    assert "王小明" not in html and "王**" in html
    assert "天府大道北段1700号" not in html
    assert "手工水饺 500g" in html  # line inline
    assert "接单（已付款）" in html  # transition inline
    assert "分配至 CD" in html
    entries = TimelineEntry.objects.filter(subject=f"order:{order.pk}")
    assert entries.count() == 2
    assert "审计时间线" in html
    for entry in entries:  # shown with its codes read out (no raw status codes on the page)
        assert humanize(entry.summary) in html
    assert "已付款 → 已分仓锁库 分配至 CD" in html


def test_order_is_read_only(staff, order):
    url = reverse("admin:orders_order_change", args=[order.pk])
    response = staff.post(url, {"channel_order_id": "HACKED", "receiver_phone": "13900000000"})
    assert response.status_code == 403
    order.refresh_from_db()
    assert (order.channel_order_id, order.receiver_phone) == ("MP202611270001", RAW_PHONE)
    assert staff.get(reverse("admin:orders_order_add")).status_code == 403
    assert staff.get(reverse("admin:orders_order_delete", args=[order.pk])).status_code == 403


def test_stock_edit_goes_through_stocktake(staff, order):
    row = StockLevel.objects.get(sku__code="DUMPLING-500G", warehouse__code="CD")
    assert (row.physical, row.reserved) == (10, 2)
    before = OutboxEvent.objects.filter(topic="stock.changed").count()

    response = staff.post(
        reverse("admin:inventory_stocklevel_change", args=[row.pk]),
        {"physical": "7", "reserved": "0", "in_transit": "5", "in_transit_coefficient": "0.600"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    row.refresh_from_db()
    assert (row.physical, row.reserved, row.in_transit) == (7, 2, 5)
    assert row.in_transit_coefficient == Decimal("0.600")
    events = list(OutboxEvent.objects.filter(topic="stock.changed").order_by("id"))
    assert len(events) == before + 1
    ev = events[-1]
    assert ev.payload["reason"] == "stocktake"
    assert ev.payload["reserved"] == 2
    assert ev.payload["delta"] == {"physical": -3, "in_transit": 5}
    assert ev.actor == "admin:admin"


def test_stock_add_goes_through_stocktake(staff, hub):
    sku, gz = Sku.objects.get(code="DUMPLING-500G"), Warehouse.objects.get(code="GZ")
    response = staff.post(
        reverse("admin:inventory_stocklevel_add"),
        {
            "sku": sku.pk,
            "warehouse": gz.pk,
            "physical": "30",
            "in_transit": "0",
            "in_transit_coefficient": "0.8",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    row = StockLevel.objects.get(sku=sku, warehouse=gz)
    assert (row.physical, row.reserved) == (30, 0)
    ev = OutboxEvent.objects.filter(topic="stock.changed").latest("id")
    assert (ev.payload["reason"], ev.payload["warehouse"]) == ("stocktake", "GZ")


def test_stock_edit_without_change_writes_nothing(staff, order):
    row = StockLevel.objects.get(sku__code="DUMPLING-500G", warehouse__code="CD")
    before = OutboxEvent.objects.count()
    response = staff.post(
        reverse("admin:inventory_stocklevel_change", args=[row.pk]),
        {"physical": "10", "in_transit": "0", "in_transit_coefficient": "0.800"},
    )
    assert response.status_code == 302
    assert OutboxEvent.objects.count() == before


def test_stock_list_shows_available(staff, hub):
    put_stock("DUMPLING-500G", "GZ", 100, in_transit=20, coefficient="0.8")
    StockLevel.objects.filter(warehouse__code="GZ").update(reserved=30)
    html = staff.get(reverse("admin:inventory_stocklevel_changelist")).content.decode()
    assert "可用" in html
    assert ">86<" in html.replace(" ", "").replace("\n", "")  # R-INV1: 100 − 30 + 20 × 0.8


def test_transfer_alert_actions(staff, hub):
    sku, cd, gz = Sku.objects.get(code="DUMPLING-500G"), *Warehouse.objects.order_by("code")
    done = TransferAlert.objects.create(sku=sku, to_warehouse=cd, from_warehouse=gz, quantity=3, orders=1)
    url = reverse("admin:inventory_transferalert_changelist")
    response = staff.post(url, {"action": "mark_done", "_selected_action": [done.pk]})
    assert response.status_code == 302
    done.refresh_from_db()
    assert done.status == "done"
    ev = OutboxEvent.objects.get(topic="stock.transfer_alert_closed")
    assert ev.payload["status"] == "done"

    dismissed = TransferAlert.objects.create(sku=sku, to_warehouse=cd, quantity=1, orders=1)
    staff.post(url, {"action": "mark_dismissed", "_selected_action": [dismissed.pk]})
    dismissed.refresh_from_db()
    assert dismissed.status == "dismissed"

    # an alert's own page is view-only: it changes through the actions only
    page = reverse("admin:inventory_transferalert_change", args=[dismissed.pk])
    assert staff.get(page).status_code == 200
    assert staff.post(page, {"quantity": "99"}).status_code == 403


def test_routing_settings_is_a_singleton(staff, hub):
    assert RoutingSettings.objects.count() == 1
    assert staff.get(reverse("admin:routing_routingsettings_add")).status_code == 403
    cfg = RoutingSettings.objects.get()
    assert staff.get(reverse("admin:routing_routingsettings_delete", args=[cfg.pk])).status_code == 403
    response = staff.post(
        reverse("admin:routing_routingsettings_change", args=[cfg.pk]),
        {"default_warehouse": cfg.default_warehouse.pk, "shortage_policy": "wait_for_transfer"},
    )
    assert response.status_code == 302
    cfg.refresh_from_db()
    assert cfg.shortage_policy == "wait_for_transfer"


def test_api_tokens_list_and_revoke_without_hash(staff, admin_user):
    token = create_token(admin_user.username, name="erp")
    row = ApiToken.objects.get()
    url = reverse("admin:core_apitoken_changelist")
    html = staff.get(url).content.decode()
    assert row.prefix in html
    assert row.key_hash not in html and token not in html
    assert staff.get(reverse("admin:core_apitoken_add")).status_code == 403
    detail = staff.get(reverse("admin:core_apitoken_change", args=[row.pk])).content.decode()
    assert row.key_hash not in detail

    response = staff.post(url, {"action": "revoke", "_selected_action": [row.pk]})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.revoked is True
    assert OutboxEvent.objects.filter(topic="auth.token_revoked").count() == 1


def test_admin_speaks_chinese(staff, order):
    html = staff.get(reverse("admin:index")).content.decode()
    assert "订单" in html and "库存" in html and "路由设置" in html


def test_signing_in_at_the_login_page_lands_on_the_admin_index(client, admin_user):
    page = client.get(reverse("admin:login")).content.decode()
    assert 'name="next" value="/admin/"' in page
    response = client.post(
        reverse("admin:login"), {"username": "admin", "password": "password", "next": "/admin/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


@pytest.mark.parametrize("model", ["provinceregion", "regionroute", "routingsettings"])
def test_routing_table_pages_say_that_enabled_routing_rules_come_first(staff, hub, model):
    from zhongshu.rules.models import Rule

    url = reverse(f"admin:routing_{model}_changelist")
    html = staff.get(url).content.decode()
    assert "已启用的路由规则优先于本表" in html
    assert reverse("rules_console:edit", args=["region_central_southwest_to_cd"]) in html
    Rule.objects.filter(rule_set__stage="routing").update(enabled=False)
    html = staff.get(url).content.decode()
    assert "当前没有启用的路由规则" in html and "region_central_southwest_to_cd" not in html


def test_shop_page_shows_the_authorisation_as_a_badge(staff, hub):
    from zhongshu.channels.models import Shop, ShopCredential

    shop = Shop.objects.get(code="tb")
    ShopCredential.objects.create(shop=shop, app_key="k")
    html = staff.get(reverse("admin:shops_shop_change", args=[shop.pk])).content.decode()
    assert "未授权</span>" in html.replace("\n", "")
    assert "(&#x27;none&#x27;" not in html and "bg-orange-100" in html
