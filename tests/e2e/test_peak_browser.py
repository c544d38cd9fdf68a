"""The degradation switches in a real browser: from the sidebar's 大促保障 menu, 降级开关 lists every
switch with its state; one is forced off through the list's action and shows 已关闭 with its reason."""

import pytest
from django.contrib.auth import get_user_model

from tests.e2e.conftest import chinese_tab, shoot, sign_in
from zhongshu.core.models import DegradeSwitch
from zhongshu.peak import services
from zhongshu.peak.models import DegradePolicy

pytestmark = pytest.mark.e2e

USERNAME, PASSWORD = "chef", "e2e-password-123"


@pytest.fixture
def admin(transactional_db, hub):
    get_user_model().objects.create_superuser(USERNAME, "chef@example.com", PASSWORD)
    DegradePolicy.objects.create(pk=1)
    services.check()


def test_force_a_switch_off_in_the_console(playwright_api, live_server, admin):
    with chinese_tab(playwright_api) as page:
        sign_in(page, live_server.url, USERNAME, PASSWORD, "/admin/")
        page.get_by_role("link", name="降级开关").click()
        page.wait_for_url("**/admin/core/degradeswitch/")
        rows = page.locator("#result_list tbody tr")
        assert rows.count() == 5
        row = rows.filter(has_text="推荐计算")
        row.locator("input[type=checkbox]").check()
        page.locator("select[name=action]").select_option("force_off")
        page.locator("button[name=index]").click()
        page.wait_for_url("**/admin/core/degradeswitch/")
        text = rows.filter(has_text="推荐计算").inner_text()
        assert "已关闭" in text and "人工强制关闭" in text and "强制关闭" in text
        shoot(page, "peak-01-switches.png")
        assert page.failed_responses == [] and page.errors == []
    assert DegradeSwitch.objects.get(name="recommendations").enabled is False
