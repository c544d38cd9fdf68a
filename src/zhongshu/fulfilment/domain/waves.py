"""Waves (波次): which pending packages a strategy takes, the pick list sorted by bin location and
the seeding slots (二次分拣)."""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from functools import cached_property


class WaveKind(StrEnum):
    SINGLE_UNIT = "single_unit"  # 单品单件: one SKU, one unit
    SINGLE_SKU = "single_sku"  # 单品多件: one SKU, several units
    MULTI = "multi"  # 多品: several SKUs (seeded per package after picking)
    HOT = "hot"  # 爆款: the one SKU shared by the most single-SKU packages


@dataclass(frozen=True)
class WavePackage:
    id: Hashable
    lines: Mapping[str, int]  # sku → quantity
    carrier: str = ""
    ship_by: datetime | None = None

    @cached_property
    def kind(self) -> WaveKind:
        """package_kind, worked out once: wave creation asks it of every pending package per wave."""
        return package_kind(self)


@dataclass(frozen=True)
class WaveStrategyInfo:
    kind: WaveKind
    max_packages: int = 100
    carrier: str = ""  # only packages of this carrier; "" = any
    min_packages: int = 1  # fewer eligible packages make no wave


def package_kind(p: WavePackage) -> WaveKind:
    """单品单件, 单品多件 or 多品 by the package's lines (a package of one SKU is never `hot` alone)."""
    skus = [sku for sku, q in p.lines.items() if q > 0]
    if len(skus) > 1:
        return WaveKind.MULTI
    if not skus:
        raise ValueError(f"package {p.id!r} has no lines")
    return WaveKind.SINGLE_UNIT if p.lines[skus[0]] == 1 else WaveKind.SINGLE_SKU


def _urgency(p: WavePackage) -> tuple:
    return (p.ship_by is None, p.ship_by or datetime.min)


def on_hand(
    packages: Iterable[WavePackage], physical: Mapping[str, int], on_floor: Mapping[str, int]
) -> list[WavePackage]:
    """The packages whose units are on the shelves to be picked: physical stock minus what the floor
    already holds for waved, picking, picked and packed packages is shared out earliest ship_by
    first (input order among equals); a package that does not fit whole waits (its reservation may
    be on stock still in transit). Returned in input order."""
    free = {sku: n - on_floor.get(sku, 0) for sku, n in physical.items()}
    taken = set()
    for p in sorted(packages, key=_urgency):
        if all(free.get(sku, 0) >= q for sku, q in p.lines.items()):
            for sku, q in p.lines.items():
                free[sku] -= q
            taken.add(id(p))
    return [p for p in packages if id(p) in taken]


def select_wave(packages: Iterable[WavePackage], strategy: WaveStrategyInfo) -> list[WavePackage]:
    """The packages of the next wave: those the strategy takes, earliest ship_by first (none last,
    input order among equals), at most max_packages; [] when fewer than min_packages qualify."""
    if strategy.max_packages < 1:
        raise ValueError("max_packages must be at least 1")
    pool = [p for p in packages if not strategy.carrier or p.carrier == strategy.carrier]
    if strategy.kind == WaveKind.HOT:
        pool = _hot_pool(pool)
    else:
        pool = [p for p in pool if p.kind == strategy.kind]
    if len(pool) < max(strategy.min_packages, 1):
        return []
    return sorted(pool, key=_urgency)[: strategy.max_packages]


def _hot_pool(pool: list[WavePackage]) -> list[WavePackage]:
    """Single-SKU packages of the SKU most of them share (ties: the more urgent, then the SKU code)."""
    by_sku: dict[str, list[WavePackage]] = {}
    for p in pool:
        if p.kind != WaveKind.MULTI:
            by_sku.setdefault(next(s for s, q in p.lines.items() if q > 0), []).append(p)
    if not by_sku:
        return []
    sku = min(by_sku, key=lambda s: (-len(by_sku[s]), min(_urgency(p) for p in by_sku[s]), s))
    return by_sku[sku]


_DIGITS = re.compile(r"(\d+)")


def location_key(location: str | None) -> tuple:
    """Natural order of bin paths: A-01-11 < A-2-10 < A-10-1 < B-1; an empty location sorts last."""
    text = (location or "").strip()
    if not text:
        return (1, ())
    parts = tuple(
        (1, int(part), "") if part.isdigit() else (0, 0, part.casefold())
        for part in _DIGITS.split(text)
        if part
    )
    return (0, parts, text)


@dataclass(frozen=True)
class PickRow:
    location: str
    sku: str
    quantity: int


def pick_list(packages: Iterable[WavePackage], locations: Mapping[str, str]) -> list[PickRow]:
    """One row per SKU with its total over the packages, in walking order of the bin locations
    (`locations`: sku → 货位 in this warehouse; SKUs without one come last, by SKU code)."""
    totals: dict[str, int] = {}
    for p in packages:
        for sku, q in p.lines.items():
            if q > 0:
                totals[sku] = totals.get(sku, 0) + q
    rows = [PickRow((locations.get(sku) or "").strip(), sku, q) for sku, q in totals.items()]
    return sorted(rows, key=lambda r: (location_key(r.location), r.sku))


@dataclass(frozen=True)
class SeedSlot:
    slot: int  # 1-based cell of the seeding wall (播种墙)
    package_id: Hashable
    lines: Mapping[str, int]


def seeding_plan(packages: Sequence[WavePackage]) -> list[SeedSlot]:
    """二次分拣: package n of the wave goes into slot n."""
    return [SeedSlot(i, p.id, dict(p.lines)) for i, p in enumerate(packages, start=1)]


@dataclass(frozen=True)
class WavePlan:
    packages: list[WavePackage]
    pick_list: list[PickRow]
    slots: list[SeedSlot] = field(default_factory=list)  # multi-item waves only


def plan_wave(
    packages: Iterable[WavePackage], strategy: WaveStrategyInfo, locations: Mapping[str, str]
) -> WavePlan:
    """The next wave by `strategy`: its packages, pick list and (for 多品) seeding slots."""
    chosen = select_wave(packages, strategy)
    slots = seeding_plan(chosen) if strategy.kind == WaveKind.MULTI else []
    return WavePlan(chosen, pick_list(chosen, locations), slots)
