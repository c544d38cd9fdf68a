"""The order page in a real browser shows the tracking timeline and the customer notices (read-only
sections added by the shipping app), the phone only masked. Screenshot: tests/e2e/screenshots/."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model

from tests.e2e.conftest import chinese_tab, shoot, sign_in
from tests.factories import example_order, put_stock
from zhongshu.fulfilment import defaults
from zhongshu.fulfilment.models import FulfilmentSettings, Package, PackagingType, WaveStrategy
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake
from zhongshu.shipping.models import Notice, TrackingEvent, Waybill

pytestmark = pytest.mark.e2e
SH = ZoneInfo("Asia/Shanghai")
USERNAME, PASSWORD = "chef", "e2e-password-123"


@pytest.fixture
def tracked_order(transactional_db, hub):
    defaults.seed(PackagingType, WaveStrategy, FulfilmentSettings)
    put_stock("DUMPLING-500G", "CD", 10)
    [r] = intake([OrderIn.model_validate(example_order())], actor="e2e")
    pkg = Package.objects.get(package_orders__order=r.order)
    waybill = Waybill.objects.create(package=pkg, provider="sf", carrier="SF", waybill_no="SF1400000000001",
                                     object_id=f"ZSP{pkg.pk}")  # fmt: skip
    for hour, place, text in (
        (9, "成都市", "【成都市】顺丰速运 已收取快件"),
        (20, "北京市", "【北京市】快件已由本人签收"),
    ):
        TrackingEvent.objects.create(order=r.order, waybill=waybill, at=datetime(2026, 12, 2, hour, tzinfo=SH),
                                     place=place, text=text, state="3", digest=str(hour))  # fmt: skip
    Notice.objects.create(order=r.order, kind="shipped", reference=waybill.waybill_no, channel="sms",
                          status="sent", phone_masked="138****8000", reason="阿里云已受理 BizId 1^0")  # fmt: skip
    get_user_model().objects.create_superuser(USERNAME, "chef@example.com", PASSWORD)
    return r.order


def test_the_order_page_shows_the_timeline_and_the_notice(playwright_api, live_server, tracked_order):
    with chinese_tab(playwright_api) as page:
        path = f"/admin/orders/order/{tracked_order.pk}/change/"
        sign_in(page, live_server.url, USERNAME, PASSWORD, path)
        body = page.locator("body")
        for text in (
            "物流轨迹",
            "【北京市】快件已由本人签收",
            "2026-12-02 20:00:00",
            "客户通知",
            "发货通知",
            "138****8000",
        ):
            assert text in body.inner_text(), text
        assert "13800138000" not in page.content()
        shoot(page, "order-tracking-1440.png")
