"""Import one platform's seller-centre order export: detect the platform by its header, group rows
into orders, map each order into the intake contract, and take the good ones in through the same
batching as the JSON Lines import. Bad rows are reported by row number and column; the rest of the
file is kept; re-importing the same file changes nothing (intake is idempotent on updated_at)."""

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from zhongshu.channels.files import douyin, pdd, taobao
from zhongshu.channels.files.fields import Cells
from zhongshu.channels.files.formats import ExportFormat
from zhongshu.channels.files.read import Row, UnreadableFile, read_sheet
from zhongshu.channels.models import Platform
from zhongshu.channels.own.jsonl import Batcher, ImportReport, LineError, Progress, check_shop
from zhongshu.orders.schemas import OrderIn, error_list

FORMATS: tuple[ExportFormat, ...] = (taobao.FORMAT, pdd.FORMAT, douyin.FORMAT)


class UnknownFormat(UnreadableFile):
    """The header matches no platform's export."""


class WrongPlatform(UnreadableFile):
    """The export is from another platform than the shop it is imported into."""


@dataclass(frozen=True)
class OrderRows:
    """The rows of one order in the file, and how to name a contract field's row and column."""

    fmt: ExportFormat
    rows: list[Cells]

    def locate(self, error: dict) -> LineError:
        loc = list(error.get("loc") or [])
        if len(loc) >= 2 and loc[0] == "lines" and isinstance(loc[1], int) and loc[1] < len(self.rows):
            part = str(loc[2]) if len(loc) > 2 else ""
            column = self.fmt.line_columns.get(part, error["field"])
            return LineError(self.rows[loc[1]].row.number, column, error["msg"])
        column = self.fmt.columns.get(error["field"], error["field"])
        return LineError(self.rows[0].row.number, column, error["msg"])


def detect(headers: tuple[str, ...]) -> ExportFormat:
    """The one export format whose signature columns the header has."""
    present = set(headers)
    found = [f for f in FORMATS if f.signature <= present]
    if len(found) != 1:
        known = "; ".join(f"{f.label} ({'、'.join(sorted(f.signature))})" for f in FORMATS)
        raise UnknownFormat(f"not a known order export: the header has none of the column sets {known}")
    return found[0]


def import_export_file(
    path: str | Path, shop: str, batch_size: int = 500, progress: Progress | None = None
) -> ImportReport:
    """Import one shop's orders from a platform export (CSV/XLSX); UnknownShop, OSError or
    UnreadableFile (unknown format, another platform's file, undecodable) are raised before any write."""
    path = Path(path)
    found = check_shop(shop)
    sheet = read_sheet(path)
    fmt = detect(sheet.headers)
    if found.platform != fmt.platform:
        theirs, ours = Platform(fmt.platform).label, Platform(found.platform).label
        raise WrongPlatform(f"the file is a {theirs} export, but shop '{shop}' is on {ours}")
    report = ImportReport(total=len(sheet.rows), source=fmt.label)
    batcher: Batcher[OrderRows] = Batcher(f"import:{path.name}"[:128], report, batch_size, OrderRows.locate)
    done = 0
    if progress:
        progress(0, report.total)
    for order in _orders(fmt, sheet.rows, report):
        done += len(order.rows)
        payload = _validate(order, shop, report)
        if payload is not None and batcher.add(order, payload) and progress:
            progress(done, report.total)
    batcher.flush()
    if progress:
        progress(report.total, report.total)
    report.errors.sort(key=lambda e: e.line)
    return report


def _orders(fmt: ExportFormat, rows: list[Row], report: ImportReport) -> Iterator[OrderRows]:
    """Rows grouped by order number, in the order each order first appears."""
    groups: dict[str, list[Cells]] = {}
    for row in rows:
        order_id = row.get(*fmt.order_id)
        if order_id:
            groups.setdefault(order_id, []).append(Cells(row))
        else:
            report.errors.append(LineError(row.number, fmt.order_id[0], "required, but empty"))
    for cells in groups.values():
        yield OrderRows(fmt, cells)


def _validate(order: OrderRows, shop: str, report: ImportReport) -> OrderIn | None:
    data = order.fmt.build(shop, order.rows)
    report.errors += [LineError(e.row, e.column, e.message) for c in order.rows for e in c.errors]
    if data is None:
        return None
    try:
        return OrderIn.model_validate(data)
    except ValidationError as exc:
        report.errors += [order.locate(e) for e in error_list(exc)]
        return None
