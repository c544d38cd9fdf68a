from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShippingConfig(AppConfig):
    name = "zhongshu.shipping"
    label = "shipping"
    verbose_name = _("发货")

    def ready(self) -> None:
        from zhongshu.shipping import (
            consumers,  # noqa: F401  (outbox: ship confirmation to the platform)
            followup,  # noqa: F401  (outbox: tracking subscription, customer notice)
        )
