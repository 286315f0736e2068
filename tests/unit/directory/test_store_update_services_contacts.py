"""Changing a service or a contact in place: the same rules as adding one, a clear Conflict on
a rename clash, and a refused change leaves the object and the change log as they were
(on SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from directory import models as m
from directory import store
from directory.errors import Conflict, Invalid, NotFound


@pytest.fixture
def dga(directory):
    with directory.transaction() as s:
        store.add_agency(s, code="dga", name_en="Digital Government Development Agency")
        store.add_agency(s, code="mof", name_en="Ministry of Finance")
        store.add_service(s, "DGA", "portal", "https://www.dga.example.go.th/",
                          ["dga.example.go.th"], "e-service portal")
        store.add_service(s, "DGA", "mail", "https://mail.dga.example.go.th/")
        store.add_contact(s, "DGA", "Somchai Jaidee", "NOC", "noc@dga.example.go.th",
                          "+66 2 000 0000")
    return directory


def _service(d, name="portal") -> dict:
    with d.transaction() as s:
        sv = store.get_service(s, "DGA", name)
        return {"name": sv.name, "url": sv.url, "hosts": list(sv.hosts),
                "description": sv.description}


def _contact(d) -> dict:
    with d.transaction() as s:
        [c] = s.scalars(select(m.Contact)).all()
        return {"id": c.id, "name": c.name, "role": c.role, "email": c.email, "phone": c.phone}


def _log_size(d) -> int:
    with d.transaction() as s:
        return s.scalar(select(func.count()).select_from(m.Change))


def test_service_fields_change_and_the_change_is_logged(dga):
    with dga.transaction(actor="tester") as s:
        sv = store.update(s, store.get_service(s, "DGA", "portal"),
                          url="https://E-Service.dga.example.go.th:8443/th?x=1",
                          description="บริการ <script>alert(1)</script>")
        assert sv.url == "https://e-service.dga.example.go.th:8443/th?x=1"
    after = _service(dga)
    # the URL's host leads; the other names stay, the old URL host goes
    assert after["hosts"] == ["e-service.dga.example.go.th", "dga.example.go.th"]
    assert after["description"] == "บริการ <script>alert(1)</script>"
    with dga.transaction() as s:
        [entry] = store.history(s, "service", limit=1)
        assert entry.action == "update" and entry.object_key == "DGA/portal"
        assert entry.before["url"] == "https://www.dga.example.go.th/"
        assert entry.after["url"] == "https://e-service.dga.example.go.th:8443/th?x=1"
        assert "tester" in entry.actor


def test_service_hosts_are_replaced_and_the_url_host_stays_first(dga):
    with dga.transaction() as s:
        store.update(s, store.get_service(s, "DGA", "portal"),
                     hosts=["WWW.dga.example.go.th", "ไทย.example.go.th", "a.example.go.th",
                            "a.example.go.th"])
    thai = "ไทย.example.go.th".encode("idna").decode()
    assert _service(dga)["hosts"] == ["www.dga.example.go.th", thai, "a.example.go.th"]
    with dga.transaction() as s:
        store.update(s, store.get_service(s, "DGA", "portal"), hosts=[])
    assert _service(dga)["hosts"] == ["www.dga.example.go.th"]


def test_service_rename_and_rename_clash(dga):
    with dga.transaction() as s:
        store.update(s, store.get_service(s, "DGA", "portal"), name="E-Service")
    assert _service(dga, "e-service")["url"] == "https://www.dga.example.go.th/"
    with dga.transaction() as s, pytest.raises(NotFound):
        store.get_service(s, "DGA", "portal")
    before, logged = _service(dga, "e-service"), _log_size(dga)
    clash = r"service DGA/mail already exists: choose another"
    with pytest.raises(Conflict, match=clash), dga.transaction() as s:
        store.update(s, store.get_service(s, "DGA", "e-service"), name="MAIL",
                     description="would be lost")
    assert _service(dga, "e-service") == before and _log_size(dga) == logged
    with dga.transaction() as s:  # its own name again is no clash
        store.update(s, store.get_service(s, "DGA", "e-service"), name="e-service")
    with dga.transaction() as s:  # the same name in another agency is no clash either
        store.add_service(s, "MOF", "portal", "https://www.mof.example.go.th/")
        store.update(s, store.get_service(s, "MOF", "portal"), name="e-service")


HOSTILE_SERVICE = [
    ({"url": "https://admin:secret@www.dga.example.go.th/"}, "user name or password"),
    ({"url": "ftp://www.dga.example.go.th/"}, "must start with http"),
    ({"url": "javascript:alert(1)"}, "must start with http"),
    ({"url": "https://www.dga.example.go.th/" + "a" * 2048}, "longer than 2048"),
    ({"url": "https://www.dga.example.go.th/\nGET /"}, "control character"),
    ({"url": "https://x.go.th:0/"}, "port 0"),
    ({"url": None}, "url: must not be empty"),
    ({"name": "bad name"}, "not a valid name"),
    ({"name": "x" * 65}, "longer than 64"),
    ({"name": "'; DROP TABLE service;--"}, "not a valid name"),
    ({"hosts": "dga.example.go.th"}, "expected a list"),
    ({"hosts": ["ok.example.go.th", "bad_host!"]}, "not a valid DNS name"),
    ({"hosts": [f"h{i}.example.go.th" for i in range(33)]}, "more than 32"),
    ({"description": "x" * 256}, "longer than 255"),
    ({"description": "a\x00b"}, "control character"),
    ({"agency_id": 2}, "unknown field"),
    ({"colour": "red"}, "unknown field"),
]


@pytest.mark.parametrize(("fields", "message"), HOSTILE_SERVICE)
def test_hostile_service_changes_are_refused_and_change_nothing(dga, fields, message):
    before, logged = _service(dga), _log_size(dga)
    with dga.transaction() as s:
        sv = store.get_service(s, "DGA", "portal")
        with pytest.raises(Invalid, match=message):
            # a good field given first must not be set either
            store.update(s, sv, **({"description": "half done"} | fields))
        assert sv.description == "e-service portal" and sv.url == before["url"]
    assert _service(dga) == before and _log_size(dga) == logged


def test_add_service_keeps_its_rules(dga):
    with dga.transaction() as s:
        with pytest.raises(Invalid, match="user name or password"):
            store.add_service(s, "DGA", "x", "https://u:p@x.example.go.th/")
        with pytest.raises(Conflict, match="service DGA/portal already exists"):
            store.add_service(s, "DGA", "Portal", "https://x.example.go.th/")
        sv = store.add_service(s, "DGA", "x", "https://X.example.go.th",
                               ("x.example.go.th", "y.example.go.th"))
        assert sv.url == "https://x.example.go.th/"
        assert sv.hosts == ["x.example.go.th", "y.example.go.th"]


def test_contact_fields_change_and_the_change_is_logged(dga):
    cid = _contact(dga)["id"]
    with dga.transaction(actor="tester") as s:
        store.update(s, store.get_contact(s, "dga", cid), name="สมหญิง  <b>ใจดี</b>",
                     role="CISO", email="ciso@dga.example.go.th", phone="")
    assert _contact(dga) == {"id": cid, "name": "สมหญิง <b>ใจดี</b>", "role": "CISO",
                             "email": "ciso@dga.example.go.th", "phone": None}
    with dga.transaction() as s:
        [entry] = store.history(s, "contact", limit=1)
        assert entry.action == "update" and entry.after["role"] == "CISO"
        assert entry.before["phone"] == "+66 2 000 0000"


def test_a_contact_is_found_only_under_its_own_agency(dga):
    cid = _contact(dga)["id"]
    with dga.transaction() as s:
        with pytest.raises(NotFound, match=f"contact {cid} of MOF not found"):
            store.get_contact(s, "MOF", cid)
        with pytest.raises(NotFound, match="contact 999999 of DGA not found"):
            store.get_contact(s, "DGA", 999999)


HOSTILE_CONTACT = [
    ({"name": ""}, "name: must not be empty"),
    ({"name": None}, "name: must not be empty"),
    ({"name": "x" * 256}, "longer than 255"),
    ({"email": "not an address"}, "not an e-mail address"),
    ({"email": "noc@" + "x" * 252}, "longer than 255"),
    ({"phone": "1" * 65}, "longer than 64"),
    ({"role": "NOC\r\nBcc: x"}, "control character"),
    ({"name": "a\u2028b"}, "control character"),
    ({"agency_id": 2}, "unknown field"),
]


@pytest.mark.parametrize(("fields", "message"), HOSTILE_CONTACT)
def test_hostile_contact_changes_are_refused_and_change_nothing(dga, fields, message):
    before, logged = _contact(dga), _log_size(dga)
    with dga.transaction() as s:
        c = store.get_contact(s, "DGA", before["id"])
        with pytest.raises(Invalid, match=message):
            store.update(s, c, **({"role": "half done"} | fields))
        assert c.role == "NOC"
    assert _contact(dga) == before and _log_size(dga) == logged


def test_add_contact_keeps_its_rules(dga):
    with dga.transaction() as s:
        with pytest.raises(Invalid, match="not an e-mail address"):
            store.add_contact(s, "DGA", "x", email="x at y")
        with pytest.raises(Invalid, match="name: must not be empty"):
            store.add_contact(s, "DGA", "  ")
