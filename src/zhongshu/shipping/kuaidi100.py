"""Kuaidi100 (快递100) subscription and push, as plain functions: the subscribe form, the callback's
signature and the push's content. No database here (the use cases are in `shipping.tracking`).

Sources (Kuaidi100's own public demos):
- subscribe: kuaidi100-api/python-demo `code/subscribe.py` — `POST https://poll.kuaidi100.com/poll`
  with form `schema=json` and `param=<JSON>` {company, number, from, to, key, parameters{callbackurl,
  salt, resultv2, autoCom, interCom, phone}}; "salt: 添加该参数，则推送的时候会增加sign"; phone
  (收件人或寄件人的手机号, 后四位 also accepted) is needed for SF.
  kuaidi100-api/go-demo `config/url.go`: POLL_URL = "https://poll.kuaidi100.com/poll".
- callback: kuaidi100-api/java-demo README (FAQ) and `SignUtils.java`: the push is a form with `param`
  (JSON) and `sign`, sign = MD5(param + salt) upper-case; answer
  {"result":true,"returnCode":"200","message":"成功"}.
- push content: java-demo `SubscribePushParamResp`/`SubscribePushResult`/`SubscribePushData`:
  {status: polling|shutdown|abort|updateall, message, lastResult{state, ischeck, com, nu,
  data[]{context, time, ftime, status, areaName, location, ...}}}; data newest first; an `abort`
  (no record for 3 days / no change for 60 days) may be subscribed again after 30 minutes.
- states: java-demo `QueryTrackResp`: 0 在途, 1 揽收, 2 疑难, 3 签收, 4 退签, 5 派件, 6 退回, 7 转投,
  10–13 清关, 14 拒签.
- carrier codes: Kuaidi100's company codes as in third-party tables that name them "快递100支持快递公司
  编码" (YunYouSupplychain/YunYouLogisticsCloud `kd100/CompanyConstant.java`: shunfeng, zhongtong,
  yuantong, shentong, yunda, ems, jd, debangkuaidi) and several public code maps for 极兔 (jtexpress).
UNCONFIRMED: the subscribe answer's other returnCodes (e.g. a duplicate subscription) are not in the
demos we read; any answer with result=true counts as subscribed, anything else as a failure with the
answer kept.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

POLL_URL = "https://poll.kuaidi100.com/poll"
ACK = {"result": True, "returnCode": "200", "message": "成功"}
SHANGHAI = ZoneInfo("Asia/Shanghai")

# the hub's carrier → Kuaidi100 company code (data; a carrier missing here is not subscribed)
COMPANY = {
    "SF": "shunfeng",
    "ZTO": "zhongtong",
    "YTO": "yuantong",
    "STO": "shentong",
    "YUNDA": "yunda",
    "JTSD": "jtexpress",
    "EMS": "ems",
    "JD": "jd",
    "DBKD": "debangkuaidi",
}
NEEDS_PHONE = {"shunfeng"}  # "顺丰速运、顺丰快运必填" (the demo's phone parameter)

SIGNED = "3"
PROBLEM_STATES = {"2": "疑难", "4": "退签", "6": "退回", "14": "拒签"}
STATE_NAMES = {"0": "在途", "1": "揽收", "2": "疑难", "3": "签收", "4": "退签", "5": "派件", "6": "退回",
               "7": "转投", "10": "待清关", "11": "清关中", "12": "已清关", "13": "清关异常", "14": "拒签"}  # fmt: skip
ABORT = "abort"


def subscribe_form(
    company: str, number: str, key: str, callback_url: str, salt: str, phone: str = "", to: str = ""
) -> dict[str, str]:
    """The form of one subscription (`schema`, `param`)."""
    parameters = {"callbackurl": callback_url, "salt": salt, "resultv2": "1"}
    if phone:
        parameters["phone"] = phone
    param = {"company": company, "number": number, "key": key, "parameters": parameters}
    if to:
        param["to"] = to
    return {"schema": "json", "param": json.dumps(param, ensure_ascii=False, separators=(",", ":"))}


def sign(param: str, salt: str) -> str:
    return hashlib.md5((param + salt).encode()).hexdigest().upper()


def verify(param: str, given: str, salt: str) -> bool:
    """The push's sign; with no salt configured nothing is accepted (a forged push would deliver orders)."""
    return bool(salt) and bool(given) and hmac.compare_digest(sign(param, salt), given.strip().upper())


@dataclass(frozen=True)
class Step:
    at: datetime
    place: str
    text: str
    state: str


@dataclass(frozen=True)
class Push:
    status: str  # polling | shutdown | abort | updateall
    message: str
    number: str
    company: str
    state: str  # lastResult.state
    steps: tuple[Step, ...]  # newest first, as sent


class BadPush(ValueError):
    pass


def parse_push(param: str) -> Push:
    """The push's content; BadPush when it is not the documented JSON."""
    try:
        data = json.loads(param)
    except ValueError as exc:
        raise BadPush("param 不是 JSON") from exc
    if not isinstance(data, dict):
        raise BadPush("param 不是对象")
    last = data.get("lastResult") or {}
    if not isinstance(last, dict):
        raise BadPush("lastResult 不是对象")
    steps = tuple(s for s in (_step(d) for d in last.get("data") or [] if isinstance(d, dict)) if s)
    return Push(
        status=str(data.get("status") or ""),
        message=str(data.get("message") or last.get("message") or "")[:400],
        number=str(last.get("nu") or ""),
        company=str(last.get("com") or ""),
        state=str(last.get("state") if last.get("state") is not None else ""),
        steps=steps,
    )


def _step(d: dict) -> Step | None:
    raw = str(d.get("ftime") or d.get("time") or "")
    try:
        at = datetime.strptime(raw[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI)
    except ValueError:
        return None
    place = str(d.get("areaName") or d.get("location") or "")[:200]
    return Step(at, place, str(d.get("context") or "")[:1000], str(d.get("status") or ""))


def subscribed(answer: dict) -> bool:
    return answer.get("result") is True
