from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "zhongshu.orders"
    label = "orders"
    verbose_name = "订单"

    def ready(self) -> None:
        from zhongshu.orders import consumers  # noqa: F401  (registers outbox consumers)
