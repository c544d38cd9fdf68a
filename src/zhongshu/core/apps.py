from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "zhongshu.core"
    label = "core"
    verbose_name = "系统"

    def ready(self) -> None:
        from zhongshu.core import consumers, tasks  # noqa: F401  (register consumer, install relay waker)
