"""The PDA pages (/pda/) through Django's test client, on SQLite and PostgreSQL: sign-in through axes,
the 仓库 role's permissions, claiming and picking a wave with scans, a shortage, finishing, and the
packing bench refusing a wrong SKU, stopping a package outside the weigh tolerance and packing one
that passes."""

import pytest
from django.contrib.auth.models import Group

from tests.factories import example_order, put_stock
from zhongshu.catalog.models import Sku, SkuBarcode
from zhongshu.core import outbox
from zhongshu.core.models import OutboxEvent
from zhongshu.core.roles import WAREHOUSE, ensure_roles
from zhongshu.fulfilment import defaults, services
from zhongshu.fulfilment.models import (
    FulfilmentSettings,
    Package,
    PackagingType,
    WarehouseStaff,
    Wave,
    WaveStrategy,
)
from zhongshu.fulfilment.views import parse_weight
from zhongshu.inventory.models import StockLevel, Warehouse
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake

PASSWORD = "pda-password-42"
BARCODE = "6901234567892"
EXPECTED_G = 2 * 500 + 10  # two dumplings in the lightest bag


@pytest.fixture
def floor(hub):
    defaults.seed(PackagingType, WaveStrategy, FulfilmentSettings)
    Sku.objects.filter(code="DUMPLING-500G").update(weight_g=500)
    Sku.objects.create(code="TEA-100G", title="明前龙井 100g", cost_price="30.00", weight_g=120)
    SkuBarcode.objects.create(sku=Sku.objects.get(code="DUMPLING-500G"), code=BARCODE)
    row = put_stock("DUMPLING-500G", "CD", 50)
    StockLevel.objects.filter(pk=row.pk).update(location="A-01-03")
    ensure_roles()


@pytest.fixture
def picker(floor, django_user_model):
    user = django_user_model.objects.create_user("picker", password=PASSWORD)
    user.groups.add(Group.objects.get(name=WAREHOUSE))
    works_in(user, "CD")
    return user


def works_in(user, *warehouses: str) -> None:
    """仓库人员: the user works in these warehouses."""
    staff, _ = WarehouseStaff.objects.get_or_create(user=user)
    staff.warehouses.add(*Warehouse.objects.filter(code__in=warehouses))


def orders(*cids: str) -> None:
    """Orders of two dumplings each, to different receivers (one package each) at warehouse CD."""
    for cid in cids:
        receiver = {**example_order()["receiver"], "address": f"{cid}路1号"}
        intake([OrderIn.model_validate(example_order(channel_order_id=cid, receiver=receiver))], actor="test")
    outbox.relay()


def html(response) -> str:
    return response.content.decode()


def test_pda_sign_in_goes_through_axes_and_returns_to_the_page(client, picker):
    response = client.get("/pda/")
    assert response.status_code == 302 and response["Location"] == "/pda/login/?next=/pda/"
    page = client.get("/pda/login/?next=/pda/")
    assert page.status_code == 200 and 'name="next" value="/pda/"' in html(page)

    for _ in range(4):
        wrong = client.post("/pda/login/", {"username": "picker", "password": "guess", "next": "/pda/"})
        assert wrong.status_code == 200 and "用户名或密码错误" in html(wrong)
    locked = client.post("/pda/login/", {"username": "picker", "password": "guess", "next": "/pda/"})
    assert locked.status_code == 429  # the fifth wrong password locks, as at the admin
    refused = client.post("/pda/login/", {"username": "picker", "password": PASSWORD, "next": "/pda/"})
    assert refused.status_code == 429 and "_auth_user_id" not in client.session

    from zhongshu.core.login_guard import unlock

    unlock("test", username="picker")
    ok = client.post("/pda/login/", {"username": "picker", "password": PASSWORD, "next": "/pda/"})
    assert ok.status_code == 302 and ok["Location"] == "/pda/"
    assert "待拣波次" in html(client.get("/pda/"))


