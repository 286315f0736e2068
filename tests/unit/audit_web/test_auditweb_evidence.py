"""Web evidence on disk, the certificate-expiry metric read from it, and name-server
arguments: damaged files and hostile values give one clear error, never a crash."""

from __future__ import annotations

import datetime as dt
import json
import stat
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from audit.web.evidence import LATEST, WebEvidence
from audit.web.metrics import CertExpiryCollector
from audit.web.resolve import parse_nameserver
from devices.errors import ConfigError

T0 = dt.datetime(2026, 11, 22, 3, 0, tzinfo=dt.UTC)


def rec(agency: str, host: str, days: float | None) -> dict[str, object]:
    not_after = (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).isoformat() \
        if days is not None else None
    return {"agency": agency, "service": "www", "host": host, "error": None,
            "tls": {"not_after": not_after}}


def test_runs_are_kept_and_latest_is_merged_per_agency(tmp_path: Path) -> None:
    ev = WebEvidence(tmp_path / "web")
    ev.save([rec("MOF", "www.mof.go.th", 30), rec("DGA", "www.dga.or.th", 60)], now=T0)
    ev.save([rec("MOF", "new.mof.go.th", 10)], scope="mof", now=T0 + dt.timedelta(hours=1))
    assert [r["host"] for r in ev.latest()] == ["www.dga.or.th", "new.mof.go.th"]
    ev.save([rec("DGA", "www.dga.or.th", 5)], now=T0 + dt.timedelta(hours=2))  # everything
    assert [r["host"] for r in ev.latest()] == ["www.dga.or.th"]
    runs = sorted(p.name for p in (tmp_path / "web").glob("scan-*.json"))
    assert len(runs) == 3
    for path in (tmp_path / "web").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE((tmp_path / "web").stat().st_mode) == 0o700


@pytest.mark.parametrize("content", ["", "{", "[]", '{"records": 5}', '{"records": [1, 2]}',
                                     '{"nothing": []}', "\x00\x01binary"])
def test_damaged_latest_is_one_clear_error(tmp_path: Path, content: str) -> None:
    (tmp_path / LATEST).write_text(content)
    with pytest.raises(ConfigError, match="web scan evidence|records must be"):
        WebEvidence(tmp_path).latest()


def _samples(root: Path) -> dict[str, float]:
    registry = CollectorRegistry()
    registry.register(CertExpiryCollector(root))
    text = generate_latest(registry).decode()
    return {line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines()
            if line.startswith("gin_web_cert_expiry_seconds{")}


def test_expiry_metric_counts_down_and_skips_unknowns(tmp_path: Path) -> None:
    WebEvidence(tmp_path).save([rec("MOF", "www.mof.go.th", 30), rec("MOF", "old.mof.go.th", -2),
                                rec("MOF", "dead.mof.go.th", None),
                                {"agency": "X", "host": "odd", "tls": {"not_after": "garbage"}},
                                {"agency": 'a"b\nc', "host": "q", "tls": "not a dict"}])
    got = _samples(tmp_path)
    assert set(got) == {'gin_web_cert_expiry_seconds{agency="MOF",host="www.mof.go.th"}',
                        'gin_web_cert_expiry_seconds{agency="MOF",host="old.mof.go.th"}'}
    assert got['gin_web_cert_expiry_seconds{agency="MOF",host="www.mof.go.th"}'] > 29 * 86400
    assert got['gin_web_cert_expiry_seconds{agency="MOF",host="old.mof.go.th"}'] < 0


def test_expiry_metric_survives_a_damaged_file(tmp_path: Path) -> None:
    (tmp_path / LATEST).write_text(json.dumps({"records": "x"}))
    assert _samples(tmp_path) == {}
    assert _samples(tmp_path / "never-scanned") == {}


@pytest.mark.parametrize("text, expected", [
    ("127.0.0.1", ("127.0.0.1", 53)), ("127.0.0.1:5353", ("127.0.0.1", 5353)),
    ("::1", ("::1", 53)), ("[::1]:5353", ("::1", 5353)), ("[::1]", ("::1", 53)),
])
def test_nameservers(text: str, expected: tuple[str, int]) -> None:
    assert parse_nameserver(text) == expected


@pytest.mark.parametrize("text", ["dns.example", "127.0.0.1:0", "127.0.0.1:70000",
                                  "127.0.0.1:x", "[::1]x", "[::1]:", "1.2.3.4\n:53", "",
                                  "9" * 5000])
def test_bad_nameservers(text: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_nameserver(text)
    assert "\n" not in str(err.value).replace(repr(text), "")


def test_stored_findings_for_the_report(tmp_path: Path) -> None:
    from audit import runner
    from audit.findings import DeviceAudit, combine, findings_of
    from audit.web.checks import CHECKS, stored_subjects

    def stored_findings(*args):
        return findings_of(runner.judge(stored_subjects(*args)))

    assert stored_findings(tmp_path / "none") == []
    WebEvidence(tmp_path).save([rec("MOF", "www.mof.go.th", 30), rec("DGA", "www.dga.or.th", 5)])
    every = stored_findings(tmp_path)
    assert len(every) == 2 * len(CHECKS)
    mof = stored_findings(tmp_path, {"mof"})
    assert {f.device for f in mof} == {"www.mof.go.th"} and all(f.controls for f in mof)
    merged = combine([DeviceAudit("pe1", "MOF", "frr")], mof)
    assert [a.device for a in merged] == ["pe1", "www.mof.go.th"]
