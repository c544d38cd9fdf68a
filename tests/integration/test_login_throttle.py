"""Password guessing at the admin: django-axes locks a user's sign-in from one address after
AXES_FAILURE_LIMIT wrong passwords, for the cool-off, audited; `zhongshu unlock` lifts it."""

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.conf import settings
from django.utils import timezone
from typer.testing import CliRunner

from zhongshu.cli import app
from zhongshu.core.models import TimelineEntry
from zhongshu.core.outbox import relay

LOGIN = "/admin/login/?next=/admin/"
PASSWORD = "the-right-one-42"


@pytest.fixture
def boss(django_user_model):
    return django_user_model.objects.create_superuser("boss", "", PASSWORD)


def sign_in(client, password, username="boss", address="127.0.0.1"):
    return client.post(
        LOGIN, {"username": username, "password": password, "next": "/admin/"}, REMOTE_ADDR=address
    )


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_thirty_wrong_passwords_lock_the_right_one_out_until_the_cool_off_ends(client, boss):
    assert settings.AXES_FAILURE_LIMIT == 5 and settings.AXES_COOLOFF_TIME == timedelta(minutes=15)
    for _ in range(30):
        assert sign_in(client, "guess").status_code in (200, 429)

    response = sign_in(client, PASSWORD)

    assert not signed_in(client)
    assert response.status_code == 429
    page = response.content.decode()
    assert "登录已暂时锁定" in page and "密码连续错误 5 次" in page and "锁定 15 分钟" in page
    assert "Traceback" not in page

    # the cool-off passes (the lock's clock moved back instead of waiting 15 minutes)
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    response = sign_in(client, PASSWORD)
    assert response.status_code == 302 and signed_in(client)
    assert not AccessAttempt.objects.exists()  # a successful sign-in forgets the typos


def test_the_lock_starts_at_the_limit_and_is_per_user_and_address(client, boss, django_user_model):
    django_user_model.objects.create_superuser("clerk", "", PASSWORD)
    for _ in range(4):
        assert sign_in(client, "guess").status_code == 200  # the form again, with its error
    assert sign_in(client, "guess").status_code == 429  # the fifth locks

    assert sign_in(client, PASSWORD, address="10.0.0.7").status_code == 302  # same user, other address
    client.logout()
    assert sign_in(client, PASSWORD, username="clerk").status_code == 302  # other user, same address
    client.logout()
    assert sign_in(client, PASSWORD).status_code == 429


def test_failures_and_the_lock_are_audited(client, boss):
    for _ in range(7):
        sign_in(client, "guess")
    relay()

    entries = list(TimelineEntry.objects.filter(subject="user:boss").order_by("id"))
    assert [e.kind for e in entries] == ["auth.login_failed"] * 4 + ["auth.locked_out"]
    assert entries[0].summary == "登录失败：boss 自 127.0.0.1（第 1 次）"
    assert entries[-1].summary == "登录锁定：boss 自 127.0.0.1 连续 5 次密码错误，锁定 15 分钟"
    assert AccessFailureLog.objects.filter(username="boss").count() == 7
    assert AccessFailureLog.objects.filter(username="boss", locked_out=True).count() == 3


def test_a_username_of_the_longest_allowed_length_is_audited_too(client, db):
    name = "u" * 150
    for _ in range(5):
        assert sign_in(client, "guess", username=name).status_code in (200, 429)
    relay()
    assert TimelineEntry.objects.filter(kind="auth.locked_out", summary__contains=name).count() == 1


def test_unlock_from_the_command_line(client, boss):
    for _ in range(5):
        sign_in(client, "guess")
    assert sign_in(client, PASSWORD).status_code == 429

    result = CliRunner().invoke(app, ["unlock", "boss"])

    assert result.exit_code == 0, result.output
    assert "1 lock record(s) removed" in result.stdout
    assert sign_in(client, PASSWORD).status_code == 302
    relay()
    assert TimelineEntry.objects.filter(kind="auth.unlocked", subject="user:boss", actor="cli").exists()


def test_unlock_without_a_target_refuses(db):
    result = CliRunner().invoke(app, ["unlock"])
    assert result.exit_code == 1
    assert "name a user" in result.stderr


def test_unlock_from_the_admin(client, boss, django_user_model):
    for _ in range(5):
        sign_in(client, "guess")
    other = django_user_model.objects.create_superuser("owner", "", "x")
    client.force_login(other)
    changelist = "/admin/axes/accessattempt/"
    page = client.get(changelist)
    assert page.status_code == 200
    assert {"登录尝试", "用户名", "地址", "失败次数", "已锁定", "解除锁定"} <= set(
        re.findall(r"[\u4e00-\u9fff]+", page.content.decode())
    )

    response = client.post(
        changelist,
        {
            "action": "unlock_selected",
            "_selected_action": list(AccessAttempt.objects.values_list("pk", flat=True)),
        },
    )

    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    client.logout()
    assert sign_in(client, PASSWORD).status_code == 302


def test_guessing_the_old_password_in_password_change_is_throttled_too(client, boss):
    client.force_login(boss)
    url = "/admin/password_change/"
    form = {"old_password": "guess", "new_password1": "N3w-pass-phrase", "new_password2": "N3w-pass-phrase"}
    assert client.get(url).status_code == 200
    for _ in range(4):
        assert client.post(url, form).status_code == 200  # the form again: wrong old password
    assert client.post(url, form).status_code == 429

    response = client.post(url, {**form, "old_password": PASSWORD})

    assert response.status_code == 429
    boss.refresh_from_db()
    assert boss.check_password(PASSWORD)  # unchanged
