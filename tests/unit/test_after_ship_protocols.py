"""The protocol functions after the ship, against worked examples: Aliyun's V1 RPC signature (the SMS
documentation's SendSms example, GET), Kuaidi100's push sign and subscribe form, notice templates."""

import hashlib
import json

import pytest

from zhongshu.shipping import aliyun_sms, kuaidi100
from zhongshu.shipping.notices import TemplateInvalid, check_template

# Aliyun SMS documentation's signature example (HTTP协议及签名), reproduced in many public SDK tests
DOC_PARAMS = {
    "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
    "PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用",
    "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
    "SignatureVersion": "1.0", "TemplateCode": "SMS_71390007", "TemplateParam": '{"customer":"test"}',
    "Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25",
}  # fmt: skip


def test_aliyun_signature_reproduces_the_documented_example():
    assert aliyun_sms.signature(DOC_PARAMS, "testSecret", method="GET") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="
    assert aliyun_sms.string_to_sign(DOC_PARAMS, "GET").startswith("GET&%2F&AccessKeyId%3DtestId%26Action")


def test_aliyun_percent_encoding_follows_rfc3986():
    assert aliyun_sms.percent_encode("a b*~/") == "a%20b%2A~%2F"


def test_send_sms_form_is_signed_over_every_parameter_but_the_signature():
    form = aliyun_sms.send_sms_form("id", "secret", "13800138000", "中枢", "SMS_1", {"order_id": "A1"})
    params = {k: v for k, v in form.items() if k != "Signature"}
    assert form["Signature"] == aliyun_sms.signature(params, "secret")
    assert (form["Action"], form["Version"], form["SignatureVersion"]) == ("SendSms", "2017-05-25", "1.0")
    assert json.loads(form["TemplateParam"]) == {"order_id": "A1"}


def test_kuaidi100_sign_is_upper_case_md5_of_param_and_salt():
    param = '{"status":"polling"}'
    expected = hashlib.md5((param + "salt").encode()).hexdigest().upper()
    assert kuaidi100.sign(param, "salt") == expected
    assert kuaidi100.verify(param, expected, "salt") and kuaidi100.verify(param, expected.lower(), "salt")
    assert not kuaidi100.verify(param, expected, "other")
    assert not kuaidi100.verify(param, kuaidi100.sign(param, ""), "")  # no salt: nothing verifies


def test_kuaidi100_subscribe_form():
    form = kuaidi100.subscribe_form("shunfeng", "SF1", "k", "https://hub/cb", "s", phone="8000")
    assert form["schema"] == "json"
    assert json.loads(form["param"]) == {
        "company": "shunfeng", "number": "SF1", "key": "k",
        "parameters": {"callbackurl": "https://hub/cb", "salt": "s", "resultv2": "1", "phone": "8000"},
    }  # fmt: skip


def test_kuaidi100_push_is_parsed_newest_first_and_bad_content_refused():
    param = json.dumps({"status": "shutdown", "lastResult": {"state": "3", "nu": "SF1", "com": "shunfeng", "data": [
        {"context": "已签收", "ftime": "2026-12-02 10:00:00", "areaName": "北京市"},
        {"context": "已揽收", "ftime": "2026-12-01 09:00:00", "areaName": "成都市"},
        {"context": "no time"}]}})  # fmt: skip
    push = kuaidi100.parse_push(param)
    assert (push.status, push.state, push.number) == ("shutdown", "3", "SF1")
    assert [s.text for s in push.steps] == ["已签收", "已揽收"]
    assert push.steps[0].at.isoformat() == "2026-12-02T10:00:00+08:00"
    with pytest.raises(kuaidi100.BadPush):
        kuaidi100.parse_push("not json")


def test_notice_templates_accept_only_known_placeholders():
    check_template("订单{order_id}已由{carrier}发出，运单号{waybill_no}")
    with pytest.raises(TemplateInvalid, match="phone"):
        check_template("订单{order_id} 电话{phone}")
    with pytest.raises(TemplateInvalid):
        check_template("订单{order_id")
