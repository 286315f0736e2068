"""Remediation can never lock an administrator out: the lines a report gives are typed,
one by one, into the parsed config, and after every line some remote login still works
(the original telnet, or SSH with a host key and a username-based method); at the end
SSH works, telnet is gone, and the checks the remediation fixes pass on every line they
cited (aux lines too)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from audit.checks import BY_ID
from audit.checks.base import Context, Status
from audit.login_paths import apply, login_paths
from audit.parse import parse
from tests.unit.audit.conftest import audit_text, golden

REAL = Path(__file__).parents[2] / "fixtures" / "real_configs"
#: What the placeholders of a remediation become when an operator types it.
FILLED = {"<hostname>": "r1", "<domain>": "gin.example.go.th", "<admin>": "gin-admin",
          "<secret>": "Str0ng-Secret-1", "<tacacs-group>": "tacacs+"}
LOGIN_CHECKS = ("mgmt.ssh_v2_only", "mgmt.aux_disabled", "mgmt.session_timeout")


def _ios_configs() -> list[tuple[str, str, str]]:
    out = [("golden-bad", "cisco_ios", golden("cisco_ios_bad.conf"))]
    for path in sorted(REAL.glob("*.expected.yaml")):
        platform = yaml.safe_load(path.read_text())["platform"]
        if platform in ("cisco_ios", "cisco_xe"):
            name = path.name.removesuffix(".expected.yaml")
            out.append((name, platform, (REAL / f"{name}.conf").read_text()))
    return out




def _fill(line: str) -> str:
    for hole, value in FILLED.items():
        line = line.replace(hole, value)
    return line


def _remediation(text: str, platform: str) -> list[str]:
    """Every failing login check's remediation, as the report gives it, in check order."""
    audit = audit_text(text, platform, role="ce")
    lines: list[str] = []
    for f in audit.findings:
        if f.check in LOGIN_CHECKS and f.status is Status.FAIL:
            lines += [_fill(ln) for ln in f.remediation]
    return lines


#: The IOS configs that fail a login check (a clean one has nothing to replay).
CASES = [c for c in _ios_configs() if _remediation(c[2], c[1])]


def test_the_cases_cover_old_and_new_ios() -> None:
    assert {"golden-bad", "ios124_branch", "iosxe17_broken_aaa"} <= {c[0] for c in CASES}


@pytest.mark.parametrize("name,platform,text", CASES, ids=[c[0] for c in CASES])
def test_every_prefix_of_the_remediation_keeps_a_login(name: str, platform: str,
                                                       text: str) -> None:
    config = parse(text, platform)
    lines = _remediation(text, platform)
    assert lines, "these configs fail a login check"
    before = login_paths(config)
    for n in range(len(lines) + 1):
        paths = login_paths(apply(config, lines[:n]))
        if before:
            assert paths, f"locked out after {lines[:n][-1:]!r}"
    after = apply(config, lines)
    assert login_paths(after) == {"ssh"}
    for check in LOGIN_CHECKS:
        result = BY_ID[check].run(after, platform, Context(device=name, role="ce"))
        assert result.status is Status.PASS, (check, result.reason, result.evidence)


def test_telnet_removed_before_ssh_works_is_caught() -> None:
    """The order the lines used to have (telnet off, then nothing about a host key) is a
    lockout the replay sees: the property above can fail."""
    config = parse(golden("cisco_ios_bad.conf"), "cisco_ios")
    assert login_paths(config) == {"telnet"}
    naive = ["ip ssh version 2", "line vty 0 15", " transport input ssh", "exit"]
    assert login_paths(apply(config, naive)) == set()


def test_vty_range_reaches_every_printed_range() -> None:
    text = (REAL / "iosxe17_broken_aaa.conf").read_text()
    config = apply(parse(text, "cisco_xe"), ["line vty 0 15", " transport input ssh"])
    transports = {v.text: v.child("transport input").text  # type: ignore[union-attr]
                  for v in config.top("line vty")}
    assert transports == {"line vty 0 4": "transport input ssh",
                          "line vty 5 15": "transport input ssh"}


def test_a_key_needs_a_hostname_and_a_domain() -> None:
    config = parse("hostname r1\n!\nline vty 0 4\n login local\n transport input ssh\n"
                   "username a secret 9 $9$x\nend\n", "cisco_ios")
    assert login_paths(apply(config, ["crypto key generate rsa modulus 2048"])) == set()
    keyed = apply(config, ["ip domain name example.go.th",
                           "crypto key generate rsa modulus 2048"])
    assert login_paths(keyed) == {"ssh"}
