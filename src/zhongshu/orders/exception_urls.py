"""Console URLs of the exception queue (included under /console/exceptions/)."""

from django.urls import path

from zhongshu.orders import exception_views as views

app_name = "exceptions"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("decide/", views.decide, name="decide"),
    path("backtest", views.backtest_page, name="backtest"),
    path("<int:pk>/", views.detail, name="detail"),
]
