"""Personal data: keyed hash for ID numbers, masks for the UI and for logs."""

import hashlib
import hmac
import logging
import re

from django.conf import settings


def id_number_hash(id_number: str) -> str:
    """Keyed hash (HMAC-SHA256) of an ID number: comparable, not reversible without the key."""
    normal = id_number.strip().upper()
    return hmac.new(settings.PII_KEY.encode(), normal.encode(), hashlib.sha256).hexdigest()


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
