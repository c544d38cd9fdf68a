"""The stock pages: per SKU the totals (list) and each warehouse (its page), the low-stock filter, the
available formula in SQL equal to StockInfo's, transfer alerts with a source warehouse, and the batch
stocktake from Excel (preview with an error per row, then the good rows counted)."""

import re
from decimal import Decimal
from io import BytesIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from openpyxl import Workbook, load_workbook

from tests.factories import put_stock
from zhongshu.catalog.models import Sku
from zhongshu.core.models import OutboxEvent
from zhongshu.core.roles import OPERATIONS, WAREHOUSE, ensure_roles
from zhongshu.inventory.models import StockLevel, TransferAlert, Warehouse
from zhongshu.inventory.selectors import available_expr
from zhongshu.inventory.services import info

SKUS = "/admin/catalog/sku/"
STOCK = "/admin/inventory/stocklevel/"
IMPORT = STOCK + "import-sheet/"


@pytest.fixture
def stock(hub):
    Sku.objects.create(code="TANGYUAN-400G", title="黑芝麻汤圆", cost_price=Decimal("6.80"))
    Sku.objects.create(code="STEAK-200G", title="西冷牛排", cost_price=Decimal("28.00"))
    put_stock("DUMPLING-500G", "GZ", 100, in_transit=100, coefficient="0.290")  # 0.29 × 100: 29 exactly
    put_stock("DUMPLING-500G", "CD", 5, in_transit=3)
    StockLevel.objects.filter(sku__code="DUMPLING-500G", warehouse__code="GZ").update(
        reserved=20, location="A-01-02"
    )
    put_stock("STEAK-200G", "GZ", 8)
    put_stock("TANGYUAN-400G", "GZ", 0)
    StockLevel.objects.filter(sku__code="STEAK-200G").update(safety_stock=5)  # above its line: not low


@pytest.fixture
def boss(client, db):
    client.force_login(get_user_model().objects.create_superuser("boss", password="x"))
    return client


def _codes(html: str) -> set[str]:
    return set(re.findall(r"(DUMPLING-500G|TANGYUAN-400G|STEAK-200G)", html))


def test_available_in_sql_equals_the_domain_formula(stock):
    rows = StockLevel.objects.select_related("sku", "warehouse").annotate(free=available_expr())
    assert {(r.sku.code, r.warehouse.code): r.free for r in rows} == {
        (r.sku.code, r.warehouse.code): info(r).available for r in rows
    }
    gz = rows.get(sku__code="DUMPLING-500G", warehouse__code="GZ")
    assert gz.free == 100 - 20 + 29


def test_sku_list_shows_totals_and_filters_low_stock(stock, boss):
    html = boss.get(SKUS).content.decode()
    row = next(r for r in re.findall(r"<tr.*?</tr>", html, re.S) if "DUMPLING-500G" in r)
    text = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)]
    # physical 105, reserved 20, in transit 103, available GZ 109 + CD 7 (5 + floor(2.4)) = 116, no line
    start = text.index("手工水饺 500g") + 1
    assert text[start : start + 5] == ["105", "20", "103", "116", "-"]
    assert _codes(boss.get(SKUS + "?stock=out").content.decode()) == {"TANGYUAN-400G"}
    # STEAK has 8 available over a safety line of 5: not low; TANGYUAN (0) is low as well as out
    assert _codes(boss.get(SKUS + "?stock=low").content.decode()) == {"TANGYUAN-400G"}
    StockLevel.objects.filter(sku__code="STEAK-200G").update(safety_stock=8)
    assert _codes(boss.get(SKUS + "?stock=low").content.decode()) == {"TANGYUAN-400G", "STEAK-200G"}


def test_stock_list_filters_rows_below_their_line(stock, boss):
    html = boss.get(STOCK + "?stock=low").content.decode()
    # TANGYUAN's 0 and DUMPLING's 7 at CD are at or below the default line of 10; STEAK's 8 is above its 5
    assert _codes(html) == {"TANGYUAN-400G", "DUMPLING-500G"}
    assert "安全库存" in html


def test_sku_page_shows_its_stock_per_warehouse(stock, boss):
    sku = Sku.objects.get(code="DUMPLING-500G")
    html = boss.get(f"{SKUS}{sku.pk}/change/").content.decode()
    assert "各仓库存" in html and "A-01-02" in html
    assert "实物 105 · 已预留 20 · 在途 103 · 可用 116 · 安全库存 -" in html
    gz = StockLevel.objects.get(sku=sku, warehouse__code="GZ")
    assert f"{STOCK}{gz.pk}/change/" in html  # the count link of the row


def test_transfer_alert_names_a_source_with_stock(stock, boss):
    sku = Sku.objects.get(code="DUMPLING-500G")
    cd, gz = Warehouse.objects.get(code="CD"), Warehouse.objects.get(code="GZ")
    TransferAlert.objects.create(sku=sku, to_warehouse=cd, from_warehouse=gz, quantity=30, orders=3)
    TransferAlert.objects.create(
        sku=Sku.objects.get(code="TANGYUAN-400G"), to_warehouse=cd, quantity=4, orders=1
    )
    html = boss.get("/admin/inventory/transferalert/").content.decode()
    assert f"{gz.name}（可用 109）" in html and f"{gz.name}（109）" in html
    assert "其他仓均无可用库存" in html


