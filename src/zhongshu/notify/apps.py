from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotifyConfig(AppConfig):
    name = "zhongshu.notify"
    label = "notify"
    verbose_name = _("告警与通知")

    def ready(self) -> None:
        # consumers turns the sync circuit breaker's outbox events into red alerts
        from zhongshu.notify import consumers  # noqa: F401
