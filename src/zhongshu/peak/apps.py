from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PeakConfig(AppConfig):
    name = "zhongshu.peak"
    label = "peak"
    verbose_name = _("大促保障")
