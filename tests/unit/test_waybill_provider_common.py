"""The pure parts the waybill providers share: a platform's refusal as a stable code, a batch refused
as a whole asked again one by one (the others keep their numbers), the SF digest, Douyin's pack_id."""

import base64
import hashlib
from urllib.parse import quote_plus

from zhongshu.channels.base import AuthError, ConnectorError, RateLimited, TransientError
from zhongshu.shipping.providers.base import (
    Address,
    Outcome,
    Party,
    WaybillError,
    WaybillRequest,
    WaybillResult,
)
from zhongshu.shipping.providers.common import from_connector, isolating, refusal
from zhongshu.shipping.providers.douyin import pack_id
from zhongshu.shipping.providers.sf import msg_digest

PARTY = Party("王小明", "13800138000", Address("四川省", "成都市", "武侯区", "人民南路1号"))


def request(n: int) -> WaybillRequest:
    return WaybillRequest(f"ZSP{n}", n, "ZTO", "pdd", (f"O{n}",), PARTY, PARTY, (), 1000)


def test_refusals_by_code_or_words():
    assert refusal("3001", "电子面单余额不足").code == "insufficient_balance"
    assert refusal("x", "收件地址超区").code == "address_unreachable"
    assert refusal("B7", "", balance={"B7"}).code == "insufficient_balance"
    assert refusal("41", "Invalid arguments").code == "invalid_request"
    assert from_connector(TransientError("timed out")).retryable
    assert from_connector(RateLimited("slow down")).code == "provider_unavailable"
    assert from_connector(AuthError("expired")).code == "auth_failed"
    assert from_connector(ConnectorError("15 isv.x 面单余额不足", "15")).code == "insufficient_balance"


def test_a_batch_refused_as_a_whole_is_asked_one_by_one():
    calls = []

    def call(reqs):
        calls.append([r.object_id for r in reqs])
        if any(r.package_id == 3 for r in reqs):
            raise WaybillError("address_unreachable", "超区")
        return [
            Outcome(r.object_id, result=WaybillResult(r.object_id, f"N{r.package_id}", "ZTO")) for r in reqs
        ]

    out = isolating(call, [request(n) for n in (1, 2, 3, 4)])
    assert [o.result.waybill_no if o.result else o.error.code for o in out] == [
        "N1",
        "N2",
        "address_unreachable",
        "N4",
    ]
    assert calls[0] == ["ZSP1", "ZSP2", "ZSP3", "ZSP4"] and len(calls) == 5


def test_a_retryable_failure_marks_the_whole_batch_retryable_without_asking_again():
    calls = []

    def call(reqs):
        calls.append(reqs)
        raise WaybillError("provider_unavailable", "502", retryable=True)

    out = isolating(call, [request(1), request(2)])
    assert len(calls) == 1 and all(o.error.retryable for o in out)


def test_sf_digest_is_base64_of_the_md5_of_the_urlencoded_text():
    msg, ts, word = '{"orderId":"ZSP1","contact":"王 小明"}', "1700000000000", "check+word"
    expected = base64.b64encode(hashlib.md5(quote_plus(msg + ts + word).encode()).digest()).decode()
    assert msg_digest(msg, ts, word) == expected
    assert msg_digest(msg, ts, word) != msg_digest(msg, ts, "other")


def test_douyin_pack_id_takes_letters_digits_underscore_up_to_15():
    assert pack_id("ZSP123-2") == "ZSP123_2"
    assert len(pack_id("ZSP1234567890123-4")) == 15
