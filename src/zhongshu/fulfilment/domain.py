"""The warehouse floor's decisions, pure: the package state machine, merge keys (合单), the split
planner (拆单), wave selection and pick lists (波次), the weigh check (称重复核) and the scan check
(验货). Plain functions over plain dataclasses; no ORM, no Django, so the services, the dry runs and
the load generator share them and the tests run in microseconds."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from zhongshu.routing.address import PROVINCES, normalize_province
from zhongshu.routing.domain import PlannedPackage, plan_split  # noqa: F401  (the planner lives with routing)

# ---------------------------------------------------------------------------------------------
# The package state machine
# ---------------------------------------------------------------------------------------------


class PackageStatus(StrEnum):
    PENDING = "pending"  # 待生成波次: made from allocated orders, merge window open
    WAVED = "waved"  # 已生成波次
    PICKING = "picking"  # 拣货中 (the wave is claimed)
    PICKED = "picked"  # 已拣货
    PACKED = "packed"  # 已验货称重 (打包)
    SHIPPED = "shipped"  # 已发货 (fulfilment II); after-sales from here on
    STOPPED = "stopped"  # 已拦截: a reason on the package; a supervisor resumes or cancels it
    CANCELLED = "cancelled"  # 已取消


P = PackageStatus

TRANSITIONS: dict[str, frozenset[str]] = {
    # pending → pending is no edge: a merge or split keeps the status and writes no transition.
    P.PENDING: frozenset({P.WAVED, P.STOPPED, P.CANCELLED}),
    # → pending: the wave is dissolved or the package taken out of it before picking.
    # → packed: small warehouses pick from a printed list and verify at the packing bench.
    P.WAVED: frozenset({P.PENDING, P.PICKING, P.PACKED, P.STOPPED, P.CANCELLED}),
    P.PICKING: frozenset({P.PICKED, P.PACKED, P.STOPPED, P.CANCELLED}),
    P.PICKED: frozenset({P.PACKED, P.STOPPED, P.CANCELLED}),
    # A packed package can still be intercepted (拦截) until it is handed to the carrier.
    P.PACKED: frozenset({P.SHIPPED, P.STOPPED, P.CANCELLED}),
    P.SHIPPED: frozenset(),
    # A supervisor resolves a stop: back to pending (re-waved, re-picked), packed (a weight
    # override of a fully scanned package), or cancelled.
    P.STOPPED: frozenset({P.PENDING, P.PACKED, P.CANCELLED}),
    P.CANCELLED: frozenset(),
}

START = P.PENDING
# A stop or a cancel is possible in these (everything before the carrier has it).
STOPPABLE = frozenset({P.PENDING, P.WAVED, P.PICKING, P.PICKED, P.PACKED})
CANCELLABLE = STOPPABLE | {P.STOPPED}
# The merge window ends when the package is waved; splitting likewise needs it out of any wave.
MERGEABLE = frozenset({P.PENDING})
SPLITTABLE = frozenset({P.PENDING, P.STOPPED})
# The packing bench (验货 + 称重) accepts these; others are `not_pickable`.
CHECKABLE = frozenset({P.WAVED, P.PICKING, P.PICKED})
# In these the package belongs to a wave.
IN_WAVE = frozenset({P.WAVED, P.PICKING, P.PICKED})
# The package's lines hold a reservation while it is in one of these.
RESERVING = frozenset({P.PENDING, P.WAVED, P.PICKING, P.PICKED, P.PACKED, P.STOPPED})
FINISHED = frozenset({P.SHIPPED, P.CANCELLED})


class IllegalTransition(ValueError):
    pass


def check(current: str | None, target: str) -> None:
    """Raise IllegalTransition unless current → target is an edge (None = a new package)."""
    if target not in TRANSITIONS:
        raise IllegalTransition(f"unknown package status {target!r}")
    if current is None:
        if target != START:
            raise IllegalTransition(f"a new package cannot start as {target}")
        return
    if current not in TRANSITIONS:
        raise IllegalTransition(f"unknown package status {current!r}")
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(f"package {current} → {target} is not allowed")


def order_status_for(statuses: Iterable[str]) -> str | None:
    """The order status its packages imply (orders follow their packages: picking, packed, shipped),
    or None to leave the order as it is (no live package, or none past waving). Cancelled packages
    do not count; a stopped one holds the order back from packed/shipped."""
    live = [s for s in statuses if s != P.CANCELLED]
    if not live:
        return None
    if all(s == P.SHIPPED for s in live):
        return "shipped"
    if all(s in (P.PACKED, P.SHIPPED) for s in live):
        return "packed"
    if any(s in (P.PICKING, P.PICKED, P.PACKED, P.SHIPPED) for s in live):
        return "picking"
    return None


# ---------------------------------------------------------------------------------------------
# Receiver normalisation and merge keys (合单)
# ---------------------------------------------------------------------------------------------

_SPACE_OR_PUNCT = re.compile(r"[\s\-_.,;:#/\\·、，。；：（）()【】\[\]'\"“”‘’]+")
# Longest first, so 新疆维吾尔自治区 loses 维吾尔自治区 and not only 自治区.
_PROVINCE_SUFFIXES = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市")
_CITY_SUFFIXES = ("自治州", "地区", "盟", "市")
_DISTRICT_SUFFIXES = ("自治县", "新区", "区", "县", "市", "旗")


def normalize_text(value: str | None) -> str:
    """NFKC (full-width → half-width), case-folded, without whitespace or punctuation."""
    if not value:
        return ""
    return _SPACE_OR_PUNCT.sub("", unicodedata.normalize("NFKC", value)).casefold()


def normalize_phone(value: str | None) -> str:
    """Digits only (an extension stays: 13800001111-1234 → 138000011111234); +86/0086 dropped."""
    digits = "".join(ch for ch in unicodedata.normalize("NFKC", value or "") if ch.isdigit())
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11 and digits[len(prefix)] == "1":
            return digits[len(prefix) :]
    return digits


def _strip_suffix(name: str, suffixes: Sequence[str]) -> str:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _forms(name: str, suffixes: Sequence[str]) -> tuple[str, ...]:
    """The spellings an address may start with: the full name, then the short one."""
    if not name:
        return ()
    short = _strip_suffix(name, suffixes)
    return (name, short) if short != name else (name,)


_ALL_PROVINCE_FORMS = tuple(
    sorted({f for p in PROVINCES for f in _forms(p, _PROVINCE_SUFFIXES)}, key=len, reverse=True)
)


def _strip_prefix(text: str, forms: Iterable[str]) -> str:
    for form in forms:
        if form and text.startswith(form):
            return text[len(form) :]
    return text


@dataclass(frozen=True)
class Receiver:
    name: str
    phone: str
    province: str = ""
    city: str = ""
    district: str = ""
    address: str = ""


@dataclass(frozen=True)
class ReceiverKey:
    name: str
    phone: str
    province: str
    city: str
    district: str
    detail: str


def receiver_key(r: Receiver) -> ReceiverKey:
    """The receiver as compared for merging: each part normalised, the detail address without the
    province/city/district it may repeat ("广东省深圳市南山区科技园1号" ≡ "科技园1号" in 南山区)."""
    province = normalize_province(normalize_text(r.province)) or normalize_text(r.province)
    city, district = normalize_text(r.city), normalize_text(r.district)
    detail = normalize_text(r.address)
    detail = _strip_prefix(detail, _forms(province, _PROVINCE_SUFFIXES) or _ALL_PROVINCE_FORMS)
    detail = _strip_prefix(detail, _forms(city, _CITY_SUFFIXES))
    detail = _strip_prefix(detail, _forms(district, _DISTRICT_SUFFIXES))
    return ReceiverKey(
        name=normalize_text(r.name),
        phone=normalize_phone(r.phone),
        province=province,
        city=_strip_suffix(city, _CITY_SUFFIXES),
        district=_strip_suffix(district, _DISTRICT_SUFFIXES),
        detail=detail,
    )


@dataclass(frozen=True)
class MergeCandidate:
    """A package (or an order about to become one) as the merge sees it."""

    id: Hashable
    shop: str
    platform: str
    warehouse: str
    carrier: str
    receiver: Receiver
    presale: bool = False
    cold_chain: bool = False
    held: bool = False
    refund_requested: bool = False
    status: str = P.PENDING


def merge_key(c: MergeCandidate, cross_shop: bool = False) -> tuple | None:
    """Packages with equal keys ship as one; None = never merged (held, refund requested, waved…).

    The shop is part of the key unless cross-shop merging (within one platform) is on; presale
    never meets spot and cold-chain never meets ambient, because those flags are in the key too.
    """
    if c.held or c.refund_requested or c.status not in MERGEABLE:
        return None
    r = receiver_key(c.receiver)
    if not (r.name and r.phone and r.detail):
        return None  # an incomplete (or fully masked) receiver identifies nobody
    shop = ("platform", c.platform) if cross_shop else ("shop", c.shop)
    return (shop, c.warehouse, c.carrier, c.presale, c.cold_chain, r)


def merge_groups(
    candidates: Iterable[MergeCandidate], cross_shop: bool = False
) -> list[list[MergeCandidate]]:
    """Groups of two or more candidates to merge, each in input order, groups by first member."""
    groups: dict[tuple, list[MergeCandidate]] = {}
    for c in candidates:
        key = merge_key(c, cross_shop)
        if key is not None:
            groups.setdefault(key, []).append(c)
    return [g for g in groups.values() if len(g) > 1]


# ---------------------------------------------------------------------------------------------
# Waves (波次), pick lists and seeding (二次分拣)
# ---------------------------------------------------------------------------------------------


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


def select_wave(packages: Iterable[WavePackage], strategy: WaveStrategyInfo) -> list[WavePackage]:
    """The packages of the next wave: those the strategy takes, earliest ship_by first (none last,
    input order among equals), at most max_packages; [] when fewer than min_packages qualify."""
    if strategy.max_packages < 1:
        raise ValueError("max_packages must be at least 1")
    pool = [p for p in packages if not strategy.carrier or p.carrier == strategy.carrier]
    if strategy.kind == WaveKind.HOT:
        pool = _hot_pool(pool)
    else:
        pool = [p for p in pool if package_kind(p) == strategy.kind]
    if len(pool) < max(strategy.min_packages, 1):
        return []
    return sorted(pool, key=_urgency)[: strategy.max_packages]


def _hot_pool(pool: list[WavePackage]) -> list[WavePackage]:
    """Single-SKU packages of the SKU most of them share (ties: the more urgent, then the SKU code)."""
    by_sku: dict[str, list[WavePackage]] = {}
    for p in pool:
        if package_kind(p) != WaveKind.MULTI:
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


# ---------------------------------------------------------------------------------------------
# The weigh check (称重复核)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tolerance:
    """How far a measured weight may be from the expected one, over and under separately.

    A side's allowance is the LARGER of its grams and its percent of the expected weight: the
    grams cover the scale and packing material of small parcels, the percent covers large ones
    (50 g on 20 kg would be stricter than any scale). So a weight is outside the tolerance only
    when its deviation exceeds BOTH the grams and the percent; exactly at the bound is inside.
    """

    over_g: int = 50
    over_pct: Decimal = Decimal("5")
    under_g: int = 50
    under_pct: Decimal = Decimal("5")

    def allowance(self, expected_g: int, over: bool) -> Decimal:
        grams, pct = (self.over_g, self.over_pct) if over else (self.under_g, self.under_pct)
        return max(Decimal(grams), Decimal(pct) * expected_g / 100)


def expected_weight(lines: Mapping[str, int], sku_weights_g: Mapping[str, int], packaging_g: int = 0) -> int:
    """Σ SKU weight × quantity + the packaging's weight, in grams (unknown SKUs weigh 0)."""
    return sum(sku_weights_g.get(sku, 0) * q for sku, q in lines.items()) + packaging_g


