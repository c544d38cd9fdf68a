"""Excel export of orders (orders/export.py) from the CLI and the admin, re-read with openpyxl."""

import io
from datetime import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook
from typer.testing import CliRunner

from tests.factories import example_order, put_stock
from zhongshu.catalog.services import upsert_sku
from zhongshu.cli import app
from zhongshu.orders.export import HEADERS, ExportFilter, export_orders
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake

runner = CliRunner()
COL = {h: i for i, h in enumerate(HEADERS)}


@pytest.fixture
def orders(hub):
    """MP1 (mp, Chengdu, 2 lines, 27 Nov), MP2 (mp, Guangzhou, 28 Nov), TB1 (tb, pending payment, 29 Nov)."""
    upsert_sku("TANGYUAN-400G", "黑芝麻汤圆 400g", Decimal("8.00"), 400, False)
    for sku in ("DUMPLING-500G", "TANGYUAN-400G"):
        for wh in ("CD", "GZ"):
            put_stock(sku, wh, 100)
    first = example_order(channel_order_id="MP1", remark="电话13800138000 放门口")
    first["lines"].append(
        {"sku": "TANGYUAN-400G", "quantity": 1, "unit_price": "19.90", "paid_amount": "19.90"}
    )
    first.update(paid_amount="84.70")
    second = example_order(channel_order_id="MP2", created_at="2026-11-28T08:00:00+08:00")
    second["receiver"].update(province="广东省", city="广州市", district="天河区", phone="13912345678")
    third = example_order(shop="tb", channel_order_id="TB1", status="pending_payment", paid_at=None,
                          created_at="2026-11-29T23:30:00+08:00", updated_at="2026-11-29T23:30:00+08:00")  # fmt: skip
    intake([OrderIn.model_validate(o) for o in (first, second, third)], actor="test")


