"""Validation and normalisation of names and codes (Thai and English).

Names are Unicode: stored NFC-normalised with runs of white space folded, so that
"กรม  การปกครอง" and its decomposed twin are one name.  Control characters (newline,
NUL, escape...) are refused outright: a name ends up in device configs and reports, and
a newline there must never become a config command.
"""

from __future__ import annotations

import re
import unicodedata

from .errors import Invalid

CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{0,31}$")
HOSTNAME_RE = re.compile(r"^(?=.{1,63}$)[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
CONTROL = ("Cc", "Cf", "Cs", "Zl", "Zp")  # Cs: lone surrogates cannot be stored
ALLOWED_CONTROL = " \t\u200b\u200c\u200d"  # tab folds to a space; zero-width marks occur in Thai
IFNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_./:-]{0,63}$")


def clean_text(value: object, field: str, max_len: int = 255, required: bool = True) -> str | None:
    """NFC-normalise, fold white space, refuse control characters and over-long text."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Invalid(f"{field}: must not be empty")
        return None
    if not isinstance(value, str):
        raise Invalid(f"{field}: expected text, got {type(value).__name__}")
    for ch in value:
        if unicodedata.category(ch) in CONTROL and ch not in ALLOWED_CONTROL:
            raise Invalid(f"{field}: control character {ch!r} is not allowed")
    text = " ".join(unicodedata.normalize("NFC", value).split())
    if len(text) > max_len:
        raise Invalid(f"{field}: longer than {max_len} characters")
    return text


def _clean_token(value: object, field: str, max_len: int, pattern: re.Pattern[str],
                 what: str, case: str = "") -> str:
    """One identifier: clean text, optionally case-folded, matching ``pattern`` whole."""
    text = clean_text(value, field, max_len)
    assert text is not None
    token = text.upper() if case == "upper" else text.lower() if case == "lower" else text
    if not pattern.fullmatch(token):
        raise Invalid(f"{field}: {text!r} is not a valid {what}")
    return token


def clean_code(value: object, field: str = "code") -> str:
    """Agency/site codes: upper-case ASCII letters, digits, ``_.-``, at most 32 characters."""
    return _clean_token(value, field, 32, CODE_RE, "code (A-Z, 0-9, _ . -, max 32)", "upper")


def clean_hostname(value: object, field: str = "hostname") -> str:
    """Device host names: one DNS label, lower case (RFC 1123)."""
    return _clean_token(value, field, 63, HOSTNAME_RE, "host name (a-z, 0-9, '-', max 63)",
                        "lower")


def clean_ifname(value: object, field: str = "interface") -> str:
    """Interface names as platforms spell them (eth0, GigabitEthernet0/0/1, ge-0/0/0.0)."""
    return _clean_token(value, field, 64, IFNAME_RE, "interface name")


def search_key(value: str) -> str:
    """Key for matching user queries: NFC, case-folded, white space folded."""
    return " ".join(unicodedata.normalize("NFC", value).casefold().split())
