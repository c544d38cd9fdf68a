"""Offline Chinese address → province parsing for warehouse routing.

Orders from some platforms carry no (or a masked) province; we recover it from
the free-text address so the order can be routed to the nearest region.

* ``normalize_province`` is a pure dict lookup (no library).
* ``parse_address`` uses ``cpca`` (see docs/decisions/0002-address-parser.md).
  cpca builds its Aho-Corasick automaton from its bundled ``adcodes.csv`` when
  imported (~50 ms, ~15 MB), so it is imported lazily on the first call, never
  at module import.  No network access happens at any point.
"""

from __future__ import annotations

import sys
import threading
import types
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = [
    "PROVINCES",
    "DEFAULT_REGIONS",
    "AddressParts",
    "normalize_province",
    "parse_address",
    "resolve_province",
]

# The 34 provincial-level divisions, canonical full names (GB/T 2260 order).
PROVINCES: tuple[str, ...] = (
    "北京市",
    "天津市",
    "河北省",
    "山西省",
    "内蒙古自治区",
    "辽宁省",
    "吉林省",
    "黑龙江省",
    "上海市",
    "江苏省",
    "浙江省",
    "安徽省",
    "福建省",
    "江西省",
    "山东省",
    "河南省",
    "湖北省",
    "湖南省",
    "广东省",
    "广西壮族自治区",
    "海南省",
    "重庆市",
    "四川省",
    "贵州省",
    "云南省",
    "西藏自治区",
    "陕西省",
    "甘肃省",
    "青海省",
    "宁夏回族自治区",
    "新疆维吾尔自治区",
    "台湾省",
    "香港特别行政区",
    "澳门特别行政区",
)

_REGION_MEMBERS: dict[str, tuple[str, ...]] = {
    "华北": ("北京市", "天津市", "河北省", "山西省", "内蒙古自治区"),
    "东北": ("辽宁省", "吉林省", "黑龙江省"),
    "华东": ("上海市", "江苏省", "浙江省", "安徽省", "福建省", "江西省", "山东省", "台湾省"),
    "华中": ("河南省", "湖北省", "湖南省"),
    "华南": ("广东省", "广西壮族自治区", "海南省", "香港特别行政区", "澳门特别行政区"),
    "西南": ("重庆市", "四川省", "贵州省", "云南省", "西藏自治区"),
    "西北": ("陕西省", "甘肃省", "青海省", "宁夏回族自治区", "新疆维吾尔自治区"),
}

# Canonical province → region, in PROVINCES order.
DEFAULT_REGIONS: dict[str, str] = {
    province: region
    for province in PROVINCES
    for region, members in _REGION_MEMBERS.items()
    if province in members
}

# Longest suffix first, so "新疆维吾尔自治区" loses "维吾尔自治区" rather than "自治区".
_SUFFIXES = ("特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市")


def _short_name(full: str) -> str:
    for suffix in _SUFFIXES:
        if full.endswith(suffix):
            return full[: -len(suffix)]
    return full


# Accepted spellings → canonical: the full name and the common short name
# ("四川", "广西", "内蒙古", "新疆", "北京", "香港", …).
_PROVINCE_ALIASES: dict[str, str] = {}
for _full in PROVINCES:
    _PROVINCE_ALIASES[_full] = _full
    _PROVINCE_ALIASES[_short_name(_full)] = _full
del _full


def normalize_province(name: str | None) -> str | None:
    """Canonical full province name, or None if ``name`` is empty/masked/unknown."""
    if not name or not isinstance(name, str):
        return None
    return _PROVINCE_ALIASES.get(name.strip())


@dataclass(frozen=True)
class AddressParts:
    province: str | None
    city: str | None
    district: str | None


_EMPTY = AddressParts(None, None, None)

# City-level rows in cpca's data that are placeholders, not real cities.
_PLACEHOLDER_CITIES = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
_MUNICIPALITIES = frozenset({"北京市", "天津市", "上海市", "重庆市"})

_load_lock = threading.Lock()
_extract: Any = None  # cpca._get_one_addr once loaded


def _load_cpca() -> Any:
    """Import cpca (building its matcher) once; return its single-address extractor.

    cpca 0.5.5 reads its bundled CSV via ``pkg_resources.resource_stream``.
    ``pkg_resources`` costs ~160 ms to import, warns on setuptools 80 and is gone
    from setuptools >= 81, so unless it is already loaded we serve that one call
    from a tiny stand-in backed by ``importlib.resources`` and remove it again.
    """
    global _extract
    if _extract is not None:
        return _extract
    with _load_lock:
        if _extract is not None:
            return _extract
        shim = None
        if "pkg_resources" not in sys.modules:
            from importlib import resources

            shim = types.ModuleType("pkg_resources")

            def resource_stream(package: str, resource_name: str):
                return resources.files(package).joinpath(resource_name).open("rb")

            shim.resource_stream = resource_stream  # type: ignore[attr-defined]
            sys.modules["pkg_resources"] = shim
        try:
            import cpca
        finally:
            if shim is not None and sys.modules.get("pkg_resources") is shim:
                del sys.modules["pkg_resources"]
        # The public cpca.transform() builds a pandas DataFrame per call (~0.8 ms);
        # the per-address extractor it wraps is ~10 µs.  cpca is pinned exactly.
        extract = getattr(cpca, "_get_one_addr", None)
        if extract is None:  # pragma: no cover - only with an unpinned cpca
            version = getattr(cpca, "__version__", "?")
            raise ImportError(f"cpca {version} lacks _get_one_addr; pin cpca==0.5.5")
        _extract = extract
        return _extract


@lru_cache(maxsize=8192)
def parse_address(text: str) -> AddressParts:
    """Province/city/district of a free-text Chinese address (offline, cached).

    The province is inferred from the city or county when absent
    ("张家港市杨舍镇" → 江苏省).  Unrecognised text gives all-None parts.
    """
    if not text or not isinstance(text, str):
        return _EMPTY
    record = _load_cpca()(text, False, {})
    province = normalize_province(record["省"])
    if province is None:
        return _EMPTY
    city = record["市"]
    if city in _PLACEHOLDER_CITIES:
        city = province if province in _MUNICIPALITIES else None
    return AddressParts(province=province, city=city, district=record["区"])


def resolve_province(
    province: str | None, city: str | None, district: str | None, address: str | None
) -> str | None:
    """The order's canonical province: the given one if usable, else parsed from the address."""
    canonical = normalize_province(province)
    if canonical is not None:
        return canonical
    text = "".join(part for part in (city, district, address) if part and isinstance(part, str))
    return parse_address(text).province
