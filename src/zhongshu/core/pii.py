"""Personal data: keyed hashes (ID numbers; blind indexes of the receiver's phone, phone tail,
name and address, which are stored encrypted), masks for the UI and for logs."""

import hashlib
import hmac
import logging
import re

from django.conf import settings


def id_number_hash(id_number: str) -> str:
    """Keyed hash (HMAC-SHA256) of an ID number: comparable, not reversible without the key."""
    normal = id_number.strip().upper()
    return hmac.new(settings.PII_KEY.encode(), normal.encode(), hashlib.sha256).hexdigest()


def _keyed(kind: str, value: str) -> str:
    # one call into OpenSSL (HMAC-SHA256), cheaper than copying a keyed state through hmac.HMAC
    return hmac.digest(settings.PII_KEY.encode(), f"{kind}\x00{value}".encode(), "sha256").hex()


_PHONE_TEXT = re.compile(r"[\d\s\-()+]+")
_PHONE_NOISE = re.compile(r"[\s\-()]")


def normal_phone(phone: str) -> str:
    """The phone as compared: a number without spaces, hyphens, brackets, and +86 before a mobile;
    anything else (a platform's ciphertext or masked form) as it is, less surrounding whitespace."""
    phone = phone.strip()
    if not _PHONE_TEXT.fullmatch(phone):
        return phone
    p = _PHONE_NOISE.sub("", phone)
    return p[3:] if p.startswith("+86") and len(p) == 14 else p


def phone_hash(phone: str) -> str:
    """Blind index of a phone (keyed HMAC-SHA256): exact search and "same phone" without the clear
    value. Platform ciphertexts are indexed as they are (equal text, equal hash)."""
    p = normal_phone(phone)
    return _keyed("phone", p) if p else ""


def phone_tail_hash(phone: str) -> str:
    """Blind index of the phone's last 4 digits (search by 尾号); "" when they are not 4 digits
    (a platform ciphertext). Masked phones (139****5678) keep their real tail, so they are indexed."""
    tail = normal_phone(phone)[-4:]
    return _keyed("phone-tail", tail) if len(tail) == 4 and tail.isdigit() else ""


def address_hash(address: str) -> str:
    """Blind index of a street address (whitespace runs count as one space)."""
    a = " ".join(address.split())
    return _keyed("address", a) if a else ""


def name_hash(name: str) -> str:
    """Blind index of a receiver's name (whitespace ignored, Latin letters case-folded): search by
    the full name without the clear value."""
    n = "".join(name.split()).casefold()
    return _keyed("name", n) if n else ""


def mask_id_number(id_number: str) -> str:
    s = id_number.strip().upper()
    return s[:3] + "*" * (len(s) - 7) + s[-4:] if len(s) > 7 else "*" * len(s)


def mask_phone(phone: str) -> str:
    digits = phone.strip()
    if len(digits) >= 11:
        return digits[:3] + "****" + digits[-4:]
    if len(digits) > 4:
        return "*" * (len(digits) - 4) + digits[-4:]
    return "*" * len(digits)


def mask_name(name: str) -> str:
    name = name.strip()
    if not name:
        return ""
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_address(address: str) -> str:
    """Keep the first few characters (usually the district/road) and hide the rest."""
    address = address.strip()
    keep = min(6, len(address) // 2)
    return address[:keep] + "****" if address else ""


_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)")
_IDNO = re.compile(r"(?<![\dA-Za-z])(\d{3})\d{11}(\d{3}[\dXx])(?![\dA-Za-z])")


def scrub(text: str) -> str:
    """Mask phone and ID numbers found in free text (log lines, error messages)."""
    return _PHONE.sub(r"\1****\2", _IDNO.sub(r"\1***********\2", text))


class PiiLogFilter(logging.Filter):
    """Logging filter that masks phone and ID numbers in every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = scrub(msg)
        if clean != msg:
            record.msg, record.args = clean, None
        return True
