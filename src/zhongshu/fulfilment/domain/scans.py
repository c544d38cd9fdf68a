"""The scan check (验货): scanned codes against a package's lines (wrong SKU, surplus, missing)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

# Above this many units of one SKU the packer may type the count instead of scanning each unit.
COUNT_ENTRY_ABOVE = 5


class ScanError(StrEnum):
    WRONG_SKU = "wrong_sku"
    SURPLUS_ITEM = "surplus_item"
    MISSING_ITEMS = "missing_items"
    COUNT_NOT_ALLOWED = "count_not_allowed"


@dataclass(frozen=True)
class ScanOutcome:
    ok: bool
    code: str = ""  # a ScanError value when not ok
    sku: str = ""
    detail: str = ""
    missing: dict[str, int] = field(default_factory=dict)


def normalize_code(code: str) -> str:
    return unicodedata.normalize("NFKC", code or "").strip()


def parse_scan(entry: str) -> tuple[str, int]:
    """`code` or `code*count` (a typed count) → (code, count)."""
    code, sep, count = normalize_code(entry).rpartition("*")
    if sep and count.strip().isdigit() and code.strip():
        return code.strip(), int(count)
    return normalize_code(entry), 1


class ScanSession:
    """The packer's scans against one package: `expected` sku → quantity, `barcodes` code → sku
    (every SKU's merchant code and its barcodes). A refused scan changes nothing."""

    def __init__(self, expected: Mapping[str, int], barcodes: Mapping[str, str]):
        self.expected = {sku: q for sku, q in expected.items() if q > 0}
        self.barcodes = {normalize_code(c): sku for c, sku in barcodes.items()}
        self.barcodes.update({normalize_code(sku): sku for sku in self.expected})  # 商家编码 always works
        self.scanned: dict[str, int] = {}

    def scan(self, code: str, count: int = 1) -> ScanOutcome:
        if count < 1:
            raise ValueError("count must be at least 1")
        code = normalize_code(code)
        sku = self.barcodes.get(code, "")
        if sku not in self.expected:
            shown = sku or code
            return ScanOutcome(False, ScanError.WRONG_SKU, sku, f"{shown} 不是这个包裹里的商品")
        expected = self.expected[sku]
        if count > 1 and expected <= COUNT_ENTRY_ABOVE:
            return ScanOutcome(
                False, ScanError.COUNT_NOT_ALLOWED, sku, f"{sku} 只有 {expected} 件，请逐件扫描"
            )
        done = self.scanned.get(sku, 0)
        if done + count > expected:
            return ScanOutcome(
                False, ScanError.SURPLUS_ITEM, sku, f"{sku} 多了：应有 {expected} 件，已扫 {done} 件"
            )
        self.scanned[sku] = done + count
        return ScanOutcome(True, "", sku, f"{sku} {done + count}/{expected}")

    def missing(self) -> dict[str, int]:
        return {
            sku: q - self.scanned.get(sku, 0)
            for sku, q in self.expected.items()
            if self.scanned.get(sku, 0) < q
        }

    @property
    def complete(self) -> bool:
        return not self.missing()

    def finish(self) -> ScanOutcome:
        """ok when every unit is scanned, else `missing_items` with what is left."""
        missing = self.missing()
        if not missing:
            return ScanOutcome(True)
        listed = "，".join(f"{sku} × {q}" for sku, q in missing.items())
        return ScanOutcome(False, ScanError.MISSING_ITEMS, "", f"还缺：{listed}", missing)


def check_scans(
    expected: Mapping[str, int], barcodes: Mapping[str, str], scans: Iterable[str]
) -> ScanOutcome:
    """The packing check of a whole list of scans (`code` or `code*count`): the first refused scan,
    else `missing_items` if units are left, else ok."""
    session = ScanSession(expected, barcodes)
    for entry in scans:
        code, count = parse_scan(entry)
        outcome = session.scan(code, count)
        if not outcome.ok:
            return outcome
    return session.finish()
