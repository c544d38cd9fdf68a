"""Cainiao e-waybills (菜鸟电子面单云打印) over the Taobao TOP gateway, signed by the shop's TopClient.

Sources (bububa/opentaobao, generated from the TOP docs; see /work/shared/research/fulfilment-facts.md §1.1):
- `cainiao.waybill.ii.get` (api/waybill/CainiaoWaybillIiGet.go): one parameter,
  `param_waybill_cloud_print_apply_new_request` {cp_code, sender (UserInfoDto), need_encrypt,
  customer_code, shipping_branch_code, trade_order_info_dtos ≤ 10 (TradeOrderInfoDto: object_id,
  template_url, order_info {order_channels_type, trade_order_list}, package_info {id, items[{count,
  name}], weight g}, recipient (RecipientInfoDto: name, mobile, address, oaid, tid))}
  (model/waybill/WaybillCloudPrintApplyNewRequest.go, TradeOrderInfoDto.go, RecipientInfoDto.go);
  answer `modules` of {object_id, waybill_code, print_data, parent_waybill_code, cp_code}
  (WaybillCloudPrintResponse.go); `print_data` is a JSON text (encryptedData / data, signature,
  templateURL) handed unchanged to the print component.
- `cainiao.waybill.ii.cancel` {cp_code, waybill_code} → `cancel_result` (CainiaoWaybillIiCancelAPIRequest.go).
- `cainiao.waybill.ii.update` {param_waybill_cloud_print_update_request: cp_code, waybill_code,
  object_id, recipient, sender, package_info, template_url} → {waybill_code, print_data}.

Taobao/Tmall receivers are OAID-protected (the hub keeps them masked): the recipient carries the
order's `oaid` and `tid` and Cainiao decrypts server-side. The oaid is read fresh from
`taobao.trade.fullinfo.get` (fields tid,oaid) at waybill time: it changes when the buyer changes the
address, so a stored one could print the old address.
Idempotency: the same `object_id` gives the same number (TradeOrderInfoDto doc "请求ID"; the
replay-returns-same-number behaviour is what ERPs rely on — UNCONFIRMED in a public primary source).
Refusal codes for an empty balance / an out-of-area address are not in the SDK: they are recognised
by the sub_msg words (providers/common.py) — UNCONFIRMED.
"""

from zhongshu.channels.base import ConnectorError
from zhongshu.shipping.providers import register
from zhongshu.shipping.providers.base import (
    AUTH_FAILED,
    UNAVAILABLE,
    Outcome,
    Party,
    WaybillError,
    WaybillProvider,
    WaybillRequest,
    WaybillResult,
)
from zhongshu.shipping.providers.common import compact, from_connector, in_order, isolating, parse_print_data

GET, CANCEL, UPDATE = "cainiao.waybill.ii.get", "cainiao.waybill.ii.cancel", "cainiao.waybill.ii.update"
# order_channels_type (TradeOrderInfoDto/OrderInfoDto): TB 淘宝, TM 天猫, JD, PDD, OTHERS …
CHANNEL = {"taobao": "TB", "jd": "JD", "pdd": "PDD", "douyin": "DY", "kuaishou": "KS"}


def _address(party: Party) -> dict:
    a = party.address
    return {"province": a.province, "city": a.city, "district": a.district, "detail": a.detail}


def _listed(container, key: str) -> list:
    """TOP JSON wraps lists as {"modules": {"waybill_cloud_print_response": [...]}}; bare lists too."""
    if isinstance(container, dict):
        container = container.get(key) or []
    return container if isinstance(container, list) else [container] if container else []


