"""The dashboard's live fragment (included under /admin/dashboard/, before the admin's own URLs)."""

from django.urls import path

from zhongshu.monitor import views

app_name = "monitor"

urlpatterns = [path("live/", views.live, name="live")]
