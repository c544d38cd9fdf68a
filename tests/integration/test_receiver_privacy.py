"""The receiver's name, phone and address at rest: encrypted in every way orders are written (the
intake's bulk insert and COPY, bulk_update, save), found through blind indexes (exact phone, last 4
digits, same phone/address history), encrypted by the data migration for rows stored before, shown
in clear only to orders.reveal_receiver / exported in clear only with orders.export_receiver, each
time audited."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from openpyxl import load_workbook
from typer.testing import CliRunner

from tests.factories import example_order, put_stock
from zhongshu.cli import app
from zhongshu.core.models import OutboxEvent, TimelineEntry
from zhongshu.core.outbox import relay
from zhongshu.core.pii import address_hash, phone_hash, phone_tail_hash
from zhongshu.core.roles import FINANCE, OPERATIONS, WAREHOUSE, ensure_roles
from zhongshu.orders import receiver
from zhongshu.orders.export import HEADERS
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake
from zhongshu.rules.services import save_rule

NAME, PHONE, ADDRESS = "王小明", "13800138000", "天府大道北段1700号"
COL = {h: i for i, h in enumerate(HEADERS)}


def take(*orders: dict) -> list[Order]:
    return [r.order for r in intake([OrderIn.model_validate(o) for o in orders], actor="test")]


def raw_rows() -> list[tuple]:
    """Every stored order row as the database holds it (no field conversion)."""
    table = connection.ops.quote_name(Order._meta.db_table)
    with connection.cursor() as cur:
        cur.execute(f"SELECT * FROM {table} ORDER BY id")
        return cur.fetchall()


def assert_no_clear_receiver(*clear: str) -> None:
    stored = " | ".join(str(v) for row in raw_rows() for v in row)
    for text in clear:
        assert text not in stored


@pytest.fixture
def stocked(hub):
    put_stock("DUMPLING-500G", "CD", 100)
    put_stock("DUMPLING-500G", "GZ", 100)


def test_intake_stores_the_receiver_encrypted_with_blind_indexes(stocked):
    [order] = take(example_order())

    assert_no_clear_receiver(NAME, PHONE, ADDRESS)
    stored = Order.objects.get(pk=order.pk)
    assert (stored.receiver_name, stored.receiver_phone, stored.receiver_address) == (NAME, PHONE, ADDRESS)
    assert (stored.receiver_phone_hash, stored.receiver_phone_tail_hash, stored.receiver_address_hash) == (
        phone_hash(PHONE), phone_tail_hash(PHONE), address_hash(ADDRESS),
    )  # fmt: skip
    assert Order.objects.values_list("receiver_phone", flat=True).get() == PHONE


def test_an_update_through_bulk_update_stays_encrypted_and_moves_the_indexes(stocked):
    take(example_order())
    moved = example_order(updated_at="2026-11-27T21:00:00+08:00")
    moved["receiver"].update(phone="13912345678", address="天河路385号", province="广东省", city="广州市")

    [order] = take(moved)

    assert_no_clear_receiver("13912345678", "天河路385号", PHONE, ADDRESS)
    stored = Order.objects.get(pk=order.pk)
    assert (stored.receiver_phone, stored.receiver_address, stored.warehouse.code) == (
        "13912345678", "天河路385号", "GZ",
    )  # fmt: skip
    assert stored.receiver_phone_hash == phone_hash("13912345678")
    assert stored.receiver_address_hash == address_hash("天河路385号")


def test_save_encrypts_and_indexes_too(stocked):
    [order] = take(example_order())
    order.receiver_address = "天河路385号"
    order.save(update_fields=["receiver_address"])

    assert_no_clear_receiver("天河路385号")
    assert Order.objects.get(pk=order.pk).receiver_address_hash == address_hash("天河路385号")


def test_platform_ciphertext_is_kept_as_given_and_encrypted_again(stocked):
    ciphertext = {"name": "~AgAAAAEF1hYH+7c=~", "phone": "$138$Aw8uWr3E=$1$", "address": "^1^AgAAdf==^"}
    [order] = take(example_order(receiver={**example_order()["receiver"], **ciphertext}))

    assert_no_clear_receiver(*ciphertext.values())
    stored = Order.objects.get(pk=order.pk)
    assert (stored.receiver_name, stored.receiver_phone, stored.receiver_address) == tuple(
        ciphertext.values()
    )
    assert stored.receiver_phone_tail_hash == ""  # a ciphertext has no last 4 digits to search by


def test_search_by_exact_phone_or_its_last_4_digits(stocked):
    take(
        example_order(channel_order_id="A"),
        example_order(
            channel_order_id="B", receiver={**example_order()["receiver"], "phone": "139 1234 8000"}
        ),
        example_order(channel_order_id="C", receiver={**example_order()["receiver"], "phone": "13700001111"}),
    )

    def found(term: str) -> list[str]:
        return sorted(receiver.by_phone(Order.objects.all(), term).values_list("channel_order_id", flat=True))

    assert found("13800138000") == ["A"]
    assert found("138-0013-8000") == ["A"]
    assert found("13912348000") == ["B"]
    assert found("8000") == ["A", "B"]
    assert found("1111") == ["C"]
    assert found("王小明") == []
    with pytest.raises(FieldError):  # a ciphertext cannot be compared: misuse fails loudly
        list(Order.objects.filter(receiver_phone=PHONE))


def test_same_phone_in_one_import_batch_counts_through_the_index(stocked):
    condition = {"fact": "orders_same_phone_hours", "param": 24, "op": ">", "value": "2"}
    save_rule({"code": "repeat_phone", "name": "同手机号多单", "rule_set": "review", "condition": condition,
               "actions": [{"type": "add_tag", "tag": "repeat"}]}, author="test")  # fmt: skip
    phones = ["13800138000", "138 0013 8000", "+86 138-0013-8000"]
    orders = [example_order(channel_order_id=f"P{n}") for n in range(3)]
    for o, p in zip(orders, phones, strict=True):
        o["receiver"] = {**o["receiver"], "phone": p}

    flags = [o.flags for o in take(*orders)]

    assert flags == [[], [], ["tag:repeat"]]


# --- the data migration ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_migration_encrypts_rows_stored_in_clear_and_back(hub):
    executor = MigrationExecutor(connection)
    before, latest = ("orders", "0003_field_labels"), executor.loader.graph.leaf_nodes()
    try:
        executor.migrate([before])
        old = executor.loader.project_state([before]).apps
        shop = old.get_model("channels", "Shop").objects.get(code="mp")
        old.get_model("orders", "Order").objects.create(
            shop_id=shop.pk, channel_order_id="OLD1", status="allocated", channel_status="paid",
            placed_at="2026-11-27T12:00:00Z", channel_updated_at="2026-11-27T12:00:00Z",
            receiver_name=NAME, receiver_phone=PHONE, receiver_address=ADDRESS, flags=[],
        )  # fmt: skip
        assert PHONE in str(raw_rows())

        executor = MigrationExecutor(connection)
        executor.migrate(latest)

        assert_no_clear_receiver(NAME, PHONE, ADDRESS)
        stored = Order.objects.get(channel_order_id="OLD1")
        assert (stored.receiver_name, stored.receiver_phone, stored.receiver_address) == (
            NAME,
            PHONE,
            ADDRESS,
        )
        assert list(receiver.by_phone(Order.objects.all(), "8000")) == [stored]
        assert stored.receiver_address_hash == address_hash(ADDRESS)

        executor = MigrationExecutor(connection)
        executor.migrate([before])  # backwards: clear again
        assert PHONE in str(raw_rows()) and ADDRESS in str(raw_rows())
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())


# --- the clear receiver: who may see or export it, audited -----------------------------------------


def user_in(role: str, name: str):
    ensure_roles()
    user = get_user_model().objects.create_user(name, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def order(stocked) -> Order:
    [o] = take(example_order())
    return o


def reveal_url(order: Order) -> str:
    return reverse("admin:orders_order_reveal_receiver", args=[order.pk])


def test_warehouse_reveals_the_receiver_for_a_label_and_it_is_audited(order, client):
    client.force_login(user_in(WAREHOUSE, "wh"))
    page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert reveal_url(order) in page and PHONE not in page and NAME not in page

    asked = client.get(reveal_url(order)).content.decode()
    assert PHONE not in asked and OutboxEvent.objects.filter(topic="order.receiver_revealed").count() == 0

    shown = client.post(reveal_url(order), {"purpose": "label"}).content.decode()
    assert NAME in shown and PHONE in shown and ADDRESS in shown
    relay()
    entry = TimelineEntry.objects.get(kind="order.receiver_revealed")
    assert (entry.subject, entry.actor, entry.summary) == (
        f"order:{order.pk}",
        "wh",
        "查看收货人明文（打印面单）",
    )
    assert PHONE not in entry.summary


def test_finance_may_not_reveal_the_receiver(order, client):
    client.force_login(user_in(FINANCE, "fin"))
    page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert reveal_url(order) not in page
    assert client.post(reveal_url(order), {"purpose": "view"}).status_code == 403
    assert not OutboxEvent.objects.filter(topic="order.receiver_revealed").exists()


def export_action(client, action: str, order: Order):
    url = reverse("admin:orders_order_changelist")
    return client.post(url, {"action": action, "_selected_action": [order.pk]})


def test_clear_export_needs_its_permission_and_is_audited(order, client, admin_user):
    client.force_login(user_in(WAREHOUSE, "wh"))  # may reveal one receiver, not export them all
    refused = export_action(client, "export_selected_clear", order)
    assert refused.get("Content-Disposition") is None
    assert not OutboxEvent.objects.filter(topic="order.receivers_exported").exists()

    client.force_login(admin_user)
    masked = load_workbook(
        io.BytesIO(b"".join(export_action(client, "export_selected", order).streaming_content))
    )
    assert list(masked.active.iter_rows(values_only=True))[1][COL["联系电话"]] == "138****8000"
    clear = load_workbook(
        io.BytesIO(b"".join(export_action(client, "export_selected_clear", order).streaming_content))
    )
    row = list(clear.active.iter_rows(values_only=True))[1]
    assert (row[COL["收货人"]], row[COL["联系电话"]], row[COL["收货地址"]]) == (NAME, PHONE, ADDRESS)
    event = OutboxEvent.objects.get(topic="order.receivers_exported")
    assert (event.actor, event.payload["orders"]) == (admin_user.get_username(), 1)


def test_cli_export_in_clear_only_when_asked_and_audited(order, tmp_path):
    runner = CliRunner()
    masked, clear = tmp_path / "masked.xlsx", tmp_path / "clear.xlsx"
    assert runner.invoke(app, ["export", "orders", "-o", str(masked)]).exit_code == 0
    assert not OutboxEvent.objects.filter(topic="order.receivers_exported").exists()
    result = runner.invoke(app, ["export", "orders", "-o", str(clear), "--clear-receivers"])
    assert result.exit_code == 0, result.output

    def phone(path) -> str:
        return list(load_workbook(path, read_only=True).active.iter_rows(values_only=True))[1][
            COL["联系电话"]
        ]

    assert (phone(masked), phone(clear)) == ("138****8000", PHONE)
    assert OutboxEvent.objects.get(topic="order.receivers_exported").actor.startswith("cli:")


def test_admin_list_searches_by_phone_and_tail(order, client, admin_user):
    client.force_login(admin_user)
    url = reverse("admin:orders_order_changelist")
    for term, hits in (("13800138000", 1), ("8000", 1), ("13900000000", 0), (order.channel_order_id, 1)):
        page = client.get(url, {"q": term}).content.decode()
        assert (f"/admin/orders/order/{order.pk}/change/" in page) == bool(hits), term


def test_address_edit_in_the_exception_queue_offers_the_reveal_and_stays_encrypted(stocked, client):
    [held] = take(example_order(paid_amount="60.00"))  # price_mismatch holds it
    url = reverse("exceptions:detail", args=[held.pk])
    client.force_login(user_in(FINANCE, "fin"))
    assert reveal_url(held) not in client.get(url).content.decode()
    client.force_login(user_in(OPERATIONS, "ops"))
    page = client.get(url).content.decode()
    assert reveal_url(held) in page and ADDRESS not in page

    client.post(url, {"action": "edit", "receiver_province": "广东省", "receiver_city": "广州市",
                      "receiver_district": "天河区", "receiver_address": "天河路385号", "note": "买家改地址"})  # fmt: skip

    assert_no_clear_receiver("天河路385号", ADDRESS)
    stored = Order.objects.get(pk=held.pk)
    assert (stored.status, stored.receiver_address) == ("allocated", "天河路385号")
    assert stored.receiver_address_hash == address_hash("天河路385号")


def test_system_checks_pass_before_the_custom_permissions_exist(db):
    """The reveal action checks its permission in a method: a dotted permission name makes Unfold's
    system check look it up in the database, where it exists only after ensure_roles."""
    call_command("check", fail_level="ERROR")
