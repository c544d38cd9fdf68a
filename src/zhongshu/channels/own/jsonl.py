"""Import a JSON Lines file of contract orders into the hub, in batches, keeping every good line.

Each non-blank line is one order. A bad line (invalid JSON, contract violation, another shop,
unknown SKU) is reported with its line number and field and skipped; good lines are passed to
`intake` in batches, one transaction per batch. Re-importing a file changes nothing (intake is
idempotent on (shop, channel_order_id) and updated_at).
"""

import json
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from pydantic import ValidationError

from zhongshu.channels.models import Shop
from zhongshu.core import bulk
from zhongshu.orders.schemas import OrderIn, error_list
from zhongshu.orders.services import ReferenceErrors, check_references, intake

Progress = Callable[[int, int], None]  # (lines done, lines in file)
T = TypeVar("T")


class UnknownShop(ValueError):
    """The shop given for the import is not configured (or not active) in the hub."""


@dataclass(frozen=True)
class LineError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


@dataclass
class ImportReport:
    total: int = 0  # non-blank lines read (data rows of an export file)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[LineError] = field(default_factory=list)
    source: str = ""  # what the file was read as, e.g. an export format's name

    @property
    def error_lines(self) -> list[int]:
        return sorted({e.line for e in self.errors})

    @property
    def imported(self) -> int:
        return self.created + self.updated + self.unchanged

    @property
    def ok(self) -> bool:
        return not self.errors


def import_jsonl(
    path: str | Path, shop: str, batch_size: int = 500, progress: Progress | None = None
) -> ImportReport:
    """Import one shop's orders from a JSON Lines file; UnknownShop or OSError are raised before any write."""
    path = Path(path)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    check_shop(shop)
    total_lines = _count_lines(path)
    actor = f"import:{path.name}"[:128]
    report = ImportReport()
    batcher: Batcher[int] = Batcher(actor, report, batch_size, _at_line)
    if progress:
        progress(0, total_lines)
    for number, raw in _lines(path):
        if not raw.strip():
            continue
        report.total += 1
        order = _parse(number, raw, shop, report.errors)
        if order is not None and batcher.add(number, order) and progress:
            progress(number, total_lines)
    batcher.flush()
    if progress:
        progress(total_lines, total_lines)
    report.errors.sort(key=lambda e: e.line)
    return report


def check_shop(shop: str) -> Shop:
    """The active shop of that code, or UnknownShop."""
    found = Shop.objects.filter(code=shop, active=True).first()
    if found is None:
        raise UnknownShop(f"unknown or inactive shop '{shop}'")
    return found


def _at_line(number: int, error: dict) -> LineError:
    return LineError(number, error["field"], error["msg"])


def _count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f)


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as f:
        yield from enumerate(f, start=1)


def _parse(number: int, raw: bytes, shop: str, errors: list[LineError]) -> OrderIn | None:
    """The line as a validated OrderIn, or None after adding its errors."""
    try:
        data = json.loads(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
    except UnicodeDecodeError:
        errors.append(LineError(number, "json", "not valid UTF-8"))
        return None
    except json.JSONDecodeError as exc:
        errors.append(LineError(number, "json", f"invalid JSON: {exc.msg} (column {exc.colno})"))
        return None
    if not isinstance(data, dict):
        errors.append(LineError(number, "json", f"expected a JSON object, got {type(data).__name__}"))
        return None
    line_shop = data.setdefault("shop", shop)
    bad_shop = line_shop != shop
    if bad_shop:
        errors.append(
            LineError(number, "shop", f"shop '{line_shop}' does not match the import shop '{shop}'")
        )
        data["shop"] = shop  # still validate the rest, so the line's other errors show at once
    try:
        order = OrderIn.model_validate(data)
    except ValidationError as exc:
        errors += [LineError(number, e["field"] or "order", e["msg"]) for e in error_list(exc)]
        return None
    return None if bad_shop else order


class Batcher(Generic[T]):
    """Passes validated orders to intake `size` at a time, one transaction per batch, and counts the
    outcomes; orders naming unknown shops or SKUs are dropped from their batch and reported through
    `locate`, which turns (the caller's tag of the order, an error {field, msg}) into a LineError."""

    def __init__(self, actor: str, report: ImportReport, size: int, locate: Callable[[T, dict], LineError]):
        if size < 1:
            raise ValueError("batch_size must be at least 1")
        self.actor, self.report, self.size, self.locate = actor, report, size, locate
        self.pending: list[tuple[T, OrderIn]] = []

    def add(self, tag: T, order: OrderIn) -> bool:
        """Queue one order; True when that filled a batch and it was taken in."""
        self.pending.append((tag, order))
        if len(self.pending) < self.size:
            return False
        self.flush()
        return True

    def flush(self) -> None:
        with bulk.gc_paused():
            self._flush()

    def _flush(self) -> None:
        batch, self.pending = self.pending, []
        refs = check_references([o for _, o in batch]) if batch else {}
        while batch:
            for i, errs in refs.items():
                self.report.errors += [self.locate(batch[i][0], e) for e in errs]
            batch = [b for i, b in enumerate(batch) if i not in refs]
            if not batch:
                return
            try:
                results = intake([o for _, o in batch], actor=self.actor)
            except ReferenceErrors as exc:  # a SKU vanished between the check and the intake
                refs = exc.errors
                continue
            outcomes = Counter(r.outcome for r in results)
            self.report.created += outcomes["created"]
            self.report.updated += outcomes["updated"]
            self.report.unchanged += outcomes["unchanged"]
            return
