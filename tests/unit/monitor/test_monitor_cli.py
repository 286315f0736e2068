"""`gin monitor` commands that need no daemons: help, dashboards, prometheus-config."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from directory.store import Directory
from gin.cli import cli
from gin.commands.monitor import monitor


def run(*args: str) -> tuple[int, str]:
    if "monitor" not in cli.commands:
        cli.add_command(monitor)
    res = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return res.exit_code, res.output


def test_help_lists_the_commands() -> None:
    code, out = run("monitor", "--help")
    assert code == 0
    for sub in ("agent", "poll", "prometheus-config", "dashboards"):
        assert sub in out


def test_dashboards(tmp_path: Path) -> None:
    code, out = run("monitor", "dashboards", "--out", str(tmp_path), "--json")
    assert code == 0
    names = sorted(Path(p).name for p in json.loads(out)["written"])
    assert names == ["gin-agency.json", "gin-overview.json", "gin-vpn.json"]
    data = json.loads((tmp_path / "gin-overview.json").read_text())
    assert data["uid"] == "gin-overview" and data["panels"]


def test_prometheus_config_from_an_empty_directory(tmp_path: Path, sqlite_url: str) -> None:
    Directory(sqlite_url).close()  # exists: no 'created a new directory' notice on stderr
    code, out = run("--db", sqlite_url, "monitor", "prometheus-config", "--out",
                    str(tmp_path / "p"), "--no-check", "--json")
    assert code == 0, out
    assert json.loads(out)["devices"] == 0
    assert (tmp_path / "p" / "prometheus.yml").exists()


def test_poll_names_a_device_without_credentials(tmp_path: Path, sqlite_url: str) -> None:
    """The one-shot poll goes through monitor.poll: no credentials is reason config, in
    words, exit 3; an unknown --device is one clear error."""
    from directory import store
    from directory.store import Directory

    d = Directory(sqlite_url, actor="t")
    with d.transaction() as s:
        store.add_agency(s, code="MOF", name_en="Finance")
        store.add_site(s, "MOF", code="BKK")
        store.add_device(s, "MOF", "BKK", hostname="nocreds", role="ce", platform="frr",
                         snmp_address="192.0.2.7")
    d.close()
    code, out = run("--db", sqlite_url, "monitor", "poll", "--json")
    assert code == 3
    [row] = json.loads(out)["devices"]
    assert (row["device"], row["up"], row["reason"]) == ("nocreds", False, "config")
    assert "no SNMPv3 user" in row["error"]
    res = CliRunner().invoke(cli, ["--db", sqlite_url, "monitor", "poll", "--device", "x"])
    assert "no pollable device named x in the directory" in str(res.exception)
