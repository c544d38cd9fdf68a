from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    """The operations console's wiring across apps: it sits above every other app, so the order
    workbench (in orders, below fulfilment and channels) can show packages and act on them."""

    name = "zhongshu.console"
    label = "console"
    verbose_name = _("运营控制台")

    def ready(self) -> None:
        from zhongshu.console import hooks  # noqa: F401  (registers the workbench's providers)
