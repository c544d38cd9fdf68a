"""Sending one notice through one channel with its platform's real protocol (see protocols.py)."""

import time

import httpx
from django.core.mail import send_mail

from zhongshu.notify import protocols as p
from zhongshu.notify.models import Channel, ChannelKind

TIMEOUT = 10.0


class SendError(Exception):
    """The platform refused the message for good (wrong key or signature, keyword check...)."""


class RetryableSendError(SendError):
    """Worth another try soon: rate limit, timeout, 5xx."""


def send(channel: Channel, title: str, text: str) -> str:
    """Send and return the platform's acknowledgement; raises SendError / RetryableSendError."""
    if channel.kind == ChannelKind.EMAIL:
        recipients = [r.strip() for r in channel.recipients.split(",") if r.strip()]
        if not recipients:
            raise SendError("no recipients")
        send_mail(title, text, None, recipients)
        return f"sent to {len(recipients)} recipient(s)"
    url, body, ok_key, limited = _request(channel, title, text)
    answer = _post(url, body)
    code = answer.get(ok_key)
    if code in (0, "0"):
        return str(answer.get("errmsg") or answer.get("msg") or "ok")
    message = (
        f"{channel.get_kind_display()} {ok_key}={code}: {answer.get('errmsg') or answer.get('msg') or ''}"
    )
    raise (RetryableSendError if _int(code) in limited else SendError)(message)


def _request(channel: Channel, title: str, text: str) -> tuple[str, dict, str, set[int]]:
    now = time.time()
    if channel.kind == ChannelKind.DINGTALK:
        mobiles = [m.strip() for m in channel.at_mobiles.split(",") if m.strip()]
        url, body = p.dingtalk_request(channel.base_url or p.DINGTALK_BASE, channel.token, channel.secret,
                                       int(now * 1000), title, text, mobiles)  # fmt: skip
        return url, body, "errcode", p.DINGTALK_RATE_LIMITED
    if channel.kind == ChannelKind.WECOM:
        url, body = p.wecom_request(channel.base_url or p.WECOM_BASE, channel.token, text)
        return url, body, "errcode", p.WECOM_RATE_LIMITED
    if channel.kind == ChannelKind.FEISHU:
        template = "green" if title.startswith("【已恢复】") else "red"
        url, body = p.feishu_request(channel.base_url or p.FEISHU_BASE, channel.token, channel.secret, int(now),
                                     title, text, template)  # fmt: skip
        return url, body, "code", p.FEISHU_RATE_LIMITED
    raise SendError(f"unknown channel kind {channel.kind}")


def _post(url: str, body: dict) -> dict:
    try:
        response = httpx.post(url, json=body, timeout=TIMEOUT)
    except httpx.TransportError as exc:  # timeouts included
        raise RetryableSendError(f"{type(exc).__name__}") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise RetryableSendError(f"HTTP {response.status_code}")
    try:
        answer = response.json()
    except ValueError as exc:
        raise RetryableSendError(f"unreadable answer (HTTP {response.status_code})") from exc
    if not isinstance(answer, dict):
        raise SendError(f"unexpected answer (HTTP {response.status_code})")
    return answer


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return -1
