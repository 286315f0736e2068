"""A VPN gateway side's journal entry: same table and API as a router's, its images sealed
when they hold a PSK or private key, and kept apart from router recovery (which would try to
log in to a Linux gateway as if it were a router)."""

from __future__ import annotations

import base64
import dataclasses

import pytest
from sqlalchemy import select

from devices.journal import Journal, JournalError
from devices.secrets import SEALED_PREFIX
from directory import models as m
from directory.store import Directory
from tests.unit.devices.test_journal import dead_pid
from vpn.gateway_journal import GatewayJournal, Image

PSK = "Gateway-PSK-S3cret-44"
PRE = Image({"/etc/swanctl/conf.d/gin-t1.conf": f"secrets {{ ike-t1 {{ secret = {PSK} }} }}\n"},
            True)
WANT = Image({"/etc/swanctl/conf.d/gin-t1.conf": "connections { }\n"}, True)
ENTRY = m.DeviceChangeEntry.__table__


@pytest.fixture
def journal(sqlite_url):
    Directory(sqlite_url).engine.dispose()
    return Journal(sqlite_url)


def _row(journal: Journal) -> dict:
    with journal.engine.connect() as conn:
        return dict(conn.execute(select(ENTRY)).mappings().one())


def test_a_gateway_entry_keeps_its_secret_pre_image_only_sealed(journal, monkeypatch):
    monkeypatch.delenv("GIN_VPN_KEY_FILE", raising=False)
    monkeypatch.setenv("GIN_VPN_KEY", base64.b64encode(b"g" * 32).decode())
    gj = GatewayJournal(journal, "ikev2", "t1")
    gj.open("gwa", "a", PRE, WANT)
    row = _row(journal)
    assert row["pre_image"].startswith(SEALED_PREFIX) and PSK not in str(row)
    assert row["lines"][0] == "gateway ikev2 t1 a" and row["state"] == "pushing"
    gj.mark("gwa", "pushed", "push")
    gj.mark("gwa", "read_back", "read_back")
    gj.verified("gwa")
    assert _row(journal)["state"] == "verified"
    # the entry is found again and opened as the pre-image it was
    with journal.engine.begin() as conn:
        conn.execute(ENTRY.update().values(owner_pid=dead_pid()))
    (entry,) = journal.orphans(gateways=True)
    assert entry.gateway and Image.of(entry.image()) == PRE
    # a router's recovery never sees it; its end comes with the record (Journal.finish)
    assert journal.orphans() == [] and journal.orphans(["gwa"]) == []
    journal.finish()
    assert _row(journal)["state"] == "done"


def test_without_a_sealing_key_a_secret_gateway_image_is_refused(journal, monkeypatch,
                                                                 tmp_path):
    monkeypatch.delenv("GIN_VPN_KEY", raising=False)
    monkeypatch.setenv("GIN_VPN_KEY_FILE", str(tmp_path / "no-such-key"))
    with pytest.raises(JournalError, match="sealed"):
        GatewayJournal(journal, "ikev2", "t1").open("gwa", "a", PRE, WANT)
    with journal.engine.connect() as conn:
        assert conn.execute(select(ENTRY)).first() is None


def test_an_image_reads_back_as_written():
    img = dataclasses.replace(PRE, loaded=False)
    assert Image.of(img.text()) == img
