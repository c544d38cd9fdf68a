from axes.apps import AppConfig as AxesAppConfig
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    default = True  # this module also holds LoginGuardConfig (and imports axes' config)
    name = "zhongshu.core"
    label = "core"
    verbose_name = _("系统")

    def ready(self) -> None:
        from zhongshu.core import consumers, login_guard, tasks  # noqa: F401  (consumer, login audit, relay waker)


class LoginGuardConfig(AxesAppConfig):
    """django-axes (sign-in throttling) under a Chinese name in the admin."""

    verbose_name = _("登录保护")
