"""Configs in the shapes real devices print (peer-groups, templates, legacy and named
TACACS+/RADIUS, split VTY ranges, type 5/7/8/9 secrets) are judged as an auditor expects:
each fixture's expectations were written before gin judged it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.unit.audit.conftest import audit_text

FIXTURES = Path(__file__).parents[2] / "fixtures" / "real_configs"
CASES = sorted(p.name.removesuffix(".expected.yaml") for p in FIXTURES.glob("*.expected.yaml"))


def test_every_fixture_has_expectations() -> None:
    configs = {p.stem for p in FIXTURES.glob("*.conf")}
    assert configs == set(CASES) and len(CASES) >= 5


@pytest.mark.parametrize("name", CASES)
def test_real_config_gives_expected_findings(name: str) -> None:
    expected = yaml.safe_load((FIXTURES / f"{name}.expected.yaml").read_text())
    text = (FIXTURES / f"{name}.conf").read_text()
    audit = audit_text(text, expected["platform"], role=expected["role"])
    assert audit.error is None, audit.error
    found = {f.check: f for f in audit.findings}
    for check, want in expected["findings"].items():
        finding = found[check]
        got = (finding.status.value, finding.reason)
        assert finding.status.value == want["status"], (check, got)
        for words in want.get("reasons", []):
            assert words in finding.reason, (check, words, got)
        cited = [snippet for _, snippet in finding.evidence]
        for line in want.get("evidence", []):
            assert line in cited, (check, line, cited)


def test_several_banners_with_the_same_text_all_parse() -> None:
    """Real configs print banner exec, login and motd, each closed by its own '^C' and
    often with the same words: none is taken for a duplicate line."""
    from audit.parse import parse

    text = ("hostname r1\n!\nbanner exec ^C\nAuthorised use only\n^C\nbanner login ^C\n"
            "Authorised use only\n^C\nbanner motd ^C\nAuthorised use only\n^C\n!\n"
            "line con 0\n exec-timeout 5 0\nend\n")
    config = parse(text, "cisco_xe")
    banners = [n.text for n in config.top("banner ")]
    assert [b.split()[1] for b in banners] == ["exec", "login", "motd"]
    assert all("Authorised use only" in b for b in banners)
    assert config.top("line con 0")[0].child("exec-timeout") is not None
