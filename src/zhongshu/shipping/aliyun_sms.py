"""Aliyun SMS (短信服务) `SendSms`, Dysmsapi version 2017-05-25, signed with the V1 RPC signature.

The request is a form POST to https://dysmsapi.aliyuncs.com/ with the common parameters (AccessKeyId,
Action=SendSms, Format=JSON, RegionId, SignatureMethod=HMAC-SHA1, SignatureNonce, SignatureVersion=1.0,
Timestamp in UTC ISO 8601, Version=2017-05-25) and the operation's (PhoneNumbers, SignName,
TemplateCode, TemplateParam as JSON). Signature = base64(HMAC-SHA1(AccessKeySecret + "&",
"POST&%2F&" + percentEncode(canonicalized query))), the canonicalized query being the parameters sorted
by name, each name and value percent-encoded per RFC 3986 (space → %20, "*" → %2A, "~" kept) and
joined with "=" and "&". The answer is JSON {Code, Message, RequestId, BizId}; Code "OK" means the
request was accepted (not that the phone received it).

Sources: the parameter list of dew-serverless/acs-sdk-php `data/dysmsapi/2017-05-25/api-docs.php`;
the signature as implemented in apache/libcloud `libcloud/common/aliyun.py` (`_sign_request`:
StringToSign = HTTPMethod + "&" + percentEncode("/") + "&" + percentEncode(CanonicalizedQueryString),
HMAC-SHA1 keyed with the secret + "&") and Alibaba Cloud's "Request signatures" page for RPC APIs
(SignatureVersion 1.0, SignatureNonce a fresh UUID per request). The SMS documentation's worked
example (AccessKeyId testId, secret testSecret, GET → "zJDF+Lrzhj/ThnlvIToysFRq6t4="), reproduced in
many public SDK tests, is reproduced by `signature` (tests/unit/test_after_ship_protocols.py). Newer SDKs sign with V3
(ACS3-HMAC-SHA256); V1 is still accepted by the RPC endpoint (UNCONFIRMED for how long).
"""

import base64
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from urllib.parse import quote

import httpx

ENDPOINT = "https://dysmsapi.aliyuncs.com/"
VERSION = "2017-05-25"
TIMEOUT = 10.0


def percent_encode(value: str) -> str:
    return quote(str(value), safe="~")


def string_to_sign(params: dict[str, str], method: str = "POST") -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"


def signature(params: dict[str, str], secret: str, method: str = "POST") -> str:
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(params, method).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def send_sms_form(
    access_key_id: str, secret: str, phone: str, sign_name: str, template_code: str, template_param: dict,
    nonce: str | None = None, at: datetime | None = None,
) -> dict[str, str]:  # fmt: skip
    """The signed form of one SendSms request."""
    params = {
        "AccessKeyId": access_key_id,
        "Action": "SendSms",
        "Format": "JSON",
        "PhoneNumbers": phone,
        "RegionId": "cn-hangzhou",
        "SignName": sign_name,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": nonce or uuid.uuid4().hex,
        "SignatureVersion": "1.0",
        "TemplateCode": template_code,
        "TemplateParam": json.dumps(template_param, ensure_ascii=False, separators=(",", ":")),
        "Timestamp": (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "Version": VERSION,
    }
    return {**params, "Signature": signature(params, secret)}


def send_sms(url: str, form: dict[str, str]) -> dict:
    """POST the form; the decoded answer (an error answer too). httpx.HTTPError / ValueError on transport."""
    response = httpx.post(url or ENDPOINT, data=form, timeout=TIMEOUT)
    answer = response.json()
    if not isinstance(answer, dict):
        raise ValueError("SendSms answer is not a JSON object")
    return answer
