"""Batch stocktake from an Excel sheet (批量盘点): read and check every row first (the preview, with an
error per row), then apply the good rows one by one through the stocktake use case
(`orders.stocktake.stocktake`, which keeps reservations and allocated orders consistent).

The sheet: a header row naming the columns (Chinese or English), then one row per SKU and warehouse.
Required: 商家编码/sku, 仓库代码/warehouse, 实物库存/physical. Optional: 在途/in_transit and
在途系数/in_transit_coefficient (kept as they are when the cell is empty), 货位/location.
"""

from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from io import BytesIO

from django.core import signing
from django.utils.translation import gettext as _

from zhongshu.catalog.models import Sku
from zhongshu.inventory.models import StockLevel, Warehouse
from zhongshu.inventory.services import set_location
from zhongshu.orders.stocktake import StocktakeRefused, refusal, stocktake

MAX_ROWS = 5000
MAX_UNITS = 100_000_000
SIGNING_SALT = "zhongshu.orders.stocktake_import"
PLAN_MAX_AGE = 3600  # seconds between the preview and the confirmation
COLUMNS = {  # header text (lower-cased) → field
    "商家编码": "sku", "sku": "sku", "sku编码": "sku",
    "仓库代码": "warehouse", "仓库": "warehouse", "warehouse": "warehouse",
    "实物库存": "physical", "physical": "physical",
    "在途": "in_transit", "in_transit": "in_transit",
    "在途系数": "in_transit_coefficient", "在途预计到货系数": "in_transit_coefficient",
    "in_transit_coefficient": "in_transit_coefficient",
    "货位": "location", "location": "location",
}  # fmt: skip
REQUIRED = ("sku", "warehouse", "physical")
TEMPLATE_HEADER = ("商家编码", "仓库代码", "实物库存", "在途", "在途系数", "货位")


class SheetError(ValueError):
    """The file cannot be read as a stocktake sheet at all (not .xlsx, no header, too many rows)."""


@dataclass
class PlanRow:
    line: int  # the row number in the sheet
    sku: str
    warehouse: str
    physical: int | None = None
    in_transit: int | None = None
    coefficient: str | None = None
    location: str | None = None
    before: dict | None = None  # the row's current figures (None: a new stock row)
    unchanged: bool = False  # the sheet says what the hub holds: nothing to count
    errors: list[str] = field(default_factory=list)


def read_sheet(content: bytes) -> list[PlanRow]:
    """Every data row of the first sheet, checked; a row with errors is kept with them."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises several types for a file that is no workbook
        raise SheetError(_("文件无法读取为 Excel（.xlsx）：%(e)s") % {"e": type(exc).__name__}) from None
    rows = wb.worksheets[0].iter_rows(values_only=True)
    header = next(rows, None)
    columns = _columns(header)
    plan: list[PlanRow] = []
    for line, values in enumerate(rows, start=2):
        if values is None or all(v is None or str(v).strip() == "" for v in values):
            continue
        if len(plan) >= MAX_ROWS:
            raise SheetError(_("最多 %(n)d 行，请分批导入") % {"n": MAX_ROWS})
        cells = {name: values[i] if i < len(values) else None for name, i in columns.items()}
        plan.append(_row(line, cells))
    wb.close()
    if not plan:
        raise SheetError(_("表格中没有数据行"))
    _check(plan)
    return plan


def _columns(header) -> dict[str, int]:
    if not header:
        raise SheetError(_("第 1 行应为表头：商家编码、仓库代码、实物库存（在途、在途系数、货位可选）"))
    found = {}
    for i, text in enumerate(header):
        name = COLUMNS.get(str(text or "").strip().lower())
        if name and name not in found:
            found[name] = i
    missing = [
        h for h, n in zip(("商家编码", "仓库代码", "实物库存"), REQUIRED, strict=True) if n not in found
    ]
    if missing:
        raise SheetError(_("表头缺少列：%(cols)s") % {"cols": "、".join(missing)})
    return found


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _count(row: PlanRow, label: str, value) -> int | None:
    text = _text(value)
    if text == "":
        return None
    try:
        n = Decimal(text)
    except InvalidOperation:
        n = None
    if n is None or n != n.to_integral_value() or not 0 <= n <= MAX_UNITS:
        row.errors.append(
            _("%(col)s 应为 0 到 %(max)d 的整数：%(v)s") % {"col": label, "max": MAX_UNITS, "v": text[:20]}
        )
        return None
    return int(n)


def _row(line: int, cells: dict) -> PlanRow:
    row = PlanRow(line, _text(cells.get("sku")), _text(cells.get("warehouse")))
    if not row.sku:
        row.errors.append(_("商家编码为空"))
    if not row.warehouse:
        row.errors.append(_("仓库代码为空"))
    if _text(cells.get("physical")) == "":
        row.errors.append(_("实物库存为空"))
    else:
        row.physical = _count(row, _("实物库存"), cells.get("physical"))
    row.in_transit = _count(row, _("在途"), cells.get("in_transit"))
    coefficient = _text(cells.get("in_transit_coefficient"))
    if coefficient:
        try:
            c = Decimal(coefficient)
            if not Decimal(0) <= c <= Decimal(1) or c.as_tuple().exponent < -3:
                raise InvalidOperation
            row.coefficient = str(c)
        except InvalidOperation:
            row.errors.append(_("在途系数应为 0 到 1 之间、最多 3 位小数：%(v)s") % {"v": coefficient[:20]})
    if "location" in cells and cells["location"] is not None:
        row.location = _text(cells["location"])[:32]
    return row


def _check(plan: list[PlanRow]) -> None:
    """References, duplicates, and the stocktake's own refusal (orders in picking hold more)."""
    skus = {s.code: s for s in Sku.objects.filter(code__in={r.sku for r in plan})}
    warehouses = {w.code: w for w in Warehouse.objects.filter(code__in={r.warehouse for r in plan})}
    current = {
        (s.sku.code, s.warehouse.code): s
        for s in StockLevel.objects.select_related("sku", "warehouse").filter(sku__code__in=list(skus))
    }
    seen: dict[tuple[str, str], int] = {}
    for row in plan:
        key = (row.sku, row.warehouse)
        if row.sku and row.sku not in skus:
            row.errors.append(_("商家编码 %(sku)s 不存在") % {"sku": row.sku})
        if row.warehouse and row.warehouse not in warehouses:
            row.errors.append(_("仓库代码 %(wh)s 不存在") % {"wh": row.warehouse})
        if key in seen:
            row.errors.append(_("与第 %(line)d 行重复（同一 SKU 和仓库）") % {"line": seen[key]})
        seen.setdefault(key, row.line)
        stock = current.get(key)
        if stock is not None:
            row.before = {"physical": stock.physical, "reserved": stock.reserved, "in_transit": stock.in_transit,
                          "coefficient": str(stock.in_transit_coefficient), "location": stock.location}  # fmt: skip
        if row.errors:
            continue
        in_transit, coefficient = _kept(row, stock)
        if (
            stock is not None
            and (stock.physical, stock.in_transit, stock.in_transit_coefficient)
            == (row.physical, in_transit, coefficient)
            and row.location in (None, stock.location)
        ):
            row.unchanged = True
            continue
        why = refusal(skus[row.sku], warehouses[row.warehouse], row.physical, in_transit, coefficient)
        if why:
            row.errors.append(why)


