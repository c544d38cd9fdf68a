"""A shop's sync history and its errors in Chinese: which runs are kept (`record`), what a failure
means for the person reading it (`error_label`), and the one-line result of a run (`summary`)."""

import re
from datetime import datetime, timedelta

import httpx
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from zhongshu.channels.base import AuthError, ConnectorError, RateLimited, TransientError
from zhongshu.channels.models import Shop, SyncRun
from zhongshu.core.pii import scrub

HISTORY_DAYS = 90
_PYDANTIC_INPUT = re.compile(r"input_value=.*?(?=, input_type=|\]$)", re.S)

# the kind of a failure (the exception's class) → what it means, in the order they are checked
ERROR_LABELS = {
    "AuthError": gettext_lazy("授权失效，需要重新授权"),
    "RateLimited": gettext_lazy("平台限流，稍后自动重试"),
    "TransientError": gettext_lazy("平台暂时不可用（超时或服务器错误），稍后自动重试"),
    "ConnectorError": gettext_lazy("平台拒绝了请求"),
    "NetworkError": gettext_lazy("连接不上平台"),
    "ValidationError": gettext_lazy("平台返回的订单不符合订单格式"),
    "DoesNotExist": gettext_lazy("店铺未连接平台（缺少授权信息）"),
    "LookupError": gettext_lazy("该平台没有可用的连接器"),
}
_OTHER = gettext_lazy("内部错误")


def clean_error(text: str) -> str:
    """An error message safe to show: phone/ID numbers masked, quoted input values dropped."""
    return scrub(_PYDANTIC_INPUT.sub("input_value=…", text or ""))


def error_kind(exc: BaseException) -> str:
    """The ERROR_LABELS key of a failure."""
    for cls in (AuthError, RateLimited, TransientError, ConnectorError):
        if isinstance(exc, cls):
            return cls.__name__
    if isinstance(exc, httpx.HTTPError):
        return "NetworkError"
    name = type(exc).__name__
    if name.endswith("DoesNotExist"):
        return "DoesNotExist"
    if isinstance(exc, LookupError):
        return "LookupError"
    return name if name in ERROR_LABELS else "Other"


def error_label(kind: str) -> str:
    return str(ERROR_LABELS.get(kind, _OTHER))


def kind_of_text(text: str) -> str:
    """The kind of a failure stored as text (`SyncState.last_error`: "AuthError: …")."""
    name = (text or "").split(":", 1)[0].strip()
    return name if name in ERROR_LABELS else "Other"


def explain(text: str) -> str:
    """A stored error ("AuthError: token expired") as a person reads it: "授权失效…：token expired"."""
    if not text:
        return ""
    detail = text.split(":", 1)[1].strip() if ":" in text else text
    return _("%(why)s：%(detail)s") % {"why": error_label(kind_of_text(text)), "detail": clean_error(detail)}


def summary(run: SyncRun) -> str:
    """The result of a run in one Chinese sentence."""
    if run.outcome == SyncRun.Outcome.SKIPPED:
        return _("另一次同步正在进行，本次未执行")
    if run.outcome == SyncRun.Outcome.FAILED:
        why = error_label(run.error_kind)
        if not run.error:
            return _("同步失败：%(why)s") % {"why": why}
        return _("同步失败：%(why)s（%(detail)s）") % {"why": why, "detail": clean_error(run.error)[:200]}
    unchanged = run.received - run.created - run.updated - run.rejected
    text = _("同步完成：收到 %(received)d 单，新建 %(created)d、更新 %(updated)d、无变化 %(unchanged)d") % {
        "received": run.received,
        "created": run.created,
        "updated": run.updated,
        "unchanged": max(unchanged, 0),
    }
    if run.rejected:
        text += _("，拒收 %(n)d（未知商品编码，添加商品后补拉）") % {"n": run.rejected}
    return text


def record(
    shop_code: str,
    kind: str,
    started: datetime,
    report=None,
    exc: BaseException | None = None,
    skipped: bool = False,
    actor: str = "",
) -> SyncRun | None:
    """Keep the run if it is worth remembering (see SyncRun); prune the shop's old runs."""
    quiet = report is not None and not report.received and not report.rejected
    if kind == SyncRun.Kind.SCHEDULED and (skipped or quiet):
        return None
    shop = Shop.objects.filter(code=shop_code).first()
    if shop is None:
        return None
    run = SyncRun(shop=shop, kind=kind, started_at=started, finished_at=timezone.now(), actor=actor[:128])
    if skipped:
        run.outcome = SyncRun.Outcome.SKIPPED
    elif exc is not None:
        run.outcome, run.error_kind = SyncRun.Outcome.FAILED, error_kind(exc)
        run.error = clean_error(f"{getattr(exc, 'code', '') or ''} {exc}".strip())[:2000]
    else:
        run.outcome = SyncRun.Outcome.OK
        run.windows, run.received, run.created, run.updated = (
            report.windows,
            report.received,
            report.created,
            report.updated,
        )
        run.rejected = len(report.rejected)
    run.save()
    SyncRun.objects.filter(shop=shop, started_at__lt=started - timedelta(days=HISTORY_DAYS)).delete()
    return run
