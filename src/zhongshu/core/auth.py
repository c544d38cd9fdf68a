"""Bearer tokens for the HTTP API, and what a token may call.

Each operation names the permissions it needs (`auth=requires("orders.view_order")`); a token passes
with its user's permissions, narrowed by the token's scope. No valid token → 401; a permission the
user or the scope lacks → 403 naming it, before the request body is read."""

import hashlib
import secrets

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import HttpBearer

from zhongshu.core import outbox
from zhongshu.core.models import ApiToken

TOKEN_PREFIX = "zs_"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# What a narrower scope still allows: read → the view_* permissions; intake → order intake only.
INTAKE_PERMISSIONS = frozenset({"orders.add_order"})


@transaction.atomic
def create_token(username: str, name: str = "", scope: str = ApiToken.Scope.FULL) -> str:
    """Create a token for an existing user; the clear token is returned once and never stored."""
    if scope not in ApiToken.Scope.values:
        raise ValueError(f"unknown scope '{scope}' (one of {', '.join(ApiToken.Scope.values)})")
    user = get_user_model().objects.get(username=username)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name, prefix=token[:10], key_hash=_digest(token), scope=scope)
    return token


def token_for(token: str) -> ApiToken | None:
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
    return row


def scope_allows(scope: str, permission: str) -> bool:
    if scope == ApiToken.Scope.READ:
        return permission.partition(".")[2].startswith("view_")
    if scope == ApiToken.Scope.INTAKE:
        return permission in INTAKE_PERMISSIONS
    return scope == ApiToken.Scope.FULL


def refusal(token: ApiToken, permissions) -> str | None:
    """Why the token may not make a call that needs these permissions, or None when it may."""
    for permission in permissions:
        if not scope_allows(token.scope, permission):
            return f"the token's scope '{token.scope}' does not allow this call (it needs {permission})"
        if not token.user.has_perm(permission):
            return f"this call needs the permission {permission}"
    return None


class BearerAuth(HttpBearer):
    """`Authorization: Bearer <token>`, then the permissions of the operation (403 naming what is missing)."""

    def __init__(self, *permissions: str):
        super().__init__()
        self.permissions = permissions

    def authenticate(self, request, token: str):
        row = token_for(token)
        if row is None:
            return None
        request.user = row.user
        denied = refusal(row, self.permissions)
        if denied:
            raise HttpError(403, denied)
        return row


def requires(*permissions: str) -> BearerAuth:
    """The auth of an API operation: a valid token whose user and scope have every permission."""
    return BearerAuth(*permissions)


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
