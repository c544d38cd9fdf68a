"""The admin's home page is the operations dashboard (views.dashboard_callback fills it)."""

from django.contrib import admin

admin.site.index_template = "monitor/index.html"
