"""JSON Lines import (channels/own/jsonl.py) against the real database and intake."""

import json
from decimal import Decimal

import pytest

from tests.factories import example_order, put_stock
from zhongshu.catalog.services import upsert_sku
from zhongshu.channels.own.jsonl import UnknownShop, import_jsonl
from zhongshu.core.models import OutboxEvent
from zhongshu.inventory.models import StockLevel
from zhongshu.orders.models import Order, OrderLine, OrderTransition

SKUS = ["DUMPLING-500G", "TANGYUAN-400G", "WONTON-300G"]
PLACES = [("四川省", "成都市", "武侯区"), ("广东省", "广州市", "天河区"), ("上海市", "上海市", "浦东新区")]
BAD = {17: "receiver", 500: "lines[0].quantity", 998: "lines[0].sku"}  # line number → field reported


@pytest.fixture
def stocked(hub):
    for code in SKUS[1:]:
        upsert_sku(code, code, Decimal("5.00"), 400, False)
    for code in SKUS:
        for wh in ("GZ", "CD"):
            put_stock(code, wh, 5000)


def order(n: int, **changes) -> dict:
    province, city, district = PLACES[n % 3]
    o = example_order(channel_order_id=f"MP{n:06d}", **changes)
    o["receiver"].update(province=province, city=city, district=district)
    o["lines"][0]["sku"] = SKUS[n % 3]
    o["lines"][0].pop("title")  # the SKU's title is used
    return o


def thousand_orders_with_three_bad() -> list[dict]:
    rows = []
    for line in range(1, 1001):
        o = order(line)
        o.pop("shop")  # most lines rely on --shop
        if line == 17:
            o.pop("receiver")
        elif line == 500:
            o["lines"][0]["quantity"] = -2
        elif line == 998:
            o["lines"][0]["sku"] = "NO-SUCH-SKU"
        rows.append(o)
    return rows


def write(path, rows: list) -> None:
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows)
    )


def reserved() -> dict:
    return {
        (s.sku.code, s.warehouse.code): s.reserved
        for s in StockLevel.objects.select_related("sku", "warehouse")
    }


def test_thousand_orders_three_bad_lines_import_997_and_report_those_lines(stocked, tmp_path):
    path = tmp_path / "orders.jsonl"
    write(path, thousand_orders_with_three_bad())
    seen = []

    report = import_jsonl(path, "mp", progress=lambda done, total: seen.append((done, total)))

    assert (report.total, report.created, report.updated, report.unchanged) == (1000, 997, 0, 0)
    assert {(e.line, e.field) for e in report.errors} == set(BAD.items())
    assert report.error_lines == [17, 500, 998]
    assert Order.objects.filter(shop__code="mp").count() == 997
    assert not Order.objects.filter(channel_order_id__in=["MP000017", "MP000500", "MP000998"]).exists()
    assert Order.objects.filter(status="allocated").count() == 997
    assert set(Order.objects.values_list("warehouse__code", flat=True)) == {"GZ", "CD"}
    assert OrderTransition.objects.filter(actor="import:orders.jsonl").count() == 2 * 997
    assert seen[0] == (0, 1000) and seen[-1] == (1000, 1000) and len(seen) == 3  # start, batch 1, end


def test_reimporting_the_same_file_changes_nothing(stocked, tmp_path):
    path = tmp_path / "orders.jsonl"
    write(path, thousand_orders_with_three_bad())
    import_jsonl(path, "mp", batch_size=300)
    before = (Order.objects.count(), OrderLine.objects.count(), OutboxEvent.objects.count(),
              OrderTransition.objects.count(), reserved())  # fmt: skip

    again = import_jsonl(path, "mp", batch_size=300)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 997)
    assert again.error_lines == [17, 500, 998]
    after = (Order.objects.count(), OrderLine.objects.count(), OutboxEvent.objects.count(),
             OrderTransition.objects.count(), reserved())  # fmt: skip
    assert after == before


@pytest.mark.parametrize("batch_size", [500, 1], ids=["same-batch", "separate-batches"])
def test_a_later_cancelled_version_of_a_line_cancels_and_releases_stock(stocked, tmp_path, batch_size):
    paid = order(1, updated_at="2026-11-27T20:16:00+08:00")
    paid["lines"][0]["quantity"] = 3
    cancelled = {**paid, "status": "cancelled", "updated_at": "2026-11-27T22:00:00+08:00"}
    stale = {**paid, "updated_at": "2026-11-27T21:00:00+08:00"}  # older than the cancel: ignored
    path = tmp_path / "dup.jsonl"
    write(path, [paid, order(2), cancelled, stale])

    report = import_jsonl(path, "mp", batch_size=batch_size)

    assert report.ok and (report.created, report.updated, report.unchanged) == (2, 1, 1)
    o = Order.objects.get(channel_order_id="MP000001")
    assert o.status == "cancelled"
    steps = list(o.transitions.values_list("from_status", "to_status"))
    assert steps == [("", "paid"), ("paid", "allocated"), ("allocated", "cancelled")]
    assert StockLevel.objects.get(sku__code=SKUS[1], warehouse__code="GZ").reserved == 0
    assert StockLevel.objects.get(sku__code=SKUS[2], warehouse__code="GZ").reserved == 2  # order 2 kept


def test_bad_lines_are_named_and_good_lines_kept(stocked, tmp_path):
    path = tmp_path / "mixed.jsonl"
    other_shop = order(4, shop="tb")
    write(
        path,
        [order(1), "", "{not json", "[1, 2]", other_shop, order(6, paid_amount="12.345"), "   ", order(8)],
    )

    report = import_jsonl(path, "mp")

    assert report.total == 6 and report.created == 2
    assert [(e.line, e.field) for e in report.errors] == [
        (3, "json"), (4, "json"), (5, "shop"), (6, "paid_amount"),
    ]  # fmt: skip
    assert "'tb'" in report.errors[2].message and "'mp'" in report.errors[2].message
    assert set(Order.objects.values_list("channel_order_id", flat=True)) == {"MP000001", "MP000008"}


def test_unknown_shop_or_missing_file_writes_nothing(stocked, tmp_path):
    path = tmp_path / "orders.jsonl"
    write(path, [order(1)])
    with pytest.raises(UnknownShop):
        import_jsonl(path, "nope")
    with pytest.raises(OSError):
        import_jsonl(tmp_path / "missing.jsonl", "mp")
    assert not Order.objects.exists()