def _sheet(rows: list[list]) -> BytesIO:
    wb = Workbook()
    ws = wb.active
    ws.append(["商家编码", "仓库代码", "实物库存", "在途", "在途系数", "货位"])
    for r in rows:
        ws.append(r)
    out = BytesIO()
    wb.save(out)
    out.seek(0)
    out.name = "count.xlsx"
    return out


def test_excel_stocktake_previews_errors_per_row_then_counts_the_good_rows(stock, boss):
    sheet = _sheet([
        ["DUMPLING-500G", "GZ", 150, None, None, "B-02-01"],  # 2: counted, in transit kept
        ["NO-SUCH-SKU", "GZ", 1, None, None, None],  # 3: unknown SKU
        ["STEAK-200G", "GZ", "abc", None, None, None],  # 4: not a number
        ["DUMPLING-500G", "GZ", 3, None, None, None],  # 5: duplicate of row 2
        ["STEAK-200G", "CD", 12, 4, 0.5, None],  # 6: a new stock row
        ["TANGYUAN-400G", "GZ", 0, 0, 0.8, None],  # 7: as it is
        ["STEAK-200G", "XX", 1, None, 2, None],  # 8: unknown warehouse, bad coefficient
    ])  # fmt: skip
    page = boss.post(IMPORT, {"file": sheet})
    assert page.status_code == 200
    html = page.content.decode()
    assert "共 7 行：将盘点 2 行，4 行有错误（不会导入），1 行与当前库存相同。" in html
    errors = {
        int(n): re.sub(r"<[^>]+>", "", body)
        for n, body in re.findall(r'data-line="(\d+)">(.*?)</tr>', html, re.S)
    }
    assert "商家编码 NO-SUCH-SKU 不存在" in errors[3]
    assert "实物库存 应为 0 到 100000000 的整数：abc" in errors[4]
    assert "与第 2 行重复" in errors[5]
    assert "仓库代码 XX 不存在" in errors[8] and "在途系数应为 0 到 1 之间" in errors[8]
    assert "无变化" in errors[7] and "将盘点" in errors[2] and "将盘点" in errors[6]
    assert (
        StockLevel.objects.get(sku__code="DUMPLING-500G", warehouse__code="GZ").physical == 100
    )  # nothing yet
    token = re.search(r'name="plan" value="([^"]+)"', html).group(1)
    done = boss.post(IMPORT, {"plan": token}, follow=True)
    assert "批量盘点完成：2 行已盘点" in done.content.decode()
    gz = StockLevel.objects.get(sku__code="DUMPLING-500G", warehouse__code="GZ")
    assert (gz.physical, gz.in_transit, gz.in_transit_coefficient, gz.location) == (
        150,
        100,
        Decimal("0.290"),
        "B-02-01",
    )
    cd = StockLevel.objects.get(sku__code="STEAK-200G", warehouse__code="CD")
    assert (cd.physical, cd.in_transit, cd.in_transit_coefficient) == (12, 4, Decimal("0.500"))
    assert not StockLevel.objects.filter(sku__code="NO-SUCH-SKU").exists()
    assert OutboxEvent.objects.filter(topic="stock.changed", actor="admin:boss").count() == 2


def test_an_altered_plan_counts_nothing(stock, boss):
    r = boss.post(IMPORT, {"plan": "x" * 40}, follow=True)
    assert "预览已过期或被修改" in r.content.decode()
    assert StockLevel.objects.get(sku__code="DUMPLING-500G", warehouse__code="GZ").physical == 100


def test_a_file_that_is_no_sheet_is_named(stock, boss):
    bad = BytesIO(b"sku,warehouse\n")
    bad.name = "count.xlsx"
    html = boss.post(IMPORT, {"file": bad}).content.decode()
    assert "文件无法读取为 Excel（.xlsx）" in html
    wb = Workbook()
    wb.active.append(["商家编码", "数量"])
    out = BytesIO()
    wb.save(out)
    out.seek(0)
    out.name = "x.xlsx"
    assert "表头缺少列：仓库代码、实物库存" in boss.post(IMPORT, {"file": out}).content.decode()


def test_template_holds_the_current_stock(stock, boss):
    r = boss.get(STOCK + "sheet-template/")
    assert r.status_code == 200
    rows = list(load_workbook(BytesIO(r.content)).worksheets[0].iter_rows(values_only=True))
    assert rows[0] == ("商家编码", "仓库代码", "实物库存", "在途", "在途系数", "货位")
    assert ("DUMPLING-500G", "GZ", 100, 100, 0.29, "A-01-02") in rows
    assert len(rows) == 1 + StockLevel.objects.count()


def test_operations_may_look_but_not_count(stock, client):
    ensure_roles()
    users = get_user_model().objects
    for name, role, status in [("ops", OPERATIONS, 403), ("wh", WAREHOUSE, 200)]:
        user = users.create_user(name, password="x", is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        client.force_login(user)
        assert client.get(IMPORT).status_code == status
