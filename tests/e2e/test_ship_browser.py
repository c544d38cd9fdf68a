"""Out the door in real Chromium: a warehouse user opens the wave's print page, picks the Cainiao print
component (a local websocket double that records the task) and a printer, prints a packed package's
label through it — the recorded task carries the waybill's print_data and the chosen printer, and the
component's printed result reaches zhongshu (the waybill's printed_at, the package's timeline). The
printer is remembered on this workstation. With no component the PDF label opens instead. Then the
outbound scan page ships the package by scanning the waybill number (keyboard wedge: the number then
Enter): loud green, the order shown shipped, the tally 1; a second scan is a yellow warning, an
unknown number a red error.

Needs /usr/bin/chromium (scripts/ensure-chromium). Test data is written before the tab opens and
checked after it closes (Django's ORM must not run while Playwright's loop is active). Screenshots go
to docs/screenshots/ (ship-*.png).
"""

import pytest
from django.contrib.auth.models import Group, User

from tests.e2e.conftest import chinese_tab
from tests.e2e.test_pda_browser import DOCS, PHONE, scan, shot
from tests.factories import example_order, put_stock
from tests.platforms.print_component import CainiaoPrintDouble, JdPrintDouble
from zhongshu.core import outbox
from zhongshu.core.models import OutboxEvent
from zhongshu.core.roles import WAREHOUSE, ensure_roles
from zhongshu.fulfilment import defaults, services
from zhongshu.fulfilment.models import FulfilmentSettings, Package, PackagingType, WaveStrategy
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake
from zhongshu.shipping import services as shipping
from zhongshu.shipping.models import Waybill, WaybillAccount
from zhongshu.shops.models import Shop

pytestmark = pytest.mark.e2e

USERNAME, PASSWORD = "chuku", "e2e-warehouse-password-2"
# what cainiao.waybill.ii.get returns as print_data for an encrypted order (its shape: ShopeX/OMS
# printer.js pushes it unchanged as the document's content; the values here are made up)
CAINIAO_PRINT_DATA = {
    "encryptedData": "AES:mN3kq8vYc2Lr0pQ==",
    "signature": "MD:Zf2c9a1e",
    "templateURL": "http://cloudprint.cainiao.com/template/standard/101/605",
    "ver": "waybill_print_secret_version_1",
}
SENDER = dict(sender_name="成都仓", sender_phone="02888886666", sender_province="四川省",
              sender_city="成都市", sender_district="双流区", sender_address="物流大道1号")  # fmt: skip


@pytest.fixture
def door(transactional_db, hub):
    """Three orders to three receivers at CD, in one wave, packed: two with sandbox waybills, the
    third with a waybill as Cainiao gives it (encrypted print_data for the component)."""
    ensure_roles()
    defaults.seed(PackagingType, WaveStrategy, FulfilmentSettings)
    put_stock("DUMPLING-500G", "CD", 50)
    for cid in ("OUT1", "OUT2", "OUT3"):
        receiver = {**example_order()["receiver"], "address": f"{cid}路1号"}
        intake([OrderIn.model_validate(example_order(channel_order_id=cid, receiver=receiver))], actor="e2e")
    outbox.relay()
    wave = services.create_wave("CD", actor="lead")
    WaybillAccount.objects.create(shop=Shop.objects.get(code="mp"), carrier="SF", provider="sandbox",
                                  default=True, **SENDER)  # fmt: skip
    packages = list(Package.objects.filter(wave=wave).order_by("seed_slot", "pk"))
    for pkg in packages:
        result = services.check_package(pkg.pk, ["DUMPLING-500G"] * 2, pkg.expected_weight_g, actor="e2e")
        assert result.ok, result
    for pkg in packages[:2]:
        shipping.issue_waybill(pkg.pk, "e2e")
    Waybill.objects.create(package=packages[2], provider="cainiao", carrier="ZTO", waybill_no="78812345678901",
                           object_id=f"ZSP{packages[2].pk}", print_data=CAINIAO_PRINT_DATA)  # fmt: skip
    User.objects.create_user(USERNAME, password=PASSWORD).groups.add(Group.objects.get(name=WAREHOUSE))
    waybills = {w.package_id: (w.waybill_no, w.print_data) for w in Waybill.objects.all()}
    return {"wave": wave.pk, "packages": [p.pk for p in packages], "waybills": waybills}


