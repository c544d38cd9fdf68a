"""Text that the hub accepts and writes: no control characters in what comes in (PostgreSQL refuses
NUL, Excel refuses most C0 controls), and a cleaner for what goes out to a workbook."""

import re

# C0 and C1 controls, DEL, and lone surrogates (JSON can carry "\ud800"; no database stores it).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
# The same, but tab, line feed and carriage return are allowed: free text a person typed.
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# What an XLSX cell cannot hold (openpyxl's ILLEGAL_CHARACTERS_RE, plus lone surrogates).
_NOT_IN_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def _check(pattern: re.Pattern, value: str) -> str:
    found = pattern.search(value)
    if found:
        raise ValueError(
            f"must not contain control characters (U+{ord(found.group()):04X} at position {found.start()})"
        )
    return value


def single_line(value: str) -> str:
    """A name, code or number: no control characters at all (pydantic AfterValidator)."""
    return _check(_CONTROL, value)


def free_text(value: str) -> str:
    """An address, remark or title: tab and line breaks allowed, other control characters not."""
    return _check(_CONTROL_IN_TEXT, value)


def not_blank(value: str) -> str:
    """A required text: not only whitespace (pydantic AfterValidator)."""
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def for_xlsx(value):
    """A cell value with the characters a workbook cannot hold replaced by U+FFFD; others unchanged."""
    return _NOT_IN_XLSX.sub("\ufffd", value) if isinstance(value, str) else value
