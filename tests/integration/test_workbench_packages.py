"""The order workbench with fulfilment and channels (zhongshu/console): search by package number, the
order page lists its packages, merge/split through fulfilment's services, re-push what failed to
reach the platform; each behind its permission."""

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from tests.factories import example_order, put_stock
from zhongshu.channels.models import ShopCredential
from zhongshu.core import outbox
from zhongshu.core.models import OutboxEvent
from zhongshu.core.roles import FINANCE, OPERATIONS, WAREHOUSE, ensure_roles
from zhongshu.fulfilment import defaults
from zhongshu.fulfilment.models import FulfilmentSettings, Package, PackagingType, WaveStrategy
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake


def post(cid: str) -> Order:
    [r] = intake([OrderIn.model_validate(example_order(channel_order_id=cid))], actor="test")
    outbox.relay()  # packages are made from the outbox events (the test transaction never commits)
    return Order.objects.get(pk=r.order.pk)


def member_of(role: str, username: str) -> User:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)


@pytest.fixture
def two(hub):
    defaults.seed(PackagingType, WaveStrategy, FulfilmentSettings)
    put_stock("DUMPLING-500G", "CD", 50)
    ensure_roles()
    return post("U1"), post("U2")  # one receiver: one merged package


def packages(order: Order) -> list[int]:
    return list(
        Package.objects.filter(package_orders__order=order).order_by("pk").values_list("pk", flat=True)
    )


def do(client, order: Order, name: str, **data):
    return client.post(reverse("admin:orders_order_registered", args=[order.pk, name]), data)


def test_search_by_package_number_and_the_order_page_lists_packages(client, two):
    a, b = two
    client.force_login(member_of(OPERATIONS, "ops"))
    [pkg] = packages(a)
    r = client.get("/admin/orders/order/", {"q": f"P{pkg}"})
    assert {o.channel_order_id for o in r.context["cl"].result_list} == {"U1", "U2"}
    page = client.get(reverse("admin:orders_order_change", args=[a.pk])).content.decode()
    assert f"P{pkg}" in page and "待生成波次" in page and "运单与物流" in page
    assert "重新回传平台" in page and "合单/拆单" not in page  # operations may not change packages


def test_unmerge_then_merge_from_the_order_page(client, two):
    a, b = two
    client.force_login(member_of(WAREHOUSE, "wh"))
    [shared] = packages(a)
    assert (
        "合单/拆单"
        in client.get(reverse("admin:orders_order_registered", args=[a.pk, "merge_split"])).content.decode()
    )
    assert do(client, b, "merge_split", do="unmerge", package=shared).status_code == 302
    [own] = packages(b)
    assert own != shared and packages(a) == [shared]
    page = client.get(reverse("admin:orders_order_registered", args=[a.pk, "merge_split"])).content.decode()
    assert f"P{own}" in page  # offered for merging: same receiver, same warehouse, pending
    assert do(client, a, "merge_split", do="merge", package=shared, **{"with": [own]}).status_code == 302
    assert packages(b) == [shared] and Package.objects.get(pk=own).status == "cancelled"
    assert OutboxEvent.objects.filter(topic="package.merged", actor="wh").exists()


def test_a_refused_merge_changes_nothing_and_says_why(client, two):
    a, _b = two
    client.force_login(member_of(WAREHOUSE, "wh"))
    [shared] = packages(a)
    r = do(client, a, "merge_split", do="merge", package=shared)
    assert r.status_code == 200 and "请选择要合并的其他包裹" in r.content.decode()


def test_repush_resends_a_failed_shipment_confirmation(client, two, django_capture_on_commit_callbacks):
    a, _b = two
    # the shop's platform is unreachable (nothing listens on the discard port): the re-send fails again
    ShopCredential.objects.create(shop=a.shop, app_key="k", api_base_url="http://127.0.0.1:9/")
    failed = {
        "subject": f"order:{a.pk}",
        "carrier": "SF",
        "tracking_no": "SF100",
        "error": "超时",
        "summary": "x",
    }
    outbox.write(
        [outbox.event("channel.shipment_failed", key=f"order:{a.pk}", payload=failed, actor="system")]
    )
    client.force_login(member_of(OPERATIONS, "ops"))
    page = client.get(reverse("admin:orders_order_registered", args=[a.pk, "repush"])).content.decode()
    assert "SF100" in page and "超时" in page
    with django_capture_on_commit_callbacks(execute=True):
        assert do(client, a, "repush").status_code == 302
    assert OutboxEvent.objects.filter(
        topic="channel.repush_requested", actor="ops", key=f"order:{a.pk}"
    ).exists()
    attempts = OutboxEvent.objects.filter(
        key=f"order:{a.pk}", topic__startswith="channel.shipment_", actor="ops"
    )
    assert list(attempts.values_list("topic", flat=True)) == [
        "channel.shipment_failed"
    ]  # sent again, recorded


@pytest.mark.parametrize(
    "role,name", [(FINANCE, "repush"), (FINANCE, "merge_split"), (OPERATIONS, "merge_split")]
)
def test_roles_without_the_permission_cannot(client, two, role, name):
    a, _b = two
    client.force_login(member_of(role, "someone"))
    [shared] = packages(a)
    assert do(client, a, name, do="unmerge", package=shared).status_code == 403
    assert packages(a) == [shared]


def test_holding_an_order_from_the_workbench_takes_it_out_of_its_package(client, two):
    a, b = two
    [shared] = packages(a)
    client.force_login(member_of(OPERATIONS, "ops"))
    r = client.post(
        reverse("admin:orders_order_do_hold", args=[b.pk]), {"confirm": "1", "reason": "地址待核实"}
    )
    assert r.status_code == 302
    outbox.relay()  # the floor follows the order's status change (an outbox consumer)
    live = Package.objects.filter(package_orders__order=b).exclude(status__in=["cancelled", "stopped"])
    assert not live.exists()
    assert packages(a) == [shared] and Package.objects.get(pk=shared).status == "pending"
