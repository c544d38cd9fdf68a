"""Console URLs of the channels (included under /channels/)."""

from django.urls import path

from zhongshu.channels import views

app_name = "channels"

urlpatterns = [
    path("oauth/start/<slug:shop>/", views.oauth_start, name="oauth-start"),
    path("oauth/callback/<slug:shop>/", views.oauth_callback, name="oauth-callback"),
]
