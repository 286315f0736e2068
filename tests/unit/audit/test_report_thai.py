"""A Thai report is Thai throughout: every reason, severity and remediation prose the checks
produce (on the golden configs, the synthetic GIN, host evidence, operations facts and a
real directory's records) has its Thai wording, and no English sentence is left outside
the config lines quoted as evidence or given as commands."""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path

import pytest
import yaml

from audit import messages, report
from audit.runner import ConfigSource, DeviceAudit, run
from bench.audit_gen import generate
from tests.unit.audit.conftest import (
    ANSWERED,
    LOGGED,
    NOW,
    UNANSWERED,
    UNLOGGED,
    UNWATCHED,
    UP,
    golden,
    host_files,
)
from tests.unit.audit.test_audit_records import build, judged, set_tunnel

REAL = Path(__file__).parents[2] / "fixtures" / "real_configs"
PLATFORMS = ("cisco_ios", "juniper_junos", "frr")


def _golden_sources() -> list[ConfigSource]:
    out = []
    for p in PLATFORMS:
        for kind, changes, monitor, blocks in (("good", LOGGED, UP, ANSWERED),
                                               ("bad", UNLOGGED, UNWATCHED, UNANSWERED)):
            text = golden(f"{p}_{kind}.conf")
            out.append(ConfigSource(f"{p}-{kind}", p, text, "pe", "MOF", NOW, True,
                                    changes=changes, monitor=monitor, blocks=blocks))
            out.append(ConfigSource(f"{p}-{kind}-ce", p, text, "ce", "DOPA", None, None))
    for kind in ("good", "bad"):
        out.append(ConfigSource(f"host-{kind}", "frr", golden(f"frr_{kind}.conf"), "pe", "MOF",
                                NOW, False, host=host_files(kind)))
    out.append(ConfigSource("unreadable", "frr", b"\x00\x01binary", "ce", "MOF", None))
    for path in sorted(REAL.glob("*.expected.yaml")):  # configs in real devices' shapes
        name = path.name.removesuffix(".expected.yaml")
        want = yaml.safe_load(path.read_text())
        out.append(ConfigSource(name, want["platform"], (REAL / f"{name}.conf").read_text(),
                                want["role"], "MOF", NOW, True))
    return out


@pytest.fixture(scope="module")
def audits(tmp_path_factory: pytest.TempPathFactory) -> list[DeviceAudit]:
    from audit import sources

    folder = generate(tmp_path_factory.mktemp("gin") / "40", 40)
    return run(_golden_sources() + sources.from_folder(folder), now=NOW)


@pytest.fixture
def directory_audits(directory, monkeypatch) -> list[DeviceAudit]:  # noqa: ANN001
    """The directory-record findings (inventory, contacts, link protection) of a small GIN,
    with its tunnel planned and then up with weak crypto (both kinds of reason)."""
    import base64

    monkeypatch.setenv("GIN_VPN_KEY", base64.b64encode(b"k" * 32).decode())
    build(directory)
    found = []
    for status, weak in (("planned", ()), ("up", ("3des",)), ("up", ())):
        set_tunnel(directory, status, weak)
        found += judged(directory).values()
    return [DeviceAudit(f.device, f.agency, f.platform, [f]) for f in found]


def _untranslated(audits: list[DeviceAudit]) -> set[str]:
    th = messages.catalogue("th")
    assert th is not None
    missing = set()
    for a in audits:
        for text in ([a.error] if a.error else []) + a.warnings:
            if th.reason(text) is None:
                missing.add(f"{a.device}: {text}")
        for f in a.findings:
            if th.reason(f.reason) is None:
                missing.add(f"{f.check} reason: {f.reason}")
            if f.severity not in th.severities:
                missing.add(f"severity {f.severity}")
            if f.check not in th.checks:
                missing.add(f"title of {f.check}")
            missing |= {f"{f.check} remediation: {line}" for line in f.remediation
                        if th.remediation(line) is None}
            missing |= {f"control {c}" for c in f.controls if c not in th.controls}
    return missing


def test_every_reason_and_remediation_of_the_configs_has_thai(audits) -> None:  # noqa: ANN001
    statuses = {f.status.value for a in audits for f in a.findings}
    assert statuses == {"pass", "fail", "unknown", "not_applicable"}
    assert _untranslated(audits) == set()


