"""Signatures compared with independent SDKs: each vector's expected value was produced by running
the cited SDK's own code on the inputs shown (the SDK code itself is not part of this repository).

Sources (repository@commit or registry package, path:line):
- Meituan, official Java SDK waimai_open_java_sdk 1.0.12, as kept in
  imrobin/meituan-openapi-java-sdk@e413d5907a9779bef1a168be539a605a468eb9a3
  doc/meituan-java-sdk-sources/waimai_open_java_sdk-1.0.12-SNAPSHOT-sources.jar:
  com/sankuai/meituan/waimai/opensdk/factory/URLFactory.java:338 `genUrlForGenSig` and :369-382
  `concatParams` ("&" + key + "=" + val for every key, empty values too), util/SignGenerator.java:17
  `genSig` (MD5 hex). Run with javac/java 17 (httpclient 4.5 on the class path).
- Meituan, a public push receiver: Code-Fly/MeituanAPI@5316f21bb4cd94b3945985b7f5518a8f46b2f61b
  src/com/meituan/utils/SigUtil.java:59-72 `sortParams` (empty value as `k=`), and
  src/com/base/utils/MapUtil.java:52 (each form value URL-decoded once more, used by
  src/com/meituan/api/controller/OrderPushCallBack.java:68): the twice-encoded push.
- Kuaishou, Node SDK kuaishou-merchant-open-api 1.0.1 (npm; crywolfx/kuaishou-merchant-open-api@
  db2dd8859659e869dce022020cec5e40c493d21e packages/main.ts:159-160 `generateSign`): driven against
  a local HTTP server, the signs below are those it sent.
- JD, three signers, each run in Python: jd-sdk 1.1.1 (PyPI "JD Official SDK", PsKs/jd-sdk)
  jd/api/base.py:30-38 `sign` and :197-198 (access_token only when given); jd-union 18.12.8.18
  (PyPI) jd_union/api/base.py:35-52 `sign` and :222-223; jd 0.0.1 (PyPI, Kevin Kong)
  jd/jd/comm.py:21-30 `Comm.sign`.
"""

from urllib.parse import quote_plus

import pytest

from zhongshu.channels.jd.signing import sign as jd_sign
from zhongshu.channels.kuaishou.signing import HMAC_SHA256, MD5
from zhongshu.channels.kuaishou.signing import sign as ks_sign
from zhongshu.channels.meituan.signing import push_params, sig

# --- Meituan ------------------------------------------------------------------------------------

MT_SECRET = "mt-secret-0123456789abcdef"
MT_GATEWAY = "https://waimaiopen.meituan.com/api/v1/"
MT_PUSH_URL = "https://hub.example/api/v1/push/mt"
MT_PAID_PUSH = {  # a paid-order push with empty caution and invoice_title
    "app_id": "6201", "timestamp": "1764554400", "order_id": "270000000000000009", "app_poi_code": "MT-POI-31",
    "caution": "", "invoice_title": "", "recipient_name": "买家9(先生)",
    "recipient_address": "天府大道北段9号@#四川省成都市武侯区", "total": "164.0",
    "detail": '[{"app_food_code":"MT-KETTLE","quantity":1,"price":159.0}]',
}  # fmt: skip


@pytest.mark.parametrize(
    ("url", "params", "expected"),
    [
        pytest.param(  # the SDK's own genUrlForGenSig("orderGetOrderDetail", …)
            MT_GATEWAY + "order/getOrderDetail",
            {
                "app_id": "6201",
                "timestamp": "1764554400",
                "order_id": "270000000000000001",
                "access_token": "mt-at-0123",
            },
            "e70bd1d753ce4c547a130ab9a5014d56",
            id="official-sdk-call",
        ),
        pytest.param(  # official SDK and Code-Fly agree: remark= takes part
            MT_GATEWAY + "ecommerce/order/getOrderIdByDaySeq",
            {
                "app_id": "6201",
                "timestamp": "1764554400",
                "access_token": "mt-at-0123",
                "app_poi_code": "MT-POI-31",
                "date_time": "20251201",
                "day_seq_start": "1",
                "day_seq_end": "100",
                "remark": "",
            },
            "38ec2d0902a66fd0dcf9746347180c4e",
            id="call-with-an-empty-value",
        ),
        pytest.param(
            MT_PUSH_URL, MT_PAID_PUSH, "5203eb596d361bfbf87ba90b0d282314", id="push-with-empty-fields"
        ),
        pytest.param(
            MT_PUSH_URL,
            {
                "app_id": "6201",
                "timestamp": "1764554400",
                "order_id": "270000000000000009",
                "reason_code": "1002",
                "reason": "用户取消",
            },
            "36773d476d6ad54cf0f16ed626795bf4",
            id="cancel-push",
        ),
    ],
)
def test_meituan_sig_matches_the_official_java_sdk(url, params, expected):
    assert sig(url, params, MT_SECRET) == expected
    assert sig(url, {**params, "sig": expected}, MT_SECRET) == expected  # sig itself takes no part


