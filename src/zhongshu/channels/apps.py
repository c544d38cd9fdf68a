from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    name = "zhongshu.channels"
    label = "channels"
    verbose_name = _("渠道")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from zhongshu.catalog.models import Sku

        # platform connectors register themselves; consumers registers the stock write-back consumer;
        # tasks installs how the push inbox is woken
        from zhongshu.channels import connectors, consumers, pushcache, tasks  # noqa: F401
        from zhongshu.channels.models import Shop, ShopCredential

        # the push receiver's per-process lookups forget what this process changes
        for model in (Shop, ShopCredential, Sku):
            for signal in (post_save, post_delete):
                signal.connect(pushcache.clear, sender=model, dispatch_uid=f"pushcache-{model.__name__}")