def test_print_through_the_cainiao_component_then_ship_by_scanning(playwright_api, live_server, door):
    expect = playwright_api.expect
    base, wave = live_server.url, door["wave"]
    first, second, third = door["packages"]
    number, print_data = door["waybills"][first]
    with CainiaoPrintDouble() as component, chinese_tab(playwright_api) as page:
        page.goto(f"{base}/pda/ship/print/?wave=W{wave}")
        page.wait_for_url(f"{base}/pda/login/?next=/pda/ship/print/%3Fwave%3DW{wave}")
        page.fill("#id_username", USERNAME)
        page.fill("#id_password", PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{base}/pda/ship/print/?wave=W{wave}")
        expect(page.locator("h1")).to_have_text(f"波次 W{wave} 的面单")
        status = page.locator("#component-status")
        # automatic: the Cainiao waybill goes to Cainiao's component, which is not running at its
        # default address on this machine; sandbox waybills print as PDF
        expect(status).to_have_text("未检测到菜鸟打印组件，打印将打开 PDF 面单")
        page.select_option("#component", "cainiao")
        expect(status).to_have_text("未检测到菜鸟打印组件，打印将打开 PDF 面单")
        with page.expect_popup() as popup:
            page.locator(f'tr[data-package="{second}"] button.print-one').click()
        pdf = popup.value
        assert f"/pda/ship/labels/P{second}.pdf?size=100x180" in pdf.url
        pdf.close()
        expect(page.locator(f'tr[data-package="{second}"] .state')).to_contain_text("已打开 PDF 面单")

        # this workstation's component listens elsewhere (the double): set its address, pick a printer
        page.locator("details.advanced summary").click()
        page.fill("#component-url", component.url)
        page.locator("#component-url").press("Enter")
        page.locator("#component-url").blur()
        expect(status).to_have_text("已连接菜鸟打印组件（2 台打印机）")
        expect(page.locator("#printer")).to_have_value("Deli-DL888")  # the component's default
        page.select_option("#printer", "ZD888-菜鸟")
        page.locator(f'tr[data-package="{first}"] button.print-one').click()
        expect(page.locator(f'tr[data-package="{first}"] .state')).to_have_text("已打印")
        expect(page.locator(f'tr[data-package="{first}"]')).to_have_attribute("data-reported", "printed")
        page.screenshot(path=str(DOCS / "ship-print.png"), full_page=True)

        [task] = component.tasks
        assert task["printer"] == "ZD888-菜鸟"
        assert task["documents"] == [{"documentID": number, "contents": [print_data]}]
        assert any(m["cmd"] == "getPrinters" for m in component.received)

        # a paper jam: the component's failure is shown and reported
        component.fail_next("缺纸")
        page.locator(f'tr[data-package="{second}"] button.print-one').click()
        expect(page.locator(f'tr[data-package="{second}"] .state')).to_have_text("打印失败：缺纸")
        expect(page.locator(f'tr[data-package="{second}"]')).to_have_attribute("data-reported", "failed")

        # the choice is remembered on this workstation
        page.reload()
        expect(page.locator("#component")).to_have_value("cainiao")
        expect(status).to_have_text("已连接菜鸟打印组件（2 台打印机）")
        expect(page.locator("#printer")).to_have_value("ZD888-菜鸟")

        # back to automatic: the Cainiao waybill prints through the component, a sandbox one as PDF
        page.select_option("#component", "auto")
        expect(status).to_have_text("已连接菜鸟打印组件（2 台打印机）")
        page.locator(f'tr[data-package="{third}"] button.print-one').click()
        expect(page.locator(f'tr[data-package="{third}"] .state')).to_have_text("已打印")
        assert component.tasks[-1]["documents"] == [
            {"documentID": "78812345678901", "contents": [CAINIAO_PRINT_DATA]}
        ]
        with page.expect_popup() as popup:
            page.locator(f'tr[data-package="{second}"] button.print-one').click()
        popup.value.close()
        assert len(component.tasks) == 3

        # the print page fits a phone; then the outbound scan at the door, on the phone
        page.set_viewport_size(PHONE)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=str(DOCS / "ship-print-phone.png"), full_page=True)
        page.goto(f"{base}/pda/ship/")
        expect(page.locator(".tally b")).to_have_text("0")
        scan(page, number)
        expect(page.locator(".flash.ok")).to_have_text(f"已出库 P{first} · 顺丰速运 {number}")
        expect(page.locator("#panel")).to_have_attribute("data-feedback", "ok")
        expect(page.locator(".shipped")).to_contain_text("OUT1")
        expect(page.locator(".shipped")).to_contain_text("已发货")
        expect(page.locator(".tally b")).to_have_text("1")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shot(page, "ship-scan-ok.png")
        scan(page, number)
        expect(page.locator(".flash.warn")).to_have_text(f"P{first} 已出库过，无需重复扫描")
        expect(page.locator(".tally b")).to_have_text("1")
        scan(page, "ZS990000000000")
        expect(page.locator(".flash.error")).to_contain_text("找不到运单号 ZS990000000000")
        expect(page.locator("#panel")).to_have_attribute("data-feedback", "error")
        shot(page, "ship-scan-error.png")

        # the same page on the desktop at the door: the tally and the last scans
        page.set_viewport_size({"width": 1280, "height": 800})
        page.reload()
        expect(page.locator(".recent")).to_contain_text(number)
        shot(page, "ship-scan-desktop.png")

        assert page.errors == []
        assert [r for r in page.failed_responses if not r.startswith("422 ")] == []

    printed = Waybill.objects.get(package_id=first)
    assert printed.printed_at is not None
    assert Waybill.objects.get(package_id=second).printed_at is None
    events = OutboxEvent.objects.filter(topic__startswith="package.label_print").order_by("pk")
    assert [(e.topic, e.payload["package_id"], e.payload["printer"], e.actor) for e in events] == [
        ("package.label_printed", first, "ZD888-菜鸟", f"pda:{USERNAME}"),
        ("package.label_print_failed", second, "ZD888-菜鸟", f"pda:{USERNAME}"),
        ("package.label_printed", third, "ZD888-菜鸟", f"pda:{USERNAME}"),
    ]
    assert Package.objects.get(pk=first).status == "shipped"
    assert Order.objects.get(channel_order_id="OUT1").status == "shipped"
    assert Package.objects.get(pk=second).status == "packed"


