"""Look and navigation of the admin (django-unfold)."""

from django.templatetags.static import static
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext_lazy as _


def _item(title, icon, url):
    return {"title": title, "icon": icon, "link": reverse_lazy(url)}


UNFOLD = {
    "SITE_TITLE": _("中枢 zhongshu"),
    "SITE_HEADER": _("中枢 · 订单中枢"),
    "SITE_SYMBOL": "hub",
    # The language switch posts to django.conf.urls.i18n's set_language; turn it on together with
    # path("i18n/", include("django.conf.urls.i18n")) in urls.py.
    "SHOW_LANGUAGES": True,
    "STYLES": [
        lambda request: static("console/phone.css")
    ],  # the console on a phone (cards, no sideways scroll)
    "DASHBOARD_CALLBACK": "zhongshu.monitor.views.dashboard_callback",  # the home is the live dashboard
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": False,
        "navigation": [
            {
                "title": _("订单"),
                "items": [
                    _item(_("订单"), "receipt_long", "admin:orders_order_changelist"),
                    {
                        "title": _("异常订单"),
                        "icon": "report",
                        "link": reverse_lazy("exceptions:queue"),
                        "permission": lambda request: request.user.has_perm("orders.view_order"),
                    },
                    _item(_("调拨预警"), "swap_horiz", "admin:inventory_transferalert_changelist"),
                    _item(_("通知"), "notifications", "admin:core_notification_changelist"),
                    {
                        "title": _("KPI 报表"),
                        "icon": "monitoring",
                        "link": reverse_lazy("monitor:kpi"),
                        "permission": lambda request: request.user.has_perm("monitor.view_kpi_report"),
                    },
                ],
            },
            {
                "title": _("商品与库存"),
                "items": [
                    _item(_("商品 SKU"), "inventory_2", "admin:catalog_sku_changelist"),
                    _item(_("库存"), "warehouse", "admin:inventory_stocklevel_changelist"),
                    _item(_("仓库"), "store", "admin:inventory_warehouse_changelist"),
                ],
            },
            {
                "title": _("仓储作业"),
                "items": [
                    _item(_("包裹"), "package_2", "admin:fulfilment_package_changelist"),
                    _item(_("波次"), "waves", "admin:fulfilment_wave_changelist"),
                    _item(_("波次策略"), "checklist", "admin:fulfilment_wavestrategy_changelist"),
                    _item(_("盘点任务"), "fact_check", "admin:fulfilment_recounttask_changelist"),
                    _item(_("仓库人员"), "badge", "admin:fulfilment_warehousestaff_changelist"),
                    _item(_("包材"), "inventory", "admin:fulfilment_packagingtype_changelist"),
                    _item(_("发货设置"), "settings", "admin:fulfilment_fulfilmentsettings_changelist"),
                    {
                        "title": _("打印面单"),
                        "icon": "print",
                        "link": reverse_lazy("ship:print"),
                        "permission": lambda request: request.user.has_perm("shipping.add_waybill"),
                    },
                    {
                        "title": _("出库扫描"),
                        "icon": "barcode_scanner",
                        "link": reverse_lazy("ship:scan"),
                        "permission": lambda request: request.user.has_perm("shipping.ship_package"),
                    },
                    _item(_("电子面单"), "receipt", "admin:shipping_waybill_changelist"),
                    _item(_("发货回传"), "sync_alt", "admin:shipping_shipconfirmation_changelist"),
                    _item(_("面单账号"), "badge", "admin:shipping_waybillaccount_changelist"),
                    _item(_("平台快递编码"), "tag", "admin:shipping_carriercode_changelist"),
                    _item(_("物流跟踪"), "local_shipping", "admin:shipping_trackingsubscription_changelist"),
                    _item(_("客户通知"), "chat", "admin:shipping_notice_changelist"),
                    _item(_("通知模板"), "edit_note", "admin:shipping_noticetemplate_changelist"),
                    _item(_("物流与通知设置"), "tune", "admin:shipping_aftershipsettings_changelist"),
                ],
            },
            {
                "title": _("渠道与路由"),
                "items": [
                    _item(_("店铺"), "storefront", "admin:shops_shop_changelist"),
                    _item(_("熔断状态"), "power_off", "admin:channels_breaker_changelist"),
                    _item(_("区域路由"), "alt_route", "admin:routing_regionroute_changelist"),
                    _item(_("省份-区域"), "map", "admin:routing_provinceregion_changelist"),
                    _item(_("路由设置"), "tune", "admin:routing_routingsettings_changelist"),
                ],
            },
            {
                "title": _("规则"),
                "items": [
                    {
                        "title": _("规则编辑器"),
                        "icon": "account_tree",
                        "link": reverse_lazy("rules_console:list"),
                        "permission": lambda request: request.user.has_perm("rules.view_rule"),
                    },
                    _item(_("规则"), "rule", "admin:rules_rule_changelist"),
                    _item(_("规则集"), "category", "admin:rules_ruleset_changelist"),
                    _item(_("规则版本"), "history_edu", "admin:rules_ruleversion_changelist"),
                    _item(_("规则命中"), "target", "admin:rules_rulehit_changelist"),
                    _item(_("大促模式"), "bolt", "admin:rules_runtimestate_changelist"),
                ],
            },
            {
                "title": _("告警"),
                "items": [
                    _item(_("告警中"), "notifications_active", "admin:notify_alertstate_changelist"),
                    _item(_("告警记录"), "history", "admin:notify_alertevent_changelist"),
                    _item(_("告警规则"), "rule_settings", "admin:notify_alertrule_changelist"),
                    _item(_("通知渠道"), "campaign", "admin:notify_channel_changelist"),
                ],
            },
            {
                "title": _("大促保障"),
                "items": [
                    _item(_("降级开关"), "toggle_on", "admin:core_degradeswitch_changelist"),
                    _item(_("降级策略"), "speed", "admin:peak_degradepolicy_changelist"),
                    _item(_("促销窗口"), "event", "admin:peak_promotionwindow_changelist"),
                ],
            },
            {
                "title": _("对外推送"),
                "items": [
                    _item(_("推送订阅"), "webhook", "admin:webhooks_webhookendpoint_changelist"),
                    _item(_("推送记录"), "send", "admin:webhooks_webhookdelivery_changelist"),
                    {
                        "title": _("推送死信"),
                        "icon": "mark_email_unread",
                        "link": lambda request: (
                            reverse("admin:webhooks_webhookdelivery_changelist") + "?status__exact=dead"
                        ),
                        "permission": lambda request: request.user.has_perm("webhooks.view_webhookdelivery"),
                    },
                ],
            },
            {
                "title": _("系统"),
                "items": [
                    _item(_("用户"), "person", "admin:auth_user_changelist"),
                    _item(_("角色"), "group", "admin:auth_group_changelist"),
                    _item(_("API 令牌"), "key", "admin:core_apitoken_changelist"),
                    _item(_("审计时间线"), "history", "admin:core_timelineentry_changelist"),
                    _item(_("登录尝试"), "lock_clock", "admin:axes_accessattempt_changelist"),
                    _item(_("登录失败记录"), "gpp_bad", "admin:axes_accessfailurelog_changelist"),
                    _item(_("事件发件箱"), "outbox", "admin:core_outboxevent_changelist"),
                ],
            },
        ],
    },
}
