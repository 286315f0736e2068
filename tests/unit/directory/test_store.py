"""The store API and the change log, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from directory import models as m
from directory import store
from directory.changelog import redact
from directory.errors import Conflict, Invalid, NotFound


def _count(d, model) -> int:
    with d.transaction() as s:
        return s.scalar(select(func.count()).select_from(model))


@pytest.fixture
def dopa(directory):
    with directory.transaction() as s:
        store.add_agency(s, code="moi", name_en="Ministry of Interior",
                         name_th="กระทรวงมหาดไทย", kind="ministry")
        store.add_agency(s, code="dopa", name_en="Department of Provincial Administration",
                         name_th="กรมการปกครอง", parent="MOI")
        store.add_site(s, "DOPA", code="hq", province="Bangkok", latitude=13.75, longitude=100.5)
    return directory


def test_agency_fields_are_normalised(dopa):
    with dopa.transaction() as s:
        a = store.get_agency(s, "dopa")
        assert a.code == "DOPA" and a.parent.code == "MOI"
        assert a.name_th == "กรมการปกครอง"


def test_thai_search_by_name_code_or_english(dopa):
    with dopa.transaction() as s:
        assert [a.code for a in store.find_agencies(s, "การปกครอง")] == ["DOPA"]
        assert [a.code for a in store.find_agencies(s, "interior")] == ["MOI"]
        assert [a.code for a in store.find_agencies(s, "moi")] == ["MOI"]


def test_decomposed_thai_is_stored_nfc(directory):
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "กรมส่งเสริมการเกษตร")
    with directory.transaction() as s:
        a = store.add_agency(s, code="doae", name_en="Dept of Agricultural  Extension",
                             name_th=decomposed)
        assert a.name_th == unicodedata.normalize("NFC", decomposed)
        assert a.name_en == "Dept of Agricultural Extension"


@pytest.mark.parametrize("bad", ["a\nb", "a\x00b", "x\u2028y", "\x1b[31mred"])
def test_control_characters_are_refused_and_nothing_written(directory, bad):
    with pytest.raises(Invalid), directory.transaction() as s:
        store.add_agency(s, code="ok", name_en="fine")
        store.add_agency(s, code="bad", name_en=bad)
    assert _count(directory, m.Agency) == 0
    assert _count(directory, m.Change) == 0


@pytest.mark.parametrize("code", ["", "a b", "x;y", "ก", "A" * 33, "-x"])
def test_bad_codes(directory, code):
    with pytest.raises(Invalid), directory.transaction() as s:
        store.add_agency(s, code=code, name_en="n")


def test_duplicate_code_conflicts(dopa):
    with pytest.raises(Conflict, match="already exists"), dopa.transaction() as s:
        store.add_agency(s, code="DOPA", name_en="again")


def test_every_mutation_is_in_the_change_log(dopa):
    with dopa.transaction() as s:
        a = store.get_agency(s, "DOPA")
        store.update(s, a, name_en="DOPA renamed", asn=4200000001)
    with dopa.transaction() as s:
        store.remove(s, store.get_site(s, "DOPA", "HQ"))
    with dopa.transaction() as s:
        log = store.history(s)
    actions = [(c.action, c.object_type, c.object_key) for c in reversed(log)]
    assert actions == [
        ("create", "agency", "MOI"), ("create", "agency", "DOPA"), ("create", "site", "DOPA/HQ"),
        ("update", "agency", "DOPA"), ("delete", "site", "DOPA/HQ"),
    ]
    upd = log[1]
    assert upd.actor == f"cli:{store.os_user()} as tester"  # the claim never replaces who
    assert upd.before["name_en"] == "Department of Provincial Administration"
    assert upd.after["name_en"] == "DOPA renamed" and upd.after["asn"] == 4200000001
    assert log[0].before["code"] == "HQ" and log[0].after is None


def test_secrets_are_redacted_in_the_change_log(dopa):
    with dopa.transaction() as s:
        dev = store.add_device(s, "DOPA", "HQ", hostname="ce1", role="ce", platform="frr",
                               credential_ref="env:GIN_CE1")
        t = m.Tunnel(name="t1", type="wireguard", a_device=dev, b_device=dev,
                     secret_ref="file:/etc/gin/t1.key")
        s.add(t)
    with dopa.transaction() as s:
        entry = store.history(s, "tunnel")[0]
    assert entry.after["secret_ref"] == "file:/etc/gin/t1.key"  # a reference is not a secret


@pytest.mark.parametrize("field", ["psk", "password", "private_key", "snmp_auth_secret"])
def test_secret_named_columns_are_redacted(field):
    assert redact(field, "hunter2") == "***"
    assert redact(field + "_ref", "env:X") == "env:X"
    assert redact("secret_ref", "sealed:v1:abc") == "***"  # a sealed secret is still a secret


def test_remove_refuses_while_referenced(dopa):
    with pytest.raises(Conflict, match="sub-agencies"), dopa.transaction() as s:
        store.remove(s, store.get_agency(s, "MOI"))
    with pytest.raises(Conflict, match="sites"), dopa.transaction() as s:
        store.remove(s, store.get_agency(s, "DOPA"))


def test_link_between_interfaces(dopa):
    with dopa.transaction() as s:
        store.add_device(s, "DOPA", "HQ", hostname="pe1", role="pe", platform="frr")
        store.add_device(s, "DOPA", "HQ", hostname="ce1", role="ce", platform="cisco_ios")
        lk = store.add_link(s, "pe1-ce1", ("pe1", "eth1"), ("ce1", "Gi0/0"), agency="DOPA")
        assert lk.a_interface.device.hostname == "pe1"
    with pytest.raises(Conflict, match="already carries"), dopa.transaction() as s:
        store.add_link(s, "again", ("pe1", "eth1"), ("ce1", "Gi0/1"))
    with pytest.raises(Invalid, match="both ends"), dopa.transaction() as s:
        store.add_link(s, "loop", ("pe1", "eth2"), ("pe1", "eth3"))
    with pytest.raises(Conflict, match="links"), dopa.transaction() as s:
        store.remove(s, store.get_device(s, "pe1"))


def test_not_found_names_the_object(dopa):
    with pytest.raises(NotFound, match="device 'nope' not found"), dopa.transaction() as s:
        store.get_device(s, "nope")


def test_device_validation(dopa):
    with pytest.raises(Invalid, match="role"), dopa.transaction() as s:
        store.add_device(s, "DOPA", "HQ", hostname="x", role="router", platform="frr")
    with pytest.raises(Invalid, match="address"), dopa.transaction() as s:
        store.add_device(s, "DOPA", "HQ", hostname="x", role="ce", platform="frr",
                         mgmt_address="10.0.0.300")
    with pytest.raises(Invalid, match="host name"), dopa.transaction() as s:
        store.add_device(s, "DOPA", "HQ", hostname="bad_name;", role="ce", platform="frr")
