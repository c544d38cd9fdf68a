"""Read a seller-centre export (CSV in UTF-8 with or without BOM, GBK/GB18030, or XLSX) into rows of
cleaned text keyed by normalised header names; row numbers are those a merchant sees in Excel."""

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

BLANKS = frozenset({"", "-", "--", "null", "NULL", "None", "无"})
_EXCEL_TEXT = re.compile(r'^="(.*)"$', re.S)  # Taobao's ="2736…" keeps Excel from rounding the number
_HEADER_FOLD = str.maketrans({"（": "(", "）": ")", "\ufeff": None})


class UnreadableFile(ValueError):
    """The file is not a CSV/XLSX we can decode, or holds no header row."""


@dataclass(frozen=True)
class Row:
    number: int  # 1-based row of the sheet; the header is row 1
    cells: dict[str, str]

    def get(self, *names: str) -> str:
        """The first non-blank cell among these columns, or ''."""
        for name in names:
            value = self.cells.get(name, "")
            if value:
                return value
        return ""

    def has(self, name: str) -> bool:
        return name in self.cells


@dataclass(frozen=True)
class Sheet:
    headers: tuple[str, ...]
    rows: list[Row]


def read_sheet(path: Path) -> Sheet:
    """Every non-blank data row of the file; OSError or UnreadableFile before anything is returned."""
    raw_rows = _xlsx_rows(path) if path.suffix.lower() in (".xlsx", ".xlsm") else _csv_rows(path)
    headers: tuple[str, ...] | None = None
    rows: list[Row] = []
    for number, values in raw_rows:
        cells = [clean(v) for v in values]
        if headers is None:
            if any(cells):
                headers = tuple(header(v) for v in values)
            continue
        if any(cells):
            rows.append(Row(number, {h: c for h, c in zip(headers, cells, strict=False) if h}))
    if headers is None:
        raise UnreadableFile("the file holds no header row")
    return Sheet(headers, rows)


def header(value: object) -> str:
    """A column name as matched: trimmed (Taobao writes `收货地址 `), full-width brackets folded."""
    return str(value or "").translate(_HEADER_FOLD).strip()


def clean(value: object) -> str:
    """A cell as text: ="…" unwrapped, tab/apostrophe prefixes (Douyin, Taobao) and blanks removed."""
    if value is None:
        return ""
    if isinstance(value, datetime | date | time):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):  # an XLSX number cell; repr keeps the digits Excel stored
        return str(int(value)) if value.is_integer() else str(Decimal(repr(value)))
    text = str(value).strip()
    match = _EXCEL_TEXT.match(text)
    if match:
        text = match.group(1).strip()
    text = text.lstrip("'\t").strip()
    return "" if text in BLANKS else text


def decode(data: bytes) -> str:
    """UTF-8 (BOM or not) when it decodes, else GB18030 (a superset of GBK, which the platforms write)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"neither UTF-8 nor GBK/GB18030 text (byte {exc.start})") from None


def _csv_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    text = decode(path.read_bytes())
    if "\0" in text:
        raise UnreadableFile("binary data, not CSV text")
    first = text.split("\n", 1)[0]
    delimiter = "\t" if first.count("\t") > first.count(",") else ","
    return enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1)


def _xlsx_rows(path: Path) -> Iterator[tuple[int, tuple]]:
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError) as exc:
        raise UnreadableFile(f"not a readable XLSX workbook ({exc})") from None
    try:
        sheet = book.active or book.worksheets[0]
        yield from enumerate(sheet.iter_rows(values_only=True), start=1)
    finally:
        book.close()
