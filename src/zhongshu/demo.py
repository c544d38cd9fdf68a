"""Demo data for a fresh machine: a frozen/chilled food brand selling on five shops, two warehouses,
~50 SKUs with stock (bin locations, a few barcodes), and a few hundred orders over the last 14 days
taken in through `intake` (so they reach real states: allocated at GZ/CD, backordered, cancelled,
pending payment). Then the warehouse floor at work, through the floor's own services so the audit
trail is real: packages (a few merged: repeat buyers to one address), one split by hand, waves
picked and packed, one being picked, one open, a package stopped by the weigh check; last the day's
exceptions (`demo_day.working_day`: held orders of each reason, a breached red alert). Deterministic
for a given seed and "now". Loaded only into a database without orders.

Import after django.setup().
"""

import random
import secrets
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from zhongshu.catalog.models import SkuBarcode
from zhongshu.catalog.services import upsert_sku
from zhongshu.channels.models import Shop
from zhongshu.core.roles import WAREHOUSE
from zhongshu.core.timeutil import SHANGHAI
from zhongshu.demo_day import working_day
from zhongshu.demo_ship import out_the_door
from zhongshu.fulfilment import services as floor
from zhongshu.fulfilment.models import Package, WarehouseStaff, Wave
from zhongshu.inventory.models import StockLevel, Warehouse
from zhongshu.inventory.services import set_location
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake, stocktake
from zhongshu.routing import defaults
from zhongshu.routing.models import ProvinceRegion, RegionRoute, RoutingSettings

ACTOR = "demo"
SEED = 20261111

# code, name, platform, weight of the shop in the order mix
SHOPS = [
    ("tb", "鲜味坊天猫旗舰店", "taobao", 30),
    ("jd", "鲜味坊京东自营旗舰店", "jd", 20),
    ("pdd", "鲜味坊拼多多官方店", "pdd", 20),
    ("dy", "鲜味坊抖音官方旗舰店", "douyin", 18),
    ("mp", "鲜味坊会员小程序", "own", 12),
]

