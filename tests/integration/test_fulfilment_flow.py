"""The warehouse floor end to end (SQLite and PostgreSQL): allocated orders become packages (merged
when the merge key allows), waves with pick lists, the pack check with the weigh check through the
API, interception of a cancelled order with its stock released exactly once."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from tests.factories import example_order, put_stock
from zhongshu.catalog.models import Sku, SkuBarcode
from zhongshu.core import outbox
from zhongshu.core.auth import create_token
from zhongshu.core.models import OutboxEvent, TimelineEntry
from zhongshu.fulfilment import defaults, services
from zhongshu.fulfilment.models import (
    FulfilmentSettings,
    Package,
    PackageTransition,
    PackagingType,
    Wave,
    WavePickRow,
    WaveStrategy,
)
from zhongshu.inventory.models import StockLevel
from zhongshu.orders.models import Order, OrderTransition
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake

BAG_G = 10  # the lightest shipped packaging (快递袋 小号)


@pytest.fixture
def floor(hub):
    defaults.seed(PackagingType, WaveStrategy, FulfilmentSettings)
    Sku.objects.filter(code="DUMPLING-500G").update(weight_g=500)
    Sku.objects.create(code="TEA-100G", title="明前龙井 100g", cost_price="30.00", weight_g=120)
    SkuBarcode.objects.create(sku=Sku.objects.get(code="DUMPLING-500G"), code="6901234567892")
    row = put_stock("DUMPLING-500G", "CD", 50)
    StockLevel.objects.filter(pk=row.pk).update(location="A-01-03")
    put_stock("TEA-100G", "CD", 50)
    return None


def post(cid: str, relay: bool = True, **changes):
    [result] = intake([OrderIn.model_validate(example_order(channel_order_id=cid, **changes))], actor="test")
    if relay:
        outbox.relay()  # the test's transaction never commits: deliver the events by hand
    return result.order


def packages_of(order: Order) -> list[Package]:
    return list(Package.objects.filter(package_orders__order=order).order_by("pk"))


def reserved() -> int:
    return StockLevel.objects.get(sku__code="DUMPLING-500G", warehouse__code="CD").reserved


OTHER_ADDRESS = {
    "name": "王小明",
    "phone": "13800138000",
    "province": "四川省",
    "city": "成都市",
    "district": "武侯区",
    "address": "人民南路四段9号",
}


def test_orders_of_one_buyer_to_one_address_share_a_package_others_do_not(floor):
    a = post("M1")
    # the same receiver written differently: full-width digits, spaces, the province/city repeated
    b = post(
        "M2",
        receiver={**example_order()["receiver"], "address": "四川省成都市武侯区 天府大道北段１７００号"},
        lines=[
            {"sku": "TEA-100G", "quantity": 1, "unit_price": "30.00", "paid_amount": "30.00"},
        ],
        paid_amount="25.00",
    )
    other = post("M3", receiver=OTHER_ADDRESS)
    presale = post("M4", presale=True)
    held = post("M5", status="refund_requested")

    assert a.status == b.status == other.status == presale.status == Order.objects.get(pk=a.pk).status
    assert Order.objects.get(pk=held.pk).status == "on_hold"
    [shared] = packages_of(a)
    assert packages_of(b) == [shared]
    assert shared.status == "pending" and shared.warehouse.code == "CD"
    assert sorted(shared.orders.values_list("channel_order_id", flat=True)) == ["M1", "M2"]
    assert shared.expected_weight_g == 2 * 500 + 120 + BAG_G
    assert shared.paid_at is not None and shared.allocated_at is not None
    for o in (other, presale):
        [own] = packages_of(o)
        assert own != shared and own.orders.count() == 1
    assert packages_of(held) == []
    assert Package.objects.count() == 3
    # delivered again (at least once): nothing new
    for o in (a, b, other, presale):
        services.sync_order(o.pk)
    assert Package.objects.count() == 3
    assert PackageTransition.objects.filter(to_status="pending").count() == 3


def test_manual_unmerge_and_merge_are_audited(floor):
    a, b = post("U1"), post("U2")
    [shared] = packages_of(a)
    parts = services.unmerge_order(shared.pk, b.pk, actor="lead")
    assert [p.pk for p in parts][0] == shared.pk and len(parts) == 2
    assert packages_of(b) == [parts[1]] and packages_of(a) == [shared]
    assert parts[1].expected_weight_g == 2 * 500 + BAG_G
    merged = services.merge_packages(shared.pk, [parts[1].pk], actor="lead")
    assert sorted(merged.orders.values_list("channel_order_id", flat=True)) == ["U1", "U2"]
    assert Package.objects.get(pk=parts[1].pk).status == "cancelled"
    other = post("U3", receiver=OTHER_ADDRESS)
    with pytest.raises(services.FloorError) as refused:
        services.merge_packages(shared.pk, [packages_of(other)[0].pk], actor="lead")
    assert refused.value.code == "not_mergeable"


@pytest.fixture
def api(floor, client):
    user = get_user_model().objects.create_user("floor", password="x")
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="fulfilment",
            codename__in=["view_package", "change_package", "add_wave", "view_wave", "change_wave"],
        ),
        # the test also plays the shop posting the orders and reading them back
        *Permission.objects.filter(
            content_type__app_label="orders", codename__in=["add_order", "view_order"]
        ),
    )
    token = create_token("floor")

    class Api:
        def grant(self, codename):
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label="fulfilment", codename=codename)
            )

        def get(self, path):
            return client.get(path, HTTP_AUTHORIZATION=f"Bearer {token}")

        def post(self, path, body):
            r = client.post(path, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
            outbox.relay()
            return r

    return Api()


def test_api_flow_waves_pack_check_weigh_check_and_interception(api):
    for cid, receiver in (
        ("A1", None),
        ("A2", OTHER_ADDRESS),
        ("A3", {**OTHER_ADDRESS, "address": "锦里1号"}),
    ):
        body = example_order(channel_order_id=cid, **({"receiver": receiver} if receiver else {}))
        assert api.post("/api/v1/orders", body).status_code == 201
    assert reserved() == 6

    listed = api.get("/api/v1/packages?status=pending&warehouse=CD").json()
    assert listed["count"] == 3
    detail = api.get("/api/v1/orders/mp/A1").json()
    [ref] = detail["packages"]
    assert ref == {
        "id": ref["id"],
        "status": "pending",
        "warehouse": "CD",
        "carrier": None,
        "waybill_no": None,
    }
    p1 = api.get(f"/api/v1/packages/{ref['id']}").json()
    assert p1["orders"] == [{"shop": "mp", "channel_order_id": "A1"}]
    assert p1["lines"] == [{"sku": "DUMPLING-500G", "quantity": 2}]
    assert (p1["expected_weight_g"], p1["stop_reason"], p1["waybill_no"]) == (1010, None, None)

    r = api.post("/api/v1/waves", {"warehouse": "CD", "strategy": "single-sku"})
    assert r.status_code == 201, r.content
    wave = r.json()
    assert len(wave["packages"]) == 3 and ref["id"] in wave["packages"]
    assert wave["pick_list"] == [{"location": "A-01-03", "sku": "DUMPLING-500G", "quantity": 6}]
    r = api.post("/api/v1/waves", {"warehouse": "CD"})
    assert r.status_code == 409 and r.json()["code"] == "no_package_ready"
    assert Wave.objects.count() == 1

    pid = ref["id"]
    r = api.post(f"/api/v1/packages/{pid}/check", {"scans": ["TEA-100G"], "weight_g": 1010})
    assert (r.status_code, r.json()["code"]) == (409, "wrong_sku")
    assert "TEA-100G" in r.json()["detail"]
    assert Package.objects.get(pk=pid).status == "waved"  # a refused scan changes nothing
    r = api.post(f"/api/v1/packages/{pid}/check", {"scans": ["6901234567892"] * 3, "weight_g": 1010})
    assert (r.status_code, r.json()["code"]) == (409, "surplus_item")
    r = api.post(f"/api/v1/packages/{pid}/check", {"scans": ["6901234567892"], "weight_g": 1010})
    assert (r.status_code, r.json()["code"]) == (409, "missing_items")
    assert Package.objects.get(pk=pid).status == "waved"

    r = api.post(
        f"/api/v1/packages/{pid}/check", {"scans": ["6901234567892", "DUMPLING-500G"], "weight_g": 1200}
    )
    assert (r.status_code, r.json()["code"]) == (409, "weight_out_of_tolerance")
    stopped = api.get(f"/api/v1/packages/{pid}").json()
    assert stopped["status"] == "stopped"
    assert "1010" in stopped["stop_reason"] and "1200" in stopped["stop_reason"]
    assert Order.objects.get(channel_order_id="A1").status == "allocated"
    r = api.post(f"/api/v1/packages/{pid}/check", {"scans": ["DUMPLING-500G"] * 2, "weight_g": 1010})
    assert (r.status_code, r.json()["code"]) == (409, "not_pickable")

    # the second package: right items, weight within 50 g → packed, its order follows (audited)
    p2 = api.get("/api/v1/orders/mp/A2").json()["packages"][0]["id"]
    r = api.post(
        f"/api/v1/packages/{p2}/check", {"scans": ["DUMPLING-500G", "6901234567892"], "weight_g": 1040}
    )
    assert (r.status_code, r.json()) == (200, {"status": "packed"})
    a2 = Order.objects.get(channel_order_id="A2")
    assert a2.status == "packed"
    assert list(OrderTransition.objects.filter(order=a2).values_list("to_status", flat=True))[-2:] == [
        "picking",
        "packed",
    ]
    assert Package.objects.get(pk=p2).packed_at is not None
    assert reserved() == 6

    # a supervisor lets the weight stop go (audited); a packer may not
    assert api.post(f"/api/v1/packages/{pid}/override", {"note": "包材换成纸箱"}).status_code == 403
    api.grant("supervise_package")
    r = api.post(f"/api/v1/packages/{pid}/override", {"note": "包材换成纸箱"})
    assert (r.status_code, r.json()["status"]) == (200, "packed")
    assert Order.objects.get(channel_order_id="A1").status == "packed"
    assert PackageTransition.objects.filter(package_id=pid, to_status="packed", actor="api:floor").exists()

    # the channel cancels the third order before packing: its package is stopped and leaves the
    # wave, its stock is released once (and stays so when the event is delivered again)
    p3 = api.get("/api/v1/orders/mp/A3").json()["packages"][0]["id"]
    cancel = example_order(
        channel_order_id="A3", receiver={**OTHER_ADDRESS, "address": "锦里1号"}, status="cancelled",
        updated_at="2026-11-27T22:00:00+08:00",
    )  # fmt: skip
    assert api.post("/api/v1/orders", cancel).json()["status"] == "cancelled"
    assert reserved() == 4
    p3_now = api.get(f"/api/v1/packages/{p3}").json()
    assert p3_now["status"] == "stopped" and "A3" in p3_now["stop_reason"] and p3_now["wave"] is None
    assert WavePickRow.objects.get(wave_id=wave["id"]).quantity == 4
    services.sync_order(Order.objects.get(channel_order_id="A3").pk)
    assert reserved() == 4
    assert PackageTransition.objects.filter(package_id=p3, to_status="stopped").count() == 1
    r = api.post(f"/api/v1/packages/{p3}/check", {"scans": ["DUMPLING-500G"] * 2, "weight_g": 1010})
    assert (r.status_code, r.json()["code"]) == (409, "not_pickable")


def test_cancel_of_an_order_in_a_pending_package_takes_it_out(floor):
    a = post("C1")
    [pkg] = packages_of(a)
    post("C1", status="cancelled", updated_at="2026-11-27T22:00:00+08:00")
    pkg.refresh_from_db()
    assert pkg.status == "cancelled" and reserved() == 0


def test_picking_on_the_pda_path_shortage_and_finish(floor):
    for cid in ("W1", "W2"):
        post(cid, receiver={**OTHER_ADDRESS, "address": f"{cid}路1号"})
    wave = services.create_wave("CD", actor="lead")
    user = get_user_model().objects.create_user("picker", password="x")
    services.claim_wave(wave.pk, user, actor="picker")
    assert set(Package.objects.values_list("status", flat=True)) == {"picking"}
    assert set(Order.objects.values_list("status", flat=True)) == {"picking"}
    with pytest.raises(services.FloorError):
        services.claim_wave(wave.pk, get_user_model().objects.create_user("other"), actor="other")
    services.record_pick(wave.pk, "DUMPLING-500G", 2, actor="picker")
    [short] = services.report_shortage(wave.pk, "6901234567892", 1, actor="picker")
    short.refresh_from_db()
    assert short.status == "stopped" and "A-01-03" in short.stop_reason and short.wave_id is None
    row = WavePickRow.objects.get(wave=wave)
    assert (row.quantity, row.picked, row.short) == (2, 2, 1)
    services.finish_wave(wave.pk, actor="picker")
    done = Package.objects.exclude(pk=short.pk).get()
    assert done.status == "picked" and done.picked_at is not None
    services.resume_package(short.pk, actor="lead")
    assert Package.objects.get(pk=short.pk).status == "pending"


def test_split_covers_the_lines_exactly(floor):
    line = {"sku": "DUMPLING-500G", "quantity": 3, "unit_price": "39.90", "paid_amount": "119.70"}
    o = post("S1", lines=[line], paid_amount="114.70")
    [pkg] = packages_of(o)
    with pytest.raises(services.FloorError):
        services.split_package(pkg.pk, [{"DUMPLING-500G": 1}, {"DUMPLING-500G": 1}], actor="lead")
    first, second = services.split_package(pkg.pk, [{"DUMPLING-500G": 1}, {"DUMPLING-500G": 2}], actor="lead")
    assert first.expected_weight_g == 500 + BAG_G and second.expected_weight_g == 1000 + BAG_G
    assert packages_of(o) == [first, second]
    # both packages packed → the order is packed
    singles, multiples = services.create_wave("CD", actor="lead"), services.create_wave("CD", actor="lead")
    assert (singles.kind, list(singles.packages.all())) == ("single_unit", [first])
    assert (multiples.kind, list(multiples.packages.all())) == ("single_sku", [second])
    assert services.check_package(first.pk, ["DUMPLING-500G"], 510, actor="packer").ok
    assert Order.objects.get(pk=o.pk).status == "picking"
    assert services.check_package(second.pk, ["DUMPLING-500G"] * 2, 1010, actor="packer").ok
    assert Order.objects.get(pk=o.pk).status == "packed"


def test_api_needs_the_fulfilment_permissions(floor, client):
    get_user_model().objects.create_user("nobody", password="x")
    token = create_token("nobody")
    r = client.get("/api/v1/packages", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert r.status_code == 403


def test_an_address_change_before_waving_remakes_the_package(floor):
    """Intake replaces the order's lines on a change; the package's lines let go of them (no
    ProtectedError) and the order gets a package for its new receiver."""
    a = post("R1")
    [old] = packages_of(a)
    post("R1", receiver=OTHER_ADDRESS, updated_at="2026-11-27T22:00:00+08:00")
    old.refresh_from_db()
    assert old.status == "cancelled"
    [new] = packages_of(Order.objects.get(pk=a.pk))
    assert new.status == "pending" and new.lines.get().order_line.order_id == a.pk
    assert reserved() == 2


def test_scheduled_waves_follow_the_setting(floor):
    for cid in ("T1", "T2"):
        post(cid, receiver={**OTHER_ADDRESS, "address": f"{cid}路1号"})
    assert services.scheduled_waves() == []  # 0 minutes: by hand only
    FulfilmentSettings.objects.update(wave_every_minutes=5)
    [wave] = services.scheduled_waves()
    assert (wave.kind, wave.packages.count()) == ("single_sku", 2)
    post("T3", receiver={**OTHER_ADDRESS, "address": "T3路1号"})
    assert services.scheduled_waves() == []  # the last wave is younger than 5 minutes


def test_api_picking_claim_scan_shortage_finish_then_pack(api):
    for cid in ("K1", "K2"):
        body = example_order(channel_order_id=cid, receiver={**OTHER_ADDRESS, "address": f"{cid}路1号"})
        assert api.post("/api/v1/orders", body).status_code == 201
    wave = api.post("/api/v1/waves", {"warehouse": "CD"}).json()
    wid = wave["id"]
    r = api.post(f"/api/v1/waves/{wid}/claim", {})
    assert (r.status_code, r.json()["status"], r.json()["picker"]) == (200, "claimed", "floor")
    assert set(Order.objects.values_list("status", flat=True)) == {"picking"}
    r = api.post(f"/api/v1/waves/{wid}/pick", {"sku": "TEA-100G"})
    assert (r.status_code, r.json()["code"]) == (409, "wrong_sku")
    r = api.post(f"/api/v1/waves/{wid}/pick", {"sku": "6901234567892", "quantity": 3})
    assert r.json()["pick_list"] == [
        {"location": "A-01-03", "sku": "DUMPLING-500G", "quantity": 4, "picked": 3, "short": 0}
    ]
    r = api.post(f"/api/v1/waves/{wid}/finish", {})
    assert (r.status_code, r.json()["code"]) == (409, "missing_items")
    r = api.post(f"/api/v1/waves/{wid}/shortage", {"sku": "DUMPLING-500G", "quantity": 1})
    [stopped] = r.json()["stopped"]
    assert stopped == wave["packages"][-1]
    assert "A-01-03" in api.get(f"/api/v1/packages/{stopped}").json()["stop_reason"]
    r = api.post(f"/api/v1/waves/{wid}/finish", {})
    assert r.json()["status"] == "done"
    assert r.json()["pick_list"] == [
        {"location": "A-01-03", "sku": "DUMPLING-500G", "quantity": 2, "picked": 2, "short": 1}
    ]
    [picked] = [p for p in wave["packages"] if p != stopped]
    assert api.get(f"/api/v1/packages/{picked}").json()["status"] == "picked"
    r = api.post(
        f"/api/v1/packages/{picked}/check", {"scans": ["DUMPLING-500G", "DUMPLING-500G"], "weight_g": 990}
    )
    assert (r.status_code, r.json()) == (200, {"status": "packed"})
    assert Package.objects.get(pk=picked).orders.get().status == "packed"
    assert Package.objects.get(pk=stopped).orders.get().status == "picking"  # held back by its stop
    assert TimelineEntry.objects.filter(
        kind="stock.recount_requested", subject="stock:DUMPLING-500G"
    ).exists()


def test_orders_of_one_buyer_in_one_relay_batch_share_a_package(floor):
    """The packages of a relay batch's orders are written together at the chunk's end; a second order
    of the same buyer in the same batch still finds the first one's package (written before the
    lookup), and the package's events follow its insert."""
    tea = [{"sku": "TEA-100G", "quantity": 1, "unit_price": "30.00", "paid_amount": "30.00"}]
    payloads = [
        example_order(channel_order_id="B1"),
        example_order(channel_order_id="B2", receiver=OTHER_ADDRESS),
        example_order(channel_order_id="B3", lines=tea, paid_amount="25.00"),  # B1's buyer
        example_order(channel_order_id="B4", receiver=OTHER_ADDRESS, lines=tea, paid_amount="25.00"),
    ]
    intake([OrderIn.model_validate(p) for p in payloads], actor="test")
    outbox.relay()
    by_order = {
        cid: [p.pk for p in packages_of(Order.objects.get(channel_order_id=cid))]
        for cid in ("B1", "B2", "B3", "B4")
    }
    assert by_order["B1"] == by_order["B3"] and by_order["B2"] == by_order["B4"]
    assert len(by_order["B1"]) == 1 and by_order["B1"] != by_order["B2"] and Package.objects.count() == 2
    first = Package.objects.get(pk=by_order["B1"][0])
    assert first.expected_weight_g == 2 * 500 + 120 + BAG_G and first.lines.count() == 2
    created = OutboxEvent.objects.filter(topic="package.status_changed", payload__to="pending")
    assert sorted(ev.payload["package_id"] for ev in created) == sorted(by_order["B1"] + by_order["B2"])
    assert OutboxEvent.objects.filter(topic="package.merged").count() == 2


