"""Input that used to crash or slip through the intake contract: control characters, negative money,
blank required text — over the API, the JSON Lines and export-file imports, and the Excel exports of
text already stored (on SQLite and PostgreSQL)."""

import io
import json
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from openpyxl import load_workbook
from typer.testing import CliRunner

from tests.factories import example_order, put_stock
from tests.integration.test_import_exports import EXPORTS, rewrite, shops, tb_id  # noqa: F401 (fixture)
from zhongshu.channels.files import import_export_file
from zhongshu.channels.own.jsonl import import_jsonl
from zhongshu.cli import app
from zhongshu.core.auth import create_token
from zhongshu.inventory.models import StockLevel
from zhongshu.orders.export import HEADERS, ExportFilter, export_orders
from zhongshu.orders.models import Order, OrderLine
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake

COL = {h: i for i, h in enumerate(HEADERS)}


@pytest.fixture
def post(hub, client):
    get_user_model().objects.create_superuser("ops", password="x")
    token = create_token("ops")
    put_stock("DUMPLING-500G", "CD", 10)

    def send(order: dict):
        return client.post(
            "/api/v1/orders", order, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )

    return send


def changed(path: str, value) -> dict:
    """The example order with one field (dotted path, lines[0].x) set."""
    order = example_order()
    *parents, name = path.replace("lines[0]", "lines.0").split(".")
    target = order
    for part in parents:
        target = target[int(part)] if part.isdigit() else target.setdefault(part, {})
    target[name] = value
    return order


def rejected(response, field: str) -> str:
    assert response.status_code == 422, response.content
    messages = {d["field"]: d["msg"] for d in response.json()["detail"]}
    assert field in messages, messages
    assert Order.objects.count() == 0 and not StockLevel.objects.filter(reserved__gt=0).exists()
    return messages[field]


# --- control characters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value",
    [
        ("receiver.name", "王\x00小明"),
        ("receiver.address", "天府大道\x00北段1700号"),
        ("remark", "放门口\x00"),
        ("channel_order_id", "MP\x002026"),
        ("receiver.phone", "138001\x0738000"),
        ("receiver.province", "四川\x1b省"),
        ("buyer.nick", "小\x7f王"),
        ("buyer.id", "u\x85889"),
        ("lines[0].title", "手工水饺\x0c500g"),
        ("lines[0].sku", "DUMPLING\x00-500G"),
        ("shop", "m\x00p"),
        ("receiver.name", "王\n小明"),  # a line break is not part of a name
    ],
)
def test_control_characters_get_422_naming_the_field(post, field, value):
    message = rejected(post(changed(field, value)), field)
    assert "control characters" in message


def test_a_lone_surrogate_gets_422_naming_the_field(post):
    rejected(
        post(changed("receiver.name", "王\ud800小明")), "receiver.name"
    )  # JSON can carry it, no database


@pytest.mark.parametrize(
    "field, value",
    [("remark", "放门口\t谢谢\r\n电话联系"), ("receiver.address", "天府大道北段1700号\n3栋"),
     ("lines[0].title", "手工水饺\t500g")],
)  # fmt: skip
def test_tab_and_line_breaks_stay_allowed_in_free_text(post, field, value):
    assert post(changed(field, value)).status_code == 201


# --- negative money, blank required text ----------------------------------------------------------


@pytest.mark.parametrize(
    "field", ["lines[0].unit_price", "lines[0].promo_price", "lines[0].paid_amount", "paid_amount",
              "freight", "discount"],
)  # fmt: skip
def test_negative_money_gets_422_naming_the_field(post, field):
    assert "negative" in rejected(post(changed(field, "-1.00")), field)


def test_a_zero_priced_gift_line_and_minus_zero_are_allowed(post):
    order = example_order()
    order["lines"].append({"sku": "DUMPLING-500G", "title": "赠品", "quantity": 1, "unit_price": "0.00",
                           "paid_amount": "-0.00"})  # fmt: skip
    r = post(order)
    assert r.status_code == 201, r.content
    assert sorted(OrderLine.objects.values_list("paid_amount", flat=True)) == [
        Decimal("0.00"),
        Decimal("69.80"),
    ]
    assert str(OrderLine.objects.get(title="赠品").paid_amount) == "0.00"


@pytest.mark.parametrize(
    "field, value",
    [("receiver.phone", "     "), ("receiver.name", " "), ("receiver.address", "\u3000\u3000"),
     ("channel_order_id", "  "), ("shop", " "), ("lines[0].sku", "\t")],
)  # fmt: skip
def test_blank_required_text_gets_422(post, field, value):
    rejected(post(changed(field, value)), field)


# --- imports: the bad line reported, every good line kept ----------------------------------------


def test_jsonl_import_reports_control_characters_by_line_and_keeps_the_good_lines(hub, tmp_path):
    put_stock("DUMPLING-500G", "CD", 100)
    rows = [example_order(channel_order_id=f"J{n}") for n in range(1, 7)]
    rows[1]["receiver"]["name"] = "王\x00小明"  # line 2
    rows[3]["remark"] = "\x00"  # line 4
    rows[4]["lines"][0]["unit_price"] = "-39.90"  # line 5
    path = tmp_path / "orders.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))

    report = import_jsonl(path, "mp", batch_size=3)

    assert [(e.line, e.field) for e in report.errors] == [
        (2, "receiver.name"), (4, "remark"), (5, "lines[0].unit_price")]  # fmt: skip
    assert report.created == 3
    assert sorted(Order.objects.values_list("channel_order_id", flat=True)) == ["J1", "J3", "J6"]


