"""Server-side request forgery guard: a subscriber URL must be http(s) and resolve only to public
addresses. A URL whose host is, or resolves to, a private, loopback, link-local, shared (CGNAT),
multicast, reserved or unspecified address is refused, at creation and again before every delivery
(DNS may change in between), unless settings.WEBHOOK_ALLOW_PRIVATE (ZHONGSHU_WEBHOOK_ALLOW_PRIVATE=1;
the demo and the tests). Deliveries never follow redirects, so a redirect cannot reach inside either.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _

_URL = URLValidator(schemes=["http", "https"])


class UnsafeUrl(ValueError):
    """The URL may not be called; the message says why (shown to the user)."""


def _forbidden(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip in ipaddress.ip_network("100.64.0.0/10")  # shared address space (carrier NAT)
    )


def check_url(url: str) -> None:
    """Raise UnsafeUrl unless `url` is http(s) with a host that resolves to public addresses only."""
    try:
        _URL(url)
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except (ValidationError, ValueError) as exc:
        raise UnsafeUrl(_("推送地址须为 http:// 或 https:// 开头的完整网址")) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrl(_("推送地址须为 http:// 或 https:// 开头的完整网址"))
    if parts.username or parts.password:
        raise UnsafeUrl(_("推送地址不能包含用户名或密码"))
    if getattr(settings, "WEBHOOK_ALLOW_PRIVATE", False):
        return
    host = parts.hostname
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError) as exc:
        raise UnsafeUrl(_("无法解析推送地址的主机名 {host}").format(host=host)) from exc
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%")[0])
        if _forbidden(ip):
            raise UnsafeUrl(
                _("推送地址 {host} 指向内网、本机或链路本地地址 ({ip})，不允许").format(host=host, ip=ip)
            )
