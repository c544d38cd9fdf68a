"""Typed reads of export cells (yuan amounts, Asia/Shanghai times, counts) that collect errors per
row and column instead of raising, so one bad row reports all of its problems at once."""

import re
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from zhongshu.channels.files.read import Row
from zhongshu.core.money import money
from zhongshu.core.timeutil import SHANGHAI

_TIME = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?(?:\.\d+)?)?$"
)
_AMOUNT = re.compile(r"^-?\d{1,12}(\.\d+)?$")
_CIPHER = re.compile(r"^[#$~].*[#$~]$")  # Douyin's encrypted receiver fields: ##…##, $…$, ~…~


@dataclass(frozen=True)
class CellError:
    row: int
    column: str
    message: str


@dataclass
class Cells:
    """One row's cells with typed getters; a bad or missing required cell is recorded, not raised."""

    row: Row
    errors: list[CellError] = field(default_factory=list)

    def text(self, *columns: str) -> str:
        return self.row.get(*columns)

    def required(self, *columns: str) -> str:
        value = self.row.get(*columns)
        if not value:
            self.fail(columns, "required, but empty")
        return value

    def amount(self, *columns: str, required: bool = True) -> Decimal | None:
        raw = self.row.get(*columns)
        if not raw:
            if required:
                self.fail(columns, "required, but empty")
            return None
        text = raw.replace(",", "").replace("¥", "").replace("￥", "").removesuffix("元").strip()
        try:
            if not _AMOUNT.match(text):
                raise InvalidOperation
            return money(Decimal(text))
        except InvalidOperation:
            self.fail(columns, f"'{raw}' is not an amount in yuan")
            return None

    def count(self, *columns: str, default: int | None = None) -> int:
        raw = self.row.get(*columns)
        if not raw and default is not None:
            return default
        try:
            value = Decimal(raw)
            if value != value.to_integral_value() or value < 1:
                raise InvalidOperation
            return int(value)
        except InvalidOperation:
            self.fail(columns, f"'{raw}' is not a whole number of at least 1")
            return 1

    def time(self, *columns: str, required: bool = False) -> datetime | None:
        raw = self.row.get(*columns)
        if not raw:
            if required:
                self.fail(columns, "required, but empty")
            return None
        parsed = parse_time(raw)
        if parsed is None:
            self.fail(columns, f"'{raw}' is not a date and time")
        return parsed

    def fail(self, columns: tuple[str, ...] | str, message: str) -> None:
        self.errors.append(CellError(self.row.number, self.column(columns), message))

    def column(self, columns: tuple[str, ...] | str) -> str:
        """The column of these alternatives that the file has (for messages), else the first."""
        if isinstance(columns, str):
            return columns
        return next((c for c in columns if self.row.has(c)), columns[0])


def parse_time(text: str) -> datetime | None:
    """A wall-clock time of the export (2026-11-27 20:15:03, 2016/5/23 22:02, …) in Asia/Shanghai."""
    match = _TIME.match(text.strip())
    if not match:
        return None
    y, mo, d, h, mi, s = (int(g) if g else 0 for g in match.groups())
    try:
        return datetime(y, mo, d, h, mi, s, tzinfo=SHANGHAI)
    except ValueError:
        return None


def is_cipher(text: str) -> bool:
    """An encrypted platform value, kept verbatim and decrypted only at waybill time."""
    return len(text) > 2 and bool(_CIPHER.match(text))
