"""The box chosen at the packing bench (SQLite and PostgreSQL): `packaging` in the pack check (API
and PDA page) replaces the package's packaging, the expected weight is recomputed with its weight
and the weigh check uses it; an unknown box is refused and nothing changes."""

import pytest
from django.contrib.auth.models import Group

from tests.integration.test_fulfilment_flow import BAG_G, api, floor, post  # noqa: F401
from tests.integration.test_pda_views import html, works_in
from zhongshu.core.models import OutboxEvent
from zhongshu.core.roles import WAREHOUSE, ensure_roles
from zhongshu.fulfilment import services
from zhongshu.fulfilment.models import Package, PackagingType

GOODS_G = 2 * 500  # the example order: two dumplings


@pytest.fixture
def waved(floor):  # noqa: F811
    post("BOX1")
    wave = services.create_wave("CD", actor="lead")
    pkg = Package.objects.get(wave=wave)
    assert pkg.expected_weight_g == GOODS_G + BAG_G and pkg.packaging.name == "快递袋 小号"
    return pkg


@pytest.fixture
def packer(floor, django_user_model):  # noqa: F811
    ensure_roles()
    user = django_user_model.objects.create_user("packer", password="pack-password-42")
    user.groups.add(Group.objects.get(name=WAREHOUSE))
    works_in(user, "CD")
    return user


def check(api, pkg, weight_g, **extra):  # noqa: F811
    body = {"scans": ["DUMPLING-500G", "DUMPLING-500G"], "weight_g": weight_g, **extra}
    return api.post(f"/api/v1/packages/{pkg.pk}/check", body)


def test_the_api_check_weighs_against_the_box_the_packer_chose(api, waved):  # noqa: F811
    r = check(api, waved, GOODS_G + 150, packaging="纸箱 3号")
    assert r.status_code == 200 and r.json() == {"status": "packed"}
    waved.refresh_from_db()
    assert waved.packaging.name == "纸箱 3号" and waved.expected_weight_g == GOODS_G + 150
    changed = OutboxEvent.objects.get(topic="package.packaging_changed")
    assert "快递袋 小号 → 纸箱 3号" in changed.payload["summary"]
    assert api.get(f"/api/v1/packages/{waved.pk}").json()["expected_weight_g"] == GOODS_G + 150


def test_the_old_expected_weight_no_longer_passes_with_a_heavier_box(api, waved):  # noqa: F811
    r = check(api, waved, GOODS_G + BAG_G, packaging=str(PackagingType.objects.get(name="纸箱 5号").pk))
    assert r.status_code == 409 and r.json()["code"] == "weight_out_of_tolerance"
    assert str(GOODS_G + 280) in r.json()["detail"] and str(GOODS_G + BAG_G) in r.json()["detail"]
    waved.refresh_from_db()
    assert waved.status == "stopped" and waved.expected_weight_g == GOODS_G + 280


def test_an_unknown_or_switched_off_box_is_refused_and_nothing_changes(api, waved):  # noqa: F811
    PackagingType.objects.filter(name="纸箱 1号").update(active=False)
    for name in ("木箱", "纸箱 1号"):
        r = check(api, waved, GOODS_G + BAG_G, packaging=name)
        assert r.status_code == 409 and r.json()["code"] == "unknown_packaging" and name in r.json()["detail"]
    waved.refresh_from_db()
    assert waved.status == "waved" and waved.packaging.name == "快递袋 小号"
    assert check(api, waved, GOODS_G + BAG_G).json() == {"status": "packed"}  # without: as before


def test_a_refused_scan_keeps_the_old_box(api, waved):  # noqa: F811
    r = api.post(
        f"/api/v1/packages/{waved.pk}/check",
        {"scans": ["DUMPLING-500G"], "weight_g": GOODS_G + 60, "packaging": "纸箱 1号"},
    )
    assert r.status_code == 409 and r.json()["code"] == "missing_items"
    waved.refresh_from_db()
    assert waved.packaging.name == "快递袋 小号" and waved.expected_weight_g == GOODS_G + BAG_G


def test_the_packing_page_offers_the_boxes_and_weighs_with_the_chosen_one(client, packer, waved):
    client.force_login(packer)
    client.post("/pda/pack/", {"code": f"P{waved.pk}"})
    form = {"package": str(waved.pk), "scans": "DUMPLING-500G"}
    page = html(client.post("/pda/pack/", {**form, "code": "DUMPLING-500G"}))
    assert 'name="packaging"' in page and "纸箱 3号 · 150 g" in page
    assert f'data-goods="{GOODS_G}"' in page and f'id="expected-g">{GOODS_G + BAG_G}<' in page
    box = PackagingType.objects.get(name="纸箱 3号")
    form["scans"] = "DUMPLING-500G\nDUMPLING-500G"
    done = client.post("/pda/pack/", {**form, "code": str(GOODS_G + 150), "packaging": str(box.pk)})
    assert done.status_code == 200 and 'data-result="packed"' in html(done)
    assert f"{GOODS_G + 150} g" in html(done)
    waved.refresh_from_db()
    assert waved.status == "packed" and waved.packaging == box
