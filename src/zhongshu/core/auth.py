"""Bearer tokens for the HTTP API, and what a token may call.

Each operation names the permissions it needs (`auth=requires("orders.view_order")`); a token passes
with its user's permissions, narrowed by the token's scope. No valid token → 401; a permission the
user or the scope lacks → 403 naming it, before the request body is read.

A valid token (its user, and the user's permissions once asked) is kept per process for
TOKEN_CACHE_S seconds: at a peak every order would otherwise cost three queries before any work.
Revoking a token, or changing a user, their groups or permissions, empties the cache of the process
that did it at once; the other processes notice within TOKEN_CACHE_S."""

import hashlib
import secrets
import time

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils import timezone
from ninja.errors import HttpError
from ninja.security import HttpBearer

from zhongshu.core import outbox
from zhongshu.core.models import ApiToken
from zhongshu.core.overload import BudgetExhausted, at_most

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


TOKEN_CACHE_S = 5.0
_tokens: dict[str, tuple[float, ApiToken]] = {}  # digest → (valid until, on time.monotonic()'s clock; row)


def token_for(token: str) -> ApiToken | None:
    digest = _digest(token)
    cached = _tokens.get(digest)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    row = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=digest, revoked=False, user__is_active=True)
        .first()
    )
    if row is None:
        _tokens.pop(digest, None)
        return None
    now = timezone.now()
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        _stamp(row, now)  # at most about once a minute
    _tokens[digest] = (time.monotonic() + TOKEN_CACHE_S, row)
    return row


def _stamp(row: ApiToken, now) -> None:
    """Note when the token was last used; a write that waits for nobody's lock (SQLite's one writer
    busy, 50 ms at most): the note is for people, and a later request makes it."""
    try:
        with at_most(0.05), transaction.atomic():
            ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    except BudgetExhausted:
        return
    row.last_used_at = now


def forget_tokens(**_) -> None:
    """Empty this process's token cache (a token revoked, a user or their permissions changed)."""
    _tokens.clear()


for _model in (ApiToken, get_user_model(), Group):
    post_save.connect(forget_tokens, sender=_model, dispatch_uid=f"forget_tokens_save_{_model.__name__}")
    post_delete.connect(forget_tokens, sender=_model, dispatch_uid=f"forget_tokens_delete_{_model.__name__}")
for _through in (get_user_model().groups.through, get_user_model().user_permissions.through,
                 Group.permissions.through):  # fmt: skip
    m2m_changed.connect(forget_tokens, sender=_through, dispatch_uid=f"forget_tokens_m2m_{_through.__name__}")


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
    forget_tokens()
    transaction.on_commit(forget_tokens)  # again: a request meanwhile may have cached it unrevoked
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
