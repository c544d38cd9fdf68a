from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "zhongshu.core"
    label = "core"
    verbose_name = _("系统")

    def ready(self) -> None:
        from zhongshu.core import consumers, tasks  # noqa: F401  (register consumer, install relay waker)
