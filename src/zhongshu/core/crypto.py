"""Secrets and personal data at rest, with a key from ZHONGSHU_CREDENTIALS_KEY, or derived from the
secret key when unset.

- `encrypt`/`decrypt`: platform tokens and app secrets (Fernet: AES-128-CBC + HMAC).
- `seal`/`unseal`: the receiver's name, phone and address of every order (AES-256-GCM, a random
  96-bit nonce per value): one cipher operation per value, the key derived once per process.
"""

import base64
import hashlib
import os
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

__all__ = ["InvalidToken", "SEALED", "decrypt", "encrypt", "seal", "unseal"]

SEALED = "g1:"  # prefix of a sealed value: scheme (AES-GCM) and format version


def _raw_key() -> str:
    return getattr(settings, "CREDENTIALS_KEY", "") or settings.SECRET_KEY


@cache
def _fernet() -> Fernet:
    key = base64.urlsafe_b64encode(hashlib.sha256(("credentials:" + _raw_key()).encode()).digest())
    return Fernet(key)


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode() if plain else ""


def decrypt(token: str) -> str:
    return _fernet().decrypt(token.encode()).decode() if token else ""


@cache
def _aead() -> AESGCM:
    return AESGCM(hashlib.sha256(("personal-data:" + _raw_key()).encode()).digest())


def seal(plain: str) -> str:
    """Text encrypted for storage ("g1:" + base64 of nonce and ciphertext); "" stays ""."""
    if not plain:
        return ""
    nonce = os.urandom(12)
    return SEALED + base64.b64encode(nonce + _aead().encrypt(nonce, plain.encode(), None)).decode()


def unseal(token: str) -> str:
    """The text `seal` encrypted. Raises InvalidToken for anything else (clear text, another key)."""
    if not token:
        return ""
    if not token.startswith(SEALED):
        raise InvalidToken("not a sealed value")
    try:
        blob = base64.b64decode(token[len(SEALED) :], validate=True)
        return _aead().decrypt(blob[:12], blob[12:], None).decode()
    except (InvalidTag, ValueError) as exc:
        raise InvalidToken("sealed value does not decrypt with this key") from exc
