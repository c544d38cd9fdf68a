"""Password guessing in a real browser: after five wrong passwords the sign-in page gives way to a
Chinese lockout page (HTTP 429) that also refuses the right password. Screenshot: login-locked.png."""

import pytest
from django.contrib.auth import get_user_model

from tests.e2e.conftest import chinese_tab, shoot

pytestmark = pytest.mark.e2e

USERNAME, PASSWORD = "guard", "e2e-password-456"


@pytest.fixture
def page(playwright_api, live_server, transactional_db):
    get_user_model().objects.create_superuser(USERNAME, "", PASSWORD)
    with chinese_tab(playwright_api) as tab:
        yield tab


def attempt(page, base_url: str, password: str):
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("#id_username", USERNAME)
    page.fill("#id_password", password)
    with page.expect_navigation() as navigation:
        page.locator("form [type=submit]").click()
    return navigation.value


def test_five_wrong_passwords_lock_the_sign_in(page, playwright_api, live_server):
    expect = playwright_api.expect
    for _ in range(4):
        assert attempt(page, live_server.url, "wrong").status == 200
    assert attempt(page, live_server.url, "wrong").status == 429

    response = attempt(page, live_server.url, PASSWORD)

    assert response.status == 429
    expect(page.locator("h1")).to_contain_text("登录已暂时锁定")
    expect(page.locator(".errornote")).to_contain_text("密码连续错误 5 次")
    expect(page.locator(".errornote")).to_contain_text("锁定 15 分钟")
    shoot(page, "login-locked.png")
    assert page.errors == []