def test_users_without_the_warehouse_role_get_the_403_page(client, floor, django_user_model):
    client.force_login(django_user_model.objects.create_user("clerk", password=PASSWORD))
    for path in ("/pda/", "/pda/pack/"):
        response = client.get(path)
        assert response.status_code == 403 and "仓库" in html(response)
    assert client.post("/pda/waves/1/claim/").status_code == 403


def test_claim_scan_the_pick_list_report_a_shortage_and_finish(client, picker):
    orders("V1", "V2")
    wave = services.create_wave("CD", actor="lead")
    client.force_login(picker)
    listed = html(client.get("/pda/"))
    assert (
        f"<strong>W{wave.pk}</strong>" in listed
        and "领取波次" in listed
        and "2 个包裹" in listed
        and "共 4 件" in listed
    )

    claimed = client.post(f"/pda/waves/{wave.pk}/claim/")
    assert claimed.status_code == 302 and claimed["Location"] == f"/pda/waves/{wave.pk}/"
    assert Wave.objects.get(pk=wave.pk).picker == picker
    page = html(client.get(f"/pda/waves/{wave.pk}/"))
    assert "请扫货位条码" in page and "A-01-03" in page and 'inputmode="none"' in page

    scan = f"/pda/waves/{wave.pk}/scan/"
    wrong_place = client.post(scan, {"code": "B-02-01"}, HTTP_HX_REQUEST="true")
    assert wrong_place.status_code == 422 and "货位不对" in html(wrong_place)
    assert "<html" not in html(wrong_place)  # htmx gets the panel only
    located = client.post(scan, {"code": "a-01-03"})
    assert "请扫商品条码" in html(located)
    row_id = Wave.objects.get(pk=wave.pk).pick_rows.get().pk
    wrong_item = client.post(scan, {"code": "TEA-100G", "at": row_id})
    assert wrong_item.status_code == 422 and "商品不对" in html(wrong_item)
    picked = client.post(scan, {"code": BARCODE, "at": row_id})
    assert "DUMPLING-500G 已拣 1/4" in html(picked)

    short = client.post(f"/pda/waves/{wave.pk}/shortage/", {"missing": "1"})
    assert "已报缺货" in html(short) and "A-01-03" in html(short)
    stopped = Package.objects.get(status="stopped")
    assert stopped.stop_code == "shortage" and stopped.wave_id is None
    assert OutboxEvent.objects.filter(topic="stock.recount_requested").exists()

    early = client.post(f"/pda/waves/{wave.pk}/finish/")
    assert early.status_code == 422 and "拣货未完成" in html(early)
    client.post(scan, {"code": "A-01-03"})
    done = client.post(scan, {"code": "DUMPLING-500G", "at": row_id})
    assert "已拣 2/2" in html(done)
    finished = client.post(f"/pda/waves/{wave.pk}/finish/")
    assert finished.status_code == 302 and finished["Location"] == "/pda/"
    assert Package.objects.exclude(pk=stopped.pk).get().status == "picked"
    assert f"波次 W{wave.pk} 拣货完成" in html(client.get("/pda/"))


def test_someone_else_cannot_pick_a_claimed_wave(client, picker, django_user_model):
    orders("C1")
    wave = services.create_wave("CD", actor="lead")
    services.claim_wave(wave.pk, picker, actor="picker")
    other = django_user_model.objects.create_user("other", password=PASSWORD)
    other.groups.add(Group.objects.get(name=WAREHOUSE))
    works_in(other, "CD")
    client.force_login(other)
    listed = html(client.get("/pda/"))
    # the wave's card (<strong>W1</strong>), not the bare "W1": a page's random CSRF token may hold it
    assert f"<strong>W{wave.pk}</strong>" not in listed and "没有待拣的波次" in listed
    refused = client.post(f"/pda/waves/{wave.pk}/claim/")
    assert refused.status_code == 302 and "已被领取" in html(client.get("/pda/"))
    assert client.post(f"/pda/waves/{wave.pk}/scan/", {"code": "A-01-03"}).status_code == 302