# code, title, cost price, list price, weight in grams
SKUS = [
    ("DUMPLING-500G", "手工水饺 猪肉白菜 500g", "12.50", "39.90", 520),
    ("DUMPLING-1KG", "手工水饺 猪肉白菜 1kg 家庭装", "22.00", "69.90", 1030),
    ("DUMPLING-SHRIMP-500G", "三鲜虾仁水饺 500g", "18.00", "45.90", 520),
    ("DUMPLING-CORN-500G", "玉米猪肉水饺 500g", "11.80", "29.90", 520),
    ("DUMPLING-LEEK-500G", "韭菜鸡蛋素水饺 500g", "9.50", "25.90", 520),
    ("DUMPLING-BEEF-500G", "牛肉大葱水饺 500g", "19.50", "46.90", 520),
    ("DUMPLING-FISH-500G", "鲅鱼水饺 500g", "21.00", "49.90", 520),
    ("DUMPLING-SHEPHERD-500G", "香菇荠菜水饺 500g", "10.50", "27.90", 520),
    ("TANGYUAN-SESAME-400G", "宁波黑芝麻汤圆 400g", "6.80", "16.90", 420),
    ("TANGYUAN-PEANUT-400G", "花生汤圆 400g", "6.50", "15.90", 420),
    ("TANGYUAN-REDBEAN-400G", "红豆沙汤圆 400g", "6.50", "15.90", 420),
    ("TANGYUAN-MIX-1KG", "什锦汤圆家庭装 1kg", "14.00", "34.90", 1030),
    ("WONTON-SHRIMP-300G", "鲜虾小馄饨 300g", "12.00", "28.90", 320),
    ("WONTON-PORK-500G", "荠菜猪肉大馄饨 500g", "11.00", "26.90", 520),
    ("WONTON-SOUP-6", "紫菜虾皮馄饨 6人份", "15.00", "35.90", 700),
    ("ZONGZI-MEAT-4", "嘉兴鲜肉粽 4只装", "14.00", "32.90", 560),
    ("ZONGZI-YOLK-4", "蛋黄鲜肉粽 4只装", "17.00", "39.90", 600),
    ("ZONGZI-DATE-6", "蜜枣粽 6只装", "12.00", "29.90", 720),
    ("ZONGZI-GIFT-10", "端午粽子礼盒 10只装", "45.00", "128.00", 1600),
    ("STEAK-SIRLOIN-200G", "澳洲西冷牛排 200g", "28.00", "59.90", 220),
    ("STEAK-RIBEYE-200G", "澳洲眼肉牛排 200g", "35.00", "79.90", 220),
    ("STEAK-FILET-150G", "菲力牛排 150g", "38.00", "89.00", 170),
    ("STEAK-KIDS-10", "儿童牛排 10片装", "42.00", "99.00", 1100),
    ("STEAK-TOMAHAWK-1KG", "战斧牛排 1kg", "120.00", "268.00", 1050),
    ("CRAYFISH-SPICY-1KG", "麻辣小龙虾 1kg 4-6钱", "38.00", "79.90", 1100),
    ("CRAYFISH-GARLIC-1KG", "蒜蓉小龙虾 1kg 4-6钱", "38.00", "79.90", 1100),
    ("CRAYFISH-TAIL-500G", "冷冻小龙虾尾 500g", "42.00", "89.90", 520),
    ("CRAYFISH-13-1500G", "十三香小龙虾 1.5kg", "52.00", "118.00", 1600),
    ("YOGURT-PLAIN-1KG", "原味老酸奶 1kg", "9.00", "19.90", 1050),
    ("YOGURT-GREEK-12", "希腊酸奶 100g×12杯", "24.00", "49.90", 1300),
    ("YOGURT-MANGO-10", "芒果酸奶 200g×10袋", "18.00", "39.90", 2100),
    ("YOGURT-ZERO-6", "0蔗糖风味酸奶 6杯", "11.00", "25.90", 700),
    ("BAOZI-PORK-10", "鲜肉大包 10只", "9.50", "22.90", 800),
    ("BAOZI-VEG-10", "香菇青菜包 10只", "8.00", "19.90", 800),
    ("XLB-24", "上海小笼包 24只", "15.00", "35.90", 650),
    ("SHAOMAI-12", "糯米烧卖 12只", "10.00", "24.90", 600),
    ("WINGS-1KG", "奥尔良鸡翅中 1kg", "32.00", "68.00", 1050),
    ("FISHBALL-500G", "潮汕鱼丸 500g", "14.00", "32.90", 520),
    ("BEEFBALL-500G", "潮汕手打牛肉丸 500g", "26.00", "55.90", 520),
    ("SHRIMP-PEELED-500G", "冷冻青虾仁 500g", "30.00", "65.00", 520),
    ("COD-400G", "银鳕鱼切片 400g", "45.00", "98.00", 420),
    ("SQUID-RINGS-500G", "鱿鱼圈 500g", "16.00", "35.90", 520),
    ("HOTPOT-SET-2", "火锅食材套餐 2人份", "48.00", "108.00", 1800),
    ("SPRINGROLL-20", "三丝春卷 20只", "9.00", "21.90", 620),
    ("PANCAKE-10", "葱油饼 10片", "8.50", "19.90", 900),
    ("HANDCAKE-20", "原味手抓饼 20片", "13.00", "29.90", 1800),
    ("CHEESECAKE-6", "冷冻重芝士蛋糕 6寸", "26.00", "59.00", 650),
    ("MOONCAKE-ICE-6", "冰皮月饼礼盒 6只装", "30.00", "78.00", 450),
    ("PORKBELLY-500G", "黑猪五花肉 500g", "25.00", "49.90", 520),
    ("LAMBROLL-500G", "内蒙羔羊肉卷 500g", "32.00", "69.90", 520),
]
CHILLED = ("YOGURT-", "CHEESECAKE-")
PRESALE = {
    "ZONGZI-MEAT-4": 12,
    "ZONGZI-YOLK-4": 12,
    "ZONGZI-GIFT-10": 15,
    "CRAYFISH-13-1500G": 7,
    "MOONCAKE-ICE-6": 20,
}
NO_STOCK = {"STEAK-TOMAHAWK-1KG", "COD-400G", "CHEESECAKE-6"}  # zero in both warehouses: backorders
LOW_STOCK = {"DUMPLING-FISH-500G", "STEAK-FILET-150G", "CRAYFISH-TAIL-500G", "HOTPOT-SET-2", "XLB-24"}
CD_EMPTY = {"WINGS-1KG", "SHRIMP-PEELED-500G", "BEEFBALL-500G", "YOGURT-GREEK-12"}  # CD orders ship from GZ
IN_TRANSIT = {"DUMPLING-500G", "TANGYUAN-SESAME-400G", "STEAK-SIRLOIN-200G", "CRAYFISH-SPICY-1KG", "XLB-24"}

