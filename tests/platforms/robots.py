"""Local doubles of the group robots alerts are sent to, checking each request as the platform does.

DingTalk custom robot: /robot/send?access_token=&timestamp=<ms>&sign=; the sign recomputed from the
robot's secret (HMAC-SHA256, key = secret, msg = timestamp + "\\n" + secret, base64; the query's
URL-decoding undoes the urlencode), the timestamp within one hour, 20 messages a minute; errors
310000 (sign/keyword), 300001 (token), 130101 (too fast). WeCom: /cgi-bin/webhook/send?key=, 93000
invalid key, 45009 over 20 a minute. Feishu: /open-apis/bot/v2/hook/<token>, sign in the body
(HMAC-SHA256, key = timestamp + "\\n" + secret, empty message), timestamp in seconds within one hour,
19021 otherwise. Sources in zhongshu/notify/protocols.py. `messages` keeps the accepted bodies.
"""

import base64
import hashlib
import hmac
import time

from tests.platforms.server import PlatformDouble, Request, Response

PER_MINUTE = 20


class _Robot(PlatformDouble):
    def reset(self) -> None:
        super().reset()
        self.messages: list[dict] = []
        self._sent_at: list[float] = []

    def _too_fast(self) -> bool:
        now = time.time()
        self._sent_at = [t for t in self._sent_at if now - t < 60]
        if len(self._sent_at) >= PER_MINUTE:
            return True
        self._sent_at.append(now)
        return False


class DingTalkRobot(_Robot):
    def __init__(self, token: str = "ding-token", secret: str = "SECding-secret", keyword: str = ""):
        self.token, self.secret, self.keyword = token, secret, keyword
        super().__init__()

    def _error(self, code: int, msg: str) -> Response:
        return Response.json({"errcode": code, "errmsg": msg})

    def rate_limited(self, request: Request) -> Response:
        return self._error(130101, "send too fast, exceed 20 times per minute")

    def handle(self, request: Request) -> Response:
        q = request.query
        if request.method != "POST" or request.path != "/robot/send":
            return Response.json({"errcode": 404, "errmsg": "not found"}, status=404)
        if q.get("access_token") != self.token:
            return self._error(300001, "token is not exist")
        ts = q.get("timestamp", "")
        expected = base64.b64encode(
            hmac.new(self.secret.encode(), f"{ts}\n{self.secret}".encode(), hashlib.sha256).digest()
        ).decode()
        if not ts.isdigit() or abs(time.time() * 1000 - int(ts)) > 3600_000:
            return self._error(310000, "invalid timestamp")
        if not hmac.compare_digest(q.get("sign", ""), expected):
            return self._error(310000, "sign not match")
        body = request.json()
        if body.get("msgtype") != "markdown" or not {"title", "text"} <= set(body.get("markdown", {})):
            return self._error(40035, "缺少参数 markdown")
        if self.keyword and self.keyword not in body["markdown"]["text"]:
            return self._error(310000, "keywords not in content")
        if self._too_fast():
            return self.rate_limited(request)
        self.messages.append(body)
        return self._error(0, "ok")


class WeComRobot(_Robot):
    def __init__(self, key: str = "wecom-key"):
        self.key = key
        super().__init__()

    def rate_limited(self, request: Request) -> Response:
        return Response.json({"errcode": 45009, "errmsg": "api freq out of limit"})

    def handle(self, request: Request) -> Response:
        if request.method != "POST" or request.path != "/cgi-bin/webhook/send":
            return Response.json({"errcode": 404, "errmsg": "not found"}, status=404)
        if request.query.get("key") != self.key:
            return Response.json({"errcode": 93000, "errmsg": "invalid webhook url"})
        body = request.json()
        if body.get("msgtype") != "markdown" or not body.get("markdown", {}).get("content"):
            return Response.json({"errcode": 40008, "errmsg": "invalid message type"})
        if self._too_fast():
            return self.rate_limited(request)
        self.messages.append(body)
        return Response.json({"errcode": 0, "errmsg": "ok"})


class FeishuBot(_Robot):
    def __init__(self, token: str = "feishu-hook", secret: str = "feishu-secret"):
        self.token, self.secret = token, secret
        super().__init__()

    def rate_limited(self, request: Request) -> Response:
        return Response.json({"code": 9499, "msg": "too many request", "data": {}})

    def handle(self, request: Request) -> Response:
        if request.method != "POST" or request.path != f"/open-apis/bot/v2/hook/{self.token}":
            return Response.json(
                {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}
            )
        body = request.json()
        ts = str(body.get("timestamp", ""))
        expected = base64.b64encode(
            hmac.new(f"{ts}\n{self.secret}".encode(), b"", hashlib.sha256).digest()
        ).decode()
        fresh = ts.isdigit() and abs(time.time() - int(ts)) <= 3600
        if not fresh or not hmac.compare_digest(str(body.get("sign", "")), expected):
            return Response.json(
                {
                    "code": 19021,
                    "msg": "sign match fail or timestamp is not within one hour from current time",
                }
            )
        if body.get("msg_type") not in ("text", "post", "interactive") or (
            body["msg_type"] == "interactive" and not body.get("card")
        ):
            return Response.json({"code": 9499, "msg": "Bad Request"})
        if self._too_fast():
            return self.rate_limited(request)
        self.messages.append(body)
        return Response.json({"code": 0, "msg": "success", "data": {}})
