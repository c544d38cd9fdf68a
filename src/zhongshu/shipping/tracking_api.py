"""The Kuaidi100 push (快递100 订阅推送): `POST /api/v1/tracking/kuaidi100`, form fields `param` and
`sign`, no bearer token — the sign (MD5(param + salt), upper-case) is the authentication."""

import logging

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.responses import Status

from zhongshu.core.responses import errors
from zhongshu.shipping import kuaidi100, tracking

log = logging.getLogger(__name__)
router = Router(tags=["tracking"])


class Kuaidi100Ack(Schema):
    result: bool
    returnCode: str  # noqa: N815  (Kuaidi100's field name)
    message: str


@router.post(
    "/tracking/kuaidi100",
    auth=None,
    response={200: Kuaidi100Ack, 400: Kuaidi100Ack, 401: Kuaidi100Ack, **errors(413)},
    summary="Kuaidi100 tracking push (form `param` + `sign`; signed with the salt, no token)",
    description="Verified with sign = MD5(param + salt) upper-case before anything is read; a wrong sign "
    "gets 401 and changes nothing. Answers Kuaidi100's acknowledgement "
    '`{"result": true, "returnCode": "200", "message": "成功"}`.',
)
def post_kuaidi100(request: HttpRequest):
    param, sign = request.POST.get("param", ""), request.POST.get("sign", "")
    try:
        received = tracking.receive_push(param, sign)
    except tracking.PushRefused as exc:
        wrong_sign = "签名" in str(exc) or "salt" in str(exc)
        log.warning("kuaidi100 push refused: %s", exc)
        status = 401 if wrong_sign else 400
        return Status(status, {"result": False, "returnCode": str(status), "message": str(exc)})
    log.info("kuaidi100 push for …%s applied (known=%s)", received.waybill_no[-4:], received.known)
    return Status(200, kuaidi100.ACK)
