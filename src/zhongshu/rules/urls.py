"""Console URLs of the rules engine (included under /console/rules/)."""

from django.urls import path

from zhongshu.rules import views

app_name = "rules_console"

urlpatterns = [
    path("", views.rule_list, name="list"),
    path("<str:code>/", views.rule_edit, name="edit"),
    path("<str:code>/preview/", views.rule_preview, name="preview"),
    path("<str:code>/rollback/<int:version>/", views.rule_rollback, name="rollback"),
]
