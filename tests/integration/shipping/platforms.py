"""Each platform's waybill service and ship confirmation on its local double: a shop authorised on the
double, a waybill account for one carrier, orders that exist on the platform and in the hub (one
pending package each)."""

import itertools
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from tests.factories import example_order
from tests.platforms.douyin import DouyinDouble
from tests.platforms.jd import JdDouble
from tests.platforms.kuaishou import KuaishouDouble
from tests.platforms.pdd import PddDouble
from tests.platforms.server import SHANGHAI
from tests.platforms.sf import SfDouble
from tests.platforms.taobao import TaobaoDouble
from zhongshu.channels.models import Shop, ShopCredential
from zhongshu.core import outbox
from zhongshu.fulfilment.models import Package
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake
from zhongshu.shipping.models import WaybillAccount

SENDER = dict(sender_name="成都仓", sender_phone="02888886666", sender_province="四川省",
              sender_city="成都市", sender_district="双流区", sender_address="物流大道1号")  # fmt: skip
PLATFORMS = ["taobao", "pdd", "douyin", "kuaishou", "jd", "sf"]
# platform → (provider, carrier, what that platform's ship confirmation receives for the carrier)
SERVICE = {
    "taobao": ("cainiao", "ZTO", "ZTO"),
    "pdd": ("pdd", "ZTO", 115),
    "douyin": ("douyin", "ZTO", "zhongtong"),
    "kuaishou": ("kuaishou", "SF", 4),
    "jd": ("jd", "YUNDA", "1327"),
    "sf": ("sf", "SF", None),
}
_numbers = itertools.count(1)


@dataclass
class Platform:
    name: str
    shop: str
    double: object
    provider: str
    carrier: str
    confirmed_code: object
    _add: object

    def order(self, province: str = "四川省") -> tuple[str, int]:
        """An order on the platform and in the hub; its channel order id and its package id."""
        n = next(_numbers)
        cid = self._add(n)
        base = example_order(shop=self.shop, channel_order_id=cid)
        receiver = {**base["receiver"], "province": province, "address": f"人民南路{n}号"}
        [result] = intake([OrderIn.model_validate({**base, "receiver": receiver})], actor="test")
        outbox.relay()
        return cid, Package.objects.get(package_orders__order=result.order).pk

    @property
    def book(self):
        return self.double.waybills


def _credential(shop: Shop, url: str, **fields) -> None:
    cred = ShopCredential(shop=shop, api_base_url=url, expires_at=timezone.now() + timedelta(days=1))
    for k, v in fields.items():
        setattr(cred, k, v)
    cred.save()


def _shop(code: str, platform: str) -> Shop:
    shop, _ = Shop.objects.get_or_create(code=code, defaults={"name": code, "platform": platform})
    return shop


@contextmanager
def platform(name: str, settings=None):
    """The platform `name` on its double, ready for waybills (SF: the own shop `mp` on the SF double)."""
    now = datetime.now(SHANGHAI)
    provider, carrier, confirmed = SERVICE[name]
    extra = {}
    if name == "taobao":
        double = TaobaoDouble(now=now)
    elif name == "jd":
        double = JdDouble(now=now)
    else:
        double = {"pdd": PddDouble, "douyin": DouyinDouble, "kuaishou": KuaishouDouble, "sf": SfDouble}[
            name
        ]()
    with double as d:
        if name == "taobao":
            shop = _shop("tb", "taobao")
            _credential(shop, d.url, app_key=d.app_key, app_secret=d.app_secret,
                        access_token=d.issue_token()["access_token"])  # fmt: skip

            def add(n):
                tid = str(4_100_000_000_000 + n)
                d.put_trade({"tid": int(tid), "status": "WAIT_SELLER_SEND_GOODS"},
                            {"name": "王小明", "mobile": "13800138000", "state": "四川省", "city": "成都市",
                             "district": "武侯区", "address": f"人民南路{n}号"}, now)  # fmt: skip
                return tid
        elif name == "pdd":
            shop = _shop("pdd1", "pdd")
            _credential(shop, d.url, app_key=d.client_id, app_secret=d.client_secret,
                        access_token=d.issue_token().access_token)  # fmt: skip

            def add(n):
                sn = f"261207-{n:015d}"
                d.add_order(sn, now, [("DUMPLING-500G", "34.90", 2)])
                return sn
        elif name == "douyin":
            shop = _shop("dy1", "douyin")
            _credential(shop, d.url, app_key=d.app_key, app_secret=d.app_secret,
                        access_token=d.issue_tokens()["access_token"])  # fmt: skip

            def add(n):
                return d.add_order(n, now, [("DUMPLING-500G", 2, 3490)])["order_id"]
        elif name == "kuaishou":
            shop = _shop("ks1", "kuaishou")
            _credential(shop, d.url, app_key=d.app_key, app_secret=d.app_secret, push_secret=d.sign_secret,
                        access_token=d.issue_tokens()["access_token"], platform_shop_id=d.open_id)  # fmt: skip

            def add(n):
                return str(d.add_order(n, now, "DUMPLING-500G", 2, 3490)["orderBaseInfo"]["oid"])
        elif name == "jd":
            shop = _shop("jd1", "jd")
            _credential(shop, d.url, app_key=d.app_key, app_secret=d.app_secret,
                        access_token=d.issue_token().access, platform_shop_id="10001")  # fmt: skip

            def add(n):
                oid = str(3_000_000_000 + n)
                d.add_order(oid, now, [("DUMPLING-500G", "34.90", 2)])
                return oid
        else:
            shop = _shop("mp", "own")
            settings.SF_EXPRESS_URL = d.url + "/std/service"
            extra = {"partner_id": d.partner_id, "check_word": d.check_word, "customer_code": "0280000001"}

            def add(n):
                return f"SF{n:08d}"

        WaybillAccount.objects.create(shop=shop, carrier=carrier, provider=provider, default=True,
                                      template_url=f"https://template.example/{provider}", branch_code="028001",
                                      **extra, **SENDER)  # fmt: skip
        yield Platform(name, shop.code, d, provider, carrier, confirmed, add)
