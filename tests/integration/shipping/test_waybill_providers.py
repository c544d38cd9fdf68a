"""Every waybill service through `shipping.services` against its platform's double (SQLite and
PostgreSQL): the double checks each request's signature and answers like the platform; the number it
gives is stored once, asked again it is the same, and its refusals (empty balance, address out of
reach, 5xx) come back as the stable codes; a batch keeps the other packages' numbers."""

import json
import time

import pytest
from huey.contrib.djhuey import HUEY

from tests.integration.shipping.platforms import PLATFORMS, platform
from tests.integration.test_fulfilment_flow import floor  # noqa: F401  (fixture)
from zhongshu.core.models import OutboxEvent
from zhongshu.shipping import providers, services
from zhongshu.shipping.models import Waybill, WaybillAccount


@pytest.fixture(autouse=True)
def clean_queue():
    HUEY.storage.flush_all()
    yield
    HUEY.storage.flush_all()


@pytest.fixture(params=PLATFORMS)
def plat(request, floor, settings):  # noqa: F811
    with platform(request.param, settings) as p:
        yield p


def test_waybill_from_the_platform_service_is_stored_once(plat):
    _, pid = plat.order()
    waybill = services.issue_waybill(pid, "test")
    assert waybill.provider == plat.provider and waybill.carrier == plat.carrier
    assert waybill.waybill_no in plat.book.numbers.values()
    assert waybill.print_data, "the print component needs the provider's print data"
    assert plat.book.calls == 1
    # asked again: the stored waybill, no second call
    assert services.issue_waybill(pid, "test").waybill_no == waybill.waybill_no
    assert plat.book.calls == 1 and Waybill.objects.count() == 1
    # the platform asked again with the same object id (a retry after a lost answer): the same number
    account = WaybillAccount.objects.get()
    service = providers.provider_for(account.provider, services.plain_account(account),
                                     services._connection(account, account.provider))  # fmt: skip
    request = services.waybill_request(waybill.package, account)
    assert request.object_id == waybill.object_id
    [again] = service.get([request])
    assert again.result is not None and again.result.waybill_no == waybill.waybill_no
    assert plat.book.issued == 1


def test_douyin_sort_code_and_taobao_oaid(floor, settings):  # noqa: F811
    with platform("douyin", settings) as p:
        _, pid = p.order()
        w = services.issue_waybill(pid, "test")
        assert w.sort_code == "川 四川 510-A12" and w.print_data["encryptedData"] == "DYENC" + w.waybill_no
    with platform("taobao", settings) as p:
        tid, pid = p.order()
        w = services.issue_waybill(pid, "test")
        req = next(r for r in p.double.requests if "cainiao.waybill.ii.get" in r.body.decode())
        dto = json.loads(req.form["param_waybill_cloud_print_apply_new_request"])["trade_order_info_dtos"][0]
        assert dto["recipient"]["oaid"] == p.double.trades[tid]["oaid"] and dto["recipient"]["tid"] == tid
        assert w.print_data["encryptedData"] == "ENC" + w.waybill_no


def test_cainiao_update_changes_the_receiver_of_a_number(floor, settings):  # noqa: F811
    with platform("taobao", settings) as p:
        _, pid = p.order()
        w = services.issue_waybill(pid, "test")
        account = WaybillAccount.objects.get()
        service = providers.provider_for("cainiao", services.plain_account(account),
                                         services._connection(account, "cainiao"))  # fmt: skip
        result = service.update(services.waybill_request(w.package, account), w.waybill_no)
        assert result.waybill_no == w.waybill_no and result.print_data == {"encryptedData": "UPD"}
        with pytest.raises(providers.WaybillError):
            service.update(services.waybill_request(w.package, account), "7730NOPE")


