"""The synthetic directory: deterministic, well-formed, importable, and the synth command."""

from __future__ import annotations

import ipaddress
import json
from collections import Counter

import pytest

from devices.platforms import interface_names
from directory.synth import DEFAULT_AGENCIES, count_rows, synthesize
from directory.transfer import export_data, import_files, write_export

PORTS = interface_names()  # the platform table's interface names


def test_default_size_is_the_gin_2013_figure():
    data = synthesize(ports=PORTS)
    assert DEFAULT_AGENCIES == 2154
    assert len([a for a in data["agencies"] if a["kind"] != "gin"]) == 2154
    assert len(data["sites"]) > 2154 + 77 and len(data["links"]) > 2154


def test_deterministic_per_seed():
    assert synthesize(50, seed=1, ports=PORTS) == synthesize(50, seed=1, ports=PORTS)
    assert synthesize(50, seed=1, ports=PORTS) != synthesize(50, seed=2, ports=PORTS)


def test_small_sizes():
    one = synthesize(1, ports=PORTS)
    assert [a["code"] for a in one["agencies"]] == ["GIN", "OPM"]
    with pytest.raises(ValueError):
        synthesize(0, ports=PORTS)


def test_keys_unique_and_references_resolve():
    data = synthesize(120, seed=3, ports=PORTS)
    agencies = {a["code"] for a in data["agencies"]}
    sites = {(s["agency"], s["code"]) for s in data["sites"]}
    devices = {d["hostname"] for d in data["devices"]}
    assert len(agencies) == len(data["agencies"]) and len(sites) == len(data["sites"])
    assert len(devices) == len(data["devices"])
    assert all(a.get("parent") in agencies for a in data["agencies"] if a.get("parent"))
    assert all((d["agency"], d["site"]) in sites for d in data["devices"])
    ends = Counter()
    for link in data["links"]:
        assert link["a_device"] in devices and link["b_device"] in devices
        ends[(link["a_device"], link["a_interface"])] += 1
        ends[(link["b_device"], link["b_interface"])] += 1
    assert max(ends.values()) == 1  # one link per interface
    vlans = [int(link["a_interface"].rsplit(".", 1)[1]) for link in data["links"]]
    assert max(vlans) <= 4094


def test_prefixes_follow_the_plan_without_overlap():
    data = synthesize(60, seed=4, ports=PORTS)
    nets = [ipaddress.ip_network(p["prefix"]) for p in data["prefixes"]]
    assert len(set(nets)) == len(nets)
    by_role = Counter(p["role"] for p in data["prefixes"])
    assert by_role["agency"] == 60 and by_role["p2p"] == len(data["links"])
    assert {n.prefixlen for n, p in zip(nets, data["prefixes"], strict=True)
            if p["role"] == "p2p"} == {127}
    supernet = ipaddress.ip_network("2001:db8::/32")
    assert all(n.subnet_of(supernet) for n in nets)
    agency_nets = {p["agency"]: ipaddress.ip_network(p["prefix"]) for p in data["prefixes"]
                   if p["role"] == "agency"}
    for p in data["prefixes"]:
        if p["role"] == "lan":
            assert ipaddress.ip_network(p["prefix"]).subnet_of(agency_nets[p["agency"]])


def test_thai_names_are_present():
    data = synthesize(30, seed=5, ports=PORTS)
    assert all(a.get("name_th") for a in data["agencies"])
    assert any("ที่" in a["name_th"] for a in data["agencies"])


@pytest.mark.parametrize("fmt", ["json", "yaml", "csv"])
def test_written_files_import_back_identically(tmp_path, fmt):
    from directory.store import Directory

    data = synthesize(25, seed=6, ports=PORTS)
    dest = tmp_path / ("out" if fmt == "csv" else f"out.{fmt}")
    write_export(data, fmt, dest)
    d = Directory(f"sqlite:///{tmp_path / 'x.sqlite'}", actor="t")
    report = import_files(d, [str(dest)])
    assert not report.errors
    assert sum(report.created.values()) == count_rows(data)  # every row created
    with d.transaction() as s:
        exported = export_data(s)
    assert [r["hostname"] for r in exported["devices"]] == [r["hostname"] for r in data["devices"]]
    assert len(exported["prefixes"]) == len(data["prefixes"])
    d.close()


# --- the command --------------------------------------------------------------------------------


def _gin(*args: str) -> int:
    from gin.cli import main

    return main(list(args))


def test_synth_command_to_file_and_into_the_database(tmp_path, capsys):
    db = str(tmp_path / "d.sqlite")
    out = tmp_path / "s.json"
    assert _gin("--db", db, "directory", "synth", "--agencies", "15", "--seed", "9",
                "-o", str(out)) == 0
    assert json.loads(out.read_text())["agencies"][0]["code"]
    assert _gin("--db", db, "directory", "import", str(out), "--json") == 0
    report = json.loads(capsys.readouterr().out)
    assert report["created"]["agencies"] == 16
    db2 = str(tmp_path / "e.sqlite")
    assert _gin("--db", db2, "directory", "synth", "--agencies", "15", "--seed", "9",
                "--json") == 0
    direct = json.loads(capsys.readouterr().out)
    assert direct["created"] == report["created"]
    assert _gin("--db", db2, "directory", "synth", "--agencies", "15", "--seed", "9") == 1
    assert "already exists" in capsys.readouterr().err
