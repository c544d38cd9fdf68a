"""Protection against password guessing (django-axes, configured in settings.py) and its audit.

- The lockout page: a Chinese page with HTTP 429 instead of axes' plain English text.
- The audit: every wrong password up to the limit and the lock itself go on the audit timeline
  (axes keeps its own rows too: 登录尝试, 登录失败记录); failures during a lock are only counted by axes.
- The admin's password-change form checks the old password through authenticate(), so guessing it
  is throttled like the sign-in.
- `unlock`: lifting a lock early (CLI `zhongshu unlock`, the admin's 解除锁定), audited.
"""

from axes.helpers import get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.forms import AdminPasswordChangeForm
from django.contrib.auth import authenticate
from django.contrib.auth.signals import user_login_failed
from django.contrib.auth.views import PasswordChangeView
from django.core.exceptions import ValidationError
from django.dispatch import receiver
from django.shortcuts import render
from django.urls import reverse

from zhongshu.core import outbox


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the lockout page, in the admin's look."""
    cool_off = get_cool_off(request)
    context = {
        **admin.site.each_context(request),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "minutes": round(cool_off.total_seconds() / 60) if cool_off else 0,
        "login_url": reverse("admin:login"),
    }
    return render(request, "zhongshu/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)


@receiver(user_login_failed, dispatch_uid="zhongshu.login_failed_audit")
def audit_login_failure(sender, credentials, request=None, **kwargs) -> None:
    """Runs after axes' own handler (axes comes first in INSTALLED_APPS), which has counted this
    failure into request.axes_failures_since_start."""
    failures = getattr(request, "axes_failures_since_start", None)
    if request is None or failures is None or failures > settings.AXES_FAILURE_LIMIT:
        return
    username = get_client_username(request, credentials) or ""
    address = getattr(request, "axes_ip_address", "") or ""
    if failures == settings.AXES_FAILURE_LIMIT:
        minutes = round(get_cool_off(request).total_seconds() / 60)
        topic = "auth.locked_out"
        summary = f"登录锁定：{username} 自 {address} 连续 {failures} 次密码错误，锁定 {minutes} 分钟"
    else:
        topic = "auth.login_failed"
        summary = f"登录失败：{username} 自 {address}（第 {failures} 次）"
    outbox.write(
        [
            outbox.event(
                topic,
                key=f"user:{username}"[:128],  # a username may have 150 characters
                actor=f"address:{address}",
                payload={
                    "subject": f"user:{username}",
                    "address": address,
                    "failures": failures,
                    "summary": summary,
                },
            )
        ]
    )


def unlock(actor: str, username: str | None = None, address: str | None = None) -> int:
    """Lift the locks (and forget the counted failures) of a user, an address, or both; neither:
    every lock. Returns how many attempt rows were removed."""
    attempts = AccessAttempt.objects.all()
    if username:
        attempts = attempts.filter(username=username)
    if address:
        attempts = attempts.filter(ip_address=address)
    pairs = sorted(set(attempts.values_list("username", "ip_address")))
    count, _ = attempts.delete()
    outbox.write(
        outbox.event(
            "auth.unlocked",
            key=f"user:{name}"[:128],
            actor=actor,
            payload={"subject": f"user:{name}", "address": ip, "summary": f"解除登录锁定：{name} 自 {ip}"},
        )
        for name, ip in pairs
    )
    return count


# --- the admin's password change -------------------------------------------------------------


class ThrottledPasswordChangeForm(AdminPasswordChangeForm):
    """The old password is checked through authenticate(), so axes counts wrong guesses (and refuses
    a locked-out user even with the right one)."""

    def __init__(self, user, *args, request=None, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        username = self.user.get_username()
        if authenticate(self.request, username=username, password=old_password) is None:
            raise ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old_password


class ThrottledPasswordChangeView(PasswordChangeView):
    form_class = ThrottledPasswordChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}


def password_change(request):
    """admin.site.password_change with the throttled form (mounted before the admin's URLs)."""
    request.current_app = admin.site.name
    return ThrottledPasswordChangeView.as_view(
        success_url=reverse("admin:password_change_done"),
        extra_context=admin.site.each_context(request),
    )(request)