def test_every_reason_of_the_directory_records_has_thai(directory_audits) -> None:  # noqa: ANN001
    reasons = {f.reason for a in directory_audits for f in a.findings}
    assert any("in clear" in r for r in reasons) and any("contact" in r for r in reasons)
    assert _untranslated(directory_audits) == set()


def _prose_outside_config(page: str) -> list[str]:
    """English prose left in a rendered page, config text (``<pre>``) and CSS set aside."""
    body = re.sub(r"<style>.*?</style>|<pre>.*?</pre>|<title>.*?</title>", " ", page, flags=re.S)
    text = htmllib.unescape(re.sub(r"<[^>]+>", "\n", body))
    # quoted config words ('ntp server', 'line vty') are config, not sentences
    text = re.sub(r"'[^'\n]*'", " ", text)
    return [m.group(0) for m in messages.ENGLISH_PROSE.finditer(text)]


@pytest.mark.parametrize("grouped", [False, True])
def test_thai_report_has_no_english_sentence(audits, directory_audits,  # noqa: ANN001
                                             grouped: bool) -> None:
    every = audits + directory_audits
    page = report.to_html(every, lang="th", show_all=not grouped,
                          detail_limit=10 if grouped else 10**6)
    assert ('id="aggregated"' in page) is grouped
    assert "ไม่ผ่าน" in page and "สูง" in page and "ปานกลาง" in page
    # a reason and a remediation comment, in Thai
    assert "ไม่มี 'ntp server'" in htmllib.unescape(page)
    assert "ตรวจทานการเปลี่ยนแปลง" in page or grouped
    assert _prose_outside_config(page) == []
    english = report.to_html(every, lang="en", show_all=True)
    assert _prose_outside_config(english)  # the detector does see English


def test_remediation_keeps_config_and_translates_comments() -> None:
    th = messages.catalogue("th")
    assert th is not None
    assert th.remediation(" transport input ssh") == " transport input ssh"
    assert th.remediation("gin audit diff <device>  # review the change") == \
        "gin audit diff <device>  # ตรวจทานการเปลี่ยนแปลง"
    assert th.remediation("# /etc/ssh/sshd_config") == "# /etc/ssh/sshd_config"
    assert th.remediation("do this # and then something else entirely") is None


def test_wrapped_reason_is_translated_inside_and_out() -> None:
    th = messages.catalogue("th")
    assert th is not None
    said = th.reason("configuration incomplete (no 'end' line); not trusted: "
                     "idle-timeout 60 min exceeds 15 min")
    assert said == ("ไฟล์การตั้งค่าไม่ครบถ้วน (no 'end' line) จึงเชื่อถือผลไม่ได้: "
                    "idle-timeout 60 นาที เกินกว่า 15 นาที")
    assert th.reason("configuration incomplete (x); not trusted: a new sentence") is None


def test_chart_titles_are_never_sliced(audits) -> None:  # noqa: ANN001
    page = report.to_html(audits, lang="th")
    th = messages.catalogue("th")
    labels = re.findall(r'<div xmlns="http://www.w3.org/1999/xhtml" class="label">(.*?)</div>',
                        page)
    clause_titles = [c["title"] for c in report.to_data(audits, lang="th")["clauses"]]
    assert th is not None and clause_titles
    for title in clause_titles:
        assert any(label.endswith(" " + title) for label in labels), title


def test_unknown_catalogue_language_is_one_clear_error() -> None:
    with pytest.raises(ValueError, match="no message catalogue for language 'xx'"):
        messages.catalogue("xx")


def test_ministry_summary_from_the_directory(directory, audits,  # noqa: ANN001
                                             monkeypatch) -> None:  # noqa: ANN001
    import base64

    from audit import ministries

    monkeypatch.setenv("GIN_VPN_KEY", base64.b64encode(b"k" * 32).decode())
    build(directory)
    with directory.transaction() as s:
        of = ministries.of_agencies(s)
    assert of["DOPA"] == "MOI" and of["MOI"] == "MOI" and of["MOPH"] == "MOPH"
    page = report.to_html(audits, lang="th", ministries=of)
    table = re.search(r'<table id="ministries">(.*?)</table>', page, re.S)
    assert table and "<td>MOI</td>" in table.group(1)  # DOPA's devices, under MOI
