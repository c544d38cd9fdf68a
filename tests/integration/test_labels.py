"""Label PDFs through the API (SQLite and PostgreSQL): the PDF is rendered to an image (pdfium) and
its barcodes are read by an independent reader (zxing-cpp): they carry the waybill number, in both
thermal sizes; a wave's PDF has one page per package. A platform order's receiver is masked on the
label; an own-shop order's is printed in clear only for a user with orders.reveal_receiver, and each
such print is audited. The print component's printed/failed report stamps the waybill and lands on
the package's timeline."""

from pathlib import Path

import pypdfium2 as pdfium
import pytest
import zxingcpp
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from tests.integration.test_fulfilment_flow import floor  # noqa: F401  (fixture)
from tests.integration.test_shipping import (  # noqa: F401  (fixtures)
    SENDER,
    api,
    clean_queue,
    order,
    packed_package,
    shop_double,
)
from zhongshu.core.models import OutboxEvent
from zhongshu.core.roles import ensure_roles
from zhongshu.fulfilment.models import Package
from zhongshu.shipping.labels import SIZES
from zhongshu.shipping.models import Waybill, WaybillAccount
from zhongshu.shops.models import Shop

MM = 72 / 25.4
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def pages(pdf: bytes) -> list:
    doc = pdfium.PdfDocument(pdf)
    return [doc[i] for i in range(len(doc))]


def codes(page, dpi: int = 203, keep: str = "") -> list[str]:
    """What an independent barcode reader finds on the page printed at a thermal head's 203 dpi
    (the image kept as docs/screenshots/<keep> to look at)."""
    image = page.render(scale=dpi / 72).to_pil()
    if keep:
        DOCS.mkdir(parents=True, exist_ok=True)
        image.save(DOCS / keep)
    return [r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.Code128)]


def text(page) -> str:
    return page.get_textpage().get_text_range()


def reveal(username: str = "shipper") -> None:
    ensure_roles()  # makes the custom permission orders.reveal_receiver
    user = get_user_model().objects.get(username=username)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="orders", codename="reveal_receiver")
    )


def test_label_pdf_barcode_reads_the_waybill_number_in_both_sizes(api):  # noqa: F811
    pid = packed_package(api, "L1")
    waybill_no = api.post(f"/api/v1/packages/{pid}/waybill").json()["waybill_no"]
    Package.objects.filter(pk=pid).update(flags=["signature_required"])

    # an own-shop order: its receiver is printed in clear, which needs orders.reveal_receiver
    r = api.get(f"/api/v1/packages/{pid}/label.pdf")
    assert r.status_code == 403 and "orders.reveal_receiver" in r.json()["detail"]
    reveal()
    for size, (w, h) in SIZES.items():
        r = api.get(f"/api/v1/packages/{pid}/label.pdf?size={size}")
        assert r.status_code == 200, r.content
        assert r["Content-Type"] == "application/pdf"
        [page] = pages(r.content)
        assert (round(page.get_width() / MM), round(page.get_height() / MM)) == (w, h)
        # the courier's part and the stub
        assert codes(page, keep=f"label-{size}.png") == [waybill_no, waybill_no]
        words = text(page)
        # Chinese text is real text in the PDF (CID font STSong-Light), not boxes
        for expected in ("顺丰速运", "测试面单", "签收验证", "王小明", "13800138000", "人民南路L1号",
                         "成都仓", "手工水饺 500g ×2", "共 2 件", "P" + pid):  # fmt: skip
            assert expected in words, (size, expected, words)
    audits = OutboxEvent.objects.filter(topic="order.receiver_revealed")
    assert audits.count() == 2  # one per clear print, with the purpose
    assert all(e.payload["purpose"] == "label" and e.actor == "shipper" for e in audits)

    assert api.get(f"/api/v1/packages/{pid}/label.pdf?size=A4").status_code == 422


