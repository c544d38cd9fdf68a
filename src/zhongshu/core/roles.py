"""The shipped roles (Django groups) and their model permissions.

`ensure_roles()` runs after `migrate` (the CLI calls it). It is idempotent and additive: it creates
missing groups and grants missing permissions, and never takes away a permission an administrator
granted in the admin (角色).
"""

from django.apps import apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import transaction

HUB_APPS = (
    "core", "catalog", "shops", "channels", "inventory", "routing", "orders", "rules", "fulfilment", "shipping",
    "notify", "webhooks", "monitor",
)  # fmt: skip

OPERATIONS, WAREHOUSE, FINANCE, MANAGEMENT = "运营", "仓库", "财务", "管理层"
# The user an ERP, a shop or another system sends orders, SKUs and stocktakes with (API tokens only).
INTEGRATION = "系统对接"

# Seeing an order means seeing its lines, holds and state history as well.
VIEW_ORDERS = (
    "orders.view_order",
    "orders.view_orderline",
    "orders.view_orderhold",
    "orders.view_ordertransition",
)

# Seeing a package or a wave means seeing its orders, lines, transitions and pick list as well.
VIEW_FLOOR = (
    "fulfilment.view_package",
    "fulfilment.view_packageorder",
    "fulfilment.view_packageline",
    "fulfilment.view_packagetransition",
    "fulfilment.view_wave",
    "fulfilment.view_wavepickrow",
)

# Acting in the exception queue (/console/exceptions/): approve, edit, cancel held orders.
REVIEW_EXCEPTIONS = "orders.review_exceptions"
# The receiver's name, phone and address in clear (they are stored encrypted and shown masked): to
# print a waybill label or correct an address (operations, warehouse); exporting them in clear is
# granted to no role by default. Each use is audited (orders/receiver.py).
REVEAL_RECEIVER = "orders.reveal_receiver"
EXPORT_RECEIVER = "orders.export_receiver"
# The order workbench: hold, release, cancel, change warehouse, correct the receiver, re-push to the
# platform (operations); a staff note and tags (operations, warehouse).
HANDLE_ORDERS = "orders.handle_orders"
NOTE_ORDERS = "orders.note_orders"
# Permissions that are no model operation: (app label, model, codename, name); made by ensure_roles.
CUSTOM_PERMISSIONS = (
    ("orders", "order", "review_exceptions", "审核异常订单（放行、修改、取消）"),
    ("orders", "order", "reveal_receiver", "查看收货人明文（面单、改地址；记入审计）"),
    ("orders", "order", "export_receiver", "导出收货人明文（记入审计）"),
    ("orders", "order", "handle_orders", "处理订单（挂起、放行、取消、改仓、改收货人、重新回传）"),
    ("orders", "order", "note_orders", "订单备注与标签"),
)

