"""Secrets at rest (platform tokens, app secrets): Fernet (AES-128-CBC + HMAC) with a key from
ZHONGSHU_CREDENTIALS_KEY, or derived from the secret key when unset."""

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

__all__ = ["InvalidToken", "decrypt", "encrypt"]


@cache
def _fernet() -> Fernet:
    raw = getattr(settings, "CREDENTIALS_KEY", "") or settings.SECRET_KEY
    key = base64.urlsafe_b64encode(hashlib.sha256(("credentials:" + raw).encode()).digest())
    return Fernet(key)


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode() if plain else ""


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode() if token else ""
