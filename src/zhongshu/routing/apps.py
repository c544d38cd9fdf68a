from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "zhongshu.routing"
    label = "routing"
    verbose_name = "路由"
