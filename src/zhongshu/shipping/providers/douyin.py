"""Douyin shop e-waybills (抖店电子面单) through the shop's 抖店 client (`channels.douyin.client.call`).

Sources (fulfilment-facts.md §1.4):
- `logistics.newCreateOrder` (sevencat/ecommerce_sdk@6a748c4 ecommerce_sdk/douyin/LogisticsNewCreateOrder.cs):
  batch up to 50; {sender_info {address {country_code, province_name, city_name, district_name,
  detail_address}, contact {name, mobile}}, logistics_code, order_infos[] {order_id, pack_id,
  receiver_info {address {…, detail_address (支持密文)}, contact {name, mobile (支持密文)}},
  items[] {item_name, item_count}, net_info {category, net_code, monthly_account}}}; answer `ebill_infos[]` {order_id, pack_id, track_no, sort_code
  (三段码), package_center_code/name (集包地), short_address_code/name (大头笔)} and `err_infos[]`
  {order_id, pack_id, err_code, err_msg}. "A second call with the same order returns the old number
  unless a different pack_id is sent" ("若取号后再来取号，需传相同订单号及不同的包裹id再次来取号，否则返回老号"):
  order_id + pack_id is the idempotency key. pack_id takes "15位以内的数字、字母和下划线", so the
  hub's object id (ZSP123-1) is sent as ZSP123_1.
- `logistics.waybillApply` (LogisticsWaybillApply.cs): {waybill_applies[] {logistics_code, track_no}}
  → `waybill_infos[]` {order_id, track_no, print_data (加密的面单数据), sign} — what the print
  component takes (`encryptedData` + `signature`).
- `/logistics/cancelOrder` {logistics_code, track_no} (fudiwei/DotNetCore.SKIT.FlurlHttpClient.ByteDance
  LogisticsCancelOrderRequest.cs) → data {cancel_result {success}} (LogisticsCancelOrderResponse.cs).
`logistics_code` values are the ones `order.logisticsAdd` takes (shunfeng, zhongtong, yuantong …, as
the Douyin connector sends them); JTSD/DBKD codes UNCONFIRMED. The err_code values for an empty
balance / an out-of-area address are UNCONFIRMED (recognised by the words of err_msg).
"""

import re

from zhongshu.channels.base import ConnectorError
from zhongshu.channels.douyin.client import call
from zhongshu.shipping.providers import register
from zhongshu.shipping.providers.base import (
    Outcome,
    Party,
    WaybillError,
    WaybillProvider,
    WaybillRequest,
    WaybillResult,
)
from zhongshu.shipping.providers.common import carrier_code, from_connector, in_order, isolating, refusal

PACK_ID = re.compile(r"[^0-9A-Za-z_]")
CREATE, APPLY, CANCEL = "logistics.newCreateOrder", "logistics.waybillApply", "logistics.cancelOrder"
LOGISTICS_CODES = {"SF": "shunfeng", "ZTO": "zhongtong", "YTO": "yuantong", "STO": "shentong", "YUNDA": "yunda",
                   "JD": "jd", "EMS": "ems", "JTSD": "jtexpress", "DBKD": "debangkuaidi"}  # fmt: skip


def pack_id(object_id: str) -> str:
    """The hub's object id as a Douyin pack_id (letters, digits, underscore; at most 15)."""
    return PACK_ID.sub("_", object_id)[:15]


def _address(party: Party) -> dict:
    a = party.address
    return {"country_code": "CHN", "province_name": a.province, "city_name": a.city,
            "district_name": a.district, "detail_address": a.detail}  # fmt: skip


@register
class DouyinProvider(WaybillProvider):
    code = "douyin"
    batch_size = 50

    def _call(self, method: str, params: dict) -> dict:
        creds = getattr(self.connection, "credentials", None)
        if creds is None or getattr(self.connection, "platform", "") != "douyin":
            raise WaybillError("auth_failed", "抖店电子面单需要一个已授权的抖店店铺")
        try:
            return call(creds, method, params)
        except ConnectorError as exc:
            raise from_connector(exc) from exc

    def get(self, requests: list[WaybillRequest]) -> list[Outcome]:
        return isolating(self._get, requests)

    def _get(self, requests: list[WaybillRequest]) -> list[Outcome]:
        first = requests[0]
        logistics_code = carrier_code(LOGISTICS_CODES, first.carrier)
        packs = {pack_id(r.object_id): r.object_id for r in requests}
        net = {k: v for k, v in (("net_code", self.account.branch_code),
                                 ("monthly_account", self.account.customer_code)) if v}  # fmt: skip
        body = {
            "sender_info": {"address": _address(first.sender),
                            "contact": {"name": first.sender.name, "mobile": first.sender.phone}},
            "logistics_code": logistics_code,
            "order_infos": [
                {"order_id": r.channel_order_ids[0], "pack_id": pack_id(r.object_id),
                 "receiver_info": {"address": _address(r.receiver),
                                   "contact": {"name": r.receiver.name, "mobile": r.receiver.phone}},
                 "items": [{"item_name": i.name[:60], "item_count": i.count} for i in r.items],
                 **({"net_info": net} if net else {})}
                for r in requests
            ],
        }  # fmt: skip
        data = self._call(CREATE, body)
        found: dict[str, Outcome] = {}
        for e in data.get("err_infos") or []:
            pack = str(e.get("pack_id") or "")
            found[pack] = Outcome(
                pack, error=refusal(str(e.get("err_code") or ""), str(e.get("err_msg") or ""))
            )
        infos = {
            packs.get(str(i.get("pack_id") or ""), ""): i
            for i in data.get("ebill_infos") or []
            if i.get("track_no")
        }
        prints = self._print_data(logistics_code, [i["track_no"] for i in infos.values()])
        for pack, i in infos.items():
            short = " ".join(str(i.get(k) or "") for k in ("short_address_name", "sort_code")).strip()
            found[pack] = Outcome(pack, result=WaybillResult(
                object_id=pack, waybill_no=str(i["track_no"]), carrier=first.carrier, sort_code=short,
                print_data=prints.get(str(i["track_no"]), {}) | {
                    "sort_code": i.get("sort_code") or "", "short_address_code": i.get("short_address_code") or "",
                    "short_address_name": i.get("short_address_name") or "",
                    "package_center_code": i.get("package_center_code") or "",
                    "package_center_name": i.get("package_center_name") or ""},
            ))  # fmt: skip
        return in_order(requests, found)

    def _print_data(self, logistics_code: str, numbers: list[str]) -> dict[str, dict]:
        """Print data per number; a failure here keeps the numbers (the label can be fetched again)."""
        if not numbers:
            return {}
        try:
            data = self._call(APPLY, {"waybill_applies": [{"logistics_code": logistics_code, "track_no": n}
                                                          for n in numbers]})  # fmt: skip
        except WaybillError as exc:
            return {n: {"print_data_error": exc.detail} for n in numbers}
        return {
            str(w.get("track_no")): {"encryptedData": w.get("print_data") or "", "signature": w.get("sign") or "",
                                     "templateURL": self.account.template_url}
            for w in data.get("waybill_infos") or []
        }  # fmt: skip

    def cancel(self, carrier: str, waybill_no: str, object_id: str = "") -> None:
        data = self._call(
            CANCEL, {"logistics_code": carrier_code(LOGISTICS_CODES, carrier), "track_no": waybill_no}
        )
        if (data.get("cancel_result") or {}).get("success") is False:
            raise WaybillError("cancel_refused", f"抖店未能取消面单 {waybill_no}")
