"""A local double of Kuaidi100 (快递100): the subscription endpoint `POST /poll`, and the pushes it
sends back, signed as Kuaidi100 signs them.

The double checks the form as Kuaidi100's python demo builds it (`schema=json`, `param` = JSON with
company, number, key and parameters{callbackurl, salt, resultv2, phone}); it refuses a wrong key, a
missing callback URL or salt, and an SF subscription without a phone, answering as the service does
({"result": false, "returnCode": ..., "message": ...}; the codes it uses for refusals are its own —
UNCONFIRMED against the real service). A good form gets {"result": true, "returnCode": "200",
"message": "提交成功"} and is recorded in `subscriptions`.

`push_form(salt, ...)` builds what Kuaidi100 POSTs to the callback URL: form `param` (JSON with status
and lastResult{state, nu, com, data[] newest first}) and `sign` = upper-case hex MD5(param + salt), by
the double's own reading of the rule.
"""

import hashlib
import json
from datetime import datetime, timedelta

from tests.platforms.server import PlatformDouble, Request, Response


class Kuaidi100Double(PlatformDouble):
    def __init__(self, key: str):
        super().__init__()
        self.key = key
        self.subscriptions: list[dict] = []

    def handle(self, request: Request) -> Response:
        if request.method != "POST" or request.path != "/poll":
            return Response.json({"result": False, "returnCode": "404", "message": "not found"}, 404)
        form = request.form
        if form.get("schema") != "json":
            return self._refuse("schema 必须为 json")
        try:
            param = json.loads(form.get("param", ""))
        except ValueError:
            return self._refuse("param 不是 JSON")
        parameters = param.get("parameters") or {}
        if param.get("key") != self.key:
            return self._refuse("授权 key 错误", "600")
        if not param.get("company") or not param.get("number"):
            return self._refuse("缺少 company 或 number")
        if not parameters.get("callbackurl") or not parameters.get("salt"):
            return self._refuse("缺少 callbackurl 或 salt")
        if param["company"] == "shunfeng" and not parameters.get("phone"):
            return self._refuse("顺丰单号需要 phone")
        with self._lock:
            self.subscriptions.append(param)
        return Response.json({"result": True, "returnCode": "200", "message": "提交成功"})

    @staticmethod
    def _refuse(message: str, code: str = "700") -> Response:
        return Response.json({"result": False, "returnCode": code, "message": message})

    def numbers(self) -> list[str]:
        return [s["number"] for s in self.subscriptions]


def sign(param: str, salt: str) -> str:
    return hashlib.md5(f"{param}{salt}".encode()).hexdigest().upper()


def push_form(
    salt: str, number: str, company: str, state: str, status: str = "polling",
    steps: list[tuple[str, str]] | None = None, start: datetime | None = None,
) -> dict[str, str]:  # fmt: skip
    """A push as Kuaidi100 sends it; steps = [(place, text)] oldest first (sent newest first)."""
    start = start or datetime(2026, 12, 1, 9, 0, 0)
    rows = []
    for i, (place, text) in enumerate(steps or [("成都市", "【成都市】快件已揽收")]):
        t = (start + timedelta(hours=i)).strftime("%Y-%m-%d %H:%M:%S")
        rows.append({"context": text, "time": t, "ftime": t, "status": "在途", "areaName": place})
    param = json.dumps(
        {
            "status": status,
            "billstatus": "got",
            "message": "3天查询无记录" if status == "abort" else "",
            "lastResult": {"message": "ok", "state": state, "status": "200", "condition": "F00",
                           "ischeck": "1" if state == "3" else "0", "com": company, "nu": number,
                           "data": list(reversed(rows))},
        },
        ensure_ascii=False,
    )  # fmt: skip
    return {"param": param, "sign": sign(param, salt)}
