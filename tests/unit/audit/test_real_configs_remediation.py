"""Remediation reaches every line it cited: IOS-XE switches print VTY lines past 15
(``line vty 16 31``), which a fixed ``line vty 0 15`` never touches, so the fix is widened
to the highest VTY the judged config has; replayed, it leaves no telnet anywhere and never
locks the administrator out on the way."""

from __future__ import annotations

from audit.checks import BY_ID
from audit.checks.base import Context, Status
from audit.login_paths import apply, login_paths
from audit.parse import parse
from tests.unit.audit.test_remediation_lockout import LOGIN_CHECKS, _remediation

#: The shape of a Catalyst 9000 running IOS-XE 16/17: three VTY ranges, telnet on all.
CAT9K = """\
hostname sw1
ip domain name example.net
aaa new-model
aaa authentication login default local
username ops privilege 15 secret 9 $9$abc
line con 0
 exec-timeout 5 0
line vty 0 4
 exec-timeout 5 0
 transport input ssh telnet
line vty 5 15
 exec-timeout 5 0
 transport input ssh telnet
line vty 16 31
 exec-timeout 5 0
 transport input telnet
end
"""


def test_the_fix_reaches_vty_lines_past_15() -> None:
    config = parse(CAT9K, "cisco_xe")
    lines = _remediation(CAT9K, "cisco_xe")
    assert "line vty 0 31" in lines and "line vty 0 15" not in lines
    before = login_paths(config)
    assert before == {"telnet"}
    for n in range(1, len(lines) + 1):
        assert login_paths(apply(config, lines[:n])), f"locked out after {lines[n - 1]!r}"
    after = apply(config, lines)
    assert login_paths(after) == {"ssh"}
    for check in LOGIN_CHECKS:
        result = BY_ID[check].run(after, "cisco_xe", Context(device="sw1", role="pe"))
        assert result.status is Status.PASS, (check, result)


def test_a_config_with_sixteen_vtys_keeps_the_usual_fix() -> None:
    text = CAT9K.replace("line vty 16 31\n exec-timeout 5 0\n transport input telnet\n", "")
    assert "line vty 0 15" in _remediation(text, "cisco_xe")
