"""`gin lab` command group against the session lab (status, exec) and a bad name."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from gin.commands.lab import lab as lab_cmd

pytestmark = pytest.mark.integration


def test_status_json(gin_lab):
    result = CliRunner().invoke(lab_cmd, ["status", "--name", gin_lab.name, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {n["name"] for n in data["nodes"]} >= {"pe1", "pe2", "ce1", "ce2", "ce3", "h1"}
    assert data["credentials_ref"].startswith("file:/")


def test_status_table(gin_lab):
    result = CliRunner().invoke(lab_cmd, ["status", "--name", gin_lab.name])
    assert result.exit_code == 0, result.output
    assert "pe1" in result.output and "ce3" in result.output


def test_exec_vtysh_and_shell(gin_lab):
    runner = CliRunner()
    result = runner.invoke(lab_cmd, ["exec", "--name", gin_lab.name, "pe1", "vtysh", "-c",
                                     "show version"])
    assert result.exit_code == 0
    proc = gin_lab.exec("h2", ["ip", "-6", "route"])
    assert "default via 2001:db8:1002::1" in proc.stdout


def test_status_of_missing_lab_is_one_clear_error():
    result = CliRunner().invoke(lab_cmd, ["status", "--name", "nosuch1"])
    assert result.exit_code != 0
    assert "no lab 'nosuch1'" in str(result.exception)