# province, city, district, street; weight of the place in the order mix
PLACES = [
    ("广东省", "广州市", "天河区", "天河路", 14), ("广东省", "深圳市", "南山区", "科技园南路", 12),
    ("四川省", "成都市", "武侯区", "天府大道北段", 10), ("重庆市", "重庆市", "渝北区", "新南路", 6),
    ("湖北省", "武汉市", "洪山区", "珞喻路", 6), ("湖南省", "长沙市", "岳麓区", "麓山南路", 5),
    ("上海市", "上海市", "浦东新区", "张杨路", 10), ("北京市", "北京市", "朝阳区", "建国路", 9),
    ("浙江省", "杭州市", "西湖区", "文三路", 8), ("江苏省", "南京市", "鼓楼区", "中山北路", 6),
    ("福建省", "厦门市", "思明区", "湖滨南路", 4), ("云南省", "昆明市", "五华区", "人民中路", 3),
    ("河南省", "郑州市", "金水区", "花园路", 4), ("陕西省", "西安市", "雁塔区", "长安南路", 3),
    ("山东省", "青岛市", "市南区", "香港中路", 4), ("广西壮族自治区", "南宁市", "青秀区", "民族大道", 2),
]  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = "伟 芳 娜 敏 静 磊 洋 艳 勇 杰 娟 涛 明 超 秀英 晓东 雨桐 子涵 浩然 思琪".split()
REMARKS = ["", "", "", "", "请多放冰袋", "周末送货", "送人的，不要放价格单", "尽快发货，谢谢"]
# what happens to an order after it arrives: (initial status, later status or None, weight)
FATES = [("paid", None, 76), ("pending_payment", None, 6), ("pending_payment", "paid", 6),
         ("pending_payment", "cancelled", 3), ("paid", "cancelled", 6), ("paid", "address", 3)]  # fmt: skip


def ensure_admin(username: str = "admin", reset_password: bool = False) -> str | None:
    """Create the superuser with a random password (or reset it); returns the password, None if unchanged."""
    user_model = get_user_model()
    user = user_model.objects.filter(username=username).first()
    if user is not None and not reset_password:
        return None
    password = secrets.token_urlsafe(12)
    if user is None:
        user_model.objects.create_superuser(username, "", password)
    else:
        user.set_password(password)
        user.save(update_fields=["password"])
    return password


