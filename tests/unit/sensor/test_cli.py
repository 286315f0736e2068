"""The ``sensor`` and ``respond`` click groups, driven like a user would."""

from __future__ import annotations

import json

import click
from click.testing import CliRunner
from scapy.all import IP, TCP, wrpcap

from directory.store import Directory
from gin.commands.sensor import respond, sensor
from gin.context import Context

from .conftest import timed


@click.group()
@click.option("--db")
@click.pass_context
def root(ctx: click.Context, db: str) -> None:
    ctx.obj = Context(db=db, actor="tester")


root.add_command(sensor)
root.add_command(respond)


def test_sensor_run_pcap_json_and_event_log(tmp_path, sqlite_url):
    pcap = tmp_path / "scan.pcap"
    wrpcap(str(pcap), timed(IP(src="203.0.113.5", dst="10.2.2.2")
                            / TCP(sport=40000, dport=p, flags="S") for p in range(1, 200)))
    events = tmp_path / "events.jsonl"
    Directory(sqlite_url).close()  # exists: no 'created a new directory' notice on stderr
    res = CliRunner().invoke(root, ["--db", sqlite_url, "sensor", "run", "--pcap", str(pcap),
                                    "--events", str(events), "--json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    assert out["summary"]["packets"] == 199 and out["summary"]["events"] == 1
    assert out["events"][0]["type"] == "port_scan"
    assert json.loads(events.read_text())["source"] == "203.0.113.5"


def test_sensor_run_table_output_and_usage_errors(tmp_path):
    pcap = tmp_path / "x.pcap"
    wrpcap(str(pcap), timed([IP() / TCP()]))
    res = CliRunner().invoke(root, ["sensor", "run", "--pcap", str(pcap), "--no-directory"])
    assert res.exit_code == 0 and "threat events" in res.output
    res = CliRunner().invoke(root, ["sensor", "run"])
    assert res.exit_code == 2 and "--pcap FILE or --interface" in res.output
    res = CliRunner().invoke(root, ["sensor", "run", "--pcap", str(pcap), "--no-directory",
                                    "--auto-block", "nonsense"])
    assert res.exit_code == 2


def test_detectors_listing():
    res = CliRunner().invoke(root, ["sensor", "detectors", "--json"])
    rows = {r["type"]: r for r in json.loads(res.output)}
    assert len(rows) == 12 and "ports=100" in rows["port_scan"]["settings"]


def test_settings_file_overrides_thresholds(tmp_path):
    pcap = tmp_path / "scan.pcap"
    wrpcap(str(pcap), timed(IP(src="203.0.113.5", dst="10.2.2.2")
                            / TCP(sport=40000, dport=p, flags="S") for p in range(1, 30)))
    cfg = tmp_path / "s.yaml"
    cfg.write_text("detectors:\n  port_scan: {ports: 20}\n")
    res = CliRunner().invoke(root, ["sensor", "run", "--pcap", str(pcap), "--no-directory",
                                    "--settings", str(cfg), "--json"])
    assert json.loads(res.output)["summary"]["events"] == 1


def test_respond_block_list_acl_lift(sqlite_url):
    Directory(sqlite_url).close()  # exists: no 'created a new directory' notice on stderr
    run = CliRunner().invoke
    base = ["--db", sqlite_url, "respond", "--no-gateway"]
    res = run(root, [*base, "--block", "203.0.113.77", "--ttl", "120", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["source"] == "203.0.113.77/32"
    res = run(root, [*base, "--list", "--json"])
    assert [b["source"] for b in json.loads(res.output)] == ["203.0.113.77/32"]
    res = run(root, [*base, "--acl", "cisco_ios"])
    assert " deny ip host 203.0.113.77 any" in res.output
    res = run(root, [*base, "--lift", "203.0.113.77"])
    assert res.exit_code == 0 and "lifted" in res.output
    res = run(root, [*base, "--list", "--block", "1.2.3.4"])
    assert res.exit_code == 2


def test_user_errors_are_one_line_gin_errors(tmp_path):
    from devices.errors import GinError

    pcap = tmp_path / "x.pcap"
    wrpcap(str(pcap), timed([IP() / TCP()]))
    res = CliRunner().invoke(root, ["sensor", "run", "--pcap", str(pcap), "--no-directory",
                                    "--events", str(tmp_path / "no" / "e.jsonl")])
    assert isinstance(res.exception, GinError) and "event log" in str(res.exception)
    res = CliRunner().invoke(root, ["sensor", "run", "--interface", "gs-no-such-if",
                                    "--no-directory"])
    assert isinstance(res.exception, GinError)
    assert "no such network interface" in str(res.exception)


def test_bpf_filters_compile_or_fail_with_one_line():
    import pytest

    from monitor.sensor.errors import SensorError
    from monitor.sensor.live import compile_bpf

    try:
        code = compile_bpf("tcp or icmp6", 1)
    except SensorError as exc:  # libpcap missing: the message says so
        pytest.skip(f"needs libpcap: {exc}")
    assert len(code) % 8 == 0 and len(code) >= 16
    with pytest.raises(SensorError, match="BPF filter"):
        compile_bpf("tcp port", 1)


def test_home_agency_must_be_in_the_directory(tmp_path, sqlite_url):
    from devices.errors import GinError

    pcap = tmp_path / "x.pcap"
    wrpcap(str(pcap), timed([IP() / TCP()]))
    res = CliRunner().invoke(root, ["--db", sqlite_url, "sensor", "run", "--pcap", str(pcap),
                                    "--agency", "NOPE"])
    assert isinstance(res.exception, GinError) and "--agency 'NOPE'" in str(res.exception)