def _kept(row: PlanRow, stock: StockLevel | None) -> tuple[int, Decimal]:
    """In-transit and coefficient: the sheet's, else the row's current ones, else the defaults."""
    default = StockLevel._meta.get_field("in_transit_coefficient").default
    in_transit = row.in_transit if row.in_transit is not None else (stock.in_transit if stock else 0)
    if row.coefficient is not None:
        return in_transit, Decimal(row.coefficient)
    return in_transit, stock.in_transit_coefficient if stock else default


def sign_plan(plan: list[PlanRow]) -> str:
    """The rows to count (no errors, something changes), signed for the confirmation form (the file is
    not uploaded twice)."""
    good = [asdict(r) for r in plan if not r.errors and not r.unchanged]
    return signing.dumps(good, salt=SIGNING_SALT, compress=True)


def load_plan(token: str) -> list[PlanRow]:
    """The rows of a signed plan; SheetError when it is altered or older than PLAN_MAX_AGE."""
    try:
        return [PlanRow(**r) for r in signing.loads(token, salt=SIGNING_SALT, max_age=PLAN_MAX_AGE)]
    except signing.BadSignature:
        raise SheetError(_("预览已过期或被修改，请重新上传文件")) from None


@dataclass
class ApplyResult:
    applied: list[int] = field(default_factory=list)  # sheet rows counted
    refused: dict[int, str] = field(default_factory=dict)  # sheet row → why (stock changed since the preview)


def apply_plan(plan: list[PlanRow], actor: str) -> ApplyResult:
    """Count each row through the stocktake use case (one transaction per row: a refusal of one row,
    when orders started picking since the preview, keeps every other row)."""
    result = ApplyResult()
    skus = {s.code: s for s in Sku.objects.filter(code__in={r.sku for r in plan})}
    warehouses = {w.code: w for w in Warehouse.objects.filter(code__in={r.warehouse for r in plan})}
    for row in plan:
        sku, wh = skus.get(row.sku), warehouses.get(row.warehouse)
        if sku is None or wh is None:
            result.refused[row.line] = _("商家编码或仓库已不存在")
            continue
        stock = StockLevel.objects.filter(sku=sku, warehouse=wh).first()
        in_transit, coefficient = _kept(row, stock)
        try:
            stocktake(sku, wh, row.physical, in_transit, coefficient, actor)
        except StocktakeRefused as exc:
            result.refused[row.line] = str(exc)
            continue
        if row.location is not None:
            set_location(StockLevel.objects.get(sku=sku, warehouse=wh), row.location)
        result.applied.append(row.line)
    return result


def template_workbook() -> bytes:
    """A sheet to fill in: the header and every current stock row (SKU, warehouse, counts, bin)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("盘点"))
    ws.append(list(TEMPLATE_HEADER))
    rows = StockLevel.objects.select_related("sku", "warehouse").order_by("warehouse__code", "sku__code")
    for s in rows.iterator(chunk_size=2000):
        ws.append(
            [
                s.sku.code,
                s.warehouse.code,
                s.physical,
                s.in_transit,
                float(s.in_transit_coefficient),
                s.location,
            ]
        )
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
