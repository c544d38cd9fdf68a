"""The order workbench's extension points: how a search term finds orders, what the order page shows
beside the order (packages, waybills, tracking) and extra actions on it.

Apps above orders register here (orders imports none of them): the console wires fulfilment's
packages and the channels' re-push (zhongshu/console/hooks.py). The shipping app registers its
waybill search with

    register_search("waybill", _("运单号"), lambda term: Q(pk__in=<order ids with that waybill>))

and its waybills/tracking with register_section("waybills", _("运单与物流"), rows_of_order).
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from zhongshu.catalog.models import SkuBarcode
from zhongshu.core.pii import name_hash
from zhongshu.orders import receiver
from zhongshu.orders.models import Order, OrderLine


@dataclass(frozen=True)
class SearchProvider:
    name: str
    label: str  # what the search box says it finds
    find: Callable[[str], Q | None]  # a term → the orders it names (a Q on Order), None: not this kind


@dataclass(frozen=True)
class Section:
    """Rows shown on the order page: {"label", "url", "status", "detail"} each."""

    name: str
    title: str
    rows: Callable[[Order], list[dict]]


@dataclass(frozen=True)
class OrderAction:
    """An action on the order page provided by an app above orders: `run(request, order)` handles
    GET (a form) and POST (do it) and returns a response."""

    name: str
    label: str
    permission: str
    run: Callable


SEARCH: dict[str, SearchProvider] = {}
SECTIONS: dict[str, Section] = {}
ACTIONS: dict[str, OrderAction] = {}


def register_search(name: str, label, find: Callable[[str], Q | None]) -> None:
    SEARCH[name] = SearchProvider(name, label, find)


def register_section(name: str, title, rows: Callable[[Order], list[dict]]) -> None:
    SECTIONS[name] = Section(name, title, rows)


def register_action(name: str, label, permission: str, run: Callable) -> None:
    ACTIONS[name] = OrderAction(name, label, permission, run)


def search_filter(term: str) -> Q:
    """The orders any registered provider finds for `term` (nothing when none does)."""
    term = term.strip()
    found = Q(pk__in=[])
    for provider in SEARCH.values():
        q = provider.find(term) if term else None
        if q is not None:
            found |= q
    return found


def search_help() -> str:
    return "、".join(str(p.label) for p in SEARCH.values())


# --- what orders itself knows how to find ---------------------------------------------------------


def _order_id(term: str) -> Q | None:
    return Q(channel_order_id=term) if term else None


def _hub_id(term: str) -> Q | None:
    digits = term.lstrip("#")
    return Q(pk=int(digits)) if term.startswith("#") and digits.isdigit() else None


def _name(term: str) -> Q | None:
    if not term or any(c.isdigit() for c in term) or len(term) > 40:
        return None
    return Q(receiver_name_hash=name_hash(term))


def _nick(term: str) -> Q | None:
    return Q(buyer_nick=term) if term else None  # exact: the index serves it


def _sku(term: str) -> Q | None:
    if not term or " " in term:
        return None
    skus = SkuBarcode.objects.filter(code=term).values("sku_id")
    lines = OrderLine.objects.filter(Q(sku__code=term) | Q(sku_id__in=skus)).values("order_id")
    return Q(pk__in=lines)


register_search("order_id", _("平台订单号"), _order_id)
register_search("hub_id", _("中枢单号（#123）"), _hub_id)
register_search("phone", _("收货人手机号或尾号后 4 位"), receiver.phone_filter)
register_search("name", _("收货人姓名"), _name)
register_search("nick", _("买家昵称"), _nick)
register_search("sku", _("商家编码或条码"), _sku)
