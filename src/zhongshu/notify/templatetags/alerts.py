"""`{% alert_bell %}`: the count of firing alerts for the admin header."""

from django import template
from django.urls import reverse

from zhongshu.notify.services import firing_count

register = template.Library()


@register.inclusion_tag("notify/bell.html", takes_context=True)
def alert_bell(context) -> dict:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("notify.view_alertstate"):
        return {"show": False}
    return {
        "show": True,
        "count": firing_count(),
        "url": reverse("admin:notify_alertstate_changelist") + "?firing__exact=1",
    }