@pytest.mark.parametrize("fault", ["balance", "unreachable", "5xx"])
def test_refusals_come_back_as_stable_codes_and_nothing_is_stored(plat, fault):
    _, pid = plat.order(province="西藏自治区" if fault == "unreachable" else "四川省")
    if fault == "balance":
        plat.book.balance = 0
    elif fault == "unreachable":
        plat.book.unreachable.add("西藏自治区")
    else:
        plat.double.fail_next(1, status=502)
    with pytest.raises(services.ShippingError) as refused:
        services.issue_waybill(pid, "test")
    expected = {"balance": "insufficient_balance", "unreachable": "address_unreachable",
                "5xx": "provider_unavailable"}[fault]  # fmt: skip
    assert refused.value.code == expected, refused.value.detail
    assert Waybill.objects.count() == 0
    assert OutboxEvent.objects.filter(topic="package.waybill_failed", payload__code=expected).exists()
    # the platform recovers: the same package gets its number
    plat.book.balance, plat.book.unreachable = None, set()
    assert services.issue_waybill(pid, "test").waybill_no in plat.book.numbers.values()


def test_cancel_gives_the_number_back_and_the_next_is_new(plat):
    _, pid = plat.order()
    first = services.issue_waybill(pid, "test")
    services.cancel_waybill(pid, "test", "换快递")
    assert plat.book.cancelled == [first.waybill_no]
    second = services.issue_waybill(pid, "test")
    assert second.waybill_no != first.waybill_no and second.object_id != first.object_id


@pytest.mark.parametrize("name", ["taobao", "pdd", "douyin", "kuaishou"])
def test_batch_keeps_the_others_numbers_when_one_is_refused(floor, settings, name):  # noqa: F811
    with platform(name, settings) as p:
        pids = [p.order()[1] for _ in range(11)]
        bad = p.order(province="西藏自治区")[1]
        p.book.unreachable.add("西藏自治区")
        batch = services.issue_waybills([*pids, bad, 999_999], "test")
        assert sorted(w.package_id for w in batch.issued) == pids
        assert batch.refused[bad][0] == "address_unreachable"
        assert batch.refused[999_999][0] == "not_found"
        assert len({w.waybill_no for w in batch.issued}) == 11
        again = services.issue_waybills(pids, "test")
        assert len(again.already) == 11 and not again.issued


def test_batches_follow_the_provider_batch_size(floor, settings):  # noqa: F811
    with platform("douyin", settings) as p:  # 50 a call
        pids = [p.order()[1] for _ in range(12)]
        services.issue_waybills(pids, "test")
        assert p.book.calls == 1
    with platform("pdd", settings) as p:  # 10 a call
        pids = [p.order()[1] for _ in range(12)]
        services.issue_waybills(pids, "test")
        assert p.book.calls == 2


def test_sf_signs_with_msg_digest_and_a_wrong_check_word_is_refused(floor, settings):  # noqa: F811
    with platform("sf", settings) as p:
        _, pid = p.order()
        WaybillAccount.objects.update(check_word="wrong")
        with pytest.raises(services.ShippingError) as refused:
            services.issue_waybill(pid, "test")
        assert refused.value.code == "auth_failed" and p.double.bad_signatures == 1
        WaybillAccount.objects.update(check_word=p.double.check_word)
        w = services.issue_waybill(pid, "test")
        assert w.sort_code == "028WE-A1" and w.waybill_no.startswith("SF14")


def test_a_timeout_is_retryable_and_the_retry_gets_the_same_number(floor, settings, monkeypatch):  # noqa: F811
    """SF took the order but its answer came too late: the retry gets the first order's number (the
    doc's behaviour; or, where SF refuses the repeat as 重复下单, the provider reads it back)."""
    import httpx

    from zhongshu.shipping.providers import sf

    with platform("sf", settings) as p:
        _, pid = p.order()
        monkeypatch.setattr(sf, "_client", httpx.Client(timeout=0.3))
        p.double.delay_next(1, 0.8)
        with pytest.raises(services.ShippingError) as refused:
            services.issue_waybill(pid, "test")
        assert refused.value.code == "provider_unavailable"
        time.sleep(1.0)  # the platform finished the delayed request meanwhile
        assert p.book.issued == 1
        p.double.refuse_repeats = True
        w = services.issue_waybill(pid, "test")
        assert [w.waybill_no] == list(p.book.numbers.values())
