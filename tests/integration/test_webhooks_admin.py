"""The console of the outgoing webhooks (Django test client, a logged-in superuser): subscribing shows
the secret once, the dead letters are listed and replayed, the request forgery guard names the field."""

import re

import pytest
from django.urls import reverse
from standardwebhooks import Webhook

from tests.factories import example_order, put_stock
from tests.platforms.webhook_receiver import WebhookReceiver
from zhongshu.orders.schemas import OrderIn
from zhongshu.orders.services import intake
from zhongshu.webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff(client, admin_user):
    client.force_login(admin_user)
    return client


def test_subscribe_in_the_console_then_replay_a_dead_letter(staff, hub, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [0]  # one attempt, then a dead letter
    put_stock("DUMPLING-500G", "CD", 10)
    with WebhookReceiver() as receiver:
        r = staff.post(
            reverse("admin:webhooks_webhookendpoint_add"),
            {"url": receiver.url + "/in", "events": ["order.allocated"], "description": "ERP"},
            follow=True,
        )
        assert r.status_code == 200
        page = r.content.decode()
        [secret] = re.findall(r"whsec_[A-Za-z0-9+/=]+", page)
        ep = WebhookEndpoint.objects.get()
        assert ep.secret == secret and ep.events == ["order.allocated"] and ep.created_by == "admin:admin"
        listing = staff.get(reverse("admin:webhooks_webhookendpoint_changelist")).content.decode()
        assert "whsec_" not in listing and receiver.url in listing  # the secret is never shown again

        receiver.outage()
        intake([OrderIn.model_validate(example_order())], actor="test")
        d = WebhookDelivery.objects.get()
        assert d.status == "dead" and d.last_status_code == 503
        dead = staff.get(reverse("admin:webhooks_webhookdelivery_changelist") + "?status__exact=dead")
        assert dead.status_code == 200 and "order.allocated" in dead.content.decode()

        receiver.end_outage()
        r = staff.post(
            reverse("admin:webhooks_webhookdelivery_changelist"),
            {"action": "replay", "_selected_action": [d.pk]},
            follow=True,
        )
        assert r.status_code == 200
        d.refresh_from_db()
        assert d.status == "delivered"
        [ok] = receiver.accepted
        assert Webhook(secret).verify(ok.body, ok.headers)["type"] == "order.allocated"
        assert staff.get(reverse("admin:webhooks_webhookdelivery_change", args=[d.pk])).status_code == 200


def test_the_console_refuses_a_private_address_when_not_allowed(staff, hub, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    r = staff.post(
        reverse("admin:webhooks_webhookendpoint_add"),
        {"url": "http://169.254.169.254/latest", "events": ["stock.changed"]},
    )
    assert r.status_code == 200 and "169.254.169.254" in r.content.decode()
    assert WebhookEndpoint.objects.count() == 0
