"""The outbound scan and print pages through Django's test client (SQLite and PostgreSQL): who may use
them, what a scan answers (shipped / already shipped / unknown / not packed), the session's tally, the
print page's jobs and its 取号 button, the console's label PDF (clear receiver only with
orders.reveal_receiver) and the printed report (CSRF-protected JSON)."""

import json
import re

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from tests.factories import example_order
from tests.integration.test_fulfilment_flow import floor  # noqa: F401  (fixture)
from tests.integration.test_shipping import SENDER
from zhongshu.core import outbox
from zhongshu.core.models import OutboxEvent
from zhongshu.core.roles import WAREHOUSE, ensure_roles
from zhongshu.fulfilment import services as floor_services
from zhongshu.fulfilment.models import Package
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake
from zhongshu.shipping import services
from zhongshu.shipping.models import Waybill, WaybillAccount
from zhongshu.shops.models import Shop


@pytest.fixture
def wave(floor):  # noqa: F811
    """Two orders to two receivers in one wave at CD; the shop has a sandbox SF account."""
    ensure_roles()
    for cid in ("C1", "C2"):
        receiver = {**example_order()["receiver"], "address": f"{cid}路1号"}
        intake([OrderIn.model_validate(example_order(channel_order_id=cid, receiver=receiver))], actor="t")
    outbox.relay()
    w = floor_services.create_wave("CD", actor="t")
    WaybillAccount.objects.create(shop=Shop.objects.get(code="mp"), carrier="SF", provider="sandbox",
                                  default=True, **SENDER)  # fmt: skip
    return w


@pytest.fixture
def door(wave):
    user = User.objects.create_user("door", password="x")
    user.groups.add(Group.objects.get(name=WAREHOUSE))
    client = Client()
    client.force_login(user)
    return client


def packages(wave) -> list[Package]:
    return list(Package.objects.filter(wave=wave).order_by("seed_slot", "pk"))


def pack(pkg: Package) -> None:
    assert floor_services.check_package(pkg.pk, ["DUMPLING-500G"] * 2, pkg.expected_weight_g, "t").ok


def test_pages_need_sign_in_and_the_permission(wave, client):
    for path in ("/pda/ship/", "/pda/ship/print/", f"/pda/ship/labels/W{wave.pk}.pdf"):
        r = client.get(path)
        assert r.status_code == 302 and r["Location"].startswith("/pda/login/"), path
    client.force_login(User.objects.create_user("office", password="x"))
    assert client.get("/pda/ship/").status_code == 403
    assert (
        client.post(f"/pda/ship/printed/P{packages(wave)[0].pk}/", "{}", "application/json").status_code
        == 403
    )


def test_scan_ships_a_packed_package_once_and_counts_the_session(wave, door):
    first, second = packages(wave)
    pack(first)
    number = services.issue_waybill(first.pk, "t").waybill_no
    other = services.issue_waybill(second.pk, "t").waybill_no  # waybill taken, not yet packed

    r = door.post("/pda/ship/", {"code": "ZS990000000000"})
    assert r.status_code == 422 and "找不到运单号 ZS990000000000" in r.content.decode()
    r = door.post("/pda/ship/", {"code": other})
    assert r.status_code == 422 and f"P{second.pk} 状态为" in r.content.decode()
    assert "验货称重后才能出库" in r.content.decode()
    r = door.post("/pda/ship/", {"code": f"  {number} "}, HTTP_HX_REQUEST="true")
    page = r.content.decode()
    assert r.status_code == 200 and 'data-feedback="ok"' in page and "<html" not in page  # only the panel
    assert f"已出库 P{first.pk} · 顺丰速运 {number}" in page and "C1" in page
    assert 'data-count="1"' in page
    r = door.post("/pda/ship/", {"code": number})
    assert 'data-feedback="warn"' in r.content.decode() and 'data-count="1"' in r.content.decode()
    assert Order.objects.get(channel_order_id="C1").status == "shipped"
    assert Order.objects.get(channel_order_id="C2").status != "shipped"
    assert door.post("/pda/ship/reset/").status_code == 302
    assert 'data-count="0"' in door.get("/pda/ship/").content.decode()


