"""AAA as real configs leave it: 'aaa new-model' with no login method list in force sends
every line to the local user database, which is a way in only if it holds a user; a
Cumulus vtysh user with 'nopassword' is a secret that is missing."""

from __future__ import annotations

from audit.checks import BY_ID
from audit.checks.base import Context, Status
from audit.parse import parse
from tests.unit.audit.conftest import as_running

CTX = Context(device="r1", role="pe")
LINES = "line con 0\nline vty 0 4\n login\n"


def _aaa(text: str):  # noqa: ANN202
    config = parse(as_running("cisco_ios", text), "cisco_ios")
    return BY_ID["auth.aaa_login"].run(config, "cisco_ios", CTX)


def test_aaa_with_no_method_list_and_no_user_fails() -> None:
    # the list below has no method: IOS keeps it, but it authenticates nothing
    result = _aaa("aaa new-model\naaa authentication login privilege-mode\n" + LINES)
    assert result.status is Status.FAIL and "no login method list" in result.reason
    assert {s for _, s in result.evidence} >= {"aaa new-model", "line vty 0 4"}


def test_aaa_with_no_method_list_uses_the_local_users_when_there_are_some() -> None:
    text = "aaa new-model\nusername ops privilege 15 secret 9 $9$abc\n" + LINES
    result = _aaa(text)
    assert result.status is Status.PASS, result
    assert any(s.startswith("username ops") and "$9$abc" not in s for _, s in result.evidence)


def test_a_default_list_with_a_method_applies_to_every_line() -> None:
    text = "aaa new-model\naaa authentication login default local\n" + LINES
    assert _aaa(text).status is Status.PASS


def test_frr_user_without_a_password_is_a_missing_secret() -> None:
    text = "username cumulus nopassword\nservice password-encryption\n"
    config = parse(as_running("frr", text), "frr")
    result = BY_ID["auth.hashed_secrets"].run(config, "frr", CTX)
    assert result.status is Status.FAIL and "missing" in result.reason
    assert [s for _, s in result.evidence] == ["username cumulus nopassword"]


def test_a_method_list_with_none_lets_a_login_in_without_a_password() -> None:
    # the shape of a lab IOSv 15.8 config: RADIUS for a named list, 'none' for the rest
    text = ("aaa new-model\naaa group server radius AAA_RADIUS\n server name freeradius\n"
            "radius server freeradius\n address ipv4 192.0.2.10 auth-port 1812 acct-port 1813\n"
            "aaa authentication login default none\n"
            "aaa authentication login AAA_AUTHC_RADIUS group AAA_RADIUS local\n"
            "line con 0\nline vty 0 4\n login authentication AAA_AUTHC_RADIUS\n")
    result = _aaa(text)
    assert result.status is Status.FAIL and "'none'" in result.reason, result
    assert [s for _, s in result.evidence] == ["aaa authentication login default none"]
    fixed = text.replace("default none", "default group AAA_RADIUS local")
    assert _aaa(fixed).status is Status.PASS


def test_an_ios_user_with_nopassword_fails() -> None:
    config = parse(as_running("cisco_ios", "username guest nopassword\n"
                              "username ops privilege 15 secret 9 $9$abc\n"), "cisco_ios")
    result = BY_ID["auth.local_users"].run(config, "cisco_ios", CTX)
    assert result.status is Status.FAIL and "nopassword" in result.reason
    assert [s for _, s in result.evidence] == ["username guest nopassword"]


def test_junos_authentication_order_as_braces_print_it() -> None:
    """'show configuration' prints the order as one list; every method in it needs its
    server, as with the one-method-a-line 'display set' form."""
    text = ("version 21.4R3.15;\nsystem {\n    authentication-order [ tacplus password ];\n"
            "}\n")
    config = parse(text, "juniper_junos")
    result = BY_ID["auth.aaa_login"].run(config, "juniper_junos", CTX)
    assert result.status is Status.FAIL and "tacplus" in result.reason, result
    assert result.evidence[0][0] == 3
    served = text.replace("}\n", "    tacplus-server {\n        192.0.2.49 secret \"$9$x\";\n"
                                 "    }\n}\n")
    passed = BY_ID["auth.aaa_login"].run(parse(served, "juniper_junos"), "juniper_junos", CTX)
    assert passed.status is Status.PASS and "tacplus password" in passed.reason, passed
