"""Reports: scores (unknown counts against, not-applicable is left out), JSON, CSV, HTML."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from audit import report
from audit.checks import ALL
from audit.runner import ConfigSource, DeviceAudit, run
from tests.unit.audit.conftest import ANSWERED, LOGGED, NOW, UP, golden


@pytest.fixture(scope="module")
def audits() -> list[DeviceAudit]:
    sources = [
        ConfigSource("dopa-pe1", "cisco_ios", golden("cisco_ios_good.conf"), "pe", "DOPA", NOW,
                     True, changes=LOGGED, monitor=UP,
                     blocks=ANSWERED),
        ConfigSource("dopa-fw1", "juniper_junos", golden("juniper_junos_good.conf"), "pe",
                     "DOPA", NOW, True, changes=LOGGED, monitor=UP,
                     blocks=ANSWERED),
        ConfigSource("mof-pe1", "cisco_ios", golden("cisco_ios_bad.conf"), "pe", "MOF", None),
        ConfigSource("mof-r9", "frr", b"\x00\x01binary", "ce", "MOF", None),
    ]
    return run(sources, now=NOW)


def test_scores_count_unknown_against_and_skip_not_applicable(audits) -> None:  # noqa: ANN001
    data = report.to_data(audits)
    agencies = {a["key"]: a for a in data["agencies"]}
    assert agencies["DOPA"]["score"] == 100.0
    # RA guard (PEs have no agency LAN) and the two host sshd checks (no host sshd on IOS
    # and Junos), on each of DOPA's two devices
    assert agencies["DOPA"]["not_applicable"] == 2 * 3
    mof = agencies["MOF"]
    assert mof["pass"] == 0 and mof["unknown"] > 0 and mof["score"] == 0.0
    assert data["agencies"][0]["key"] == "MOF"  # worst first
    total = data["score"]
    assert total["pass"] + total["fail"] + total["unknown"] + total["not_applicable"] == \
        len(data["findings"]) == 4 * len(ALL)


def test_clause_scores_follow_the_catalogue(audits) -> None:  # noqa: ANN001
    data = report.to_data(audits, lang="th")
    keys = [c["key"] for c in data["clauses"]]
    assert keys == sorted(keys, key=int) and {"7", "10", "11", "12"} <= set(keys)
    titles = {c["key"]: c["title"] for c in data["clauses"]}
    assert titles["10"] == "การบริหารจัดการการสื่อสารและการปฏิบัติงาน"
    assert any(c["key"] == "11.4.7" and c["iso27002_2022"] == "8.20" for c in data["controls"])


def test_json_round_trips_with_evidence_lines(audits) -> None:  # noqa: ANN001
    data = json.loads(report.to_json(report.filter_agency(audits, "mof"), scope="MOF"))
    assert data["scope"] == "MOF" and {d["device"] for d in data["devices"]} == {"mof-pe1",
                                                                               "mof-r9"}
    ssh = next(f for f in data["findings"]
               if f["device"] == "mof-pe1" and f["check"] == "mgmt.ssh_v2_only")
    assert ssh["status"] == "fail"
    assert ssh["evidence"] == [{"line": 15, "text": "transport input telnet ssh"}]
    assert "ip ssh version 2" in ssh["remediation"]


def test_csv_is_one_row_per_finding_and_formula_safe() -> None:
    text = golden("cisco_ios_bad.conf").replace("hostname", "hostname")
    audits = run([ConfigSource("=cmd|' /C calc'!A0", "cisco_ios", text, "pe", "-x", NOW)],
                 now=NOW)
    rows = list(csv.DictReader(io.StringIO(report.to_csv(audits))))
    assert len(rows) == len(ALL)
    assert rows[0]["device"].startswith("'=") and rows[0]["agency"] == "'-x"
    ssh = next(r for r in rows if r["check"] == "mgmt.ssh_v2_only")
    assert "L15: transport input telnet ssh" in ssh["evidence"]


@pytest.mark.parametrize("lang,label", [("en", "Score by ISO/IEC 17799 clause"),
                                         ("th", "คะแนนตามหมวด ISO/IEC 17799")])
def test_html_is_self_contained_with_charts(audits, lang: str, label: str) -> None:  # noqa: ANN001
    html = report.to_html(audits, lang=lang)
    assert label in html
    assert html.count("<svg") == 2 and 'id="chart-clauses"' in html
    assert re.search(r"<rect [^>]*width=\"0.0\"", html)  # MOF's 0 % bar
    assert not re.search(r"(src|href)=\"http", html) and "<script" not in html
    # unreadable config listed, in the report's language
    assert "mof-r9" in html and ("binary" if lang == "en" else "ไบนารี") in html


def test_html_escapes_config_text() -> None:
    text = golden("cisco_ios_bad.conf").replace("transport input telnet ssh",
                                                "transport input telnet <script>x</script>")
    html = report.to_html(run([ConfigSource("r1", "cisco_ios", text, "pe", "A", NOW)],
                              now=NOW))
    assert "<script>x" not in html and "&lt;script&gt;x" in html


def test_unknown_language_and_format_are_errors(audits) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match="unknown language"):
        report.to_html(audits, lang="fr")
    with pytest.raises(ValueError, match="unknown report format"):
        report.write("/dev/null", audits, "odt")


def test_parallel_run_gives_the_same_findings_in_order() -> None:
    sources = [ConfigSource(f"r{i}", p, golden(f"{p}_{k}.conf"), "pe", "A", NOW, True)
               for i, (p, k) in enumerate([("cisco_ios", "good"), ("frr", "bad"),
                                           ("juniper_junos", "bad"), ("frr", "good")])]
    one = run(sources, now=NOW)
    two = run(sources, now=NOW, workers=2)
    assert [a.device for a in two] == ["r0", "r1", "r2", "r3"]
    assert [f.as_dict() for a in two for f in a.findings] == \
        [f.as_dict() for a in one for f in a.findings]


def test_thai_and_english_labels_are_complete(audits) -> None:  # noqa: ANN001
    assert set(report.LABELS["th"]) == set(report.LABELS["en"])
    assert all(v.strip() for lang in report.LABELS.values() for v in lang.values())
    html = report.to_html(audits, lang="th", scope="MOI/*", show_all=True)
    assert "MOI และหน่วยงานในสังกัดทั้งหมด" in html and "แพลตฟอร์ม" in html
    assert ">platform<" not in html and "n/a" not in html
