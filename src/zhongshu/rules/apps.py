from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RulesConfig(AppConfig):
    name = "zhongshu.rules"
    label = "rules"
    verbose_name = _("规则")

    def ready(self) -> None:
        from zhongshu.orders.review import register, register_carrier, register_router
        from zhongshu.rules.hook import carrier_for, prepare, review_order, route_order

        # intake asks the rules engine about every order it is about to allocate …
        register(review_order, prepare=prepare)
        # … and which warehouse it prefers (routing rules; the region table is the fallback)
        register_router(route_order, prepare=prepare)
        # … and, once allocated, which carrier ships it (carrier rules)
        register_carrier(carrier_for)
