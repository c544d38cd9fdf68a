"""A local double of Aliyun SMS `SendSms` (Dysmsapi 2017-05-25), checking the V1 RPC signature.

The double recomputes the signature by its own reading of the rule (parameters but Signature sorted
by name, each name and value percent-encoded per RFC 3986, joined; StringToSign = "POST&%2F&" +
percentEncode(that); HMAC-SHA1 keyed with secret + "&", base64), and refuses a wrong one, an unknown
AccessKeyId, a reused SignatureNonce or a Timestamp more than 15 minutes off, as the service answers
(HTTP 400 {"Code": "SignatureDoesNotMatch" | "InvalidAccessKeyId.NotFound" |
"SignatureNonceUsed" | "InvalidTimeStamp.Expired", "Message", "RequestId"}). A good request gets
{"Code": "OK", "Message": "OK", "BizId", "RequestId"} and is recorded in `sent`.
`fail_code` makes the next answers a business refusal (e.g. "isv.BUSINESS_LIMIT_CONTROL").
"""

import base64
import hashlib
import hmac
import string
import uuid
from datetime import UTC, datetime

from tests.platforms.server import PlatformDouble, Request, Response

UNRESERVED = set(string.ascii_letters + string.digits + "-_.~")


def _enc(value: str) -> str:
    return "".join(chr(b) if chr(b) in UNRESERVED else f"%{b:02X}" for b in value.encode())


def expected_signature(params: dict[str, str], secret: str) -> str:
    canonical = "&".join(f"{_enc(k)}={_enc(params[k])}" for k in sorted(params))
    to_sign = "POST&" + _enc("/") + "&" + _enc(canonical)
    return base64.b64encode(
        hmac.new((secret + "&").encode(), to_sign.encode(), hashlib.sha1).digest()
    ).decode()


class AliyunSmsDouble(PlatformDouble):
    def __init__(self, access_key_id: str, secret: str):
        super().__init__()
        self.access_key_id, self.secret = access_key_id, secret
        self.sent: list[dict] = []
        self.refused: list[str] = []
        self.fail_code = ""
        self._nonces: set[str] = set()

    def handle(self, request: Request) -> Response:
        form = request.form
        params = {k: v for k, v in form.items() if k != "Signature"}
        code = self._refusal(form, params)
        if code:
            self.refused.append(code)
            return Response.json({"Code": code, "Message": code, "RequestId": uuid.uuid4().hex}, 400)
        if self.fail_code:
            return Response.json(
                {"Code": self.fail_code, "Message": "触发流控", "RequestId": uuid.uuid4().hex}
            )
        with self._lock:
            self.sent.append(params)
        return Response.json(
            {"Code": "OK", "Message": "OK", "BizId": f"{len(self.sent)}^0", "RequestId": uuid.uuid4().hex}
        )

    def _refusal(self, form: dict, params: dict) -> str:
        if params.get("Action") != "SendSms" or params.get("Version") != "2017-05-25":
            return "InvalidAction.NotFound"
        if params.get("SignatureMethod") != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0":
            return "InvalidSignatureMethod"
        if params.get("AccessKeyId") != self.access_key_id:
            return "InvalidAccessKeyId.NotFound"
        if not hmac.compare_digest(form.get("Signature", ""), expected_signature(params, self.secret)):
            return "SignatureDoesNotMatch"
        try:
            at = datetime.strptime(params.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return "InvalidTimeStamp.Format"
        if abs((datetime.now(UTC) - at).total_seconds()) > 900:
            return "InvalidTimeStamp.Expired"
        with self._lock:
            if params.get("SignatureNonce", "") in self._nonces:
                return "SignatureNonceUsed"
            self._nonces.add(params.get("SignatureNonce", ""))
        for name in ("PhoneNumbers", "SignName", "TemplateCode", "TemplateParam"):
            if not params.get(name):
                return "MissingParameter"
        return ""
