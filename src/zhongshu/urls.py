from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from zhongshu.api import api

urlpatterns = [
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),  # language switch (zh-hans / en)
    path("admin/", admin.site.urls),
    path("channels/", include("zhongshu.channels.urls")),  # OAuth start/callback of the shops
    path("console/exceptions/", include("zhongshu.orders.exception_urls")),  # the exception queue
    path("console/rules/", include("zhongshu.rules.urls")),  # the visual rule builder
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
