"""The dashboard's live fragment and the KPI report (included under /admin/dashboard/, before the
admin's own URLs)."""

from django.urls import path

from zhongshu.monitor import kpi_views, views

app_name = "monitor"

urlpatterns = [
    path("live/", views.live, name="live"),
    path("kpi/", kpi_views.kpi_page, name="kpi"),
    path("kpi.xlsx", kpi_views.kpi_xlsx, name="kpi-xlsx"),
]