@dataclass(frozen=True)
class WeighOutcome:
    ok: bool
    expected_g: int
    measured_g: int
    allowed_g: Decimal  # the allowance on the side the weight fell

    @property
    def deviation_g(self) -> int:
        return self.measured_g - self.expected_g

    @property
    def code(self) -> str:
        return "" if self.ok else "weight_out_of_tolerance"

    @property
    def reason(self) -> str:
        """The stop reason: both weights and the allowance, in grams."""
        side = "超重" if self.deviation_g > 0 else "偏轻"
        return (
            f"称重{side}：预计 {self.expected_g} 克，实称 {self.measured_g} 克，"
            f"相差 {abs(self.deviation_g)} 克（允许 {_grams(self.allowed_g)} 克）"
        )


def _grams(value: Decimal) -> str:
    return str(value.quantize(Decimal(1))) if value == value.to_integral() else str(value.normalize())


def weigh_check(expected_g: int, measured_g: int, tolerance: Tolerance | None = None) -> WeighOutcome:
    """Compare a measured weight to the expected one under `tolerance` (default 50 g / 5 %)."""
    if measured_g < 0 or expected_g < 0:
        raise ValueError("weights cannot be negative")
    tolerance = tolerance or Tolerance()
    over = measured_g >= expected_g
    allowed = tolerance.allowance(expected_g, over)
    return WeighOutcome(abs(measured_g - expected_g) <= allowed, expected_g, measured_g, allowed)


# ---------------------------------------------------------------------------------------------
# The scan check (验货)
# ---------------------------------------------------------------------------------------------

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
