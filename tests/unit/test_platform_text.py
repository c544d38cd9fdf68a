"""Platform orders whose text carries control characters (a buyer's remark, a title pasted from
elsewhere) still come in, with the characters replaced by spaces; the merchant's own channel stays
strict (422 naming the field)."""

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from tests.factories import example_order
from tests.platforms.douyin import DouyinDouble
from zhongshu.channels.douyin.mapping import to_order
from zhongshu.orders.schemas import OrderIn, platform_order


def dirty() -> dict:
    order = example_order(remark="请\x01尽快\n发货\x7f")
    order["receiver"]["name"] = "王\x00小明"
    order["receiver"]["address"] = "天府大道\t北段\x0b1700号"
    order["lines"][0]["title"] = "手工水饺\x1b 500g"
    return order


def test_a_platform_order_has_its_control_characters_replaced():
    order = platform_order(dirty())
    assert order.remark == "请 尽快\n发货 "
    assert order.receiver.name == "王 小明"
    assert order.receiver.address == "天府大道\t北段 1700号"
    assert order.lines[0].title == "手工水饺  500g"
    assert order.lines[0].sku == "DUMPLING-500G" and str(order.paid_amount) == "64.80"


def test_a_newline_in_a_single_line_field_of_a_platform_order_becomes_a_space():
    order = example_order()
    order["receiver"]["phone"] = "138\n0013\t8000"
    assert platform_order(order).receiver.phone == "138 0013 8000"


def test_the_own_channel_stays_strict():
    with pytest.raises(ValidationError) as caught:
        OrderIn.model_validate(dirty())
    assert {".".join(map(str, e["loc"])) for e in caught.value.errors()} == {
        "remark", "receiver.name", "receiver.address", "lines.0.title"
    }  # fmt: skip


def test_a_douyin_order_with_a_control_character_in_the_buyers_words_is_mapped():
    double = DouyinDouble()
    raw = double.add_order(1, datetime(2026, 11, 11, 0, 1, tzinfo=UTC), [("DUMPLING-500G", 2, 3990)])
    raw["buyer_words"] = "放门口\x02谢谢"
    order = to_order("dy", raw)
    assert order is not None and order.remark == "放门口 谢谢"
