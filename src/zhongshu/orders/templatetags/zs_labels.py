"""Template filters that read codes out for people: {% load zs_labels %} {{ h.code|hold_label }}."""

from django import template

from zhongshu.orders import labels

register = template.Library()

register.filter("hold_label", labels.hold_label)
register.filter("status_label", labels.status_label)
register.filter("flag_label", labels.flag_label)
register.filter("topic_label", labels.topic_label)
register.filter("actor_label", labels.actor_label)
register.filter("humanize_codes", labels.humanize)
register.filter("channel_status_label", labels.channel_status_label)
