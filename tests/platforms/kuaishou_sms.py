"""The Kuaishou gateway double (`tests/platforms/kuaishou.py`, as it is: signature, token, envelope)
with `open.sms.express.send`, the platform's logistics SMS to the buyer of a waybill (POST, param
{signId, templateId, templateParam (a JSON string), waybillCode}; the parameter names from public
Kuaishou SDKs). It records each accepted message; an integer id missing or a templateParam that is not
JSON is refused with the gateway's parameter error. The answer's data ({"messageId"}) is the double's
own choice (UNCONFIRMED)."""

import json

from tests.platforms.kuaishou import BAD_PARAM, KuaishouDouble, _error
from tests.platforms.server import Response


class KuaishouSmsDouble(KuaishouDouble):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._api["open.sms.express.send"] = self._express_sms

    def reset(self) -> None:
        super().reset()
        self.express_sms: list[dict] = []

    def _express_sms(self, p: dict) -> Response:
        if not all(isinstance(p.get(k), int) for k in ("signId", "templateId")) or not p.get("waybillCode"):
            return _error(BAD_PARAM, "signId、templateId、waybillCode不能为空")
        try:
            json.loads(p.get("templateParam") or "")
        except ValueError:
            return _error(BAD_PARAM, "templateParam不是合法的json")
        self.express_sms.append(p)
        return Response.json({"result": 1, "data": {"messageId": len(self.express_sms)}})
