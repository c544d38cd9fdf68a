"""JD 无界电子面单 (jingdong.ldop.alpha.*) through the shop's JOS client (`channels.jd.client.JosClient`).

Sources (fulfilment-facts.md §1.6; public SDKs and ERP code):
- `jingdong.ldop.alpha.waybill.receive`: one parameter `content` (a JSON text) — the JD Java SDK's
  LdopAlphaWaybillReceiveRequest (package wujiemiandan) and the seven_jd Python SDK; its keys as a
  public Java test sends them: waybillType, waybillCount, providerId (e.g. 1327), providerCode
  (YUNDA), branchCode, salePlatform ("0010001" = JD), platformOrderNo, vendorCode, vendorName,
  venderOrderCode, fromAddress / toAddress {provinceName, cityName, countryName, countrysideName,
  address, contact, phone, mobile}, weight, volume, payType. The answer
  `resultInfo {statusCode (0 = ok), statusMessage, data {platformOrderNo, waybillCodeList[]}}` (an ERP
  reading `getResultInfo().getData().getWaybillCodeList()`; a PHP ERP client reads statusCode 0 →
  data.waybillCodeList[0], 1 → 参数异常, other → 获取单号失败, and documents branchCode "加盟型快递公司必传",
  settlementCode "直营型快递公司必传", weight in kg). JD answers one order per call: batch 1.
  The merchant order number key is spelled `venderOrderCode` in the Java test and `vendorOrdercode`
  in the PHP client — UNCONFIRMED which JD reads; whether a repeat call with it returns the same
  number is UNCONFIRMED too (the double does so; the hub never asks twice for an active waybill).
- print data: `jingdong.printing.printData.pullData` {param1 {objectId, cpCode, wayBillInfos[]
  {orderNo, popFlag, wayBillCode, jdWayBillCode}, parameters}} (seven_jd PrintingPrintDataPullDataRequest,
  JD Java SDK package ydy); its answer `prePrintDatas[] {wayBillNo, perPrintData}` is UNCONFIRMED.
  (`jingdong.express.fetch.electronic.sheet` is JD Logistics' own label call, not 无界's.)
- cancel: `jingdong.ldop.alpha.waybill.api.unbind` {content: {providerCode, waybillCode}} (the PHP
  client's cancelTradeWaybill; operatorTime/operatorName optional); answer `resultInfo.statusCode`.
providerId per carrier: the JD carrier ids quoted in fulfilment-facts.md §2 (UNVERIFIED against JD;
1327 YUNDA matches the Java test).
"""

from datetime import datetime

from zhongshu.channels.base import ConnectorError
from zhongshu.core.timeutil import SHANGHAI
from zhongshu.shipping.providers import register
from zhongshu.shipping.providers.base import (
    Outcome,
    Party,
    WaybillError,
    WaybillProvider,
    WaybillRequest,
    WaybillResult,
)
from zhongshu.shipping.providers.common import compact, from_connector, refusal

RECEIVE, PULL, UNBIND = (
    "jingdong.ldop.alpha.waybill.receive",
    "jingdong.printing.printData.pullData",
    "jingdong.ldop.alpha.waybill.api.unbind",
)
PROVIDER_IDS = {
    "SF": 467,
    "EMS": 465,
    "YTO": 463,
    "STO": 470,
    "ZTO": 1499,
    "YUNDA": 1327,
    "JD": 2087,
    "DBKD": 3046,
}
JD_SALE_PLATFORM, OTHER_SALE_PLATFORM = "0010001", "0030001"  # 0030001 (其他平台) UNCONFIRMED


def _address(party: Party) -> dict:
    a = party.address
    return {"provinceName": a.province, "cityName": a.city, "countryName": a.district, "address": a.detail,
            "contact": party.name, "mobile": party.phone}  # fmt: skip


@register
class JdProvider(WaybillProvider):
    code = "jd"
    batch_size = 1

    def _call(self, method: str, business: dict) -> dict:
        jos = getattr(self.connection, "jos", None)
        if jos is None:
            raise WaybillError("auth_failed", "京东无界电子面单需要一个已授权的京东店铺")
        try:
            return jos.call(method, business)
        except ConnectorError as exc:
            raise from_connector(exc) from exc

    def _provider_id(self, carrier: str) -> int:
        if carrier.upper() not in PROVIDER_IDS:
            raise WaybillError("invalid_request", f"京东无界面单不支持快递 {carrier}")
        return PROVIDER_IDS[carrier.upper()]

    def get(self, requests: list[WaybillRequest]) -> list[Outcome]:
        out = []
        for r in requests:
            try:
                out.append(Outcome(r.object_id, result=self._one(r)))
            except WaybillError as exc:
                out.append(Outcome(r.object_id, error=exc))
        return out

    def _one(self, r: WaybillRequest) -> WaybillResult:
        content = {
            "waybillType": 1, "waybillCount": 1, "providerId": self._provider_id(r.carrier),
            "providerCode": r.carrier.upper(), "branchCode": self.account.branch_code,
            "settlementCode": self.account.customer_code,
            "salePlatform": JD_SALE_PLATFORM if r.platform == "jd" else OTHER_SALE_PLATFORM,
            "platformOrderNo": r.channel_order_ids[0], "vendorCode": self.connection.credentials.platform_shop_id,
            "vendorName": self.account.shop, "venderOrderCode": r.object_id,
            "fromAddress": _address(r.sender), "toAddress": _address(r.receiver),
            "weight": round(r.weight_g / 1000, 3), "volume": 0, "payType": 0,
        }  # fmt: skip
        info = self._call(RECEIVE, {"content": compact(content)}).get("resultInfo") or {}
        if str(info.get("statusCode")) != "0":
            raise refusal(str(info.get("statusCode")), str(info.get("statusMessage") or ""))
        numbers = (info.get("data") or {}).get("waybillCodeList") or []
        if not numbers:
            raise WaybillError("provider_unavailable", "京东没有返回运单号", retryable=True)
        number = str(numbers[0])
        return WaybillResult(object_id=r.object_id, waybill_no=number, carrier=r.carrier,
                             print_data=self._print_data(r, number))  # fmt: skip

    def _print_data(self, r: WaybillRequest, number: str) -> dict:
        param = {"objectId": r.object_id, "cpCode": r.carrier.upper(),
                 "wayBillInfos": [{"orderNo": r.channel_order_ids[0], "popFlag": 1 if r.platform == "jd" else 0,
                                   "wayBillCode": number}],
                 "parameters": {"ewCustomerCode": self.account.customer_code}}  # fmt: skip
        try:
            answer = self._call(PULL, {"param1": param})
        except WaybillError as exc:
            return {"print_data_error": exc.detail}
        rows = (answer.get("returnType") or {}).get("prePrintDatas") or []
        row = next((x for x in rows if str(x.get("wayBillNo")) == number), {})
        return {"printData": row.get("perPrintData") or "", "templateURL": self.account.template_url}

    def cancel(self, carrier: str, waybill_no: str, object_id: str = "") -> None:
        self._provider_id(carrier)  # a carrier JD 无界 does not serve is refused before any call
        content = {"providerCode": carrier.upper(), "waybillCode": waybill_no,
                   "operatorTime": datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")}  # fmt: skip
        info = self._call(UNBIND, {"content": compact(content)}).get("resultInfo") or {}
        if str(info.get("statusCode")) != "0":
            raise WaybillError(
                "cancel_refused", f"京东未能取消面单 {waybill_no}：{info.get('statusMessage', '')}"
            )