def test_a_meituan_push_verifies_as_form_decoded_or_decoded_once_more():
    signed = {**MT_PAID_PUSH, "sig": "5203eb596d361bfbf87ba90b0d282314"}
    assert push_params(MT_PUSH_URL, signed, MT_SECRET) == signed
    # encoded twice on the wire: what the form decoding leaves
    twice = {k: v if k == "sig" else quote_plus(v) for k, v in signed.items()}
    assert twice["recipient_name"] == "%E4%B9%B0%E5%AE%B69%28%E5%85%88%E7%94%9F%29"
    assert push_params(MT_PUSH_URL, twice, MT_SECRET) == signed
    assert push_params(MT_PUSH_URL, {**twice, "total": "1.0"}, MT_SECRET) is None
    assert push_params(MT_PUSH_URL, {**signed, "sig": ""}, MT_SECRET) is None


# --- Kuaishou -----------------------------------------------------------------------------------

KS = {"appkey": "ks660340295617067960", "version": "1", "access_token": "ChFvYXV0aC5hY2Nlc3NUb2tlbh-test"}
KS_SECRET = "ks-sign-secret-4567"
KS_LIST = '{"beginTime":1764547200000,"cursor":"","endTime":1764550800000,"orderViewStatus":1,"pageSize":50,"queryType":2,"sort":1}'
KS_DETAIL = '{"oid":2321300000000001}'
KS_ITEMS = '{"pageNumber":1,"pageSize":100}'
KS_DELIVER = '{"expressCode":4,"expressNo":"SF1","orderId":2321300000000001}'


@pytest.mark.parametrize(
    ("method", "param", "sign_method", "timestamp", "expected"),
    [
        ("open.order.cursor.list", KS_LIST, MD5, "1796591905299", "2ebea840ca40fd50a1dd3d866462e206"),
        ("open.order.detail", KS_DETAIL, MD5, "1796591905369", "847caee9119f80eb916a8b259cede6c2"),
        ("open.item.list.get", KS_ITEMS, MD5, "1796591905375", "264676e6ea7af5b311651f9523183ce8"),
        ("open.seller.order.goods.deliver", KS_DELIVER, MD5, "1796591905381", "822023326d2effeec08d9589c9899d07"),
        ("open.order.cursor.list", KS_LIST, HMAC_SHA256, "1796591905441",
         "YBpEAGeVGRybR7JgejBL1hTiUZsf1ub6cR/Uta6kZfY="),
        ("open.order.detail", KS_DETAIL, HMAC_SHA256, "1796591905480", "YuhPB3Dm4+UYquEXwUKnfzzhU3bTaGbFnRwnjm+qfGY="),
        ("open.item.list.get", KS_ITEMS, HMAC_SHA256, "1796591905483", "xRl2pWHTIAofiL4GKK0QAWRsQbDnQyDWoZPLNEG0kE4="),
        ("open.seller.order.goods.deliver", KS_DELIVER, HMAC_SHA256, "1796591905485",
         "OugUqirps8gLGEfhcLYejMQ98WAohWtL2SA1NiB7eM0="),
    ],
)  # fmt: skip
def test_kuaishou_sign_matches_the_node_sdk(method, param, sign_method, timestamp, expected):
    params = {**KS, "method": method, "param": param, "signMethod": sign_method, "timestamp": timestamp}
    assert ks_sign(params, KS_SECRET, sign_method) == expected


# --- JD -----------------------------------------------------------------------------------------

JD_SECRET = "jd-secret-0123456789"
JD_CALL = {"method": "jingdong.pop.order.enSearch", "app_key": "JDAPPKEY0123", "timestamp": "2025-12-01 10:00:00",
           "v": "2.0", "360buy_param_json": '{"orderState":"WAIT_SELLER_STOCK_OUT","page":"1","pageSize":"100"}'}  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param({}, "5436CC82A0AF5F19366AB18507FC499F", id="no-token-omitted"),
        pytest.param(
            {"access_token": "jd-at-0123456789abcdef"}, "D2A7543A54FF37349457DA4ED25E0AB3", id="token"
        ),
        # all three count a present key even with an empty value: what a call must not send
        pytest.param({"access_token": ""}, "5A84C53CB36A8E11EC850C85B057CA8A", id="empty-token-counted"),
    ],
)
def test_jd_sign_matches_three_independent_signers(extra, expected):
    params = {**JD_CALL, **extra}
    assert jd_sign(params, JD_SECRET) == expected
    assert jd_sign({**params, "sign": "X"}, JD_SECRET) == expected
