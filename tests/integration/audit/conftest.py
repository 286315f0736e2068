"""Shared by the audit's lab tests: the auditor's evidence folder made from the lab."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from devices.targets import DeviceTarget, target_of
from directory import store
from directory.store import Directory


def device_target(directory: Directory, hostname: str) -> DeviceTarget:
    """How to reach a lab router, as the directory records it (to change it outside gin)."""
    with directory.transaction() as s:
        return target_of(store.get_device(s, hostname))


@pytest.fixture
def lab_evidence_folder(gin_lab: Any, tmp_path: Path) -> Path:
    """An auditor's folder: each router's /etc files as the lab wrote them
    (``<dir>/<router>/etc/ssh/sshd_config``, ``etc/snmp/snmpd.conf``)."""
    root = tmp_path / "ev"
    for node in gin_lab.routers:
        etc = root / node.name / "etc"
        (etc / "ssh").mkdir(parents=True)
        (etc / "snmp").mkdir()
        shutil.copy(Path(node.dir) / "sshd_config", etc / "ssh" / "sshd_config")
        shutil.copy(Path(node.dir) / "snmpd.conf", etc / "snmp" / "snmpd.conf")
    return root
