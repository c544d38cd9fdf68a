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

from pydantic import ValidationError

from zhongshu.channels.models import Shop
from zhongshu.orders.schemas import OrderIn, error_list
from zhongshu.orders.services import ReferenceErrors, check_references, intake

Progress = Callable[[int, int], None]  # (lines done, lines in file)


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
    total: int = 0  # non-blank lines read
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[LineError] = field(default_factory=list)

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
    if not Shop.objects.filter(code=shop, active=True).exists():
        raise UnknownShop(f"unknown or inactive shop '{shop}'")
    total_lines = _count_lines(path)
    actor = f"import:{path.name}"[:128]
    report = ImportReport()
    batch: list[tuple[int, OrderIn]] = []
    done = 0
    if progress:
        progress(0, total_lines)
    for number, raw in _lines(path):
        done = number
        if not raw.strip():
            continue
        report.total += 1
        order = _parse(number, raw, shop, report.errors)
        if order is not None:
            batch.append((number, order))
        if len(batch) >= batch_size:
            _flush(batch, actor, report)
            batch = []
            if progress:
                progress(done, total_lines)
    _flush(batch, actor, report)
    if progress:
        progress(total_lines, total_lines)
    report.errors.sort(key=lambda e: e.line)
    return report


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


def _flush(batch: list[tuple[int, OrderIn]], actor: str, report: ImportReport) -> None:
    """Intake the batch minus lines naming unknown shops or SKUs; one transaction."""
    refs = check_references([o for _, o in batch]) if batch else {}
    while batch:
        for i, errs in refs.items():
            report.errors += [LineError(batch[i][0], e["field"], e["msg"]) for e in errs]
        batch = [b for i, b in enumerate(batch) if i not in refs]
        if not batch:
            return
        try:
            results = intake([o for _, o in batch], actor=actor)
        except ReferenceErrors as exc:  # a SKU vanished between the check and the intake
            refs = exc.errors
            continue
        outcomes = Counter(r.outcome for r in results)
        report.created += outcomes["created"]
        report.updated += outcomes["updated"]
        report.unchanged += outcomes["unchanged"]
        return
