"""Outgoing webhooks (R-WH5): subscribers, the messages made from outbox events, one delivery per
(message, subscriber) with its retry state. See docs/webhooks.md."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from zhongshu.core import crypto

# The event types a subscriber can choose (docs/webhooks.md describes each payload).
EVENT_TYPES = (
    "order.allocated",
    "package.packed",
    "package.shipped",
    "order.delivered",
    "order.cancelled",
    "stock.changed",
)


class WebhookEndpoint(models.Model):
    """A subscriber: where events go, which ones, signed with its own `whsec_…` secret."""

    url = models.URLField(_("推送地址"), max_length=500)
    events = models.JSONField(_("订阅事件"), default=list)
    description = models.CharField(_("说明"), max_length=200, blank=True)
    secret_enc = models.TextField(editable=False)  # whsec_… encrypted at rest (core.crypto)
    secret_prefix = models.CharField(_("密钥前缀"), max_length=16, editable=False)
    active = models.BooleanField(_("启用"), default=True)
    # R-PEAK2: while the hub is degraded, deliveries to non-critical subscribers wait (never dropped)
    critical = models.BooleanField(
        _("关键订阅"),
        default=True,
        help_text=_("非关键订阅在系统降级（高负载）期间暂缓推送，恢复后补发，不丢弃"),
    )
    disabled_reason = models.CharField(_("停用原因"), max_length=300, blank=True)
    created_by = models.CharField(_("创建者"), max_length=128, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("推送订阅")
        verbose_name_plural = _("推送订阅")
        ordering = ("pk",)

    def __str__(self) -> str:
        return self.description or self.url

    @property
    def secret(self) -> str:
        return crypto.decrypt(self.secret_enc)

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_enc = crypto.encrypt(value)
        self.secret_prefix = value[:10]


class WebhookMessage(models.Model):
    """One event as sent: its `webhook-id`, type and exact body (retries resend the same bytes)."""

    message_id = models.CharField(_("消息ID"), max_length=64, unique=True)
    event_type = models.CharField(_("事件"), max_length=32, db_index=True)
    body = models.TextField(_("内容"))
    # what the message is ordered by: a later message sharing a key waits for the earlier ones
    keys = models.JSONField(_("顺序键"), default=list)
    created_at = models.DateTimeField(_("发生时间"))

    class Meta:
        verbose_name = _("推送消息")
        verbose_name_plural = _("推送消息")

    def __str__(self) -> str:
        return f"{self.event_type} {self.message_id}"


class WebhookDelivery(models.Model):
    """A message to one subscriber: pending (with its next attempt), delivered, or dead (dead letter)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        DELIVERED = "delivered", _("已送达")
        DEAD = "dead", _("死信")

    # by its webhook-id, so the fan-out writes deliveries without reading the message back
    message = models.ForeignKey(
        WebhookMessage,
        on_delete=models.CASCADE,
        to_field="message_id",
        db_column="message_id",
        related_name="deliveries",
        verbose_name=_("消息"),
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("订阅")
    )
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    attempts = models.PositiveIntegerField(_("已尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试"), null=True, blank=True)
    # a sender holds the delivery until lease_until (so two workers never send it at once)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    lease_owner = models.CharField(max_length=32, blank=True, editable=False)
    last_status_code = models.PositiveIntegerField(_("最近响应码"), null=True, blank=True)
    last_error = models.CharField(_("最近错误"), max_length=500, blank=True)
    last_attempt_at = models.DateTimeField(_("最近尝试"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("送达时间"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("推送记录")
        verbose_name_plural = _("推送记录")
        ordering = ("-pk",)
        constraints = [
            models.UniqueConstraint(fields=("message", "endpoint"), name="webhook_delivery_once"),
        ]
        indexes = [models.Index(fields=("endpoint", "status", "id"), name="webhook_delivery_queue")]

    def __str__(self) -> str:
        return f"{self.message_id} → {self.endpoint_id}"
