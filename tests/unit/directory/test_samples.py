"""The shipped sample data: real ministries and provinces, correct Unicode, idempotent load."""

from __future__ import annotations

import unicodedata

from _fixtures_transfer import counts
from sqlalchemy import select

from directory import models as m
from directory import store
from directory.samples import load_samples, provinces, sample_rows

MINISTRY_LEVEL = {"OPM", "MOD", "MOF", "MFA", "MOTS", "MSDHS", "MHESI", "MOAC", "MOT", "MDES",
                  "MNRE", "MOEN", "MOC", "MOI", "MOJ", "MOL", "MCULT", "MOE", "MOPH", "MOIND"}


def test_load_is_idempotent(directory):
    with directory.transaction() as s:
        first = load_samples(s)
    assert first.created["sites"] == 77 and first.created["agencies"] >= 40
    after_first = counts(directory)
    with directory.transaction() as s:
        second = load_samples(s)
    assert not second.created and not second.errors
    assert counts(directory) == after_first  # change log too: nothing written the second time


def test_twenty_ministry_level_bodies(directory):
    with directory.transaction() as s:
        load_samples(s)
        top = {a.code for a in s.scalars(select(m.Agency)).unique()
               if a.kind in ("ministry", "office")}
        assert top == MINISTRY_LEVEL
        assert store.get_agency(s, "OPM").kind == "office"
        assert store.get_agency(s, "MOI").name_th == "กระทรวงมหาดไทย"
        assert store.get_agency(s, "MOI").name_en == "Ministry of Interior"


def test_e_government_agencies_and_parents(directory):
    expected = {"DOPA": "MOI", "DOAE": "MOAC", "SSO": "MOL", "PWA": "MOI", "MWA": "MOI",
                "THP": "MDES", "EGA": "MDES", "DGA": "OPM", "NECTEC": "NSTDA",
                "NSTDA": "MHESI", "BB": "OPM", "SOC": "OPM", "NESDC": "OPM"}
    with directory.transaction() as s:
        load_samples(s)
        for code, parent in expected.items():
            agency = store.get_agency(s, code)
            assert agency.parent.code == parent, code
            assert agency.name_th and agency.name_en
        assert store.get_agency(s, "DOPA").name_th == "กรมการปกครอง"
        assert [a.code for a in store.find_agencies(s, "ประปา")] == ["MWA", "PWA"]


def test_seventy_seven_provincial_halls(directory):
    provs = provinces()
    assert len(provs) == 77 and len({p.iso for p in provs}) == 77
    assert provs[0].name_en == "Bangkok" and provs[0].name_th == "กรุงเทพมหานคร"
    for p in provs:  # inside Thailand's bounding box
        assert 5.5 < p.latitude < 20.5 and 97.3 < p.longitude < 105.7, p
    with directory.transaction() as s:
        load_samples(s)
        cmi = store.get_site(s, "DOPA", "TH-50")
        assert (cmi.province, cmi.address) == ("Chiang Mai", "ศาลากลางจังหวัดเชียงใหม่")
        assert abs(cmi.latitude - 18.79) < 0.1 and abs(cmi.longitude - 98.99) < 0.1
        assert store.get_site(s, "BMA", "TH-10").name == "Bangkok City Hall"
        assert len(store.list_all(s, m.Site)) == 77


def test_thai_text_is_nfc_and_has_no_stray_characters():
    for row in sample_rows():
        for key, value in row.data.items():
            if isinstance(value, str):
                assert unicodedata.is_normalized("NFC", value), (row.where, key)
                assert "  " not in value and value == value.strip(), (row.where, key)
                assert all(unicodedata.category(c)[0] != "C" for c in value), (row.where, key)
    thai = [p.name_th for p in provinces()]
    assert all(all("\u0e00" <= c <= "\u0e7f" for c in name) for name in thai)


def test_samples_load_beside_existing_data(directory):
    with directory.transaction() as s:
        store.add_agency(s, code="MOI", name_en="Interior (local name)", kind="ministry")
        load_samples(s)
        assert store.get_agency(s, "MOI").name_en == "Interior (local name)"  # left alone
        assert store.get_agency(s, "DOPA").parent.code == "MOI"


def test_samples_command(tmp_path, capsys):
    import json

    from gin.cli import main

    db = str(tmp_path / "s.sqlite")
    assert main(["--db", db, "directory", "samples", "load", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["created"]["sites"] == 77
    assert main(["--db", db, "directory", "samples", "load", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["created"] == {}


def test_sample_services_use_documentation_names(directory):
    with directory.transaction() as s:
        load_samples(s)
        services = store.list_services(s)
        assert {(sv.agency.code, sv.name) for sv in services} >= {("DGA", "portal"),
                                                                  ("DOPA", "e-service")}
        for sv in services:  # never a real agency host that a scan would contact
            assert all(h.endswith(".example.go.th") for h in sv.hosts), sv.hosts
        dopa = store.get_service(s, "DOPA", "e-service")
        assert dopa.hosts[0] == "eservice.dopa.example.go.th"
        assert dopa.hosts[1].startswith("xn--")  # the Thai name, stored as IDNA