def test_pack_refuses_a_wrong_sku_stops_a_wrong_weight_and_packs_a_right_one(client, picker):
    orders("K1", "K2")
    services.create_wave("CD", actor="lead")
    first, second = Package.objects.order_by("pk")
    client.force_login(picker)
    assert "请扫包裹号或订单号" in html(client.get("/pda/pack/"))

    def bench(**data):
        return client.post("/pda/pack/", data, HTTP_HX_REQUEST="true")

    unknown = bench(code="NOPE-1")
    assert unknown.status_code == 422 and "找不到包裹" in html(unknown)
    found = bench(code=f"P{first.pk}")
    assert "请逐件扫商品" in html(found) and "0/2" in html(found)
    wrong = bench(package=first.pk, scans="", code="TEA-100G")
    assert wrong.status_code == 422 and "TEA-100G 不是这个包裹里的商品" in html(wrong)
    assert OutboxEvent.objects.filter(topic="package.check_refused").count() == 1  # audited
    typed = bench(package=first.pk, scans="", code="DUMPLING-500G*2")
    assert typed.status_code == 422 and "请逐件扫描" in html(typed)  # a count only above 5 units
    one = bench(package=first.pk, scans="", code=BARCODE)
    assert "已扫 1/2" in html(one)
    two = bench(package=first.pk, scans=BARCODE, code="DUMPLING-500G")
    assert "请称重" in html(two)
    surplus = bench(package=first.pk, scans=f"{BARCODE}\nDUMPLING-500G", code="NOT-A-WEIGHT")
    assert surplus.status_code == 422 and "重量无法识别" in html(surplus)
    heavy = bench(package=first.pk, scans=f"{BARCODE}\nDUMPLING-500G", code="1500")
    page = html(heavy)
    assert heavy.status_code == 422 and "称重异常，包裹已拦截" in page
    assert f"预计 {EXPECTED_G} 克，实称 1500 克" in page
    first.refresh_from_db()
    assert first.status == "stopped" and first.stop_code == "weight_out_of_tolerance"

    by_order = bench(code="K2")  # any of its orders' ids finds the package
    assert f"P{second.pk}" in html(by_order)
    scans = f"{BARCODE}\n{BARCODE}"
    surplus = bench(package=second.pk, scans=BARCODE, code=f"{BARCODE}*1")
    assert "请称重" in html(surplus)
    packed = bench(package=second.pk, scans=scans, code="1.02 kg")
    assert packed.status_code == 200 and "已打包" in html(packed) and 'data-result="packed"' in html(packed)
    second.refresh_from_db()
    assert second.status == "packed" and second.measured_weight_g == 1020
    again = bench(code=f"P{second.pk}")
    assert again.status_code == 422 and "不能验货" in html(again)


def test_a_surplus_unit_is_refused_and_audited(client, picker):
    orders("S1")
    services.create_wave("CD", actor="lead")
    pkg = Package.objects.get()
    client.force_login(picker)
    response = client.post(
        "/pda/pack/", {"package": pkg.pk, "scans": f"{BARCODE}\n{BARCODE}", "code": BARCODE}
    )
    assert response.status_code == 422 and "DUMPLING-500G 多了：应有 2 件，已扫 2 件" in html(response)
    assert OutboxEvent.objects.filter(topic="package.check_refused", payload__code="surplus_item").exists()
    assert Package.objects.get().status == "waved"


def test_weights_from_a_keyboard_scale():
    assert [parse_weight(t) for t in ("1250", "1250g", " 1.25 kg", "1.2345KG", "x", "", "-3")] == [
        1250, 1250, 1250, 1234, None, None, None,
    ]  # fmt: skip


def test_the_pda_speaks_english_after_the_language_switch(client, picker):
    orders("E1")
    wave = services.create_wave("CD", actor="lead")
    client.force_login(picker)
    client.post("/i18n/setlang/", {"language": "en", "next": "/pda/"})
    page = html(client.get("/pda/"))
    assert "Waves to pick" in page and "Claim wave" in page and "packages: 1" in page and "units: 2" in page
    client.post(f"/pda/waves/{wave.pk}/claim/")
    assert "Scan the location barcode" in html(client.get(f"/pda/waves/{wave.pk}/"))
    assert "Scan the package number" in html(client.get("/pda/pack/"))
