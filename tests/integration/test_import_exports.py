"""Seller-centre export import (channels/files) with the sample files of tests/fixtures/exports,
against the real database and intake; the CLI in-process with typer's CliRunner."""

import csv
import io
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.factories import put_stock
from zhongshu.catalog.services import upsert_sku
from zhongshu.channels.files import UnknownFormat, UnreadableFile, WrongPlatform, import_export_file
from zhongshu.channels.models import Shop
from zhongshu.channels.own.jsonl import LineError, UnknownShop
from zhongshu.cli import app
from zhongshu.core.models import OutboxEvent
from zhongshu.core.timeutil import SHANGHAI
from zhongshu.inventory.models import StockLevel
from zhongshu.orders.models import Order, OrderLine, OrderTransition

EXPORTS = Path(__file__).resolve().parents[1] / "fixtures" / "exports"
SKUS = ["DUMPLING-500G", "TANGYUAN-400G", "WONTON-300G", "BUN-600G"]
TB = "2736481200000000000"
DY = 6928123456789000000
runner = CliRunner()


def tb_id(n: int) -> str:
    return str(int(TB) + n * 7919)


def pdd_id(n: int) -> str:
    return f"261127-{503948120000 + n * 17}"


def dy_id(n: int) -> str:
    return str(DY + n * 131)


@pytest.fixture
def shops(hub):
    """Shops tb (taobao), pdd and dy (douyin), the samples' four SKUs with stock in GZ and CD."""
    Shop.objects.create(code="pdd", name="拼多多店", platform="pdd")
    Shop.objects.create(code="dy", name="抖音小店", platform="douyin")
    for code in SKUS[1:]:
        upsert_sku(code, code, Decimal("5.00"), 400, False)
    for code in SKUS:
        for wh in ("GZ", "CD"):
            put_stock(code, wh, 1000)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def lines_of(order: Order) -> list[tuple]:
    return [
        (ln.sku.code, ln.quantity, ln.unit_price, ln.paid_amount)
        for ln in order.lines.select_related("sku").order_by("id")
    ]


def snapshot(shop: str) -> dict:
    """Everything an import decides about a shop's orders, keyed by order number."""
    orders = Order.objects.filter(shop__code=shop).prefetch_related("lines__sku")
    fields = ("status", "channel_status", "placed_at", "paid_at", "channel_updated_at", "receiver_name",
              "receiver_phone", "receiver_province", "receiver_city", "receiver_district", "receiver_address",
              "lines_amount", "freight", "discount", "paid_amount", "buyer_nick", "remark")  # fmt: skip
    return {o.channel_order_id: ([getattr(o, f) for f in fields], lines_of(o)) for o in orders}


def counts() -> tuple:
    return (
        Order.objects.count(),
        OrderLine.objects.count(),
        OrderTransition.objects.count(),
        OutboxEvent.objects.count(),
    )


# --- Taobao ------------------------------------------------------------------------------------


def test_taobao_gbk_export_imports_field_by_field_and_reports_its_three_bad_rows(shops):
    seen = []
    report = import_export_file(
        EXPORTS / "taobao_orders_gbk.csv", "tb", batch_size=10, progress=lambda d, t: seen.append((d, t))
    )

    assert (report.total, report.created, report.updated, report.unchanged) == (28, 21, 0, 0)
    assert [(e.line, e.field) for e in report.errors] == [
        (7, "商家编码"),
        (15, "买家应付货款"),
        (23, "收货人姓名"),
    ]
    assert report.errors[0].message == "unknown SKU 'NO-SUCH-SKU'"
    assert report.errors[1].message == "'39.9O' is not an amount in yuan"
    assert report.errors[2].message == "required, but empty"
    assert not Order.objects.filter(channel_order_id__in=[tb_id(5), tb_id(11), tb_id(18)]).exists()
    assert seen[0] == (0, 28) and seen[-1] == (28, 28) and len(seen) == 4  # start, 2 full batches, end

    one = Order.objects.get(shop__code="tb", channel_order_id=tb_id(1))  # ="…" unwrapped
    assert (one.status, one.channel_status, one.warehouse.code) == ("allocated", "paid", "GZ")
    assert (one.placed_at, one.paid_at) == (at("2026-11-27 09:37:01"), at("2026-11-27 09:38:08"))
    assert one.channel_updated_at == at("2026-11-27 09:38:08.000001")  # paid time + the paid stage
    assert (one.receiver_name, one.receiver_phone) == ("李小红", "13800130001")  # the ' prefix is gone
    assert (one.receiver_province, one.receiver_city, one.receiver_district) == ("广东省", "广州市", "天河区")
    assert one.receiver_address == "体育西路101号"  # postcode (610041) dropped
    assert (one.buyer_nick, one.remark) == ("tb_buyer001", "请尽快发货")
    assert lines_of(one) == [
        ("TANGYUAN-400G", 2, Decimal("19.90"), Decimal("39.80"))
    ]  # 宝贝总数量, 买家应付货款
    assert (one.lines_amount, one.freight, one.discount, one.paid_amount) == (
        Decimal("39.80"), Decimal("0.00"), Decimal("0.00"), Decimal("39.80"),
    )  # fmt: skip


