"""The outbound scan and label printing pages (included under /pda/ship/, next to the PDA's)."""

from django.urls import path

from zhongshu.shipping import views

app_name = "ship"

urlpatterns = [
    path("", views.ship, name="scan"),
    path("reset/", views.ship_reset, name="reset"),
    path("print/", views.print_page, name="print"),
    path("print/waybills/", views.take_waybills, name="take_waybills"),
    path("labels/P<int:package_id>.pdf", views.label_pdf, name="label_pdf"),
    path("labels/W<int:wave_id>.pdf", views.wave_pdf, name="wave_pdf"),
    path("printed/P<int:package_id>/", views.printed, name="printed"),
]
