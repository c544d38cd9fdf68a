"""Admin of the channels: shops (with their stock strategy and platform authorisation) and the sync
state of each shop (cursor, lag, last error, pulled today; "sync now" and a back-fill range).

Secrets and tokens are never rendered: the credential form takes a new app secret or push secret
write-only, and shows the token's expiry and whether the shop must be authorised again.
"""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin, StackedInline
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminPasswordWidget

from zhongshu.channels import history
from zhongshu.channels.base import Connector
from zhongshu.channels.history import clean_error
from zhongshu.channels.models import Shop, ShopCredential, SyncRun, SyncState
from zhongshu.channels.registry import connector_class, platforms
from zhongshu.channels.services import REFRESH_AHEAD
from zhongshu.channels.tasks import PUSH_ONLY, backfill_task, run_sync, sync_shop_task
from zhongshu.core.admin import actor_of
from zhongshu.core.confirm import confirm_then
from zhongshu.core.timeutil import local_day

MAX_BACKFILL = timedelta(days=90)  # platforms keep about three months of orders behind their APIs
LAG_WARNING = timedelta(minutes=1)
LAG_DANGER = timedelta(minutes=15)  # the sync delay that trips the circuit breaker (R-PEAK3)
# the seller must authorise again when the refresh token (or, without one, the access token) ends
# within this: "即将过期" gives a week's notice
EXPIRING = timedelta(days=7)
HISTORY_ROWS = 10  # runs shown on the shop's page


