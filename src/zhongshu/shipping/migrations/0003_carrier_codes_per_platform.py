"""The platforms' carrier codes as data (平台快递编码): what each platform's ship confirmation takes for
the hub's carrier. Each row says where its value comes from; `UNCONFIRMED` marks a value not checked
against a public primary source (check it with the platform's company list API before going live:
taobao.logistics.companies.get, pdd.logistics.companies.get, /order/logisticsCompanyList, …).
Rows are only added where missing, so codes a merchant corrected are kept; unapplying removes nothing.
"""

from django.db import migrations

TB = "taobao.logistics.offline.send company_code (taobao.logistics.companies.get code)"
TB_SEEN = "; codes seen in 聚水潭 printer list (yuanqinguo/flyfei src/project/frontend/src/utils/constants/Logistics.ts)"
PDD = "pdd.logistics.online.send logistics_id (pdd.logistics.companies.get id)"
DY = "order.logisticsAdd company_code (/order/logisticsCompanyList); the value the Douyin connector sends"
KS = "open.seller.order.goods.deliver expressCode (int)"
JD = ("jingdong.pop.order.shipment logiCoprId; ids quoted in one public project "
      "(fulfilment-facts.md §2), 1327 韵达 matching a public JD waybill test")  # fmt: skip
MT = "ecommerce/order/logistics/btoc/sync logistics_provider_code (the Meituan connector's table)"
U = " — UNCONFIRMED"

CODES = [
    # platform, carrier, code, name, source
    ("taobao", "SF", "SF", "顺丰速运", TB + TB_SEEN),
    ("taobao", "ZTO", "ZTO", "中通快递", TB + U),
    ("taobao", "YTO", "YTO", "圆通速递", TB + TB_SEEN),
    ("taobao", "STO", "STO", "申通快递", TB + TB_SEEN),
    ("taobao", "YUNDA", "YUNDA", "韵达快递", TB + TB_SEEN),
    ("taobao", "EMS", "EMS", "EMS", TB + TB_SEEN),
    ("taobao", "JD", "JD", "京东快递", TB + U),
    ("taobao", "JTSD", "HTKY", "极兔速递", TB + U + " (极兔 took over 百世 HTKY)"),
    ("taobao", "DBKD", "DBKD", "德邦快递", TB + U),
    ("pdd", "SF", "44", "顺丰快递", PDD + U),
    ("pdd", "ZTO", "115", "中通快递", PDD + U),
    ("pdd", "YTO", "85", "圆通快递", PDD + U),
    ("pdd", "STO", "1", "申通快递", PDD + U),
    ("pdd", "YUNDA", "121", "韵达快递", PDD + U),
    ("pdd", "EMS", "118", "EMS", PDD + U),
    ("pdd", "JD", "120", "京东配送", PDD + U),
    ("douyin", "SF", "shunfeng", "顺丰速运", DY + U),
    ("douyin", "ZTO", "zhongtong", "中通快递", DY + U),
    ("douyin", "YTO", "yuantong", "圆通速递", DY + U),
    ("douyin", "STO", "shentong", "申通快递", DY + U),
    ("douyin", "YUNDA", "yunda", "韵达快递", DY + U),
    ("douyin", "EMS", "ems", "EMS", DY + U),
    ("douyin", "JD", "jd", "京东快递", DY + U),
    ("douyin", "JTSD", "jtexpress", "极兔速递", DY + U),
    ("kuaishou", "SF", "4", "顺丰速运", KS + "; SF = 4 in the platform's deliver example (the Kuaishou connector)"),
    ("jd", "SF", "467", "顺丰快递", JD + U),
    ("jd", "EMS", "465", "EMS", JD + U),
    ("jd", "YTO", "463", "圆通快递", JD + U),
    ("jd", "STO", "470", "申通快递", JD + U),
    ("jd", "ZTO", "1499", "中通快递", JD + U),
    ("jd", "YUNDA", "1327", "韵达快递", JD + " (1327 confirmed by that test; the rest UNCONFIRMED)"),
    ("jd", "JD", "2087", "京东快递", JD + U),
    ("jd", "DBKD", "3046", "德邦快递", JD + U),
    ("meituan", "SF", "10001", "顺丰", MT + U),
]


def fill(apps, schema_editor):
    CarrierCode = apps.get_model("shipping", "CarrierCode")
    have = set(CarrierCode.objects.values_list("platform", "carrier"))
    CarrierCode.objects.bulk_create(
        CarrierCode(platform=p, carrier=c, code=code, name=name, source=source[:200])
        for p, c, code, name, source in CODES
        if (p, c) not in have
    )


class Migration(migrations.Migration):
    dependencies = [("shipping", "0002_tracking_and_notices")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
