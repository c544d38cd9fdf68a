"""Receiver normalisation and merge keys (合单): which packages ship as one."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass

from zhongshu.fulfilment.domain.states import MERGEABLE, P
from zhongshu.routing.address import PROVINCES, normalize_province

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
