"""The group-robot protocols of DingTalk, WeCom and Feishu: URLs, signatures, bodies, answers.

Pure functions (no I/O), shared by the senders and by the local doubles' checks in the tests.

DingTalk custom robot ("自定义机器人", 加签 security setting):
  POST {base}/robot/send?access_token=T&timestamp=<ms>&sign=<s>, where
  s = urlencode(base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}"))); the server refuses a
  timestamp more than one hour away. Body {"msgtype": "markdown", "markdown": {"title", "text"},
  "at": {"atMobiles": [...], "isAtAll": false}}; answer {"errcode": 0, "errmsg": "ok"}; 310000 =
  sign/keyword/IP check failed, 130101 = sending too fast (20 messages a minute per robot).
  Sources: open.dingtalk.com/document/robots/customize-robot-security-settings (quoted in
  blog.csdn.net/weixin_31560545/article/details/116255918), the Rust crate `dingding`
  (docs.rs/crate/dingding, src/signature.rs: vector ("1700000000000", "secret") →
  "OuzzJR5%2BxZ4%2FEYwqtNt6sMYZQMTa%2FHEGvc9miJe7XzY%3D"), x-cold/dingtalk-robot lib/sign.js.
WeCom group robot ("群机器人"):
  POST {base}/cgi-bin/webhook/send?key=KEY, body {"msgtype": "markdown", "markdown": {"content"}};
  answer {"errcode": 0, "errmsg": "ok"}; 93000 = invalid webhook key, 45009 = API freq out of
  limit (20 messages a minute). Sources: developer.work.weixin.qq.com/document/path/91770,
  docs.zhuonian.xyz/api/wecom-webhook.html.
Feishu custom bot ("自定义机器人", 签名校验):
  POST {base}/open-apis/bot/v2/hook/<token>, body {"timestamp": "<seconds>", "sign": s,
  "msg_type": "interactive", "card": {...}} with s = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}",
  msg=b"")) — the key is the string, the message empty; the timestamp must be within one hour.
  Answer {"code": 0, "msg": "success"}; 19021 = sign match fail or timestamp is not within one hour
  from current time; 9499 / 11232 = frequency limited. Sources:
  open.feishu.cn/document/client-docs/bot-v3/add-custom-bot, lynnclub/go v1/sign/feishu.go,
  sharpHL/daily-ai-insight docs/feishu-signature.md.
"""

import base64
import hashlib
import hmac
from urllib.parse import quote_plus

DINGTALK_BASE = "https://oapi.dingtalk.com"
WECOM_BASE = "https://qyapi.weixin.qq.com"
FEISHU_BASE = "https://open.feishu.cn"

DINGTALK_RATE_LIMITED = {130101}
WECOM_RATE_LIMITED = {45009}
FEISHU_RATE_LIMITED = {9499, 11232}


def dingtalk_sign(timestamp_ms: int, secret: str) -> str:
    """urlencode(base64(HMAC-SHA256(key=secret, msg=timestamp + "\\n" + secret)))."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode())


def dingtalk_request(base: str, token: str, secret: str, timestamp_ms: int, title: str, text: str,
                     at_mobiles: list[str]) -> tuple[str, dict]:  # fmt: skip
    """(URL with its query, JSON body) of a signed markdown message; the sign is already urlencoded."""
    url = f"{base.rstrip('/')}/robot/send?access_token={quote_plus(token)}"
    if secret:
        url += f"&timestamp={timestamp_ms}&sign={dingtalk_sign(timestamp_ms, secret)}"
    mention = "".join(f" @{m}" for m in at_mobiles)  # the robot only rings those named in the text too
    body = {
        "msgtype": "markdown",
        "markdown": {"title": title, "text": text + (f"\n\n{mention.strip()}" if mention else "")},
        "at": {"atMobiles": list(at_mobiles), "isAtAll": False},
    }
    return url, body


def wecom_request(base: str, key: str, text: str) -> tuple[str, dict]:
    return (
        f"{base.rstrip('/')}/cgi-bin/webhook/send?key={quote_plus(key)}",
        {"msgtype": "markdown", "markdown": {"content": text}},
    )


def feishu_sign(timestamp_s: int, secret: str) -> str:
    """base64(HMAC-SHA256(key=timestamp + "\\n" + secret, msg=b""))."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_request(base: str, token: str, secret: str, timestamp_s: int, title: str, text: str,
                   template: str = "red") -> tuple[str, dict]:  # fmt: skip
    """(URL, JSON body) of a signed interactive card with a markdown element."""
    body: dict = {
        "msg_type": "interactive",
        "card": {
            "header": {"title": {"tag": "plain_text", "content": title}, "template": template},
            "elements": [{"tag": "markdown", "content": text}],
        },
    }
    if secret:
        body = {"timestamp": str(timestamp_s), "sign": feishu_sign(timestamp_s, secret), **body}
    return f"{base.rstrip('/')}/open-apis/bot/v2/hook/{token}", body
