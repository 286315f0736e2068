"""Registering a (planned, not started) lab in a fresh SQLite directory: no root needed."""

from __future__ import annotations

from directory import models as m
from directory import store
from directory.store import Directory
from gin.lab.lab import plan
from gin.lab.register import LAB_AGENCY, SNMP_PROFILE, register
from gin.lab.topology import load_topology


def test_register_lab_devices_and_core_link(tmp_path):
    state = plan(load_topology(), "gin", tmp_path / "gin", tmp_path / "gin/secrets/c.json")
    d = Directory(f"sqlite:///{tmp_path / 'dir.sqlite'}", actor="test")
    register(state, d)
    state.node("pe1").ssh_port = 2222  # a re-run after a new `up` updates, never duplicates
    register(state, d)
    with d.transaction() as s:
        devices = {dev.hostname: dev for dev in store.list_all(s, m.Device)}
        assert set(devices) == {"pe1", "pe2", "ce1", "ce2", "ce3"}  # hosts are not devices
        pe1 = devices["pe1"]
        assert (pe1.role, pe1.platform, pe1.site.agency.code) == ("pe", "frr", LAB_AGENCY)
        assert (pe1.mgmt_address, pe1.mgmt_port) == ("127.0.0.1", 2222)
        assert pe1.snmp_address == state.node("pe1").mgmt_address
        assert pe1.snmp_profile == SNMP_PROFILE and pe1.asn == 65000
        assert pe1.credential_ref == f"file:{tmp_path}/gin/secrets/c.json"
        assert devices["ce2"].site.agency.code == "MOE"
        assert store.get_agency(s, "MOPH").name_en == "Ministry of Public Health"
        links = store.list_all(s, m.Link)
        assert len(links) == 1 and links[0].status == "active"
        ends = {links[0].a_interface.device.hostname, links[0].b_interface.device.hostname}
        assert ends == {"pe1", "pe2"}
        iface = store.get_interface(s, "ce1", state.node("ce1").interfaces[0].name)
        assert iface.description.startswith("to pe1 ")
    d.close()


def test_register_never_overwrites_a_device_the_lab_did_not_make(tmp_path):
    """A real pe1 (or another lab's) in the directory: refused, named, nothing written."""
    import pytest

    from directory.errors import Conflict

    d = Directory(f"sqlite:///{tmp_path / 'dir.sqlite'}", actor="test")
    with d.transaction() as s:
        store.add_agency(s, code="GIN", name_en="GIN operator", kind="gin")
        store.add_site(s, "GIN", code="core")
        store.add_device(s, "GIN", "core", hostname="pe1", role="pe", platform="cisco_xe",
                         mgmt_address="2001:db8::1", credential_ref="env:PE1_LOGIN")
    other = plan(load_topology(), "other", tmp_path / "other", tmp_path / "other/s/c.json")
    with pytest.raises(Conflict, match="pe1 is already in the directory"):
        register(other, d)
    with d.transaction() as s:
        pe1 = store.get_device(s, "pe1")
        assert (pe1.platform, pe1.credential_ref) == ("cisco_xe", "env:PE1_LOGIN")
        assert [dev.hostname for dev in store.list_all(s, m.Device)] == ["pe1"]
    d.close()