PRINT_ONE = """async ([key, url, job, printer]) => {
    localStorage.setItem("zhongshu.print.url." + key, url);
    const c = await window.ZhongshuPrint.Connection.open(key);
    const list = await c.printers();
    const outcome = await c.print(printer, job);
    c.close();
    return {list, outcome};
}"""


def test_print_js_speaks_each_platforms_protocol(playwright_api, live_server):
    """print.js against the doubles of the other components: Pinduoduo's result message, Douyin's and
    Kuaishou's content items built from their print_data fields, JD's own protocol."""
    # print_data as the providers store it (zhongshu.shipping.providers): the platform's fields plus
    # what zhongshu's own label uses (Douyin's sort code and 集包地)
    douyin_pd = {"encryptedData": "ENC-DY", "signature": "SIG-DY", "templateURL": "https://dy/tpl",
                 "sort_code": "028-A1", "short_address_name": "成都"}  # fmt: skip
    kuaishou_pd = {"encryptedData": "ENC-KS", "signature": "SIG-KS", "key": "K1", "ver": "1",
                   "templateURL": "https://ks/tpl"}  # fmt: skip
    jd_pd = {"printData": "ENC-JD", "templateURL": "https://jd/tpl"}
    pdd = CainiaoPrintDouble(printers=("GP-1324D",), default="GP-1324D", result_cmd="PrintResultNotify")
    dy, ks, jd = CainiaoPrintDouble(), CainiaoPrintDouble(), JdPrintDouble(printers=("JD-P1", "JD-P2"))
    with pdd, dy, ks, jd, chinese_tab(playwright_api) as page:
        page.goto(f"{live_server.url}/static/shipping/print.js")  # same origin; the module runs there
        page.add_script_tag(url=f"{live_server.url}/static/shipping/print.js")

        def run(key, double, print_data, printer, number="N1"):
            job = {"waybill_no": number, "print_data": print_data}
            return page.evaluate(PRINT_ONE, [key, double.url, job, printer])

        r = run("pdd", pdd, {"encryptedData": "ENC-PDD", "signature": "S", "templateUrl": "t"}, "GP-1324D")
        assert r == {"list": {"printers": ["GP-1324D"], "defaultPrinter": "GP-1324D"},
                     "outcome": {"status": "printed", "detail": ""}}  # fmt: skip
        assert pdd.tasks[0]["documents"][0]["contents"] == [
            {"encryptedData": "ENC-PDD", "signature": "S", "templateUrl": "t"}
        ]

        assert run("douyin", dy, douyin_pd, "ZD888-菜鸟")["outcome"]["status"] == "printed"
        assert dy.tasks[0]["documents"][0]["contents"] == [
            {
                "encryptedData": "ENC-DY",
                "signature": "SIG-DY",
                "templateURL": "https://dy/tpl",
            }
        ]
        ks.fail_next("模板不存在")
        assert run("kuaishou", ks, kuaishou_pd, "ZD888-菜鸟")["outcome"] == {
            "status": "failed",
            "detail": "模板不存在",
        }
        assert ks.tasks[0]["documents"][0]["contents"] == [
            {"encryptedData": "ENC-KS", "signature": "SIG-KS", "key": "K1", "templateURL": "https://ks/tpl"}
        ]

        r = run("jd", jd, jd_pd, "JD-P2", number="JDV001")
        assert r == {"list": {"printers": ["JD-P1", "JD-P2"], "defaultPrinter": "Deli-DL888"},
                     "outcome": {"status": "printed", "detail": ""}}  # fmt: skip
        [task] = jd.tasks
        assert task["key"] == "JDV001" and task["parameters"]["printName"] == "JD-P2"
        assert (
            task["parameters"]["printData"] == ["ENC-JD"]
            and task["parameters"]["tempUrl"] == "https://jd/tpl"
        )
        jd.fail_next("缺纸")
        assert run("jd", jd, jd_pd, "JD-P2", number="JDV002")["outcome"] == {
            "status": "failed",
            "detail": "缺纸",
        }
        assert page.errors == []
