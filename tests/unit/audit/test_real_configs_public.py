"""Public real-world configs (batfish, napalm, lab-validation, FRR topotests) are judged as
an auditor expects: each fixture's expectations were committed before gin judged it, and
every fixture names its source and licence."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.unit.audit.conftest import audit_text

PUBLIC = Path(__file__).parents[2] / "fixtures" / "real_configs" / "public"
CASES = sorted(p.name.removesuffix(".expected.yaml") for p in PUBLIC.glob("*.expected.yaml"))


def _expected(name: str) -> dict:
    return yaml.safe_load((PUBLIC / f"{name}.expected.yaml").read_text())


def test_the_public_fixtures_cover_three_vendors_and_name_their_source() -> None:
    assert {p.stem for p in PUBLIC.glob("*.conf")} == set(CASES) and len(CASES) >= 13
    platforms = {_expected(n)["platform"] for n in CASES}
    assert {"cisco_ios", "cisco_xe", "juniper_junos", "frr"} <= platforms
    sources = (PUBLIC / "SOURCES.md").read_text()
    for name in CASES:
        source = _expected(name)["source"]
        assert source["repo"] and source["path"] and source["licence"], name
        assert name in sources and source["path"] in sources, name


@pytest.mark.parametrize("name", CASES)
def test_public_config_gives_expected_findings(name: str) -> None:
    expected = _expected(name)
    text = (PUBLIC / f"{name}.conf").read_text()
    audit = audit_text(text, expected["platform"], role=expected["role"])
    assert audit.error is None, audit.error
    found = {f.check: f for f in audit.findings}
    for check, want in expected["findings"].items():
        finding = found[check]
        got = (finding.status.value, finding.reason, finding.evidence)
        assert finding.status.value == want["status"], (check, got)
        for words in want.get("reasons", []):
            assert words in finding.reason, (check, words, got)
        cited = [snippet for _, snippet in finding.evidence]
        for line in want.get("evidence", []):
            assert line in cited, (check, line, cited)
        for part in want.get("evidence_contains", []):
            assert any(part in snippet for snippet in cited), (check, part, cited)
        for part in want.get("evidence_excludes", []):
            assert not any(part in snippet for snippet in cited), (check, part, cited)
        assert all(number is not None for number, _ in finding.evidence), (check, got)


def test_every_finding_on_the_public_configs_has_thai() -> None:
    """The reasons real configs draw out (accept-all policies, inherited groups, braces)
    reach a ministry's report in Thai too."""
    from tests.unit.audit.test_report_thai import _untranslated

    audits = []
    for name in CASES:
        expected = _expected(name)
        audits.append(audit_text((PUBLIC / f"{name}.conf").read_text(), expected["platform"],
                                 role=expected["role"]))
    assert _untranslated(audits) == set()


IOS_CASES = [n for n in CASES if _expected(n)["platform"] in ("cisco_ios", "cisco_xe")]


@pytest.mark.parametrize("name", IOS_CASES)
def test_remediation_of_a_public_ios_config_never_locks_anyone_out(name: str) -> None:
    """The login remediation the report gives, typed line by line into the real config:
    after every line some remote login still works (when one worked before), at the end
    SSH works and telnet is gone, and every login check passes on every line it cited
    (aux lines too)."""
    from audit.checks import BY_ID
    from audit.checks.base import Context, Status
    from audit.login_paths import apply, login_paths
    from audit.parse import parse
    from tests.unit.audit.test_remediation_lockout import LOGIN_CHECKS, _fill, _remediation

    platform = _expected(name)["platform"]
    text = (PUBLIC / f"{name}.conf").read_text()
    config = parse(text, platform)
    # the AAA fix first when AAA fails too: it must not lock anyone out either
    aaa = next(f for f in audit_text(text, platform, role="pe").findings
               if f.check == "auth.aaa_login")
    lines = ([_fill(ln) for ln in aaa.remediation] if aaa.status is Status.FAIL else [])
    lines += _remediation(text, platform)
    assert lines, "every public IOS fixture fails a login check"
    before = login_paths(config)
    for n in range(1, len(lines) + 1):
        if before:
            assert login_paths(apply(config, lines[:n])), f"locked out after {lines[n - 1]!r}"
    after = apply(config, lines)
    assert login_paths(after) == {"ssh"}
    for check in LOGIN_CHECKS:
        result = BY_ID[check].run(after, platform, Context(device=name, role="pe"))
        assert result.status is Status.PASS, (check, result.reason, result.evidence)


def test_gin_audit_check_reads_a_folder_of_the_public_configs(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              ) -> None:
    """The joint an auditor uses: the files as received (no devices.yaml, no platform in
    the name) through ``gin audit check --configs``: each platform is recognised from the
    text (Junos in braces too), no file is skipped, and the role-free findings are the
    expected ones."""
    import json
    import shutil

    from click.testing import CliRunner

    from gin.cli import cli

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("GIN_BACKUP_DIR", str(tmp_path / "backups"))
    monkeypatch.delenv("GIN_DB", raising=False)
    folder = tmp_path / "received"
    folder.mkdir()
    for name in CASES:
        shutil.copy(PUBLIC / f"{name}.conf", folder / f"{name}.conf")
    result = CliRunner().invoke(cli, ["audit", "check", "--configs", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["skipped"] == []
    platforms = {d["device"]: d["platform"] for d in data["devices"]}
    found = {(f["device"], f["check"]): f["status"] for f in data["findings"]}
    for name in CASES:
        expected = _expected(name)
        dialect = {"cisco_xe": "cisco_ios"}.get(expected["platform"], expected["platform"])
        assert platforms[name] == dialect, name
        for check in ("route.bgp_inbound_filter", "cfg.undefined_reference"):
            if check in expected["findings"]:
                assert found[(name, check)] == expected["findings"][check]["status"], (name,
                                                                                      check)
