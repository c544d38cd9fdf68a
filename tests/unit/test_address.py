"""Offline address → province parsing (zhongshu.routing.address). No database needed."""

import subprocess
import sys
import time

import pytest

from zhongshu.routing.address import (
    DEFAULT_REGIONS,
    PROVINCES,
    AddressParts,
    normalize_province,
    parse_address,
    resolve_province,
)

# Messy real-world addresses → expected canonical province.
ADDRESS_CASES = [
    ("四川成都市武侯区天府大道北段1700号", "四川省"),
    ("成都市武侯区天府大道北段1700号", "四川省"),  # no province: inferred from the city
    ("重庆渝中区解放碑", "重庆市"),
    ("广东深圳南山区科技园", "广东省"),
    ("湖北省武汉市洪山区", "湖北省"),
    ("内蒙古呼和浩特市", "内蒙古自治区"),
    ("新疆乌鲁木齐", "新疆维吾尔自治区"),
    ("北京朝阳区", "北京市"),
    ("上海市浦东新区", "上海市"),
    ("广西南宁", "广西壮族自治区"),
    ("香港九龙", "香港特别行政区"),
    ("吉林省吉林市", "吉林省"),
    ("海南三亚", "海南省"),
    ("张家港市杨舍镇", "江苏省"),  # county-level city, no province
    ("菜鸟驿站 湖南长沙岳麓区", "湖南省"),
    ("asdf", None),
]


@pytest.mark.parametrize(("text", "province"), ADDRESS_CASES)
def test_parse_address_province(text, province):
    assert parse_address(text).province == province


def test_parse_address_parts():
    assert parse_address("四川成都市武侯区天府大道北段1700号") == AddressParts("四川省", "成都市", "武侯区")
    assert parse_address("张家港市杨舍镇") == AddressParts("江苏省", "苏州市", "张家港市")
    assert parse_address("吉林省吉林市") == AddressParts("吉林省", "吉林市", None)
    # municipalities: the data's "市辖区" placeholder becomes the municipality itself
    assert parse_address("北京朝阳区") == AddressParts("北京市", "北京市", "朝阳区")
    assert parse_address("重庆渝中区解放碑") == AddressParts("重庆市", "重庆市", "渝中区")


@pytest.mark.parametrize("text", ["asdf", "", "   ", "**", "12345"])
def test_parse_address_garbage(text):
    assert parse_address(text) == AddressParts(None, None, None)


def test_parse_address_is_cached():
    parse_address.cache_clear()
    first = parse_address("湖北省武汉市洪山区")
    assert parse_address("湖北省武汉市洪山区") is first
    assert parse_address.cache_info().hits >= 1


def test_parse_address_is_fast():
    parse_address("成都市武侯区")  # make sure the library is loaded
    texts = [f"{text}{i}号" for i in range(200) for text, _ in ADDRESS_CASES]  # defeat the cache
    start = time.perf_counter()
    for text in texts:
        parse_address(text)
    per_call = (time.perf_counter() - start) / len(texts)
    assert per_call < 1e-3, f"{per_call * 1e6:.0f} µs per uncached call"


def test_import_does_not_load_the_library():
    code = (
        "import sys, zhongshu.routing.address as a\n"
        "assert 'cpca' not in sys.modules and 'ahocorasick' not in sys.modules\n"
        "assert a.parse_address('广西南宁').province == '广西壮族自治区'\n"
        "assert 'pandas' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


NORMALIZE_CASES = [
    ("四川", "四川省"),
    ("四川省", "四川省"),
    (" 四川省 ", "四川省"),
    ("广西", "广西壮族自治区"),
    ("广西壮族自治区", "广西壮族自治区"),
    ("内蒙古", "内蒙古自治区"),
    ("新疆", "新疆维吾尔自治区"),
    ("新疆维吾尔自治区", "新疆维吾尔自治区"),
    ("北京", "北京市"),
    ("北京市", "北京市"),
    ("香港", "香港特别行政区"),
    ("", None),
    ("   ", None),
    (None, None),
    ("**", None),
    ("***", None),
    ("火星", None),
    ("成都市", None),
]


@pytest.mark.parametrize(("name", "expected"), NORMALIZE_CASES)
def test_normalize_province(name, expected):
    assert normalize_province(name) == expected


def test_normalize_province_is_identity_on_canonical_names():
    for province in PROVINCES:
        assert normalize_province(province) == province


def test_thirty_four_provinces():
    assert len(PROVINCES) == 34
    assert len(set(PROVINCES)) == 34
    expected = (
        "北京市",
        "四川省",
        "广西壮族自治区",
        "内蒙古自治区",
        "香港特别行政区",
        "澳门特别行政区",
        "台湾省",
    )
    for name in expected:
        assert name in PROVINCES


def test_every_province_has_a_region():
    assert set(DEFAULT_REGIONS) == set(PROVINCES)
    assert set(DEFAULT_REGIONS.values()) == {"华北", "东北", "华东", "华中", "华南", "西南", "西北"}


@pytest.mark.parametrize(
    ("province", "region"),
    [
        ("北京市", "华北"),
        ("内蒙古自治区", "华北"),
        ("吉林省", "东北"),
        ("台湾省", "华东"),
        ("江西省", "华东"),
        ("湖南省", "华中"),
        ("香港特别行政区", "华南"),
        ("澳门特别行政区", "华南"),
        ("广西壮族自治区", "华南"),
        ("重庆市", "西南"),
        ("西藏自治区", "西南"),
        ("新疆维吾尔自治区", "西北"),
        ("陕西省", "西北"),
    ],
)
def test_default_regions(province, region):
    assert DEFAULT_REGIONS[province] == region


def test_every_parsed_province_has_a_region():
    for text, expected in ADDRESS_CASES:
        province = parse_address(text).province
        if expected is not None:
            assert province in DEFAULT_REGIONS


def test_resolve_province_prefers_given_province():
    assert resolve_province("四川", None, None, "广东深圳南山区科技园") == "四川省"
    assert resolve_province(" 广西壮族自治区 ", "南宁市", None, "") == "广西壮族自治区"


def test_resolve_province_falls_back_to_address():
    assert resolve_province(None, None, None, "张家港市杨舍镇") == "江苏省"
    assert resolve_province("", "成都市", "武侯区", "天府大道北段1700号") == "四川省"
    assert resolve_province("**", "成都市", "武侯区", "天府大道北段1700号") == "四川省"
    assert resolve_province("**", "**", "**", "菜鸟驿站 湖南长沙岳麓区") == "湖南省"
    assert resolve_province(None, "张家港市", None, "杨舍镇") == "江苏省"
    assert resolve_province(None, None, "洪山区", "武汉市") == "湖北省"


def test_resolve_province_unknown():
    assert resolve_province(None, None, None, "asdf") is None
    assert resolve_province("**", "**", "**", "****") is None
    assert resolve_province(None, None, None, "") is None