def test_print_page_lists_jobs_and_takes_missing_waybills(wave, door):
    first, second = packages(wave)
    services.issue_waybill(first.pk, "t")
    page = door.get(f"/pda/ship/print/?wave=W{wave.pk}").content.decode()
    assert "1 个包裹还没有面单：取号" in page
    assert door.post(f"/pda/ship/print/waybills/?wave={wave.pk}").status_code == 302
    assert Waybill.objects.filter(package__in=[first, second]).count() == 2
    r = door.get(f"/pda/ship/print/?wave={wave.pk}")
    jobs = json.loads(
        r.content.decode().split('id="print-jobs" type="application/json">')[1].split("</script>")[0]
    )
    assert [j["waybill_no"] for j in jobs] == [
        Waybill.objects.get(package=p).waybill_no for p in (first, second)
    ]
    assert (
        jobs[0]["print_data"]["label"] == "测试面单"
        and jobs[0]["pdf_url"] == f"/pda/ship/labels/P{first.pk}.pdf"
    )
    assert "已取号 1 个包裹" in r.content.decode()
    assert door.get("/pda/ship/print/?wave=W999999").status_code == 404


def test_console_label_pdf_needs_reveal_for_own_shop_receivers(wave, door):
    pkg = packages(wave)[0]
    services.issue_waybill(pkg.pk, "t")
    r = door.get(f"/pda/ship/labels/P{pkg.pk}.pdf?size=76x130")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF")
    assert OutboxEvent.objects.filter(topic="order.receiver_revealed", actor="door").count() == 1
    assert door.get(f"/pda/ship/labels/P{pkg.pk}.pdf?size=A4").status_code == 422
    assert door.get(f"/pda/ship/labels/W{wave.pk}.pdf").status_code == 409  # the second has no waybill

    clerk = User.objects.create_user("clerk", password="x")
    clerk.user_permissions.add(
        Permission.objects.get(content_type__app_label="shipping", codename="add_waybill")
    )
    other = Client()
    other.force_login(clerk)
    r = other.get(f"/pda/ship/labels/P{pkg.pk}.pdf")
    assert r.status_code == 403 and "查看收货人明文" in r.content.decode()


def test_printed_report_is_csrf_protected_json(wave):
    pkg = packages(wave)[0]
    services.issue_waybill(pkg.pk, "t")
    user = User.objects.create_user("door2", password="x")
    user.groups.add(Group.objects.get(name=WAREHOUSE))
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    url = f"/pda/ship/printed/P{pkg.pk}/"
    body = json.dumps({"status": "printed", "printer": "ZD888"})
    assert client.post(url, body, "application/json").status_code == 403  # no CSRF token
    client.get(f"/pda/ship/print/?package=P{pkg.pk}")
    token = client.cookies["csrftoken"].value
    r = client.post(url, body, "application/json", HTTP_X_CSRFTOKEN=token)
    assert r.status_code == 200 and r.json()["printed_at"]
    r = client.post(url, "[]", "application/json", HTTP_X_CSRFTOKEN=token)
    assert r.status_code == 400
    r = client.post(url, json.dumps({"status": "maybe"}), "application/json", HTTP_X_CSRFTOKEN=token)
    assert r.status_code == 409 and r.json()["code"] == "invalid_status"


def test_pages_speak_english_after_the_language_switch(wave, door):
    door.post("/i18n/setlang/", {"language": "en", "next": "/pda/ship/"})
    page = door.get("/pda/ship/").content.decode()
    assert "Outbound scan" in page and "Scan the label's barcode (waybill number)" in page
    assert re.search(r"[\u4e00-\u9fff]", page) is None, re.findall(r"[\u4e00-\u9fff]+", page)
    pack(packages(wave)[0])
    number = services.issue_waybill(packages(wave)[0].pk, "t").waybill_no
    page = door.post("/pda/ship/", {"code": number}).content.decode()
    assert f"Shipped P{packages(wave)[0].pk}" in page
    page = door.get(f"/pda/ship/print/?wave={wave.pk}").content.decode()
    assert f"Labels of wave W{wave.pk}" in page and "Cainiao print component" in page
    texts = json.loads(page.split('id="print-texts" type="application/json">')[1].split("</script>")[0])
    assert texts["connected"] == "Connected to the %(name)s (printers: %(n)s)"
    assert texts["components"]["jd"] == "JD print component"
