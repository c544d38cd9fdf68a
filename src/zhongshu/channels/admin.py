"""Admin of the channels: shops."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from zhongshu.channels.models import Shop


@admin.register(Shop)
class ShopAdmin(ModelAdmin):
    list_display = ("code", "name", "platform", "active", "created_at")
    list_filter = ("platform", "active")
    search_fields = ("code", "name")
    search_help_text = _("按店铺代码或名称搜索")
    fields = ("code", "name", "platform", "active")