def test_taobao_multi_item_order_and_statuses(shops):
    import_export_file(EXPORTS / "taobao_orders_utf8bom.csv", "tb")

    multi = Order.objects.get(channel_order_id=tb_id(8))
    assert lines_of(multi) == [
        ("DUMPLING-500G", 3, Decimal("39.90"), Decimal("119.70")),
        ("WONTON-300G", 1, Decimal("25.80"), Decimal("25.80")),
        ("BUN-600G", 2, Decimal("32.50"), Decimal("65.00")),
    ]
    assert (multi.lines_amount, multi.discount, multi.paid_amount) == (
        Decimal("210.50"), Decimal("5.00"), Decimal("205.50"),
    )  # fmt: skip
    assert multi.receiver_province == "湖北省" and multi.warehouse.code == "CD"  # 华中 → Chengdu
    status = {n: Order.objects.get(channel_order_id=tb_id(n)).status for n in (2, 9, 12, 20)}
    assert status == {2: "pending_payment", 9: "on_hold", 12: "allocated", 20: "cancelled"}
    assert (
        Order.objects.get(channel_order_id=tb_id(20)).channel_status == "refunded"
    )  # 交易关闭 after payment
    assert Order.objects.get(channel_order_id=tb_id(9)).channel_status == "refund_requested"  # 退款中
    assert Order.objects.get(channel_order_id=tb_id(2)).paid_at is None


def test_the_same_export_as_gbk_utf8_bom_and_xlsx_reads_identically(shops):
    Shop.objects.create(code="tb2", name="淘宝二店", platform="taobao")
    Shop.objects.create(code="tb3", name="淘宝三店", platform="taobao")

    reports = [
        import_export_file(EXPORTS / name, shop)
        for name, shop in [("taobao_orders_gbk.csv", "tb"), ("taobao_orders_utf8bom.csv", "tb2"),
                           ("taobao_orders.xlsx", "tb3")]
    ]  # fmt: skip

    assert [(r.created, r.error_lines) for r in reports] == [(21, [7, 15, 23])] * 3
    assert len(snapshot("tb")) == 21
    assert snapshot("tb") == snapshot("tb2") == snapshot("tb3")


def test_a_taobao_order_of_several_kinds_in_one_row_is_reported_not_guessed(shops, tmp_path):
    path = rewrite(EXPORTS / "taobao_orders_utf8bom.csv", tmp_path / "kinds.csv", tb_id(1), {"宝贝种类 ": "2"},
                   id_column="订单编号")  # fmt: skip

    report = import_export_file(path, "tb")

    assert report.errors[0] == LineError(2, "宝贝种类", "an order of several kinds of goods in one row: "
                                                    "export with item details")  # fmt: skip
    assert report.created == 20 and not Order.objects.filter(channel_order_id=tb_id(1)).exists()


# --- Pinduoduo ---------------------------------------------------------------------------------


def test_pdd_export_recovers_masked_provinces_and_reports_bad_rows(shops):
    report = import_export_file(EXPORTS / "pdd_orders_gbk.csv", "pdd")

    assert (report.total, report.created) == (24, 21)
    assert [(e.line, e.field) for e in report.errors] == [
        (6, "商家编码-规格维度"), (12, "商品总价(元)"), (19, "收货人"),
    ]  # fmt: skip
    assert report.errors[1].message == "'￥abc' is not an amount in yuan"
    province = {n: Order.objects.get(channel_order_id=pdd_id(n)).receiver_province for n in (1, 2, 3, 4, 6)}
    # file: 1 广** (partial), 2 湖北省, 3 ** (上海), 4 浙** (partial), 6 ** (成都市武侯区)
    assert province == {1: "广东省", 2: "湖北省", 3: "上海市", 4: "浙江省", 6: "四川省"}
    six = Order.objects.get(channel_order_id=pdd_id(6))
    assert six.warehouse.code == "CD"  # routed by the recovered province
    assert (six.receiver_name, six.receiver_phone) == ("赵**", "138****0006")  # masked as exported
    one = Order.objects.get(channel_order_id=pdd_id(1))
    assert lines_of(one) == [("TANGYUAN-400G", 2, Decimal("19.90"), Decimal("39.80"))]
    assert one.lines.get().title == "黑芝麻汤圆 400g 500g*1袋"  # 商品 + 商品规格
    four = Order.objects.get(channel_order_id=pdd_id(4))
    assert lines_of(four) == [("DUMPLING-500G", 2, Decimal("39.90"), Decimal("79.80"))]
    assert (four.discount, four.paid_amount) == (Decimal("5.00"), Decimal("74.80"))  # 店铺优惠折扣
    statuses = {n: Order.objects.get(channel_order_id=pdd_id(n)).channel_status for n in (2, 9, 12, 20)}
    assert statuses == {2: "pending_payment", 9: "refund_requested", 12: "paid", 20: "cancelled"}


