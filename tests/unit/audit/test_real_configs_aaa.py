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
