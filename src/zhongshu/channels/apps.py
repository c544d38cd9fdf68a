from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "zhongshu.channels"
    label = "channels"
    verbose_name = "渠道"

    def ready(self) -> None:
        from zhongshu.channels import connectors  # noqa: F401  (platform connectors register themselves)
