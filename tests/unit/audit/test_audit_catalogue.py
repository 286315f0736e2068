"""The control catalogue is data: every check maps to a control, every mapped check exists."""

from __future__ import annotations

import pytest

from audit import catalogue
from audit.checks import ALL, BY_ID
from audit.web.checks import BY_ID as WEB
from devices.errors import ConfigError


def test_clauses_5_to_15_and_2022_numbers() -> None:
    fw = catalogue.load("iso17799")
    assert list(fw.clauses) == [str(n) for n in range(5, 16)]
    assert all(c.iso27002_2022 for c in fw.controls.values())
    assert fw.controls["10.10.6"].iso27002_2022 == "8.17"
    assert fw.controls["11.4.7"].mapping == "nearest"
    assert all(c.title_th for c in fw.clauses.values())


def test_checks_and_controls_are_many_to_many() -> None:
    fw = catalogue.load()
    mapped = {check for c in fw.controls.values() for check in c.checks}
    known = set(BY_ID) | set(WEB)
    assert mapped <= known, mapped - known
    assert all(fw.controls_of(c.id) for c in ALL), "a check serves no control"
    assert len(fw.controls_of("mgmt.access_acl")) > 1
    assert len(fw.controls["11.4.7"].checks) > 1


@pytest.mark.parametrize("cid", ["11.4.4", "11.5.5", "11.5.1", "11.2.3", "11.3.1", "10.10.1",
                                 "10.10.6", "10.6.2", "10.6.1", "11.4.6", "11.4.7", "12.3.1",
                                 "10.5.1"])
def test_named_controls_have_checks(cid: str) -> None:
    assert catalogue.load().controls[cid].checks


def test_unknown_framework_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="unknown framework 'cis'; known: iso17799"):
        catalogue.load("cis")
