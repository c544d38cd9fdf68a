"""English as the second language of the UI: after the language switch the admin and the console pages
speak English (our source strings are Chinese, translated by locale/en), records stay as they were
written, and without a choice the UI stays Chinese. The compiled catalog is shipped, so a fresh clone
needs no msgfmt."""

import gettext
import html
import json
import re
from pathlib import Path

import pytest
from django.urls import reverse

from tests.factories import example_order, put_stock
from zhongshu.core.outbox import relay
from zhongshu.orders.models import Order
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake

EN = Path(__file__).resolve().parents[2] / "src" / "zhongshu" / "locale" / "en" / "LC_MESSAGES"
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+")
RULE = "pickup_point_review"


@pytest.fixture
def orders(hub) -> dict[str, Order]:
    """An allocated order and one held for price_mismatch (its lines − discount ≠ the paid amount)."""
    put_stock("DUMPLING-500G", "CD", 10)
    [ok] = intake([OrderIn.model_validate(example_order())], actor="test")
    [held] = intake(
        [OrderIn.model_validate(example_order(channel_order_id="EX1", paid_amount="60.00"))], "test"
    )
    relay()  # the audit timeline is built from the outbox (on_commit does not fire in a test transaction)
    assert held.order.status == "on_hold"
    return {"allocated": ok.order, "held": held.order}


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def english(staff):
    """The admin's language switch: django.conf.urls.i18n's set_language, remembered in a cookie."""
    response = staff.post("/i18n/setlang/", {"language": "en", "next": "/admin/"})
    assert response.status_code == 302 and response.url == "/admin/"
    assert staff.cookies["django_language"].value == "en"
    return staff


def text(response) -> str:
    """What a person reads: the page without scripts, styles and tags, plus the placeholders."""
    assert response.status_code == 200
    page = re.sub(r"(?s)<script\b.*?</script>|<style\b.*?</style>", " ", response.content.decode())
    placeholders = re.findall(r'placeholder="([^"]*)"', page)
    return html.unescape(" ".join([re.sub(r"(?s)<[^>]+>", " ", page), *placeholders]))


def order_url(order: Order) -> str:
    return reverse("admin:orders_order_change", args=[order.pk])


# page → (English it shows, the Chinese UI texts it then no longer shows)
PAGES = {
    "index": (
        lambda o: reverse("admin:index"),
        ["Orders", "Exception queue", "Transfer alerts", "Products & stock", "Rule builder",
         "Audit timeline"],
        ["异常订单", "调拨预警", "商品与库存", "规则编辑器", "审计时间线"],
    ),
    "order": (
        lambda o: order_url(o["allocated"]),
        ["Receiver (masked)", "Times (Beijing time)", "Allocated", "Placed at", "Channel order ID"],
        ["收货人（已脱敏）", "时间（北京时间）", "已分仓锁库", "下单时间", "平台订单号"],
    ),
    "stock": (
        lambda o: reverse("admin:inventory_stocklevel_changelist"),
        ["Stock", "Physical stock", "Reserved", "In transit", "Available", "Search by SKU code or name"],
        ["实物库存", "已预留", "在途", "可用", "按 SKU 编码或名称搜索"],
    ),
    "exception queue": (
        lambda o: reverse("exceptions:queue"),
        ["Exception queue", "Held this month", "1 held · ¥60.00", "Held longest first",
         "Reason code", "Approve selected", "Cancel selected", "Rule backtest"],
        ["本月拦截", "挂起最久在前", "原因代码", "放行所选", "取消所选", "规则回测"],
    ),
    "rule list": (
        lambda o: reverse("rules_console:list"),
        ["Rule builder", "Every change to a rule is saved as a new version", "Order review / holds", "Enabled",
         "When (Address contains 驿站 or Address contains 代收点) and Paid amount > 500 → manual review"],
        ["每条规则的改动都会生成新版本", "启用", "优先级", "预览", "当 （收货地址 包含"],
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", PAGES)
def test_after_the_language_switch_the_page_speaks_english(english, orders, name):
    url, shown, gone = PAGES[name]
    page = text(english.get(url(orders)))
    assert [s for s in shown if s not in page] == []
    assert [s for s in gone if s in page] == []


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("browser", ["", "en-US,en;q=0.9"])
def test_without_a_choice_the_page_stays_chinese(staff, orders, name, browser):
    """Even a browser asking for English gets Chinese until the person switches the language."""
    url, shown, gone = PAGES[name]
    page = text(staff.get(url(orders), HTTP_ACCEPT_LANGUAGE=browser))
    assert [s for s in gone if s not in page] == []
    assert "Exception queue" not in page and "Rule builder" not in page


def test_the_english_admin_index_has_no_chinese_but_the_name_of_chinese_itself(english, orders):
    assert set(CJK.findall(text(english.get(reverse("admin:index"))))) == {"简体中文"}


def test_records_keep_the_language_they_were_written_in(english, orders):
    # transition reasons, hold reasons and names are data: shown as written, not translated
    order = text(english.get(order_url(orders["allocated"])))
    assert "接单（已付款）" in order and "手工水饺 500g" in order
    queue = text(english.get(reverse("exceptions:queue")))
    assert "四川省" in queue
    assert "Price mismatch" in queue and "price_mismatch" not in queue  # the hold code read out (issue 11)


def test_messages_of_the_exception_queue_are_english(english, orders):
    put_stock("DUMPLING-500G", "CD", 100)
    held = orders["held"]
    page = text(
        english.post(reverse("exceptions:decide"), {"ids": [held.pk], "action": "approve"}, follow=True)
    )
    assert "Orders approved: 1" in page and "已放行" not in page
    page = text(english.post(reverse("exceptions:decide"), {"action": "cancel"}, follow=True))
    assert "Tick the orders first" in page


def test_the_rule_admin_previews_in_the_page_language(english, orders):
    page = text(english.get(reverse("admin:rules_rule_changelist")))
    assert "When (Address contains 驿站 or Address contains 代收点) and Paid amount > 500" in page
    assert "当 （收货地址" not in page


def test_the_rule_builder_explains_facts_in_the_page_language(staff, orders):
    url = reverse("rules_console:edit", args=["brushing"])
    zh_help = '"help": ' + json.dumps("按上海时间自然日，所有店铺，含本单")  # as json_script writes it
    en_help = '"help": "calendar day in Shanghai time, all shops, this order included"'
    chinese = staff.get(url).content.decode()
    assert zh_help in chinese and en_help not in chinese
    staff.post("/i18n/setlang/", {"language": "en", "next": url})
    english = staff.get(url).content.decode()
    assert en_help in english and zh_help not in english


def test_the_english_catalog_is_complete_and_compiled():
    """Every entry of the .po is translated, none fuzzy, and the shipped .mo holds exactly those."""
    po = (EN / "django.po").read_text(encoding="utf-8")
    assert "fuzzy" not in po
    assert re.search(r'^msgstr ""\n\n', po + "\n", re.M) is None  # no empty translation
    with (EN / "django.mo").open("rb") as mo:
        catalog = gettext.GNUTranslations(mo)._catalog
    assert len(catalog) == len(re.findall(r"^msgid ", po, re.M))  # the header is an entry in both
    assert catalog["异常订单"] == "Exception queue"
    assert catalog["singular\x04订单"] == "order"  # Django capitalises where a name starts a sentence
