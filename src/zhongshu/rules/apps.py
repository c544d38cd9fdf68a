from django.apps import AppConfig


class RulesConfig(AppConfig):
    name = "zhongshu.rules"
    label = "rules"
    verbose_name = "规则"

    def ready(self) -> None:
        from zhongshu.orders.review import register
        from zhongshu.rules.hook import prepare, review_order

        register(
            review_order, prepare=prepare
        )  # intake asks the rules engine about every order it is about to allocate
