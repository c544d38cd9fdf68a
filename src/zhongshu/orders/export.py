"""Orders to an Excel workbook: one row per order line, Chinese headers, the receiver masked (in clear
only when asked by someone holding orders.export_receiver, audited by the caller), times in
Asia/Shanghai, money as numbers with two places, control characters a cell cannot hold as U+FFFD.
The workbook is written in openpyxl's write-only (streaming) mode from a chunked query, so 100,000
orders take little memory."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO

from django.db.models import QuerySet
from openpyxl import Workbook
from openpyxl.cell import Cell, WriteOnlyCell
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from zhongshu.core.pii import scrub
from zhongshu.core.text import for_xlsx
from zhongshu.core.timeutil import SHANGHAI
from zhongshu.orders.models import Order, OrderLine

MONEY_FORMAT, TIME_FORMAT = "0.00", "yyyy-mm-dd hh:mm:ss"
COLUMNS = [  # header, width
    ("店铺", 14), ("平台订单号", 22), ("订单状态", 12), ("平台状态", 16), ("发货仓", 8), ("下单时间", 20),
    ("付款时间", 20), ("收货人", 10), ("联系电话", 15), ("省份", 10), ("城市", 10), ("区县", 10), ("收货地址", 24),
    ("商家编码", 18), ("商品名称", 28), ("数量", 6), ("单价", 10), ("促销价", 10), ("行实付", 10),
    ("商品金额", 10), ("运费", 8), ("优惠", 8), ("订单实付", 10), ("备注", 24),
]  # fmt: skip
HEADERS = [h for h, _ in COLUMNS]
CHUNK = 2000


@dataclass(frozen=True)
class ExportFilter:
    status: str | None = None
    shop: str | None = None  # shop code
    warehouse: str | None = None  # warehouse code
    since: date | None = None  # placed on or after this Beijing day
    until: date | None = None  # placed on or before this Beijing day


@dataclass(frozen=True)
class ExportResult:
    orders: int
    rows: int


def filtered_orders(chosen: ExportFilter) -> QuerySet[Order]:
    """The orders an export filter selects."""
    qs = Order.objects.all()
    if chosen.status:
        qs = qs.filter(status=chosen.status)
    if chosen.shop:
        qs = qs.filter(shop__code=chosen.shop)
    if chosen.warehouse:
        qs = qs.filter(warehouse__code=chosen.warehouse)
    if chosen.since:
        qs = qs.filter(placed_at__gte=_day_start(chosen.since))
    if chosen.until:
        qs = qs.filter(placed_at__lt=_day_start(chosen.until + timedelta(days=1)))
    return qs


def export_orders(
    target: str | Path | IO[bytes], chosen: ExportFilter, clear_receivers: bool = False
) -> ExportResult:
    """Write the orders the filter selects to an XLSX file (a path or a binary file object)."""
    return write_xlsx(filtered_orders(chosen), target, clear_receivers)


def write_xlsx(
    orders: QuerySet[Order], target: str | Path | IO[bytes], clear_receivers: bool = False
) -> ExportResult:
    """Write these orders' lines, oldest order first, streaming; the receivers masked unless
    `clear_receivers`."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet("订单")
    _layout(sheet)
    seen: set[int] = set()
    rows = 0
    for line in _lines(orders):
        # stored text may hold control characters
        sheet.append([for_xlsx(value) for value in _row(sheet, line, clear_receivers)])
        seen.add(line.order_id)
        rows += 1
    book.save(target)
    return ExportResult(len(seen), rows)


def _layout(sheet: WriteOnlyWorksheet) -> None:
    for index, (_, width) in enumerate(COLUMNS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append(HEADERS)


def _lines(orders: QuerySet[Order]) -> Iterator[OrderLine]:
    lines = (
        OrderLine.objects.filter(order__in=orders.values("pk"))
        .select_related("order__shop", "order__warehouse", "sku")
        .order_by("order__placed_at", "order_id", "id")
    )
    return lines.iterator(chunk_size=CHUNK)


def _row(sheet: WriteOnlyWorksheet, line: OrderLine, clear: bool = False) -> list:
    o = line.order
    name, phone, address = (
        (o.receiver_name, o.receiver_phone, o.receiver_address)
        if clear
        else (o.receiver_name_masked, o.receiver_phone_masked, o.receiver_address_masked)
    )
    return [
        o.shop.code, o.channel_order_id, o.get_status_display(), o.channel_status,
        o.warehouse.code if o.warehouse else "", _time(sheet, o.placed_at), _time(sheet, o.paid_at),
        name, phone, o.receiver_province, o.receiver_city, o.receiver_district,
        address, line.sku.code, line.title, line.quantity, _money(sheet, line.unit_price),
        _money(sheet, line.promo_price), _money(sheet, line.paid_amount), _money(sheet, o.lines_amount),
        _money(sheet, o.freight), _money(sheet, o.discount), _money(sheet, o.paid_amount), scrub(o.remark),
    ]  # fmt: skip


def _money(sheet: WriteOnlyWorksheet, value) -> Cell | None:
    if value is None:
        return None
    cell = WriteOnlyCell(sheet, value=value)  # a Decimal: written as a number, never through float
    cell.number_format = MONEY_FORMAT
    return cell


def _time(sheet: WriteOnlyWorksheet, value: datetime | None) -> Cell | None:
    if value is None:
        return None
    cell = WriteOnlyCell(sheet, value=value.astimezone(SHANGHAI).replace(tzinfo=None))  # Excel has no zones
    cell.number_format = TIME_FORMAT
    return cell


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)