@transaction.atomic  # all or nothing: a failed load leaves the hub empty and can simply be run again
def load_demo(orders: int = 360, seed: int = SEED, now: datetime | None = None) -> Counter | None:
    """Load the demo into a database without orders; returns the order count per status, or None."""
    if Order.objects.exists():
        return None
    rng, now = random.Random(seed), now or datetime.now(SHANGHAI)
    defaults.seed(Warehouse, ProvinceRegion, RegionRoute, RoutingSettings)
    for code, name, platform, _ in SHOPS:
        Shop.objects.get_or_create(code=code, defaults={"name": name, "platform": platform})
    skus = [_sku(row, now) for row in SKUS]
    warehouses = {w.code: w for w in Warehouse.objects.filter(code__in=("GZ", "CD"))}
    for sku in skus:
        for wh, (physical, in_transit) in _stock(rng, sku.code).items():
            stocktake(sku, warehouses[wh], physical, in_transit, Decimal("0.8"), ACTOR)
    _places_and_barcodes(skus)
    first, later = _orders(rng, orders, now)
    _repeat_buyers(first, later)
    for batch in (first, later):
        for i in range(0, len(batch), 100):
            intake([OrderIn.model_validate(p) for p in batch[i : i + 100]], actor=ACTOR)
        if batch is later:  # the outbox consumer's work (after commit), done here so the floor finds it
            changed = [o["channel_order_id"] for o in later]
            floor.sync_orders(
                list(Order.objects.filter(channel_order_id__in=changed).values_list("pk", flat=True)), ACTOR
            )
        floor.make_packages(ACTOR)
    _floor(rng)
    out_the_door()  # sandbox waybills for the packed packages; three shipped, one signed for
    working_day(now)  # held orders of each reason, decisions, a breached alert, health samples
    return Counter(Order.objects.values_list("status", flat=True))


# bins (货位) by SKU family: zone-aisle-slot, so a pick list walks the warehouse in order
ZONES = {"DUMPLING": "A", "TANGYUAN": "A", "WONTON": "A", "ZONGZI": "B", "STEAK": "C", "CRAYFISH": "C",
         "YOGURT": "D", "CHEESECAKE": "D"}  # fmt: skip
BARCODES = {"DUMPLING-500G": "6921234500017", "TANGYUAN-SESAME-400G": "6921234500024",
            "STEAK-SIRLOIN-200G": "6921234500031", "YOGURT-PLAIN-1KG": "6921234500048"}  # fmt: skip
REPEAT_BUYERS = 4  # pairs of orders of one buyer to one address (合单)


def _places_and_barcodes(skus: list) -> None:
    slots: Counter = Counter()
    for sku in skus:
        zone = ZONES.get(sku.code.split("-")[0], "E")
        slots[zone] += 1
        place = f"{zone}-{(slots[zone] - 1) // 6 + 1:02d}-{(slots[zone] - 1) % 6 + 1:02d}"
        for row in StockLevel.objects.filter(sku=sku):
            set_location(row, place)
        if sku.code in BARCODES:
            SkuBarcode.objects.get_or_create(sku=sku, code=BARCODES[sku.code])


def _repeat_buyers(first: list[dict], later: list[dict]) -> None:
    """A few buyers order twice in one shop to one address (both paid, spot goods in stock): their
    orders ship as one package."""
    changed = {o["channel_order_id"] for o in later}
    spot = [
        o
        for o in first
        if o["status"] == "paid"
        and o["channel_order_id"] not in changed
        and not any(
            ln["sku"] in PRESALE or ln["sku"] in NO_STOCK or ln["sku"] in LOW_STOCK for ln in o["lines"]
        )
    ]
    pairs = 0
    for i, o in enumerate(spot):
        twin = next((t for t in spot[i + 1 :] if t["shop"] == o["shop"] and "twin" not in t), None)
        if twin is None or "twin" in o:
            continue
        twin.update(buyer=dict(o["buyer"]), receiver=dict(o["receiver"]), twin=True)
        o["twin"] = True
        pairs += 1
        if pairs == REPEAT_BUYERS:
            break
    for o in first:
        o.pop("twin", None)


