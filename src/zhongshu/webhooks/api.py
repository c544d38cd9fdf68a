"""Outgoing webhooks over HTTP (issue 10 item 7): subscribe, list, delete, the dead letters, replay.

Managing subscribers needs the webhooks model permissions (add/view/delete/change of 推送订阅),
checked with the token's scope before the body is read (core.auth.requires); the secret is answered
once, by the creating call. Errors are declared as core.responses says."""

import json
from datetime import datetime

from django.db.models import Count, Q
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError, ValidationError
from ninja.pagination import PageNumberPagination, paginate
from pydantic import ValidationError as PydanticError

from zhongshu.core.auth import requires
from zhongshu.core.params import Code, FreeText, Id
from zhongshu.core.responses import errors, example
from zhongshu.webhooks import services
from zhongshu.webhooks.models import EVENT_TYPES, WebhookDelivery, WebhookEndpoint

router = Router(tags=["webhooks"])

VIEW, ADD, CHANGE, DELETE = (
    "webhooks.view_webhookendpoint",
    "webhooks.add_webhookendpoint",
    "webhooks.change_webhookendpoint",
    "webhooks.delete_webhookendpoint",
)


class WebhookIn(Schema):
    url: Code = Field(max_length=500, description="http(s) URL that receives the signed POSTs")
    events: list[Code] = Field(min_length=1, max_length=len(EVENT_TYPES), description=", ".join(EVENT_TYPES))
    description: FreeText = Field(default="", max_length=200)
    critical: bool = Field(
        default=True,
        description="false: while the hub is degraded under load, deliveries to it wait (never dropped)",
    )


class WebhookOut(Schema):
    id: str
    url: str
    events: list[str]
    description: str
    active: bool
    critical: bool
    disabled_reason: str
    secret_prefix: str
    created_at: datetime
    pending: int
    dead_letters: int


class WebhookCreated(WebhookOut):
    secret: str = Field(description="whsec_… — shown only in this answer; verify signatures with it")


class ReplayIn(Schema):
    delivery_id: Id | None = Field(default=None, description="only this dead letter (default: all of them)")


class ReplayOut(Schema):
    replayed: int


class DeliveryOut(Schema):
    id: str
    webhook_id: str = Field(description="the webhook-id header (the message's id)")
    event_type: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    delivered_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_id(obj) -> str:
        return str(obj.pk)

    @staticmethod
    def resolve_webhook_id(obj) -> str:
        return obj.message.message_id

    @staticmethod
    def resolve_event_type(obj) -> str:
        return obj.message.event_type


class DeliveryFilter(Schema):
    status: WebhookDelivery.Status | None = None


D = WebhookDelivery.Status


def _counted():
    return WebhookEndpoint.objects.annotate(
        n_pending=Count("deliveries", filter=Q(deliveries__status=D.PENDING)),
        n_dead=Count("deliveries", filter=Q(deliveries__status=D.DEAD)),
    ).order_by("pk")


def _out(ep: WebhookEndpoint) -> dict:
    return {
        "id": str(ep.pk), "url": ep.url, "events": ep.events, "description": ep.description,
        "active": ep.active, "critical": ep.critical, "disabled_reason": ep.disabled_reason, "secret_prefix": ep.secret_prefix,
        "created_at": ep.created_at, "pending": getattr(ep, "n_pending", 0), "dead_letters": getattr(ep, "n_dead", 0),
    }  # fmt: skip


def _refused(exc: services.WebhookError):
    if exc.status == 422:
        return Status(422, {"detail": [{"loc": [exc.field], "field": exc.field, "msg": exc.detail}]})
    raise HttpError(exc.status, exc.detail)


def _actor(request) -> str:
    return f"api:{request.user.get_username()}"


@router.post(
    "/webhooks",
    response={201: WebhookCreated, **errors(400, 401, 403, 413, 422)},
    summary="Subscribe a URL to events (the secret is answered once)",
    auth=requires(ADD),
    openapi_extra=example(
        {
            "url": "https://erp.example.com/zhongshu/webhooks",
            "events": ["order.allocated", "package.shipped"],
            "description": "ERP 发货同步",
        }
    ),  # fmt: skip
)
def post_webhook(request, payload: WebhookIn):
    try:
        ep, secret = services.create_endpoint(
            payload.url, payload.events, payload.description, _actor(request), payload.critical
        )
    except services.WebhookError as exc:
        return _refused(exc)
    return Status(201, {**_out(ep), "secret": secret})


@router.get(
    "/webhooks",
    response={200: list[WebhookOut], **errors(401, 403, 422)},
    summary="Subscribers, with their pending and dead-letter counts",
    auth=requires(VIEW),
)
@paginate(PageNumberPagination, page_size=100)
def list_webhooks(request):
    return [_out(ep) for ep in _counted()]


@router.delete(
    "/webhooks/{webhook_id}",
    response={204: None, **errors(401, 403, 404, 422)},
    summary="Delete a subscriber (its pending deliveries and dead letters go with it)",
    auth=requires(DELETE),
)
def delete_webhook(request, webhook_id: Id):
    if not services.delete_endpoint(webhook_id, _actor(request)):
        raise HttpError(404, f"no webhook '{webhook_id}'")
    return Status(204, None)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response={200: list[DeliveryOut], **errors(401, 403, 404, 422)},
    summary="A subscriber's deliveries, newest first (status=dead: the dead letters)",
    auth=requires(VIEW),
)
@paginate(PageNumberPagination, page_size=100)
def list_deliveries(request, webhook_id: Id, filters: Query[DeliveryFilter]):
    if not WebhookEndpoint.objects.filter(pk=webhook_id).exists():
        raise HttpError(404, f"no webhook '{webhook_id}'")
    rows = WebhookDelivery.objects.filter(endpoint_id=webhook_id).select_related("message").order_by("-pk")
    if filters.status:
        rows = rows.filter(status=filters.status)
    return rows  # paged in the database


_REPLAY_BODY = {
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {
                "schema": ReplayIn.model_json_schema(),
                "example": {},
            }
        },
    }
}


def _replay_body(request) -> ReplayIn:
    """The optional body: none or `{}` replays every dead letter; `{"delivery_id": n}` only that one."""
    if not request.body.strip():
        return ReplayIn()
    try:
        data = json.loads(request.body)
    except ValueError:
        raise HttpError(400, "the body is not JSON") from None
    try:
        return ReplayIn.model_validate(data)
    except PydanticError as exc:
        raise ValidationError([{**e, "loc": list(e["loc"])} for e in exc.errors()]) from None


@router.post(
    "/webhooks/{webhook_id}/replay",
    response={200: ReplayOut, **errors(400, 401, 403, 404, 409, 413, 422)},
    summary="Send a subscriber's dead letters again (all, or the one named by delivery_id)",
    description="The body is optional: none or `{}` replays every dead letter of the subscriber.",
    auth=requires(CHANGE),
    openapi_extra=_REPLAY_BODY,
)
def post_replay(request, webhook_id: Id):
    payload = _replay_body(request)
    try:
        n = services.replay(webhook_id, _actor(request), payload.delivery_id)
    except services.WebhookError as exc:
        return _refused(exc)
    return {"replayed": n}
