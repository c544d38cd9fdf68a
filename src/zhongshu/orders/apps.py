from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "zhongshu.orders"
    label = "orders"
    verbose_name = _("订单")

    def ready(self) -> None:
        from zhongshu.orders import consumers  # noqa: F401  (registers outbox consumers)