def _floor(rng: random.Random) -> None:
    """The GZ floor at work: a package split by hand, a wave picked and packed (one package stopped
    by the weigh check), a wave being picked (a shortage reported), an open wave; the rest pending."""
    picker = _picker()
    pending = Package.objects.filter(warehouse__code="GZ", status="pending").order_by("pk")
    splittable = next((p for p in pending if sum(ln.quantity for ln in p.lines.all()) >= 2), None)
    if splittable is None:
        return  # a tiny demo (tests): no floor
    lines = list(splittable.lines.select_related("sku").order_by("pk"))
    first = {lines[0].sku.code: 1}
    rest = Counter({ln.sku.code: ln.quantity for ln in lines}) - Counter(first)
    floor.split_package(splittable.pk, [first, dict(rest)], ACTOR)
    done = _wave("multi", 8)
    if done is None:
        return
    floor.claim_wave(done.pk, picker, ACTOR)
    for row in done.pick_rows.select_related("sku"):
        floor.record_pick(done.pk, row.sku.code, row.quantity, ACTOR)
    floor.finish_wave(done.pk, ACTOR)
    codes = {v: k for k, v in BARCODES.items()}
    for i, pkg in enumerate(done.packages.order_by("pk")):
        scans = [
            codes.get(ln.sku.code, ln.sku.code)
            for ln in pkg.lines.select_related("sku")
            for _ in range(ln.quantity)
        ]
        off = 400 if i == 1 else rng.randint(-20, 20)  # the second one: a unit too many or too few
        floor.check_package(pkg.pk, scans, pkg.expected_weight_g + off, ACTOR)
        if i >= 5:
            break  # the rest wait at the packing bench
    busy = _wave("single-sku", 6)
    if busy is None:
        return
    floor.claim_wave(busy.pk, picker, ACTOR)
    rows = list(busy.pick_rows.select_related("sku"))
    floor.record_pick(busy.pk, rows[0].sku.code, rows[0].quantity, ACTOR)
    if len(rows) > 1:
        floor.report_shortage(busy.pk, rows[-1].sku.code, 1, ACTOR)
    _wave("single-unit", 10)


def _wave(strategy: str, size: int) -> Wave | None:
    for chosen in (strategy, None):  # else the first strategy that yields a wave
        try:
            return floor.create_wave("GZ", chosen, size, ACTOR)
        except floor.FloorError:
            pass
    return None