def test_gbk_and_utf8_bom_pdd_exports_read_identically(shops):
    Shop.objects.create(code="pdd2", name="拼多多二店", platform="pdd")
    import_export_file(EXPORTS / "pdd_orders_gbk.csv", "pdd")
    import_export_file(EXPORTS / "pdd_orders_utf8bom.csv", "pdd2")
    assert len(snapshot("pdd")) == 21 and snapshot("pdd") == snapshot("pdd2")


def test_a_later_export_with_a_cancel_updates_the_order_and_releases_stock(shops, tmp_path):
    import_export_file(EXPORTS / "pdd_orders_utf8bom.csv", "pdd")
    held = StockLevel.objects.get(sku__code="TANGYUAN-400G", warehouse__code="GZ").reserved
    later = rewrite(
        EXPORTS / "pdd_orders_utf8bom.csv", tmp_path / "later.csv", pdd_id(1), {"订单状态": "已取消"}
    )

    report = import_export_file(later, "pdd")

    assert (report.created, report.updated, report.unchanged) == (0, 1, 20)
    order = Order.objects.get(channel_order_id=pdd_id(1))
    assert (order.status, order.channel_status) == ("cancelled", "cancelled")
    assert order.transitions.last().to_status == "cancelled"
    assert StockLevel.objects.get(sku__code="TANGYUAN-400G", warehouse__code="GZ").reserved == held - 2


# --- Douyin ------------------------------------------------------------------------------------


def test_douyin_export_strips_tabs_keeps_ciphertext_and_groups_sub_orders(shops):
    report = import_export_file(EXPORTS / "douyin_orders_utf8bom.csv", "dy")

    assert (report.total, report.created) == (28, 21)
    assert [(e.line, e.field) for e in report.errors] == [(7, "商家编码"), (15, "商品单价"), (23, "收件人")]
    assert report.errors[1].message == "'12.3.4' is not an amount in yuan"
    multi = Order.objects.get(channel_order_id=dy_id(8))  # tab prefix stripped
    assert lines_of(multi) == [
        ("DUMPLING-500G", 3, Decimal("39.90"), Decimal("119.70")),
        ("WONTON-300G", 1, Decimal("25.80"), Decimal("25.80")),
        ("BUN-600G", 2, Decimal("32.50"), Decimal("65.00")),
    ]
    assert (multi.freight, multi.discount, multi.paid_amount) == (
        Decimal("0.00"),
        Decimal("5.00"),
        Decimal("205.50"),
    )
    assert multi.receiver_name == "##N08kQ9xW2mB7##"
    assert multi.receiver_phone == "##P08Lq8Vn2Pw5Zt3##"
    assert multi.receiver_address == "##A08Hq2Zr8Ty6Uc1Vb4##"
    assert (multi.receiver_province, multi.receiver_city, multi.receiver_district) == (
        "湖北省",
        "武汉市",
        "洪山区",
    )
    ten = Order.objects.get(channel_order_id=dy_id(10))
    assert (ten.freight, ten.paid_amount) == (Decimal("8.00"), Decimal("59.60"))  # 运费 counted once
    statuses = {n: Order.objects.get(channel_order_id=dy_id(n)).channel_status for n in (2, 9, 12, 20)}
    assert statuses == {2: "pending_payment", 9: "refund_requested", 12: "paid", 20: "refunded"}
    assert set(Order.objects.values_list("placed_at__year", flat=True)) == {2026}