def test_a_cancelled_order_leaves_a_pending_merged_package_the_other_stays(floor):
    a = post("X1")
    b = post(
        "X2",
        lines=[{"sku": "TEA-100G", "quantity": 1, "unit_price": "30.00", "paid_amount": "30.00"}],
        paid_amount="25.00",
    )
    [shared] = packages_of(a)
    assert packages_of(b) == [shared]
    post("X2", status="cancelled", updated_at="2026-11-27T22:00:00+08:00",
         lines=[{"sku": "TEA-100G", "quantity": 1, "unit_price": "30.00", "paid_amount": "30.00"}],
         paid_amount="25.00")  # fmt: skip
    shared.refresh_from_db()
    assert shared.status == "pending" and list(shared.orders.all()) == [a]
    assert shared.expected_weight_g == 2 * 500 + BAG_G
    assert StockLevel.objects.get(sku__code="TEA-100G", warehouse__code="CD").reserved == 0
    assert reserved() == 2


def test_refused_floor_actions_answer_the_same_way_at_every_endpoint(api):
    """One handler of FloorError for the API (zhongshu.api): 404 {detail} for what does not exist,
    409 {code, detail} for a refusal, whichever endpoint raised it."""
    api.grant("supervise_package")
    r = api.post("/api/v1/waves", {"warehouse": "NOPE"})
    assert (r.status_code, r.json()) == (404, {"detail": "仓库 NOPE 不存在"})
    assert api.post("/api/v1/waves/999/claim", {}).status_code == 404
    assert api.post("/api/v1/packages/999/merge", {"with": [998]}).json() == {"detail": "包裹 999 不存在"}
    r = api.post("/api/v1/waves", {"warehouse": "CD"})
    assert r.status_code == 409 and set(r.json()) == {"code", "detail"}
    pkg = packages_of(post("E1"))[0]
    r = api.post(f"/api/v1/packages/{pkg.pk}/resume", {"note": ""})
    assert (r.status_code, r.json()["code"]) == (409, "not_stopped")


def test_a_package_reserved_on_stock_in_transit_is_not_waved_until_it_arrives(api):
    put_stock("DUMPLING-500G", "CD", 0, in_transit=10)
    assert api.post("/api/v1/orders", example_order(channel_order_id="T1")).status_code == 201
    assert reserved() == 2  # allocated on the usable in-transit quantity
    r = api.post("/api/v1/waves", {"warehouse": "CD"})
    assert (r.status_code, r.json()["code"]) == (409, "no_package_ready")
    put_stock("DUMPLING-500G", "CD", 2, in_transit=8)  # the goods arrive
    r = api.post("/api/v1/waves", {"warehouse": "CD"})
    assert r.status_code == 201 and len(r.json()["packages"]) == 1
