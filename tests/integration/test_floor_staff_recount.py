"""仓库人员 and 盘点任务 (SQLite and PostgreSQL): a floor user sees, claims and packs only in the
warehouses they work in (a user without one is told so, a superuser sees all); a shortage on the PDA
raises a recount task for that location and SKU, closed in the admin with the counted quantity."""

import pytest
from django.contrib.auth.models import Group

from tests.integration.test_pda_views import PASSWORD, floor, html, orders, picker, works_in  # noqa: F401
from zhongshu.core.models import OutboxEvent
from zhongshu.core.roles import WAREHOUSE
from zhongshu.fulfilment import services
from zhongshu.fulfilment.models import Package, RecountTask, Wave


def floor_user(django_user_model, name: str, *warehouses: str):
    user = django_user_model.objects.create_user(name, password=PASSWORD)
    user.groups.add(Group.objects.get(name=WAREHOUSE))
    if warehouses:
        works_in(user, *warehouses)
    return user


def test_a_user_without_a_warehouse_is_told_so_and_sees_nothing(client, floor, django_user_model):  # noqa: F811
    orders("N1")
    wave = services.create_wave("CD", actor="lead")
    client.force_login(floor_user(django_user_model, "newbie"))
    page = html(client.get("/pda/"))
    assert "你的账号还没有分配仓库" in page and "仓库人员" in page
    assert f"<strong>W{wave.pk}</strong>" not in page  # the wave's card (a CSRF token may hold "W1")
    assert client.post(f"/pda/waves/{wave.pk}/claim/").status_code == 302
    assert Wave.objects.get(pk=wave.pk).status == "open"  # refused: not their warehouse
    assert "不是你的仓库" in html(client.get("/pda/"))
    pack = client.get("/pda/pack/")
    assert "你的账号还没有分配仓库" in html(pack)
    pkg = Package.objects.get()
    found = client.post("/pda/pack/", {"code": f"P{pkg.pk}"})
    assert "你的账号还没有分配仓库" in html(found) and "请逐件扫描商品" not in html(found)


def test_a_user_of_another_warehouse_neither_sees_nor_claims_nor_packs(client, floor, django_user_model):  # noqa: F811
    orders("G1")
    wave = services.create_wave("CD", actor="lead")
    client.force_login(floor_user(django_user_model, "gz-picker", "GZ"))
    card = f"<strong>W{wave.pk}</strong>"  # the wave's card (a page's CSRF token may hold "W1")
    assert card not in html(client.get("/pda/"))
    assert card not in html(client.get("/pda/?warehouse=CD"))  # not among their warehouses
    client.post(f"/pda/waves/{wave.pk}/claim/")
    assert Wave.objects.get(pk=wave.pk).status == "open"
    pkg = Package.objects.get()
    refused = client.post("/pda/pack/", {"code": f"P{pkg.pk}"})
    assert refused.status_code == 422 and "找不到包裹" in html(refused)
    by_order = client.post("/pda/pack/", {"code": "G1"})
    assert by_order.status_code == 422 and "找不到包裹" in html(by_order)
    # a hand-made form naming the package is no way round it
    sneaked = client.post("/pda/pack/", {"package": str(pkg.pk), "code": "DUMPLING-500G"})
    assert sneaked.status_code == 422 and "找不到包裹" in html(sneaked)
    assert not OutboxEvent.objects.filter(topic="package.check_refused").exists()


def test_the_user_of_the_warehouse_and_a_superuser_see_and_claim(client, floor, django_user_model):  # noqa: F811
    orders("S1")
    wave = services.create_wave("CD", actor="lead")
    client.force_login(floor_user(django_user_model, "cd-picker", "CD", "GZ"))
    page = html(client.get("/pda/"))
    assert f"W{wave.pk}" in page and 'name="warehouse"' in page  # two warehouses: the switch
    boss = django_user_model.objects.create_superuser("boss", password=PASSWORD)
    client.force_login(boss)
    assert f"W{wave.pk}" in html(client.get("/pda/"))
    assert client.post(f"/pda/waves/{wave.pk}/claim/")["Location"] == f"/pda/waves/{wave.pk}/"
    assert Wave.objects.get(pk=wave.pk).picker == boss


def test_a_shortage_raises_one_recount_task_closed_in_the_admin(client, picker, django_user_model):  # noqa: F811
    orders("R1", "R2", "R3")
    wave = services.create_wave("CD", actor="lead")
    services.claim_wave(wave.pk, picker, "pda:picker")
    client.force_login(picker)
    short = client.post(f"/pda/waves/{wave.pk}/shortage/", {"missing": "1"})
    assert "已报缺货" in html(short)
    task = RecountTask.objects.get()
    assert (task.status, task.location, task.sku.code, task.missing) == (
        "open",
        "A-01-03",
        "DUMPLING-500G",
        1,
    )
    assert task.warehouse.code == "CD" and task.wave_id == wave.pk and task.raised_by == "pda:picker"
    event = OutboxEvent.objects.get(topic="stock.recount_requested")
    assert event.payload["task_id"] == task.pk
    services.report_shortage(wave.pk, "DUMPLING-500G", 2, "pda:picker")  # same place: the same task
    task.refresh_from_db()
    assert RecountTask.objects.count() == 1 and task.missing == 3

    admin = django_user_model.objects.create_superuser("admin", password=PASSWORD)
    client.force_login(admin)
    listed = html(client.get("/admin/fulfilment/recounttask/"))
    assert f"R{task.pk}" in listed and "待盘点" in listed
    url = f"/admin/fulfilment/recounttask/{task.pk}/change/"
    empty = client.post(url, {"counted": "", "note": ""})
    assert empty.status_code == 200 and "请填写盘点数量" in html(empty)
    done = client.post(url, {"counted": "47", "note": "A-01-03 复点"})
    assert done.status_code == 302
    task.refresh_from_db()
    assert (task.status, task.counted, task.note, task.done_by) == ("done", 47, "A-01-03 复点", "admin:admin")
    recounted = OutboxEvent.objects.get(topic="stock.recounted")
    assert recounted.payload["counted"] == 47 and "实有 47 件" in recounted.payload["summary"]
    with pytest.raises(services.FloorError) as again:
        services.complete_recount(task.pk, 40, "admin:admin")
    assert again.value.code == "recount_done"
    assert 'name="counted"' not in html(client.get(url))  # a done task is read only


def test_the_warehouse_role_may_close_recount_tasks(floor, django_user_model):  # noqa: F811
    user = floor_user(django_user_model, "counter", "CD")
    assert user.has_perm("fulfilment.change_recounttask") and user.has_perm("fulfilment.view_recounttask")
    assert not user.has_perm("fulfilment.change_warehousestaff")  # an administrator assigns warehouses


def test_the_new_admin_pages_speak_english_after_the_switch(client, floor, django_user_model):  # noqa: F811
    client.force_login(django_user_model.objects.create_superuser("admin", password=PASSWORD))
    client.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})
    recount = html(client.get("/admin/fulfilment/recounttask/"))
    assert "Recount tasks" in recount and "盘点任务" not in recount
    staff = html(client.get("/admin/fulfilment/warehousestaff/add/"))
    assert "All warehouses" in staff and "Warehouses" in staff and "所有仓库" not in staff
