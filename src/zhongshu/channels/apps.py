from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    name = "zhongshu.channels"
    label = "channels"
    verbose_name = _("渠道")

    def ready(self) -> None:
        # platform connectors register themselves; consumers registers the stock write-back consumer;
        # tasks installs how the push inbox is woken
        from zhongshu.channels import connectors, consumers, tasks  # noqa: F401