@register
class CainiaoProvider(WaybillProvider):
    code = "cainiao"
    batch_size = 10  # trade_order_info_dtos: at most 10 per request

    @property
    def top(self):
        top = getattr(self.connection, "top", None)
        if top is None:
            raise WaybillError(AUTH_FAILED, "菜鸟电子面单需要一个已授权的淘宝/天猫店铺")
        return top

    def get(self, requests: list[WaybillRequest]) -> list[Outcome]:
        return isolating(self._get, requests)

    def _get(self, requests: list[WaybillRequest]) -> list[Outcome]:
        first = requests[0]
        body = {
            "cp_code": first.carrier,
            "sender": {
                "name": first.sender.name,
                "mobile": first.sender.phone,
                "address": _address(first.sender),
            },
            "need_encrypt": True,
            "trade_order_info_dtos": [self._dto(r) for r in requests],
        }
        if self.account.customer_code:
            body["customer_code"] = self.account.customer_code
        if self.account.branch_code:
            body["shipping_branch_code"] = self.account.branch_code
        try:
            answer = self.top.call(GET, {"param_waybill_cloud_print_apply_new_request": compact(body)})
        except ConnectorError as exc:
            raise from_connector(exc) from exc
        found = {}
        for m in _listed(answer.get("modules"), "waybill_cloud_print_response"):
            oid = str(m.get("object_id") or "")
            if not m.get("waybill_code"):
                continue
            found[oid] = _result(oid, m, first.carrier)
        return in_order(requests, found)

    def _dto(self, r: WaybillRequest) -> dict:
        recipient = {"name": r.receiver.name, "mobile": r.receiver.phone, "address": _address(r.receiver)}
        if r.platform == "taobao":
            tid = r.channel_order_ids[0]
            recipient |= {"oaid": self._oaid(tid), "tid": tid}
        return {
            "object_id": r.object_id,
            "template_url": self.account.template_url,
            "order_info": {
                "order_channels_type": CHANNEL.get(r.platform, "OTHERS"),
                "trade_order_list": list(r.channel_order_ids),
            },
            "package_info": {
                "id": str(r.package_id),
                "items": [{"count": i.count, "name": i.name[:60]} for i in r.items],
                "weight": r.weight_g,
            },
            "recipient": recipient,
        }

    def _oaid(self, tid: str) -> str:
        cache = self.__dict__.setdefault("_oaids", {})  # one read per order, even when a batch is re-asked
        if tid in cache:
            return cache[tid]
        try:
            trade = (
                self.top.call("taobao.trade.fullinfo.get", {"tid": tid, "fields": "tid,oaid"}).get("trade")
                or {}
            )
        except ConnectorError as exc:
            raise from_connector(exc) from exc
        if not trade.get("oaid"):
            raise WaybillError(UNAVAILABLE, f"淘宝订单 {tid} 没有 oaid，无法取号", retryable=False)
        cache[tid] = str(trade["oaid"])
        return cache[tid]

    def cancel(self, carrier: str, waybill_no: str, object_id: str = "") -> None:
        try:
            answer = self.top.call(CANCEL, {"cp_code": carrier, "waybill_code": waybill_no})
        except ConnectorError as exc:
            raise from_connector(exc) from exc
        if str(answer.get("cancel_result")).lower() != "true":
            raise WaybillError("cancel_refused", f"菜鸟未能取消面单 {waybill_no}")

    def update(self, request: WaybillRequest, waybill_no: str) -> WaybillResult:
        dto = self._dto(request)
        body = {"cp_code": request.carrier, "waybill_code": waybill_no, "object_id": request.object_id,
                "recipient": dto["recipient"], "package_info": dto["package_info"],
                "template_url": self.account.template_url}  # fmt: skip
        try:
            answer = self.top.call(UPDATE, {"param_waybill_cloud_print_update_request": compact(body)})
        except ConnectorError as exc:
            raise from_connector(exc) from exc
        return _result(request.object_id, {**answer, "waybill_code": answer.get("waybill_code") or waybill_no},
                       request.carrier).result  # fmt: skip


def _result(object_id: str, m: dict, carrier: str) -> Outcome:
    """A module of the answer: `waybill_code` is the number on this parcel's label (scanned at the door);
    a 子母件 master (`parent_waybill_code`) is kept beside it."""
    return Outcome(object_id, result=WaybillResult(
        object_id=object_id,
        waybill_no=str(m["waybill_code"]),
        carrier=str(m.get("cp_code") or carrier),
        print_data=parse_print_data(m.get("print_data")),
        parent_waybill_no=str(m.get("parent_waybill_code") or ""),
    ))  # fmt: skip
