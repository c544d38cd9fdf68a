from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "zhongshu.webhooks"
    label = "webhooks"
    verbose_name = _("对外推送")

    def ready(self) -> None:
        from zhongshu.webhooks import consumers, tasks  # noqa: F401  (outbox consumers, dispatch tasks)