def test_gbk_and_utf8_bom_douyin_exports_read_identically(shops):
    Shop.objects.create(code="dy2", name="抖音二店", platform="douyin")
    import_export_file(EXPORTS / "douyin_orders_gbk.csv", "dy")
    import_export_file(EXPORTS / "douyin_orders_utf8bom.csv", "dy2")
    assert len(snapshot("dy")) == 21 and snapshot("dy") == snapshot("dy2")


# --- every platform ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, shop",
    [("taobao_orders_gbk.csv", "tb"), ("taobao_orders.xlsx", "tb"), ("pdd_orders_gbk.csv", "pdd"),
     ("douyin_orders_utf8bom.csv", "dy")],
)  # fmt: skip
def test_reimporting_the_same_file_changes_nothing(shops, name, shop):
    import_export_file(EXPORTS / name, shop)
    before = counts(), snapshot(shop)

    again = import_export_file(EXPORTS / name, shop, batch_size=7)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 21)
    assert len(again.error_lines) == 3
    assert (counts(), snapshot(shop)) == before


def test_a_file_of_another_platform_an_unknown_header_or_garbage_writes_nothing(shops, tmp_path):
    unknown = tmp_path / "other.csv"
    unknown.write_text("编号,名称\n1,x\n", encoding="utf-8")
    garbage = tmp_path / "broken.xlsx"
    garbage.write_bytes(b"PK\x03\x04 not really a zip")

    with pytest.raises(WrongPlatform, match="拼多多 export, but shop 'tb' is on 淘宝/天猫"):
        import_export_file(EXPORTS / "pdd_orders_gbk.csv", "tb")
    with pytest.raises(UnknownFormat):
        import_export_file(unknown, "tb")
    with pytest.raises(UnreadableFile):
        import_export_file(garbage, "tb")
    with pytest.raises(UnknownShop):
        import_export_file(EXPORTS / "pdd_orders_gbk.csv", "nope")
    with pytest.raises(OSError):
        import_export_file(tmp_path / "missing.csv", "tb")
    assert counts() == (0, 0, 0, 0)


# --- CLI ---------------------------------------------------------------------------------------


def test_cli_import_of_a_clean_export_exits_0(shops, tmp_path):
    clean = drop_rows(
        EXPORTS / "douyin_orders_utf8bom.csv", tmp_path / "clean.csv", {dy_id(n) for n in (5, 11, 18)}
    )

    result = runner.invoke(app, ["import", str(clean), "--shop", "dy"])

    assert result.exit_code == 0, result.output
    assert "抖店" in result.stdout and "created" in result.stdout and "│ 21 " in result.stdout
    assert Order.objects.filter(shop__code="dy").count() == 21


def test_cli_import_with_bad_rows_exits_2_and_names_row_and_column(shops):
    result = runner.invoke(app, ["import", str(EXPORTS / "taobao_orders.xlsx"), "--shop", "tb"])

    assert result.exit_code == 2, result.output
    errors = [ln for ln in result.stdout.splitlines() if ln.startswith("row ")]
    assert errors == [
        "row 7: 商家编码: unknown SKU 'NO-SUCH-SKU'",
        "row 15: 买家应付货款: '39.9O' is not an amount in yuan",
        "row 23: 收货人姓名: required, but empty",
    ]
    assert "13800130001" not in result.output  # no personal data on the console
    assert Order.objects.count() == 21


def test_cli_import_of_an_unreadable_file_exits_1(shops, tmp_path):
    garbage = tmp_path / "orders.csv"
    garbage.write_bytes(bytes(range(256)) * 4)

    unreadable = runner.invoke(app, ["import", str(garbage), "--shop", "tb"])
    wrong = runner.invoke(app, ["import", str(EXPORTS / "douyin_orders_gbk.csv"), "--shop", "tb"])

    assert unreadable.exit_code == 1 and "cannot read" in unreadable.stderr
    assert wrong.exit_code == 1 and "抖音 export" in wrong.stderr
    assert not Order.objects.exists()


# --- helpers -----------------------------------------------------------------------------------


def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    path.write_bytes(buffer.getvalue().encode("utf-8-sig"))
    return path


def rewrite(source: Path, target: Path, order_id: str, changes: dict[str, str], id_column="订单号") -> Path:
    header, *rows = read_csv(source)
    for row in rows:
        if row[header.index(id_column)].strip('="\t ') == order_id:
            for column, value in changes.items():
                row[header.index(column)] = value
    return write_csv(target, [header, *rows])


def drop_rows(source: Path, target: Path, order_ids: set[str]) -> Path:
    header, *rows = read_csv(source)
    return write_csv(target, [header, *[r for r in rows if r[0].strip() not in order_ids]])