def read(data) -> list[tuple]:
    book = load_workbook(data, read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    book.close()
    return rows


def ids(rows: list[tuple]) -> list[str]:
    return [r[COL["平台订单号"]] for r in rows[1:]]


def test_one_row_per_line_with_masked_receiver_beijing_time_and_money_as_numbers(orders, tmp_path):
    path = tmp_path / "orders.xlsx"

    result = export_orders(path, ExportFilter())

    assert (result.orders, result.rows) == (3, 4)
    rows = read(path)
    assert list(rows[0]) == HEADERS
    assert ids(rows) == ["MP1", "MP1", "MP2", "TB1"]  # oldest order first, its lines in order
    row = dict(zip(HEADERS, rows[1], strict=True))
    assert row == {
        "店铺": "mp", "平台订单号": "MP1", "订单状态": "已分仓锁库", "平台状态": "paid", "发货仓": "CD",
        "下单时间": datetime(2026, 11, 27, 20, 15, 3), "付款时间": datetime(2026, 11, 27, 20, 16),
        "收货人": "王**", "联系电话": "138****8000", "省份": "四川省", "城市": "成都市", "区县": "武侯区",
        "收货地址": "天府大道北****", "商家编码": "DUMPLING-500G", "商品名称": "手工水饺 500g", "数量": 2,
        "单价": 39.9, "促销价": 34.9, "行实付": 69.8, "商品金额": 89.7, "运费": 0, "优惠": 5, "订单实付": 84.7,
        "备注": "电话138****8000 放门口",
    }  # fmt: skip
    second_line = dict(zip(HEADERS, rows[2], strict=True))
    assert (second_line["商家编码"], second_line["数量"], second_line["促销价"]) == ("TANGYUAN-400G", 1, None)
    assert "13800138000" not in str(rows) and "王小明" not in str(rows)


def test_money_cells_are_formatted_with_two_places_and_times_as_dates(orders, tmp_path):
    path = tmp_path / "orders.xlsx"
    export_orders(path, ExportFilter(shop="tb"))

    sheet = load_workbook(path).active
    assert sheet["Q2"].value == 39.9 and sheet["Q2"].number_format == "0.00"  # 单价
    assert sheet["W2"].number_format == "0.00"  # 订单实付
    assert sheet["F2"].number_format == "yyyy-mm-dd hh:mm:ss" and sheet["F2"].is_date
    assert sheet["G2"].value is None  # not paid yet
    assert sheet.freeze_panes == "A2"


@pytest.mark.parametrize(
    "chosen, expected",
    [
        (ExportFilter(status="pending_payment"), ["TB1"]),
        (ExportFilter(shop="mp"), ["MP1", "MP1", "MP2"]),
        (ExportFilter(warehouse="GZ"), ["MP2"]),
        (ExportFilter(since=datetime(2026, 11, 28).date()), ["MP2", "TB1"]),
        (ExportFilter(until=datetime(2026, 11, 28).date()), ["MP1", "MP1", "MP2"]),  # the whole Beijing day
        (ExportFilter(shop="mp", since=datetime(2026, 11, 29).date()), []),
    ],
    ids=["status", "shop", "warehouse", "since", "until", "none"],
)
def test_filters(orders, tmp_path, chosen, expected):
    path = tmp_path / "orders.xlsx"
    export_orders(path, chosen)
    rows = read(path)
    assert list(rows[0]) == HEADERS and ids(rows) == expected


def test_cli_export_orders_writes_the_filtered_workbook(orders, tmp_path):
    path = tmp_path / "mp.xlsx"

    result = runner.invoke(app, ["export", "orders", "--out", str(path), "--shop", "mp", "--since", "2026-11-27",
                                 "--until", "2026-11-27"])  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "2 rows" in result.stdout and "1 orders" in result.stdout
    assert ids(read(path)) == ["MP1", "MP1"]


def test_cli_export_rejects_an_unknown_status_or_a_non_xlsx_name(orders, tmp_path):
    bad_status = runner.invoke(
        app, ["export", "orders", "--out", str(tmp_path / "a.xlsx"), "--status", "nope"]
    )
    bad_name = runner.invoke(app, ["export", "orders", "--out", str(tmp_path / "a.csv")])

    assert bad_status.exit_code == 1 and "unknown status 'nope'" in bad_status.stderr
    assert bad_name.exit_code == 1 and "*.xlsx" in bad_name.stderr
    assert not list(tmp_path.iterdir())


# --- admin -------------------------------------------------------------------------------------


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


def test_admin_action_exports_the_selected_orders(staff, orders):
    url = reverse("admin:orders_order_changelist")
    picked = Order.objects.get(channel_order_id="MP2")

    response = staff.post(url, {"action": "export_selected", "_selected_action": [picked.pk]})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"] and ".xlsx" in response["Content-Disposition"]
    rows = read(io.BytesIO(b"".join(response.streaming_content)))
    assert ids(rows) == ["MP2"] and rows[1][COL["联系电话"]] == "139****5678"


def test_admin_button_exports_what_the_filtered_list_shows(staff, orders):
    url = reverse("admin:orders_order_changelist")
    listing = staff.get(url, {"shop__id__exact": Order.objects.get(channel_order_id="TB1").shop_id})
    button = reverse("admin:orders_order_export_filtered")
    assert f'href="{button}?shop__id__exact=' in listing.content.decode()
    assert "导出 Excel" in listing.content.decode()

    filtered = staff.get(button, {"status__exact": "allocated"})
    everything = staff.get(button)

    assert ids(read(io.BytesIO(b"".join(filtered.streaming_content)))) == ["MP1", "MP1", "MP2"]
    assert ids(read(io.BytesIO(b"".join(everything.streaming_content)))) == ["MP1", "MP1", "MP2", "TB1"]


def test_admin_export_needs_a_login(client, orders):
    response = client.get(reverse("admin:orders_order_export_filtered"))
    assert response.status_code == 302 and "/login/" in response["Location"]
