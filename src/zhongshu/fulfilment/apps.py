from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FulfilmentConfig(AppConfig):
    name = "zhongshu.fulfilment"
    label = "fulfilment"
    verbose_name = _("仓储作业")

    def ready(self) -> None:
        from zhongshu.fulfilment import consumers, tasks  # noqa: F401  (outbox consumer, periodic waves)
