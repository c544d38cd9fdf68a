"""The sandbox waybill service: test numbers in a reserved range (`ZS` + 12 digits starting with 99,
e.g. ZS990000000123), labels marked 测试面单, nothing sent to any carrier. It serves `zhongshu demo`
and peak-mode rehearsals so the whole path runs with no account; production shops never default to it.
The number is derived from the object id, so asking twice gives the same number."""

import hashlib

from zhongshu.shipping.providers.base import Outcome, WaybillProvider, WaybillRequest, WaybillResult

PREFIX = "ZS99"


def sandbox_number(object_id: str) -> str:
    digest = int(hashlib.sha256(object_id.encode()).hexdigest(), 16)
    return f"{PREFIX}{digest % 10**10:010d}"


def is_sandbox_number(waybill_no: str) -> bool:
    return waybill_no.startswith(PREFIX) and len(waybill_no) == len(PREFIX) + 10


class SandboxProvider(WaybillProvider):
    code = "sandbox"
    batch_size = 100

    def get(self, requests: list[WaybillRequest]) -> list[Outcome]:
        out = []
        for r in requests:
            number = sandbox_number(r.object_id)
            result = WaybillResult(
                object_id=r.object_id,
                waybill_no=number,
                carrier=r.carrier,
                sort_code=f"测试 {r.receiver.address.province}{r.receiver.address.city}"[:64],
                print_data={"sandbox": True, "waybillCode": number, "cpCode": r.carrier, "label": "测试面单"},
            )
            out.append(Outcome(r.object_id, result=result))
        return out

    def cancel(self, carrier: str, waybill_no: str, object_id: str = "") -> None:
        return None
