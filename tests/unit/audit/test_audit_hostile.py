"""Hostile input gives a clear finding or error, never a crash and never a pass."""

from __future__ import annotations

import os
import time

import pytest

from audit.parse import MAX_BYTES, AuditParseError, parse
from tests.unit.audit.conftest import CONTEXT_CHECKS, audit_text, golden


def _no_config_pass(audit) -> None:  # noqa: ANN001
    for f in audit.findings:
        if f.check not in CONTEXT_CHECKS:
            assert f.status.value in ("unknown", "not_applicable"), (f.check, f.status)


def test_binary_data_is_unknown_everywhere() -> None:
    audit = audit_text(os.urandom(4096), "cisco_ios")
    assert audit.error == "configuration is binary data, not text"
    _no_config_pass(audit)
    assert all("could not be read" in f.reason for f in audit.findings
               if f.status.value == "unknown" and f.check not in CONTEXT_CHECKS)


def test_text_with_nul_bytes_is_binary() -> None:
    with pytest.raises(AuditParseError, match="binary"):
        parse(b"hostname r1\n\x00\x00\x00", "cisco_ios")


def test_fifty_megabytes_is_refused_quickly() -> None:
    data = b"interface eth0\n description x\n" * (50 * 2**20 // 31)
    assert len(data) > MAX_BYTES
    start = time.perf_counter()
    audit = audit_text(data, "cisco_ios")
    assert time.perf_counter() - start < 2
    assert audit.error is not None and "larger than" in audit.error
    _no_config_pass(audit)


def test_unknown_platform_is_unknown_everywhere() -> None:
    audit = audit_text(golden("cisco_ios_good.conf"), "mikrotik_routeros")
    assert audit.error is not None and "unknown platform 'mikrotik_routeros'" in audit.error
    _no_config_pass(audit)


def test_config_cut_inside_a_banner_is_an_error() -> None:
    text = golden("cisco_ios_good.conf")
    cut = text[:text.index("Authorised access") + 20]
    audit = audit_text(cut, "cisco_ios")
    assert audit.error is not None and "cut short" in audit.error
    _no_config_pass(audit)


@pytest.mark.parametrize("platform", ["frr", "cisco_ios", "juniper_junos"])
def test_config_cut_in_half_does_not_pass(platform: str) -> None:
    text = golden(f"{platform}_good.conf")
    half = text[: len(text) // 2]
    audit = audit_text(half, platform)
    assert audit.error or audit.warnings
    _no_config_pass(audit)
    assert any("incomplete" in f.reason or "could not be read" in f.reason
               for f in audit.findings)


@pytest.mark.parametrize("platform", ["frr", "cisco_ios", "juniper_junos"])
def test_config_cut_at_every_tenth_keeps_failures_and_never_passes(platform: str) -> None:
    text = golden(f"{platform}_bad.conf")
    for i in range(1, 10):
        audit = audit_text(text[: len(text) * i // 10], platform)
        assert audit.error or audit.warnings
        assert all(f.status.value != "pass" for f in audit.findings
                   if f.check not in CONTEXT_CHECKS)


def test_running_config_without_end_is_incomplete() -> None:
    text = golden("cisco_ios_good.conf")
    audit = audit_text(text[: text.rindex("end")], "cisco_ios")
    assert audit.warnings == ["no final 'end': not a whole running-config (cut short?)"]
    _no_config_pass(audit)
    assert audit_text(text, "cisco_ios").warnings == []


def test_empty_and_whitespace_configs() -> None:
    for text in ("", "   \n\n"):
        audit = audit_text(text, "frr")
        assert audit.error == "configuration is empty"
        _no_config_pass(audit)


def test_duplicate_sections_are_a_parse_error_not_a_crash() -> None:
    text = "ipv6 access-list A\n permit ipv6 any any\nipv6 access-list A\n deny ipv6 any any\n"
    audit = audit_text(text, "cisco_ios")
    assert audit.error is not None and "cannot parse" in audit.error


def test_unbalanced_quote_in_junos_is_read() -> None:
    audit = audit_text('set system login message "unterminated\n', "juniper_junos")
    assert audit.error is None
