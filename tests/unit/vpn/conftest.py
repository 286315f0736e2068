"""A small directory for VPN tests: two agencies, a Linux gateway each, their prefixes."""

from __future__ import annotations

import base64

import pytest

from directory import store
from directory.allocator import add_prefix
from directory.store import Directory

AGENCIES = {
    "DOPA": ("Dept of Provincial Administration", "gw-dopa", "2001:db8:ffff::1",
             ("2001:db8:1::/48", "10.1.0.0/16")),
    "MOPH": ("Ministry of Public Health", "gw-moph", "2001:db8:ffff::2",
             ("10.2.0.0/16", "2001:db8:2::/48")),
}


def populate(d: Directory) -> None:
    with d.transaction() as s:
        for code, (name, host, mgmt, prefixes) in AGENCIES.items():
            store.add_agency(s, code=code, name_en=name)
            store.add_site(s, code, code="hq")
            store.add_device(s, code, "hq", hostname=host, role="vpn-gateway",
                             platform="linux", mgmt_address=mgmt)
            for cidr in prefixes:
                add_prefix(s, cidr, role="agency", agency=code)
        store.add_agency(s, code="GIN", name_en="GIN operator", kind="gin")
        store.add_site(s, "GIN", code="core")
        store.add_device(s, "GIN", "core", hostname="xe-hub", role="vpn-gateway",
                         platform="cisco_xe", mgmt_address="2001:db8:ffff::9")
        add_prefix(s, "2001:db8:9::/48", role="agency", agency="GIN")


@pytest.fixture
def vpn_key(monkeypatch):
    """A fixed sealing key in the environment (GIN_VPN_KEY), no key file."""
    monkeypatch.delenv("GIN_VPN_KEY_FILE", raising=False)
    monkeypatch.setenv("GIN_VPN_KEY", base64.b64encode(b"k" * 32).decode())


@pytest.fixture
def vdir_url(sqlite_url, vpn_key) -> str:
    """A populated SQLite directory's URL."""
    d = Directory(sqlite_url, actor="tester")
    populate(d)
    d.close()
    return sqlite_url


@pytest.fixture
def vdir(vdir_url):
    d = Directory(vdir_url, actor="tester")
    yield d
    d.close()


@pytest.fixture
def vdir_any(db_url, vpn_key):
    """The same populated directory on SQLite and on PostgreSQL."""
    d = Directory(db_url, actor="tester")
    populate(d)
    yield d
    d.close()
