from django.apps import AppConfig


class ChannelsConfig(AppConfig):
    name = "zhongshu.channels"
    label = "channels"
    verbose_name = "渠道"

    def ready(self) -> None:
        # platform connectors register themselves; consumers registers the stock write-back consumer
        from zhongshu.channels import connectors, consumers  # noqa: F401