def _picker():
    """The GZ picker (no password: the admin sets one to try the PDA pages)."""
    user, created = get_user_model().objects.get_or_create(
        username="picker-gz", defaults={"first_name": "小李"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        user.groups.add(*Group.objects.filter(name=WAREHOUSE))
        staff = WarehouseStaff.objects.create(user=user)  # 仓库人员: works in GZ
        staff.warehouses.add(*Warehouse.objects.filter(code="GZ"))
    return user


def _sku(row: tuple, now: datetime):
    code, title, cost, _, weight = row
    supply = (now + timedelta(days=PRESALE[code])).date() if code in PRESALE else None
    tags = "chilled" if code.startswith(CHILLED) else "frozen"
    sku, _ = upsert_sku(
        code, title, Decimal(cost), weight, code in PRESALE, supply_date=supply, cold_chain=True, tags=tags
    )
    return sku


def _stock(rng: random.Random, code: str) -> dict[str, tuple[int, int]]:
    """(physical, in_transit) per warehouse."""
    if code in NO_STOCK:
        return {"GZ": (0, 0), "CD": (0, 0)}
    if code in PRESALE:
        return {"GZ": (0, 300), "CD": (0, 120)}
    gz, cd = rng.randint(60, 200), rng.randint(25, 80)
    if code in LOW_STOCK:
        gz, cd = rng.randint(2, 5), rng.randint(0, 3)
    if code in CD_EMPTY:
        cd = 0
    transit = 100 if code in IN_TRANSIT else 0
    return {"GZ": (gz, transit), "CD": (cd, transit // 2)}


def _orders(rng: random.Random, count: int, now: datetime) -> tuple[list[dict], list[dict]]:
    """First versions of `count` orders (oldest first) and the later updates some of them get."""
    first, later = [], []
    for seq in range(1, count + 1):
        placed = now - timedelta(minutes=rng.randrange(60, 14 * 24 * 60))
        shop = rng.choices([s[0] for s in SHOPS], [s[3] for s in SHOPS])[0]
        status, then, _ = rng.choices(FATES, [f[2] for f in FATES])[0]
        order = _order(rng, shop, f"{shop.upper()}{placed:%y%m%d}{seq:05d}", placed, status)
        first.append(order)
        if then:
            updated = datetime.fromisoformat(order["updated_at"])
            when = min(updated + timedelta(minutes=rng.randint(10, 600)), updated + (now - updated) / 2)
            later.append(_update(rng, order, then, when))
    first.sort(key=lambda o: o["created_at"])
    later.sort(key=lambda o: o["updated_at"])
    return first, later


def _order(rng: random.Random, shop: str, order_id: str, placed: datetime, status: str) -> dict:
    picks = rng.sample(SKUS, k=rng.choices([1, 2, 3], [60, 30, 10])[0])
    lines = [_line(rng, row) for row in picks]
    total = sum(Decimal(ln["paid_amount"]) for ln in lines)
    freight = Decimal("0.00") if shop != "mp" or total >= 99 else Decimal("8.00")
    discount = (
        Decimal(rng.choice(["0.00", "0.00", "0.00", "5.00", "10.00"])) if total > 60 else Decimal("0.00")
    )
    paid = placed + timedelta(minutes=rng.randint(1, 15)) if status == "paid" else None
    buyer = f"{rng.choice(SURNAMES)}{rng.choice(GIVEN)}"
    return {
        "shop": shop, "channel_order_id": order_id, "status": status,
        "created_at": placed.isoformat(), "paid_at": paid.isoformat() if paid else None,
        "updated_at": (paid or placed).isoformat(),
        "buyer": {"id": f"u{rng.randint(10**6, 10**7)}", "nick": f"{buyer[0]}**{rng.randint(10, 99)}",
                  "vip": rng.random() < 0.1},
        "receiver": _receiver(rng, buyer), "lines": lines,
        "freight": str(freight), "discount": str(discount), "paid_amount": str(total + freight - discount),
        "remark": rng.choice(REMARKS),
    }  # fmt: skip


def _line(rng: random.Random, row: tuple) -> dict:
    code, title, _, price, _ = row
    qty = rng.choices([1, 2, 3, 4], [55, 30, 10, 5])[0]
    unit = Decimal(price)
    promo = (unit * Decimal("0.9")).quantize(Decimal("0.01")) if rng.random() < 0.3 else None
    line = {
        "sku": code,
        "title": title,
        "quantity": qty,
        "unit_price": str(unit),
        "paid_amount": str((promo or unit) * qty),
    }
    return line | ({"promo_price": str(promo)} if promo else {})


def _receiver(rng: random.Random, name: str) -> dict:
    province, city, district, street, _ = rng.choices(PLACES, [p[4] for p in PLACES])[0]
    phone = rng.choice(["138", "139", "186", "177", "150", "188", "199"]) + f"{rng.randrange(10**8):08d}"
    building, unit, room = rng.randint(1, 30), rng.randint(1, 3), rng.randint(101, 2808)
    address = f"{street}{rng.randint(1, 999)}号{building}栋{unit}单元{room}"
    return {
        "name": name,
        "phone": phone,
        "province": province,
        "city": city,
        "district": district,
        "address": address,
    }


def _update(rng: random.Random, order: dict, change: str, when: datetime) -> dict:
    new = {**order, "updated_at": when.isoformat()}
    if change == "paid":
        new.update(status="paid", paid_at=when.isoformat())
    elif change == "cancelled":
        new["status"] = "cancelled"
    else:  # the buyer changed the delivery address
        new["receiver"] = _receiver(rng, order["receiver"]["name"])
    return new
