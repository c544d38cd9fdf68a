"""Kuaishou e-waybills (快手电子面单) through the shop's Kuaishou client (`channels.kuaishou.client.call`).

Sources (fulfilment-facts.md §1.5):
- `open.express.ebill.get` "支持使用快手订单收货地址密文取号，支持批量取号（一次最多取10个）" (ShopeX/OMS
  app/erpapi/lib/apiname.php `STORE_WAYBILL_KS_GET`); the request `getEbillOrderRequest[]` {merchantCode
  (the order's sellerOpenId), merchantName, packageCode (拆包: the same code gives the same number),
  totalPackageQuantity, expressCompanyCode, itemList[] {itemTitle, itemQuantity}, receiverContract /
  senderContract {name, mobile}, receiverAddress / senderAddress {provinceName, cityName, districtName,
  detailAddress (支持密文)}, orderChannel, tradeOrderCode, netSiteCode, settleAccount (月结号),
  templateUrl, requestId} as the GoKwai SDK (Wynters, addons/open_kwai/core/parameter/express.go) and a
  Java ERP using the official SDK (OpenExpressEbillGetRequest, orderChannel "KUAI_SHOU") send it. A
  pydantic model of the request (public repository, not named) quotes the field docs: packageCode
  "同一个交易订单下传递相同的包裹号会返回相同的运单号", requestId "请求唯一ID…服务端做幂等使用。批量取号时候，
  列表里面的requestID要保证不重复", netSiteCode/netSiteName "网点编码（加盟必须）", settleAccount 客户编码,
  totalPackageWeight (g), tradeOrderCode (for a Kuaishou order the receiver is sent as ciphertext),
  extData (SF needs isvClientCode — not sent here: UNCONFIRMED how merchants configure it).
- The answer: `data[]` per request, each with its own `data[]` of {waybillCode, printData, key,
  version, signature} (the Java ERP reads `getData().get(0).getData().get(0)`); `requestId` and the
  per-request refusal fields (`errorCode`, `errorMsg`) are UNCONFIRMED.
- `open.express.ebill.cancel` {expressCompanyCode, waybillCode}, POST form (whalesky-labs/kwaishop-php-sdk
  Api/Express/OpenExpressEbillCancel.php; the same model file's OpenExpressEbillCancelSchema).
`expressCompanyCode` values are the hub's codes (SF as in the Java ERP; others UNCONFIRMED).
"""

from zhongshu.channels.base import ConnectorError
from zhongshu.channels.kuaishou.client import call
from zhongshu.shipping.providers import register
from zhongshu.shipping.providers.base import (
    Outcome,
    Party,
    WaybillError,
    WaybillProvider,
    WaybillRequest,
    WaybillResult,
)
from zhongshu.shipping.providers.common import from_connector, in_order, isolating, refusal

GET, CANCEL = "open.express.ebill.get", "open.express.ebill.cancel"
CHANNEL = {"kuaishou": "KUAI_SHOU"}


def _address(party: Party) -> dict:
    a = party.address
    return {
        "provinceName": a.province,
        "cityName": a.city,
        "districtName": a.district,
        "detailAddress": a.detail,
    }


@register
class KuaishouProvider(WaybillProvider):
    code = "kuaishou"
    batch_size = 10

    def _call(self, method: str, params: dict):
        creds = getattr(self.connection, "credentials", None)
        if creds is None or getattr(self.connection, "platform", "") != "kuaishou":
            raise WaybillError("auth_failed", "快手电子面单需要一个已授权的快手小店")
        try:
            return call(creds, method, params)
        except ConnectorError as exc:
            raise from_connector(exc) from exc

    def get(self, requests: list[WaybillRequest]) -> list[Outcome]:
        return isolating(self._get, requests)

    def _get(self, requests: list[WaybillRequest]) -> list[Outcome]:
        merchant = self.connection.credentials.platform_shop_id
        body = {"getEbillOrderRequest": [
            {"merchantCode": merchant, "merchantName": self.account.shop, "packageCode": r.object_id,
             "requestId": r.object_id, "totalPackageQuantity": 1, "expressCompanyCode": r.carrier,
             "totalPackageWeight": r.weight_g,
             "itemList": [{"itemTitle": i.name[:60], "itemQuantity": i.count} for i in r.items],
             "receiverContract": {"name": r.receiver.name, "mobile": r.receiver.phone},
             "receiverAddress": _address(r.receiver),
             "senderContract": {"name": r.sender.name, "mobile": r.sender.phone},
             "senderAddress": _address(r.sender),
             "orderChannel": CHANNEL.get(r.platform, "OTHER"), "tradeOrderCode": r.channel_order_ids[0],
             "netSiteCode": self.account.branch_code, "settleAccount": self.account.customer_code,
             "templateUrl": self.account.template_url}
            for r in requests
        ]}  # fmt: skip
        data = self._call(GET, body)
        found: dict[str, Outcome] = {}
        for item in data if isinstance(data, list) else []:
            rid = str(item.get("requestId") or "")
            bills = item.get("data") or []
            if not bills:
                found[rid] = Outcome(
                    rid, error=refusal(str(item.get("errorCode") or ""), str(item.get("errorMsg") or ""))
                )
                continue
            b = bills[0]
            found[rid] = Outcome(rid, result=WaybillResult(
                object_id=rid, waybill_no=str(b["waybillCode"]), carrier=requests[0].carrier,
                print_data={"encryptedData": b.get("printData") or "", "signature": b.get("signature") or "",
                            "key": b.get("key") or "", "ver": b.get("version") or "",
                            "templateURL": self.account.template_url},
                parent_waybill_no=str(b.get("parentWaybillCode") or ""),
            ))  # fmt: skip
        return in_order(requests, found)

    def cancel(self, carrier: str, waybill_no: str, object_id: str = "") -> None:
        self._call(CANCEL, {"expressCompanyCode": carrier, "waybillCode": waybill_no})
