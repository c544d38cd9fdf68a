"""The demo's packages out the door: every demo shop has a waybill account on the sandbox waybill
service (test numbers, labels marked 测试面单, never sent to a carrier), the packed packages get
their waybills, some leave through the outbound scan and one of those is signed for — so a first
visit sees paid → packed → shipped → delivered. The demo's shops are not connected to their
platforms: their ship confirmations wait in 发货回传 with what to do, as a real unconnected shop's would.
Tracking of a sandbox number is the demo's own (a Kuaidi100-shaped update marked 演示), not a carrier's."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from zhongshu.channels.models import Shop
from zhongshu.fulfilment.models import Package
from zhongshu.shipping import kuaidi100, services, tracking
from zhongshu.shipping.models import Provider, WaybillAccount

ACTOR = "system:demo"
SENDERS = {  # the GZ and CD warehouses as printed on the labels
    "GZ": ("鲜味坊广州仓", "02088886666", "广东省", "广州市", "白云区", "太和镇物流园 8 号"),
    "CD": ("鲜味坊成都仓", "02888886666", "四川省", "成都市", "双流区", "物流大道 1 号"),
}


def out_the_door(shipped: int = 3, delivered: int = 1) -> dict[str, int]:
    for shop in Shop.objects.all():
        name, phone, province, city, district, address = SENDERS["GZ"]
        WaybillAccount.objects.get_or_create(
            shop=shop, carrier="SF", defaults=dict(
                provider=Provider.SANDBOX, default=True, sender_name=name, sender_phone=phone,
                sender_province=province, sender_city=city, sender_district=district, sender_address=address,
            ),
        )  # fmt: skip
    packed = list(Package.objects.filter(status="packed").order_by("pk").values_list("pk", flat=True))
    batch = services.issue_waybills(packed, ACTOR)
    out = {"waybills": len(batch.issued), "shipped": 0, "delivered": 0}
    for waybill in batch.issued:
        if out["shipped"] >= shipped:
            break
        try:
            services.ship_package(waybill.package_id, ACTOR)
        except services.ShippingError:
            continue  # e.g. reserved on stock still in transit: it waits for the goods
        out["shipped"] += 1
        if out["delivered"] < delivered:
            _signed_for(waybill)
            out["delivered"] += 1
    return out


def _signed_for(waybill) -> None:
    now = timezone.now()
    steps = (
        kuaidi100.Step(now, "成都市", "【演示】已签收，签收人：本人", "3"),
        kuaidi100.Step(now - timedelta(hours=3), "成都市", "【演示】派件中", "5"),
        kuaidi100.Step(now - timedelta(hours=20), "广州市", "【演示】已揽收", "1"),
    )
    push = kuaidi100.Push("shutdown", "ok", waybill.waybill_no, kuaidi100.COMPANY.get(waybill.carrier, ""),
                          kuaidi100.SIGNED, steps)  # fmt: skip
    with transaction.atomic():
        tracking.apply_push(waybill, push)
