"""Bearer tokens for the HTTP API."""

import hashlib
import secrets

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from ninja.security import HttpBearer

from zhongshu.core import outbox
from zhongshu.core.models import ApiToken

TOKEN_PREFIX = "zs_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def create_token(username: str, name: str = "") -> str:
    """Create a token for an existing user; the clear token is returned once and never stored."""
    user = get_user_model().objects.get(username=username)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name, prefix=token[:10], key_hash=_digest(token))
    return token


def user_for_token(token: str):
    row = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_digest(token), revoked=False, user__is_active=True)
        .first()
    )
    if row is None:
        return None
    now = timezone.now()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)  # at most once a minute
    return row.user


class BearerAuth(HttpBearer):
    def authenticate(self, request, token: str):
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


@transaction.atomic
def revoke_tokens(token_ids: list[int], actor: str) -> int:
    """Revoke API tokens (they stop working at once), on the audit timeline; returns how many."""
    tokens = list(
        ApiToken.objects.select_for_update(of=("self",))
        .filter(pk__in=token_ids, revoked=False)
        .select_related("user")
    )
    ApiToken.objects.filter(pk__in=[t.pk for t in tokens]).update(revoked=True)
    outbox.write(
        outbox.event(
            "auth.token_revoked",
            key=f"user:{t.user.get_username()}",
            actor=actor,
            payload={
                "subject": f"user:{t.user.get_username()}",
                "token": t.prefix,
                "summary": f"吊销 API 令牌 {t.prefix}…（{t.user.get_username()}）",
            },
        )
        for t in tokens
    )
    return len(tokens)
