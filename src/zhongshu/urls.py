from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from zhongshu.api import api
from zhongshu.core.login_guard import password_change
from zhongshu.core.metrics import metrics_view

urlpatterns = [
    path("api/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),  # language switch (zh-hans / en)
    # the old password is checked through axes (guessing it is throttled like the sign-in)
    path("admin/password_change/", admin.site.admin_view(password_change)),
    # shops moved from the channels app to their own (decision 0007): old bookmarks keep working
    re_path(
        r"^admin/channels/shop/(?P<rest>.*)$",
        RedirectView.as_view(url="/admin/shops/shop/%(rest)s", query_string=True),
    ),
    path("admin/dashboard/", include("zhongshu.monitor.urls")),  # the home dashboard's live figures
    path("admin/", admin.site.urls),
    path("channels/", include("zhongshu.channels.urls")),  # OAuth start/callback of the shops
    path("console/exceptions/", include("zhongshu.orders.exception_urls")),  # the exception queue
    path("console/rules/", include("zhongshu.rules.urls")),  # the visual rule builder
    path("pda/ship/", include("zhongshu.shipping.urls")),  # the outbound scan and label printing
    path("pda/", include("zhongshu.fulfilment.urls")),  # the warehouse floor's phone pages
    path("metrics", metrics_view),  # Prometheus, bearer ZHONGSHU_METRICS_TOKEN
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
