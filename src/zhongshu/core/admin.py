"""Admin of the system tables: users and roles (in Unfold's look), API tokens, notifications, and the
read-only audit timeline and outbox."""

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group, User
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from zhongshu.core.auth import revoke_tokens
from zhongshu.core.login_guard import unlock
from zhongshu.core.models import ApiToken, Notification, OutboxEvent, TimelineEntry


class ReadOnlyAdminMixin:
    """Rows written only by the hub's services: the admin may look, never add, change or delete."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ActionsOnlyMixin:
    """Rows changed only by list actions: the change permission enables the actions, while an
    object's own page is view-only (no form, no save button)."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def actor_of(request) -> str:
    """How an admin user appears in audit rows."""
    return f"admin:{request.user.get_username()}"


# Sign-in at /admin/login/ without ?next= lands on the admin index, not on LOGIN_REDIRECT_URL.
admin.site.login_template = "zhongshu/admin/login.html"


# --- users and roles -------------------------------------------------------------------------

admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class UserAdmin(BaseUserAdmin, ModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin, ModelAdmin):
    pass


# --- sign-in protection (django-axes) --------------------------------------------------------


@admin.register(AccessAttempt)
class AccessAttemptAdmin(ActionsOnlyMixin, ModelAdmin):
    """Counted wrong passwords per user and address; a row at the limit is a lock (until the cool-off
    passes or someone lifts it here or with `zhongshu unlock`)."""

    list_display = (
        "username",
        "ip_address",
        "failures_since_start",
        "locked_display",
        "attempt_time",
        "path_info",
    )
    list_display_links = None
    search_fields = ("username", "ip_address")
    search_help_text = _("按用户名或地址搜索")
    date_hierarchy = "attempt_time"
    fields = ("username", "ip_address", "failures_since_start", "attempt_time", "path_info", "user_agent")
    readonly_fields = fields
    actions = ["unlock_selected"]

    @display(description=_("已锁定"), boolean=True)
    def locked_display(self, obj: AccessAttempt) -> bool:
        return obj.failures_since_start >= settings.AXES_FAILURE_LIMIT

    @admin.action(description=_("解除锁定"), permissions=["change"])
    def unlock_selected(self, request, queryset) -> None:
        n = 0
        for username, address in set(queryset.values_list("username", "ip_address")):
            n += unlock(actor_of(request), username=username, address=address)
        self.message_user(request, _("已解除 %(n)d 条登录锁定记录。") % {"n": n}, messages.SUCCESS)


@admin.register(AccessFailureLog)
class AccessFailureLogAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("attempt_time", "username", "ip_address", "locked_out", "path_info")
    list_filter = ("locked_out",)
    search_fields = ("username", "ip_address")
    search_help_text = _("按用户名或地址搜索")
    date_hierarchy = "attempt_time"
    fields = ("attempt_time", "username", "ip_address", "locked_out", "path_info", "user_agent")
    readonly_fields = fields


@admin.register(AccessLog)
class AccessLogAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("attempt_time", "username", "ip_address", "logout_time", "path_info")
    search_fields = ("username", "ip_address")
    search_help_text = _("按用户名或地址搜索")
    date_hierarchy = "attempt_time"
    fields = ("attempt_time", "username", "ip_address", "logout_time", "path_info", "user_agent")
    readonly_fields = fields


# --- API tokens ------------------------------------------------------------------------------


@admin.register(ApiToken)
class ApiTokenAdmin(ActionsOnlyMixin, ModelAdmin):
    """List only: tokens are created by `zhongshu token create`; the hash is never shown."""

    list_display = ("prefix_display", "name", "user", "scope", "created_at", "last_used_at", "revoked")
    list_display_links = None
    list_filter = ("revoked", "scope")
    search_fields = ("prefix", "name", "user__username")
    search_help_text = _("按前缀、名称或用户名搜索")
    list_select_related = ("user",)
    fields = ("name", "prefix", "user", "scope", "created_at", "last_used_at", "revoked")
    readonly_fields = fields
    actions = ["revoke"]

    @display(description=_("前缀"), ordering="prefix")
    def prefix_display(self, obj: ApiToken) -> str:
        return f"{obj.prefix}…"

    @admin.action(description=_("吊销所选令牌"), permissions=["change"])
    def revoke(self, request, queryset) -> None:
        n = revoke_tokens(list(queryset.values_list("pk", flat=True)), actor_of(request))
        self.message_user(request, _("已吊销 %(n)d 个令牌。") % {"n": n}, messages.SUCCESS)


# --- notifications ---------------------------------------------------------------------------


@admin.register(Notification)
class NotificationAdmin(ActionsOnlyMixin, ModelAdmin):
    list_display = ("title", "level_display", "audience", "code", "created_at", "read_at")
    list_filter = ("level", "audience", ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("title", "code", "body")
    search_help_text = _("按标题、代码或内容搜索")
    date_hierarchy = "created_at"
    fields = ("title", "level", "audience", "code", "body", "created_at", "read_at")
    readonly_fields = fields
    actions = ["mark_read"]

    @display(
        description=_("级别"),
        ordering="level",
        label={"info": "info", "warning": "warning", "critical": "danger"},
    )
    def level_display(self, obj: Notification):
        return obj.level, obj.get_level_display()

    @admin.action(description=_("标记为已读"), permissions=["change"])
    def mark_read(self, request, queryset) -> None:
        n = queryset.filter(read_at__isnull=True).update(read_at=timezone.now())
        self.message_user(request, _("已标记 %(n)d 条通知为已读。") % {"n": n}, messages.SUCCESS)


# --- audit timeline and outbox (read-only) ---------------------------------------------------


@admin.register(TimelineEntry)
class TimelineEntryAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("at", "subject", "kind", "summary", "actor")
    list_filter = ("kind",)
    search_fields = ("subject", "summary", "actor")
    search_help_text = _("按对象（如 order:12）、摘要或操作者搜索")
    date_hierarchy = "at"
    fields = ("at", "subject", "kind", "summary", "actor", "event")
    readonly_fields = fields


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ("id", "topic", "key", "actor", "created_at", "delivered_display", "attempts")
    list_filter = ("topic", ("delivered_at", admin.EmptyFieldListFilter))
    search_fields = ("topic", "key", "actor")
    search_help_text = _("按主题、顺序键或操作者搜索")
    date_hierarchy = "created_at"
    fields = ("topic", "key", "actor", "payload", "created_at", "delivered_at", "attempts", "last_error")
    readonly_fields = fields

    @display(description=_("已投递"), boolean=True, ordering="delivered_at")
    def delivered_display(self, obj: OutboxEvent) -> bool:
        return obj.delivered_at is not None