def test_platform_order_label_is_masked_and_needs_no_reveal(api):  # noqa: F811
    cid = "TB1"
    assert api.post("/api/v1/orders", {**order(cid), "shop": "tb"}).status_code == 201
    pid = api.get(f"/api/v1/orders/tb/{cid}").json()["packages"][0]["id"]
    WaybillAccount.objects.create(shop=Shop.objects.get(code="tb"), carrier="ZTO", provider="sandbox",
                                  default=True, **SENDER)  # fmt: skip
    waybill = api.post(f"/api/v1/packages/{pid}/waybill").json()
    r = api.get(f"/api/v1/packages/{pid}/label.pdf?size=76x130")
    assert r.status_code == 200, r.content
    [page] = pages(r.content)
    assert codes(page, keep="label-76x130-platform.png") == [waybill["waybill_no"]] * 2
    words = text(page)
    assert "王**" in words and "138****8000" in words and "收件人已脱敏" in words
    assert "13800138000" not in words and "人民南路TB1号" not in words
    assert not OutboxEvent.objects.filter(topic="order.receiver_revealed").exists()


def test_wave_labels_one_page_per_package_and_refused_while_one_lacks_its_waybill(api):  # noqa: F811
    reveal()
    for cid in ("W1", "W2", "W3"):
        assert api.post("/api/v1/orders", order(cid)).status_code == 201
    wave = api.post("/api/v1/waves", {"warehouse": "CD"}).json()
    wave_id = wave["id"]
    ids = [p.pk for p in Package.objects.filter(wave_id=wave_id).order_by("seed_slot", "pk")]
    assert len(ids) == 3
    api.post(f"/api/v1/packages/{ids[0]}/waybill")
    r = api.get(f"/api/v1/waves/{wave_id}/labels.pdf")
    assert r.status_code == 409 and r.json()["code"] == "no_waybill"
    assert f"P{ids[1]}" in r.json()["detail"] and f"P{ids[2]}" in r.json()["detail"]
    for pid in ids[1:]:
        api.post(f"/api/v1/packages/{pid}/waybill")
    numbers = [Waybill.objects.get(package_id=pid).waybill_no for pid in ids]
    r = api.get(f"/api/v1/waves/{wave_id}/labels.pdf?size=76x130")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    found = pages(r.content)
    assert len(found) == 3
    assert [codes(p)[0] for p in found] == numbers  # one page per package, in seeding-slot order
    assert api.get("/api/v1/waves/999999/labels.pdf").status_code == 404


def test_printed_report_stamps_the_waybill_once_and_failures_are_on_the_timeline(api):  # noqa: F811
    pid = packed_package(api, "R1")
    r = api.post(f"/api/v1/packages/{pid}/printed", {"status": "printed", "printer": "ZD888"})
    assert (r.status_code, r.json()["code"]) == (409, "no_waybill")
    waybill_no = api.post(f"/api/v1/packages/{pid}/waybill").json()["waybill_no"]

    r = api.post(
        f"/api/v1/packages/{pid}/printed", {"status": "failed", "printer": "ZD888", "detail": "缺纸"}
    )
    assert r.status_code == 200 and r.json()["printed_at"] is None
    r = api.post(f"/api/v1/packages/{pid}/printed", {"status": "printed", "printer": "ZD888"})
    first = r.json()["printed_at"]
    assert r.status_code == 200 and first and r.json()["waybill_no"] == waybill_no
    r = api.post(f"/api/v1/packages/{pid}/printed", {"status": "printed", "printer": "ZD888"})
    assert r.json()["printed_at"] == first  # a reprint keeps the first time
    events = OutboxEvent.objects.filter(topic__startswith="package.label_print").order_by("pk")
    summaries = [e.payload["summary"] for e in events]
    assert summaries == [
        f"P{pid}: 面单打印失败 {waybill_no}（打印机 ZD888）：缺纸",
        f"P{pid}: 打印面单 {waybill_no}（打印机 ZD888）",
        f"P{pid}: 补打面单 {waybill_no}（打印机 ZD888）",
    ]
    assert all(e.actor == "api:shipper" for e in events)
    r = api.post(f"/api/v1/packages/{pid}/printed", {"status": "lost"})
    assert r.status_code == 422
    assert api.post("/api/v1/packages/999999/printed", {"status": "printed"}).status_code == 404


@pytest.mark.parametrize("path", ["/api/v1/packages/1/label.pdf", "/api/v1/waves/1/labels.pdf"])
def test_label_endpoints_need_a_token(client, path, db):
    assert client.get(path).status_code == 401