def test_cli_import_of_a_nul_line_reports_it_without_a_traceback(hub, tmp_path):
    put_stock("DUMPLING-500G", "CD", 100)
    path = tmp_path / "orders.jsonl"
    good, bad = example_order(channel_order_id="C1"), example_order(channel_order_id="C\x002")
    path.write_text(json.dumps(bad) + "\n" + json.dumps(good) + "\n")

    result = CliRunner().invoke(app, ["import", str(path), "--shop", "mp"])

    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "line 1" in result.output and "channel_order_id" in result.output
    assert list(Order.objects.values_list("channel_order_id", flat=True)) == ["C1"]


@pytest.mark.usefixtures("shops")
def test_export_file_import_reports_a_control_character_cell_and_keeps_the_other_orders(tmp_path):
    # (a NUL makes the whole file binary data: refused before any write, see channels/files/read.py)
    clean = import_export_file(EXPORTS / "taobao_orders_utf8bom.csv", "tb")
    Order.objects.all().delete()
    path = rewrite(
        EXPORTS / "taobao_orders_utf8bom.csv",
        tmp_path / "nul.csv",
        tb_id(1),
        {"收货人姓名": "张\x1b三"},
        id_column="订单编号",
    )

    report = import_export_file(path, "tb")

    assert [e.field for e in report.errors if e not in clean.errors] == ["收货人姓名"]
    assert report.imported == clean.imported - 1
    assert not Order.objects.filter(channel_order_id=tb_id(1)).exists()


# --- exports never crash on stored text ----------------------------------------------------------


@pytest.fixture
def stored_controls(hub, on_postgres):
    """An order whose stored texts hold control characters (stored before the contract refused them,
    or by hand); PostgreSQL cannot store NUL at all, so it gets the others."""
    put_stock("DUMPLING-500G", "CD", 10)
    intake([OrderIn.model_validate(example_order())], actor="test")
    bad = "\x01\x0b\x1f" if on_postgres else "\x00\x01\x0b\x1f"
    Order.objects.update(receiver_name=f"王{bad}小明", remark=f"放门口{bad}", receiver_address=f"天府{bad}大道",
                         channel_order_id=f"MP{bad}1")  # fmt: skip
    OrderLine.objects.update(title=f"水饺{bad}")
    return bad


def check_row(row: tuple) -> None:
    assert row[COL["平台订单号"]].startswith("MP\ufffd") and row[COL["平台订单号"]].endswith("\ufffd1")
    assert row[COL["商品名称"]].startswith("水饺\ufffd") and row[COL["备注"]].startswith("放门口\ufffd")


def test_export_writes_stored_control_characters_as_replacement_characters(stored_controls, tmp_path):
    path = tmp_path / "orders.xlsx"
    assert export_orders(path, ExportFilter()).rows == 1
    [_, row] = list(load_workbook(path, read_only=True).active.iter_rows(values_only=True))
    check_row(row)


def test_cli_export_does_not_crash_on_stored_control_characters(stored_controls, tmp_path):
    path = tmp_path / "orders.xlsx"
    result = CliRunner().invoke(app, ["export", "orders", "--out", str(path)])
    assert result.exit_code == 0, result.output
    check_row(list(load_workbook(path, read_only=True).active.iter_rows(values_only=True))[1])


def test_admin_excel_export_does_not_crash_on_stored_control_characters(stored_controls, client, admin_user):
    client.force_login(admin_user)
    response = client.get(reverse("admin:orders_order_export_filtered"))
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    check_row(list(book.active.iter_rows(values_only=True))[1])


# --- the same characters elsewhere in the API (PostgreSQL refused them with a 500) ---------------


@pytest.mark.parametrize(
    "path, field",
    [("/admin/orders/order/%00/change/", "path"), ("/admin/orders/order/?q=13800%00138000", "q"),
     ("/admin/inventory/warehouse/?active__exact=1%00", "active__exact")],
)  # fmt: skip
def test_a_nul_in_a_console_url_gets_400_naming_where(hub, client, admin_user, path, field):
    """The API's typed parameters answer 422 (test_api.py); the console's pages would hand the NUL to
    the database, which PostgreSQL refuses with an error (a 500)."""
    client.force_login(admin_user)
    r = client.get(path)
    assert r.status_code == 400, r.content
    assert r.json()["detail"][0]["field"] == field and "NUL" in r.json()["detail"][0]["msg"]


@pytest.mark.parametrize("field, value", [("sku", "ZONGZI\x00-2"), ("title", "粽\x00子"), ("title", "  ")])
def test_a_sku_with_control_characters_or_a_blank_title_gets_422(hub, client, field, value):
    get_user_model().objects.create_superuser("ops", password="x")
    body = {"sku": "ZONGZI-2", "title": "粽子", "cost_price": "12.50", field: value}
    r = client.post("/api/v1/skus", body, content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {create_token('ops')}")  # fmt: skip
    assert r.status_code == 422, r.content
    assert [d["field"] for d in r.json()["detail"]] == [field]