ROLES: dict[str, tuple[str, ...]] = {
    OPERATIONS: (
        *VIEW_ORDERS,
        REVIEW_EXCEPTIONS,
        REVEAL_RECEIVER,
        HANDLE_ORDERS,
        NOTE_ORDERS,
        "routing.view_provinceregion", "routing.change_provinceregion",
        "routing.view_regionroute", "routing.change_regionroute",
        "routing.view_routingsettings", "routing.change_routingsettings",
        "inventory.view_stocklevel",
        "inventory.view_transferalert", "inventory.change_transferalert",
        "core.view_notification",
        # the rule builder (/console/rules/): operations change rules; versions and hits are read-only
        "rules.view_rule", "rules.change_rule", "rules.view_ruleset",
        "rules.view_ruleversion", "rules.view_rulehit",
        # red alerts: operations tune the rules and see firing alerts and the history; channels
        # (robot tokens and secrets) stay with the administrators
        "notify.view_alertrule", "notify.change_alertrule", "notify.view_alertstate", "notify.view_alertevent",
        "notify.view_delivery",
        "monitor.view_kpi_report",  # the KPI report (R-MON3)
        # the floor seen from the office; a supervisor's release, resume or cancel of a stopped package
        *VIEW_FLOOR,
        "fulfilment.supervise_package",
        # shipping: accounts and carrier codes are the office's; the failed-confirmation queue too
        "shipping.view_waybill", "shipping.view_waybillaccount", "shipping.change_waybillaccount",
        "shipping.add_waybillaccount", "shipping.view_carriercode", "shipping.change_carriercode",
        "shipping.view_shipconfirmation", "shipping.change_shipconfirmation",
        # after the ship: tracking and the notice log to look at, the notice wording to edit (the
        # Kuaidi100 and Aliyun secrets stay with the administrators)
        "shipping.view_trackingsubscription", "shipping.view_trackingevent", "shipping.view_notice",
        "shipping.view_noticetemplate", "shipping.change_noticetemplate",
    ),
    WAREHOUSE: (
        *VIEW_ORDERS,
        REVEAL_RECEIVER,  # waybill labels
        NOTE_ORDERS,
        # a stocktake of a SKU not yet stocked in the warehouse adds its row
        "inventory.view_stocklevel", "inventory.change_stocklevel", "inventory.add_stocklevel",
        "inventory.view_warehouse",
        *VIEW_FLOOR,
        "fulfilment.view_wavestrategy", "fulfilment.change_wavestrategy", "fulfilment.add_wavestrategy",
        "fulfilment.view_packagingtype", "fulfilment.change_packagingtype", "fulfilment.add_packagingtype",
        "fulfilment.view_fulfilmentsettings",
        # the floor's work: make waves, claim and pick them, check and pack packages
        "fulfilment.add_wave", "fulfilment.change_wave", "fulfilment.change_package",
        # out the door: take waybills, print labels, the outbound scan; see the confirmations
        "shipping.view_waybill", "shipping.add_waybill", "shipping.ship_package",
        "shipping.view_shipconfirmation",
        # recount tasks raised by shortages: count and close them
        "fulfilment.view_recounttask", "fulfilment.change_recounttask",
    ),
    FINANCE: VIEW_ORDERS,
    INTEGRATION: (
        *VIEW_ORDERS,
        "orders.add_order",  # POST /api/v1/orders (order intake)
        "catalog.view_sku", "catalog.add_sku", "catalog.change_sku",
        "inventory.view_stocklevel", "inventory.change_stocklevel", "inventory.add_stocklevel",
    ),
    MANAGEMENT: (),  # every view_* permission of the hub apps, computed below
}  # fmt: skip


def role_permissions(role: str) -> list[Permission]:
    """The permissions a role is granted by default."""
    if role == MANAGEMENT:
        views = Permission.objects.filter(content_type__app_label__in=HUB_APPS, codename__startswith="view_")
        return list(views)
    wanted = ROLES[role]
    found = {
        f"{p.content_type.app_label}.{p.codename}": p
        for p in Permission.objects.select_related("content_type").filter(
            content_type__app_label__in={w.split(".")[0] for w in wanted},
            codename__in={w.split(".")[1] for w in wanted},
        )
    }
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise LookupError(f"role {role}: unknown permissions {', '.join(missing)} (run migrate first)")
    return [found[w] for w in wanted]


@transaction.atomic
def ensure_roles() -> dict[str, int]:
    """Create the roles 运营, 仓库, 财务, 系统对接, 管理层 with their permissions; returns permissions per role."""
    for label in HUB_APPS:
        # normally done by migrate's post_migrate; repeated here so the roles never miss a model
        create_permissions(apps.get_app_config(label), verbosity=0)
    ensure_custom_permissions()
    granted = {}
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        perms = role_permissions(role)
        group.permissions.add(*perms)
        granted[role] = len(perms)
    return granted


def ensure_custom_permissions() -> None:
    """Create the permissions of CUSTOM_PERMISSIONS that are missing (idempotent)."""
    for app_label, model, codename, name in CUSTOM_PERMISSIONS:
        ct = ContentType.objects.get_by_natural_key(app_label, model)
        Permission.objects.get_or_create(content_type=ct, codename=codename, defaults={"name": name})
