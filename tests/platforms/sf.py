"""Local double of the SF Express open platform (顺丰丰桥 `/std/service`).

It reads the form {partnerID, requestID, serviceCode, timestamp, msgDigest, msgData}, checks the
partner id and `msgDigest = base64(md5(quote_plus(msgData + timestamp + checkWord)))` with its own
implementation (else apiResultCode A1006 — this double's choice of code), and answers
{apiResultCode: "A1000", apiErrorMsg, apiResponseID, apiResultData: <object or JSON text {success, errorCode,
errorMsg, msgData}>}:
- EXP_RECE_CREATE_ORDER: a new orderId gets a number (SF…); an orderId used before answers the first
  order's msgData ("重复使用订单号时返回第一次下单成功时的运单信息"), or — with `refuse_repeats` — is refused
  as 8016 重复下单 (as some clients report); a receiver province out of reach answers filterResult 3
  (不可以收派, remark 1 收方超范围) and no number; every contact needs its country;
  an empty balance answers 8196 月结账户余额不足 (code chosen here, the real one is not public);
- EXP_RECE_SEARCH_ORDER_RESP: the order's msgData (its number) by orderId;
- EXP_RECE_UPDATE_ORDER dealType 2: cancels the order and its number.
"""

import base64
import hashlib
import json
import uuid
from urllib.parse import quote_plus

from tests.platforms.server import PlatformDouble, Request, Response
from tests.platforms.waybill_book import Refused, WaybillBook


def sf_digest(msg_data: str, timestamp: str, check_word: str) -> str:
    text = quote_plus(msg_data + timestamp + check_word)
    return base64.b64encode(hashlib.md5(text.encode()).digest()).decode()


class SfDouble(PlatformDouble):
    def __init__(self, partner_id: str = "ZSHUB", check_word: str = "sf-check-word-0123"):
        self.partner_id, self.check_word = partner_id, check_word
        super().__init__()

    def reset(self) -> None:
        super().reset()
        self.waybills = WaybillBook("SF14")
        self.orders: dict[str, dict] = {}  # orderId → msgData answered
        self.bad_signatures = 0
        self.refuse_repeats = False

    def handle(self, request: Request) -> Response:
        if request.method != "POST" or request.path != "/std/service":
            return Response(404, b"not found")
        f = request.form
        if f.get("partnerID") != self.partner_id:
            return _gateway("A1004", "无对应服务权限")
        if f.get("msgDigest") != sf_digest(f.get("msgData", ""), f.get("timestamp", ""), self.check_word):
            self.bad_signatures += 1
            return _gateway("A1006", "数字签名无效")
        msg = json.loads(f.get("msgData") or "{}")
        handler = {"EXP_RECE_CREATE_ORDER": self._create, "EXP_RECE_SEARCH_ORDER_RESP": self._search,
                   "EXP_RECE_UPDATE_ORDER": self._update}.get(f.get("serviceCode", ""))  # fmt: skip
        if handler is None:
            return _gateway("A1004", "无对应服务权限")
        return handler(msg)

    def _create(self, msg: dict) -> Response:
        order_id = msg.get("orderId") or ""
        if order_id in self.orders:
            return (
                _result(False, "8016", "重复下单")
                if self.refuse_repeats
                else _result(True, data=self.orders[order_id])
            )
        contacts = msg.get("contactInfoList") or []
        receiver = next((c for c in contacts if c.get("contactType") == 2), None)
        if not order_id or receiver is None or not all(c.get("country") for c in contacts):
            return _result(False, "1010", "参数错误")
        self.waybills.calls += 1
        try:
            number = self.waybills.take(order_id, receiver.get("province", ""))
        except Refused as exc:
            if exc.kind == "balance":
                return _result(False, "8196", "月结账户余额不足")
            return _result(True, data={"orderId": order_id, "filterResult": 3, "remark": "1",
                                       "waybillNoInfoList": []})  # fmt: skip
        data = {"orderId": order_id, "filterResult": 2, "originCode": "028", "destCode": "028",
                "waybillNoInfoList": [{"waybillType": 1, "waybillNo": number}],
                "routeLabelInfo": [{"code": "1000", "routeLabelData": {"waybillNo": number, "destRouteLabel": "028WE-A1",
                                                                      "twoDimensionCode": "MMM=" + number}}]}  # fmt: skip
        self.orders[order_id] = data
        return _result(True, data=data)

    def _search(self, msg: dict) -> Response:
        data = self.orders.get(msg.get("orderId") or "")
        return _result(True, data=data) if data else _result(False, "8018", "未获取到订单信息")

    def _update(self, msg: dict) -> Response:
        data = self.orders.get(msg.get("orderId") or "")
        if data is None or str(msg.get("dealType")) != "2":
            return _result(False, "8018", "未获取到订单信息")
        self.waybills.cancel(data["waybillNoInfoList"][0]["waybillNo"])
        return _result(True, data={"orderId": msg["orderId"], "resStatus": 2})


def _gateway(code: str, msg: str) -> Response:
    return Response.json({"apiResultCode": code, "apiErrorMsg": msg, "apiResponseID": uuid.uuid4().hex,
                          "apiResultData": None})  # fmt: skip


def _result(success: bool, code: str = "S0000", msg: str | None = None, data: dict | None = None) -> Response:
    """apiResultData as an object (SF's doc example) for a success with a number, else as a JSON text
    (as the public SDKs read it): the provider must read both."""
    result: dict | str = {"success": success, "errorCode": code, "errorMsg": msg, "msgData": data}
    if not (data and data.get("waybillNoInfoList")):
        result = json.dumps(result, ensure_ascii=False)
    return Response.json({"apiResultCode": "A1000", "apiErrorMsg": "", "apiResponseID": uuid.uuid4().hex,
                          "apiResultData": result})  # fmt: skip