def _local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _duration(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return _("%(s)d 秒") % {"s": seconds}
    if seconds < 3600:
        return _("%(m)d 分 %(s)d 秒") % {"m": seconds // 60, "s": seconds % 60}
    return _("%(h)d 小时 %(m)d 分") % {"h": seconds // 3600, "m": seconds % 3600 // 60}


def auth_badge(cred: ShopCredential | None, shop: Shop | None = None):
    """(colour key, text) of a shop's authorisation."""
    if shop is not None and shop.platform in PUSH_ONLY:
        return "push", _("签名推送")
    if cred is None or not cred.access_token_enc:
        return "none", _("未授权")
    if cred.needs_reauth:
        return "reauth", _("需要重新授权")
    now = timezone.now()
    last = cred.refresh_expires_at if cred.refresh_token_enc else cred.expires_at
    if last and last <= now:
        return "reauth", _("已过期")
    if last and last - now <= EXPIRING:
        return "expiring", _("即将过期（%(at)s）") % {"at": _local(last)[:16]}
    return "ok", _("已授权")


AUTH_COLOURS = {"ok": "success", "expiring": "warning", "reauth": "danger", "none": "warning", "push": "info"}


def next_refresh(cred: ShopCredential | None) -> str:
    """When the next sync refreshes the access token: REFRESH_AHEAD before it expires."""
    if cred is None or not cred.access_token_enc or not cred.expires_at:
        return "-"
    if auth_badge(cred)[0] == "reauth":
        return _("需重新授权")
    if not cred.refresh_token_enc:
        return _("无刷新令牌，到期需重新授权")
    due = cred.expires_at - REFRESH_AHEAD
    return _("下次同步时") if due <= timezone.now() else _local(due)


def takes_pushes(platform: str) -> bool:
    """Whether the platform's connector receives pushes at /api/v1/push/{shop}."""
    try:
        return connector_class(platform).verify_push is not Connector.verify_push
    except LookupError:
        return False


def reauth_link(shop: Shop) -> str:
    """The "去授权" link (through our OAuth start view to the platform's page)."""
    if shop.platform not in platforms() or shop.platform in PUSH_ONLY:
        return "-"
    url = reverse("channels:oauth-start", args=[shop.code])
    return format_html('<a class="text-primary-600 underline" href="{}">{}</a>', url, _("去授权"))


# --- shops and their credentials --------------------------------------------------------------


class CredentialForm(forms.ModelForm):
    """Secrets are write-only: an empty field keeps the stored value."""

    api_base_url = forms.URLField(
        label=_("接口地址"), required=False, assume_scheme="https", help_text=_("留空使用平台正式地址")
    )
    new_app_secret = forms.CharField(
        label=_("App Secret"), required=False, strip=True, widget=UnfoldAdminPasswordWidget(render_value=False),
        help_text=_("留空则保留已保存的值"),
    )  # fmt: skip
    new_push_secret = forms.CharField(
        label=_("签名密钥"), required=False, strip=True,
        widget=UnfoldAdminPasswordWidget(render_value=False),
        help_text=_("自有商城：webhook 签名密钥；快手：signSecret。留空则保留"),
    )  # fmt: skip
    new_message_secret = forms.CharField(
        label=_("消息加密密钥"), required=False, strip=True,
        widget=UnfoldAdminPasswordWidget(render_value=False),
        help_text=_("快手：消息推送的解密密钥。留空则保留"),
    )  # fmt: skip

    class Meta:
        model = ShopCredential
        fields = ("api_base_url", "app_key", "platform_shop_id")

    def clean(self):
        data = super().clean()
        if not self.instance.app_secret_enc and not data.get("new_app_secret"):
            self.add_error("new_app_secret", _("请填写 App Secret"))
        return data

    def save(self, commit: bool = True):
        obj = super().save(commit=False)
        if self.cleaned_data.get("new_app_secret"):
            obj.app_secret = self.cleaned_data["new_app_secret"]
        if self.cleaned_data.get("new_push_secret"):
            obj.push_secret = self.cleaned_data["new_push_secret"]
        if self.cleaned_data.get("new_message_secret"):
            obj.message_secret = self.cleaned_data["new_message_secret"]
        if commit:
            obj.save()
        return obj


class CredentialInline(StackedInline):
    model = ShopCredential
    form = CredentialForm
    can_delete = False
    extra = 0
    max_num = 1
    verbose_name = _("平台授权")
    fields = ("api_base_url", "app_key", "new_app_secret", "new_push_secret", "new_message_secret",
              "platform_shop_id",
              "auth_status", "expires_local", "refresh_expires_local", "authorize")  # fmt: skip
    readonly_fields = ("auth_status", "expires_local", "refresh_expires_local", "authorize")

    @display(description=_("授权状态"))
    def auth_status(self, obj: ShopCredential) -> str:
        # a read-only field of a form: Unfold renders `label=` badges only in lists, so render it here
        key, text = auth_badge(obj if obj.pk else None, obj.shop if obj.pk else None)
        return render_to_string("unfold/helpers/label.html", {"type": AUTH_COLOURS[key], "text": text})

    @display(description=_("令牌到期"))
    def expires_local(self, obj: ShopCredential) -> str:
        return _local(obj.expires_at)

    @display(description=_("刷新令牌到期"))
    def refresh_expires_local(self, obj: ShopCredential) -> str:
        return _local(obj.refresh_expires_at)

    @display(description=_("授权"))
    def authorize(self, obj: ShopCredential) -> str:
        return reauth_link(obj.shop) if obj.pk else "-"


@admin.register(Shop)
class ShopAdmin(ModelAdmin):
    list_display = (
        "code",
        "name",
        "platform",
        "active",
        "auth_status",
        "authorize",
        "refresh_at",
        "last_sync",
    )
    list_filter = ("platform", "active")
    search_fields = ("code", "name")
    search_help_text = _("按店铺代码或名称搜索")
    list_select_related = ("credential", "sync")
    fieldsets = (
        (None, {"fields": ("code", "name", "platform", "active", "allow_split")}),
        (_("库存策略"), {"fields": ("stock_share_percent", "stock_buffer", "stock_cap"),
                                          "description": _("推送数量 = min(上限, 可用 × 比例 − 保留)")}),
    )  # fmt: skip
    sync_fieldset = (
        _("同步"),
        {"fields": ("refresh_at", "last_sync", "sync_error", "sync_history")},
    )
    inlines = [CredentialInline]
    actions_row = ["authorize_row", "sync_now_row"]
    actions_detail = ["authorize_detail", "sync_now_detail"]

    def get_readonly_fields(self, request, obj=None):
        # push URLs, OAuth and orders are bound to code and platform
        if obj is None:
            return ()
        return (
            "code",
            "platform",
            "push_url",
            "refresh_at",
            "last_sync",
            "sync_error",
            "sync_history",
        )

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.fieldsets
        sets = (*self.fieldsets, self.sync_fieldset) if pulls(obj) else self.fieldsets
        if not takes_pushes(obj.platform):
            return sets
        return ((None, {"fields": ("code", "name", "platform", "active", "push_url")}), *sets[1:])

    # --- 授权 and 立即同步, per row and on the shop's page ------------------------------------

    @action(description=_("授权"), icon="key", permissions=["channels.change_shopcredential"])
    def authorize_row(self, request, object_id):
        return self._authorize(request, object_id)

    @action(description=_("授权"), icon="key", permissions=["channels.change_shopcredential"])
    def authorize_detail(self, request, object_id):
        return self._authorize(request, object_id)

    @action(description=_("立即同步"), icon="sync", permissions=["channels.change_syncstate"])
    def sync_now_row(self, request, object_id):
        return self._confirm_sync(request, object_id, reverse("admin:shops_shop_changelist"))

    @action(description=_("立即同步"), icon="sync", permissions=["channels.change_syncstate"])
    def sync_now_detail(self, request, object_id):
        return self._confirm_sync(request, object_id, reverse("admin:shops_shop_change", args=[object_id]))

    def _confirm_sync(self, request, object_id, back: str):
        shop = get_object_or_404(Shop, pk=object_id)

        def run():
            self._sync_now(request, object_id)
            return redirect(back)

        return confirm_then(
            self, request, title=_("立即同步"), button=_("立即同步"), back=back, run=run,
            question=_("现在从平台拉取店铺 %(name)s（%(code)s）的新订单？拉取在本次请求中完成，可能需要几秒。")
            % {"name": shop.name, "code": shop.code},
        )  # fmt: skip

    def _authorize(self, request, object_id):
        """Through the OAuth start view to the platform's authorisation page (it builds the URL)."""
        shop = get_object_or_404(Shop.objects.select_related("credential"), pk=object_id)
        if not pulls(shop):
            self.message_user(
                request, _("店铺 %(shop)s 由商城推送订单，无需平台授权") % {"shop": shop.code}, messages.INFO
            )
        elif not hasattr(shop, "credential"):
            self.message_user(
                request, _("请先在店铺页填写平台的 App Key 和 App Secret 并保存"), messages.WARNING
            )
        else:
            return redirect(reverse("channels:oauth-start", args=[shop.code]))
        return redirect(reverse("admin:shops_shop_change", args=[object_id]))

    def _sync_now(self, request, object_id) -> None:
        """Pull the shop now, in this request, and say what came of it."""
        shop = get_object_or_404(Shop.objects.select_related("credential"), pk=object_id)
        if not pulls(shop):
            self.message_user(
                request, _("店铺 %(shop)s 由商城推送订单，无需拉取") % {"shop": shop.code}, messages.INFO
            )
            return
        if auth_badge(getattr(shop, "credential", None), shop)[0] not in AUTHORISED:
            self.message_user(request, _("店铺 %(shop)s 需先授权") % {"shop": shop.code}, messages.WARNING)
            return
        try:
            run_sync(shop.code, SyncRun.Kind.MANUAL, actor_of(request))
        except Exception:  # noqa: BLE001 - recorded in the shop's history, told below
            pass
        run = SyncRun.objects.filter(shop=shop, kind=SyncRun.Kind.MANUAL).first()
        level = {SyncRun.Outcome.OK: messages.SUCCESS, SyncRun.Outcome.FAILED: messages.ERROR}.get(
            run.outcome, messages.WARNING
        )
        self.message_user(
            request,
            _("%(name)s（%(code)s）%(result)s")
            % {"name": shop.name, "code": shop.code, "result": history.summary(run)},
            level,
        )

    # --- columns and the page's sync section --------------------------------------------------

    @display(description=_("授权"))
    def authorize(self, obj: Shop) -> str:
        """The "去授权" link where the shop is not (or no longer long) authorised."""
        if not hasattr(obj, "credential") or auth_badge(obj.credential, obj)[0] == "ok":
            return "-"
        return reauth_link(obj)

    @display(description=_("下次刷新令牌"))
    def refresh_at(self, obj: Shop) -> str:
        return next_refresh(getattr(obj, "credential", None)) if pulls(obj) else "-"

    @display(description=_("最近成功同步"))
    def last_sync(self, obj: Shop) -> str:
        state = getattr(obj, "sync", None)
        return _local(state.last_success_at) if state else "-"

    @display(description=_("最近错误"))
    def sync_error(self, obj: Shop) -> str:
        state = getattr(obj, "sync", None)
        if state is None or not state.last_error:
            return "-"
        return f"{_local(state.last_error_at)} {history.explain(state.last_error)}"

    @display(description=_("同步记录"))
    def sync_history(self, obj: Shop) -> str:
        runs = list(obj.sync_runs.all()[:HISTORY_ROWS])
        rows = [{"run": r, "started": _local(r.started_at), "summary": history.summary(r)} for r in runs]
        url = reverse("admin:channels_syncrun_changelist") + f"?shop__id__exact={obj.pk}"
        return render_to_string("channels/sync_history.html", {"rows": rows, "all_url": url})

    @display(description=_("推送地址"))
    def push_url(self, obj: Shop) -> str:
        """Where the platform (or the own shop) sends its pushes: on ZHONGSHU_PUBLIC_URL."""
        return settings.PUBLIC_URL + reverse("api:post_push", args=[obj.code])

    @display(description=_("授权状态"), label=AUTH_COLOURS)
    def auth_status(self, obj: Shop):
        return auth_badge(getattr(obj, "credential", None), obj)


# --- sync state --------------------------------------------------------------------------------


class SyncStateForm(forms.ModelForm):
    """Sync settings plus a back-fill range: saving a new range queues its back-fill."""

    class Meta:
        model = SyncState
        fields = ("enabled", "interval_seconds", "backfill_from", "backfill_to")

    def clean(self):
        data = super().clean()
        start, end = data.get("backfill_from"), data.get("backfill_to")
        if (start is None) != (end is None):
            raise forms.ValidationError(_("补拉需要起点和终点"))
        if start and end:
            if not start < end:
                raise forms.ValidationError(_("补拉起点须早于终点"))
            if end > timezone.now() + timedelta(minutes=1):
                raise forms.ValidationError(_("补拉终点不能在未来"))
            if end - start > MAX_BACKFILL:
                raise forms.ValidationError(_("补拉范围最长 90 天"))
        if data.get("interval_seconds") is not None and data["interval_seconds"] < 1:
            self.add_error("interval_seconds", _("至少 1 秒"))
        return data


@admin.register(SyncState)
class SyncStateAdmin(ModelAdmin):
    form = SyncStateForm
    list_display = ("shop", "platform", "enabled", "interval_seconds", "cursor_local", "lag", "success_local",
                    "error_short", "pulled", "auth_status", "authorize")  # fmt: skip
    list_editable = ("enabled", "interval_seconds")
    list_filter = ("enabled", "shop__platform")
    list_select_related = ("shop", "shop__credential")
    search_fields = ("shop__code", "shop__name")
    search_help_text = _("按店铺代码或名称搜索")
    actions = ["sync_now"]
    fieldsets = (
        (None, {"fields": ("shop", ("enabled", "interval_seconds"), ("auth_status", "authorize"))}),
        (_("状态"), {"fields": (("cursor_local", "lag"), ("run_local", "success_local"), "pulled",
                                         ("error_local", "error_full"))}),
        (_("补拉"), {"fields": (("backfill_from", "backfill_to"),),
                                 "description": _("填写时间范围并保存，即在后台重新拉取该范围的订单；同步游标不会后退。")}),
    )  # fmt: skip
    readonly_fields = ("shop", "auth_status", "authorize", "cursor_local", "lag", "run_local", "success_local",
                       "pulled", "error_local", "error_full")  # fmt: skip

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # one per shop, created when the shop is connected or first scheduled

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("立即同步"), permissions=["change"])
    def sync_now(self, request, queryset) -> None:
        """Queue one pull per selected shop, except those waiting for re-authorisation."""
        queued, blocked = [], []
        for state in queryset.select_related("shop", "shop__credential"):
            (queued if _authorised(state) else blocked).append(state)
        for state in queued:
            sync_shop_task(state.shop.code)
        if queued:
            names = "、".join(s.shop.code for s in queued)
            self.message_user(request, _("已提交同步：%s") % names, messages.SUCCESS)
        if blocked:
            names = "、".join(s.shop.code for s in blocked)
            self.message_user(request, _("需先授权：%s") % names, messages.WARNING)

    def save_model(self, request, obj: SyncState, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        fields = {"backfill_from", "backfill_to"}
        if obj.backfill_from and obj.backfill_to and fields & set(form.changed_data):
            code, start, end = obj.shop.code, obj.backfill_from, obj.backfill_to
            transaction.on_commit(lambda: backfill_task(code, start, end))
            self.message_user(
                request,
                _("已提交补拉：%(s)s → %(e)s") % {"s": _local(start), "e": _local(end)},
            )

    @display(description=_("平台"), ordering="shop__platform")
    def platform(self, obj: SyncState) -> str:
        return obj.shop.get_platform_display()

    @display(description=_("同步游标"), ordering="cursor")
    def cursor_local(self, obj: SyncState) -> str:
        return _local(obj.cursor)

    @display(description=_("延迟"), label={"ok": "success", "late": "warning", "stale": "danger"})
    def lag(self, obj: SyncState):
        if obj.cursor is None:
            return "late", "-"
        delta = timezone.now() - obj.cursor
        key = "ok" if delta <= LAG_WARNING else "late" if delta <= LAG_DANGER else "stale"
        return key, _duration(delta)

    @display(description=_("最近运行"))
    def run_local(self, obj: SyncState) -> str:
        return _local(obj.last_run_at)

    @display(description=_("最近成功"), ordering="last_success_at")
    def success_local(self, obj: SyncState) -> str:
        return _local(obj.last_success_at)

    @display(description=_("最近错误"))
    def error_short(self, obj: SyncState) -> str:
        text = clean_error(obj.last_error)
        return (text[:60] + "…" if len(text) > 60 else text) or "-"

    @display(description=_("错误时间"))
    def error_local(self, obj: SyncState) -> str:
        return _local(obj.last_error_at) if obj.last_error else "-"

    @display(description=_("错误详情"))
    def error_full(self, obj: SyncState) -> str:
        return clean_error(obj.last_error) or "-"

    @display(description=_("今日拉取"))
    def pulled(self, obj: SyncState) -> int:
        return obj.pulled_today if obj.pulled_day == local_day(timezone.now()) else 0

    @display(description=_("授权状态"), label=AUTH_COLOURS)
    def auth_status(self, obj: SyncState):
        return auth_badge(getattr(obj.shop, "credential", None), obj.shop)

    @display(description=_("授权"))
    def authorize(self, obj: SyncState) -> str:
        if _authorised(obj) or not hasattr(obj.shop, "credential"):
            return "-"
        return reauth_link(obj.shop)


AUTHORISED = ("ok", "expiring")


def pulls(shop: Shop) -> bool:
    """Whether the hub pulls this shop's orders (a connector that is not push-only)."""
    return shop.platform in platforms() and shop.platform not in PUSH_ONLY


def _authorised(state: SyncState) -> bool:
    return auth_badge(getattr(state.shop, "credential", None), state.shop)[0] in AUTHORISED


# the sync history's and the circuit breaker's admin register themselves
from zhongshu.channels import breaker_admin, history_admin  # noqa: E402,F401
