"""Preflight: one message naming what is missing and the apt-get line to fix it."""

from __future__ import annotations

import pytest

from gin.lab import preflight
from gin.lab.errors import LabError


def test_missing_binaries_map_to_packages(monkeypatch):
    monkeypatch.setattr(preflight, "_present", lambda exe: "frr" not in exe and "snmpd" not in exe)
    assert preflight.missing_packages() == ["frr", "snmpd"]


def test_check_lists_every_problem_in_one_line(monkeypatch):
    monkeypatch.setattr(preflight.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(preflight, "_present", lambda exe: exe != "/usr/sbin/sshd")
    with pytest.raises(LabError) as info:
        preflight.check()
    text = str(info.value)
    assert "needs root" in text
    assert "apt-get install -y --no-install-recommends openssh-server" in text
    assert "\n" not in text and info.value.exit_code == 3
