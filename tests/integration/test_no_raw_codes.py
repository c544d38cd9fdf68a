"""No internal code in what a person reads (issue 11, item 3): the main pages of the console, on the
demo data plus held orders, show Chinese labels for every status, hold code, flag, event type,
actor and role — never the codes themselves — and none of Django's stock phrases ("以 状态",
"选择 订单 来修改"). The codes are collected from the models' TextChoices, the shipped rule
templates, the flag and topic tables, so a new status is checked without touching this test."""

import html
import re

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.db import models
from django.urls import reverse

from zhongshu.core.models import OutboxEvent
from zhongshu.core.outbox import relay
from zhongshu.core.roles import ROLES, ensure_roles
from zhongshu.demo import load_demo
from zhongshu.orders import labels
from zhongshu.orders.models import Order
from zhongshu.orders.services import MANUAL_HOLD, hold_orders
from zhongshu.rules.models import Rule
from zhongshu.rules.templates import TEMPLATES
from zhongshu.shops.models import Shop

# Identifiers people give things are data, not internal codes: a shop's code (the demo names its JD
# shop "jd", equal to the platform value) is shown beside its name, and a rule's code is shown where
# rules are written (the rule builder and the rule list), nowhere else.
RULE_PAGES = {"rules", "rule list"}
# Models of other apps still without a readable name (their owners add one): fulfilment's link and
# history rows, inventory's transfer alert (issue 11 item 5).
GENERIC_NAMES_LEFT = {"WavePickRow", "PackageOrder", "PackageLine", "PackageTransition", "TransferAlert"}
STOCK_PHRASES = re.compile(r"以 \S|选择 \S+ 来(修改|查看)")


def text_choices() -> set[str]:
    """Every value of every TextChoices of the hub's models (statuses, kinds, platforms, stages...)."""
    codes = set()
    for model in apps.get_models():
        if not model.__module__.startswith("zhongshu."):
            continue
        for field in model._meta.get_fields():
            choices = getattr(field, "choices", None)
            if choices and isinstance(field, models.CharField):
                # a code whose label is the code itself (EMS) is what a person reads anyway
                codes |= {str(value) for value, label in choices if str(value) != str(label)}
    return codes


def known_codes() -> set[str]:
    hold_codes = {t["code"] for t in TEMPLATES} | set(labels.HOLD_LABELS) | {MANUAL_HOLD}
    hold_codes |= {f"manual_review/{t['code']}" for t in TEMPLATES}
    topics = set(labels.TOPIC_LABELS) | set(OutboxEvent.objects.values_list("topic", flat=True).distinct())
    flags = set(labels.FLAG_LABELS) | {f"carrier:{c}" for c in labels.CARRIER_NAMES}
    return text_choices() | hold_codes | topics | flags | {"system", "system:demo"}


def data_identifiers(page: str) -> set[str]:
    shops = set(Shop.objects.values_list("code", flat=True))
    return shops | (set(Rule.objects.values_list("code", flat=True)) if page in RULE_PAGES else set())


def visible(response) -> str:
    """What a person reads: the page without scripts, styles, tags and attribute values."""
    assert response.status_code == 200, response
    page = re.sub(
        r"(?s)<script\b.*?</script>|<style\b.*?</style>|<template\b.*?</template>",
        " ",
        response.content.decode(),
    )
    return html.unescape(re.sub(r"(?s)<[^>]+>", " ", page))


def leaks(page: str, codes: set[str]) -> set[str]:
    found = set()
    for code in codes:
        if re.search(rf"(?<![\w./:-]){re.escape(code)}(?![\w/:-])", page):
            found.add(code)
    return found


@pytest.fixture
def console(db, client, admin_user):
    load_demo(orders=40)
    ensure_roles()
    ids = list(Order.objects.filter(status="allocated").values_list("pk", flat=True)[:3])
    hold_orders(ids[:2], "ops", "地址待核实")
    relay()
    client.force_login(admin_user)
    return client


def pages() -> dict:
    allocated = Order.objects.filter(status="allocated").first()
    held = Order.objects.filter(status="on_hold").first()
    return {
        "dashboard": reverse("admin:index"),
        "order list": reverse("admin:orders_order_changelist"),
        "order page": reverse("admin:orders_order_change", args=[allocated.pk]),
        "held order page": reverse("admin:orders_order_change", args=[held.pk]),
        "exception queue": reverse("exceptions:queue"),
        "exception": reverse("exceptions:detail", args=[held.pk]),
        "rules": reverse("rules_console:list"),
        "rule list": reverse("admin:rules_rule_changelist"),
        "packages": reverse("admin:fulfilment_package_changelist"),
        "waves": reverse("admin:fulfilment_wave_changelist"),
        "shops": reverse("admin:shops_shop_changelist"),
        "timeline": reverse("admin:core_timelineentry_changelist"),
        "roles": reverse("admin:auth_group_changelist"),
    }


def test_the_main_pages_show_no_internal_code(console):
    codes = known_codes()
    assert {"paid", "on_hold", "order.status_changed", "manual_hold", "pending", "taobao"} <= codes
    found = {
        name: sorted(leaks(visible(console.get(url)), codes - data_identifiers(name)))
        for name, url in pages().items()
    }
    assert {name: codes for name, codes in found.items() if codes} == {}


def test_no_stock_django_phrase(console):
    for name, url in pages().items():
        assert STOCK_PHRASES.search(visible(console.get(url))) is None, name


def test_the_leak_check_sees_a_code():
    assert leaks("状态 paid 已付款", {"paid"}) == {"paid"}
    assert leaks("MP-paid-1 unpaid", {"paid"}) == set()


def test_roles_have_chinese_names():
    assert all(re.search(r"[\u4e00-\u9fff]", role) for role in ROLES)


def test_model_objects_have_readable_names(console):
    generic = re.compile(r"\bobject \(\d+\)")
    for model in apps.get_models():
        if (
            model.__module__.startswith("zhongshu.")
            and model.__name__ not in GENERIC_NAMES_LEFT
            and model._default_manager.exists()
        ):
            obj = model._default_manager.first()
            assert not generic.search(str(obj)), (model.__name__, str(obj))
    assert not Group.objects.filter(name__regex=r"^[a-z_]+$").exists()
