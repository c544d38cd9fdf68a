"""Console endpoints of the channels: the OAuth authorisation-code flow of a shop.

`oauth_start` sends a staff user to the platform's authorisation page; the platform sends the
browser back to `oauth_callback` with `code` and `state` (or `error=access_denied` when the seller
declines, as Taobao documents). The state is a signed, timestamped value naming the shop, so a
callback cannot be forged or replayed onto another shop.
"""

import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from zhongshu.channels import services
from zhongshu.channels.base import ConnectorError
from zhongshu.channels.models import Shop

log = logging.getLogger(__name__)

STATE_SALT = "zhongshu.channels.oauth"
STATE_MAX_AGE = 3600  # seconds between leaving for the platform and coming back
PERMISSION = "channels.change_shopcredential"


def oauth_state(shop_code: str) -> str:
    """A signed, timestamped state naming the shop."""
    return signing.dumps({"shop": shop_code}, salt=STATE_SALT, compress=True)


def shop_of_state(state: str) -> str | None:
    """The shop a state names, or None if it is forged, altered or older than STATE_MAX_AGE."""
    try:
        return signing.loads(state, salt=STATE_SALT, max_age=STATE_MAX_AGE).get("shop")
    except (signing.BadSignature, AttributeError):
        return None


def authorize_url(shop: Shop, redirect_uri: str) -> str:
    """The platform's authorisation page for this shop, coming back to redirect_uri."""
    return services.connector_for(shop).authorize_url(redirect_uri, oauth_state(shop.code))


def callback_uri(shop_code: str) -> str:
    """This hub's OAuth callback for the shop, on ZHONGSHU_PUBLIC_URL (never the request's Host)."""
    return settings.PUBLIC_URL + reverse("channels:oauth-callback", args=[shop_code])


@require_GET
@staff_member_required
def oauth_start(request: HttpRequest, shop: str) -> HttpResponse:
    """Redirect to the platform's authorisation page (the admin's "去授权" link)."""
    _require_permission(request)
    obj = get_object_or_404(Shop.objects.select_related("credential"), code=shop, credential__isnull=False)
    try:
        return HttpResponseRedirect(authorize_url(obj, callback_uri(shop)))
    except (ConnectorError, LookupError) as exc:  # no connector, or a platform without OAuth
        messages.error(
            request,
            _("店铺 %(shop)s 无法授权：%(error)s") % {"shop": shop, "error": type(exc).__name__},
        )
        return HttpResponseRedirect(reverse("admin:shops_shop_change", args=[obj.pk]))


@require_GET
@staff_member_required
def oauth_callback(request: HttpRequest, shop: str) -> HttpResponse:
    """Exchange the authorisation code for tokens (stored encrypted) and return to the admin."""
    _require_permission(request)
    if shop_of_state(request.GET.get("state", "")) != shop:
        return HttpResponseBadRequest("invalid or expired state")
    obj = get_object_or_404(Shop.objects.select_related("credential"), code=shop, credential__isnull=False)
    back = HttpResponseRedirect(reverse("admin:shops_shop_change", args=[obj.pk]))
    if request.GET.get("error"):
        messages.error(
            request,
            _("店铺 %(shop)s 未授权：%(error)s") % {"shop": shop, "error": request.GET["error"][:64]},
        )
        return back
    code = request.GET.get("code", "")
    if not code:
        return HttpResponseBadRequest("missing code")
    try:
        services.authorize(shop, code, callback_uri(shop))
    except ConnectorError as exc:
        log.warning("authorisation of shop %s failed: %s %s", shop, type(exc).__name__, exc.code)
        messages.error(
            request,
            _("店铺 %(shop)s 授权失败：%(error)s")
            % {"shop": shop, "error": f"{type(exc).__name__} {exc.code}"},
        )
        return back
    messages.success(request, _("店铺 %(shop)s 已授权") % {"shop": shop})
    return back


def _require_permission(request: HttpRequest) -> None:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied
