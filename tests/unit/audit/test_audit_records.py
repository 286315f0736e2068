"""Directory facts in the posture report: inventory completeness per device,
security and NOC contacts per agency, and VPN protection of agency links, judged on a real
directory (SQLite, and PostgreSQL when GIN_TEST_PG_URL is set)."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import event

from audit import catalogue, runner
from audit.checks import BY_ID, records
from audit.checks.base import Context, Status
from audit.findings import findings_of
from directory import store
from directory.allocator import add_prefix
from directory.store import Directory
from gin.cli import main
from vpn import tunnels

NOW = dt.datetime(2027, 3, 1, tzinfo=dt.UTC)
FULL = {"credential_ref": "vault:gin/pe", "snmp_profile": "v3-authpriv"}


def build(d: Directory) -> None:
    """GIN (backbone PE), DOPA (a gateway at HQ, a CE at branch br1, one at br2 with no
    prefix recorded) under ministry MOI, and MOPH (a gateway with a thin inventory entry);
    one DOPA-MOPH tunnel, still planned."""
    with d.transaction() as s:
        store.add_agency(s, code="GIN", name_en="GIN operator", kind="gin")
        store.add_agency(s, code="MOI", name_en="Ministry of Interior", kind="ministry")
        store.add_agency(s, code="DOPA", name_en="Dept of Provincial Administration",
                         parent="MOI")
        store.add_agency(s, code="MOPH", name_en="Ministry of Public Health")
        store.add_site(s, "GIN", code="core", province="Bangkok")
        store.add_site(s, "DOPA", code="hq", province="Bangkok")
        store.add_site(s, "DOPA", code="br1", province="Chiang Mai")
        store.add_site(s, "DOPA", code="br2", province="Phuket")
        store.add_site(s, "MOPH", code="hq")
        store.add_device(s, "GIN", "core", hostname="pe1", role="pe", platform="frr",
                         mgmt_address="10.0.0.1", **FULL)
        store.add_device(s, "DOPA", "hq", hostname="gw-dopa", role="vpn-gateway",
                         platform="linux", mgmt_address="2001:db8:ffff::1", **FULL)
        store.add_device(s, "DOPA", "br1", hostname="ce-dopa-br1", role="ce",
                         platform="frr", mgmt_address="10.0.1.1", **FULL)
        store.add_device(s, "DOPA", "br2", hostname="ce-dopa-br2", role="ce",
                         platform="frr", mgmt_address="10.0.1.2", **FULL)
        store.add_device(s, "MOPH", "hq", hostname="gw-moph", role="vpn-gateway",
                         platform="linux", mgmt_address="2001:db8:ffff::2")
        add_prefix(s, "2001:db8:1::/48", role="agency", agency="DOPA")
        add_prefix(s, "2001:db8:1:1::/64", role="lan", agency="DOPA", site="br1")
        add_prefix(s, "2001:db8:2::/48", role="agency", agency="MOPH")
        for n, (host, code, site) in enumerate((("ce-dopa-br1", "DOPA", "br1"),
                                                ("ce-dopa-br2", "DOPA", "br2"),
                                                ("gw-moph", "MOPH", "hq"))):
            store.add_interface(s, "pe1", f"eth1.{n}")
            store.add_interface(s, host, "eth0")
            store.add_link(s, f"GIN-{code}-{site}", ("pe1", f"eth1.{n}"), (host, "eth0"),
                           agency=code, site=site, status="active")
        store.add_interface(s, "pe1", "eth9")
        store.add_interface(s, "gw-dopa", "eth9")
        store.add_link(s, "GIN-DOPA-hq", ("pe1", "eth9"), ("gw-dopa", "eth9"),
                       agency="DOPA", site="hq", status="planned")
        store.add_contact(s, "DOPA", "Somchai", role="Security officer",
                          email="soc@dopa.example.go.th")
        store.add_contact(s, "DOPA", "NOC DOPA", role="noc", phone="+66 2 123 4567")
        store.add_contact(s, "MOPH", "NOC MOPH", role="noc")
        tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "ikev2", "psk", name="t1")


@pytest.fixture
def gin_dir(directory, monkeypatch):
    monkeypatch.delenv("GIN_VPN_KEY_FILE", raising=False)
    monkeypatch.setenv("GIN_VPN_KEY", base64.b64encode(b"k" * 32).decode())
    build(directory)
    return directory


def set_tunnel(d: Directory, status: str, weak: tuple[str, ...] = ()) -> None:
    with d.transaction() as s:
        t = tunnels.get_tunnel(s, "t1")
        t.status = status
        policy = dict(t.policy)
        policy["crypto"] = dict(policy["crypto"], weak=list(weak))
        t.policy = policy


def judged(d: Directory, agencies: set[str] | None = None):
    """The runner's verdicts on every subject the directory gives (records and gateways)."""
    with d.transaction() as s:
        subjects = records.directory_subjects(s, agencies)
    found = findings_of(runner.judge(subjects, now=NOW))
    return {(f.device, f.check): f for f in found}


def test_inventory_complete_incomplete_and_unknown(gin_dir):
    got = judged(gin_dir)
    assert got[("pe1", "inv.complete")].status is Status.PASS
    bad = got[("gw-moph", "inv.complete")]
    assert bad.status is Status.FAIL
    assert bad.reason == ("inventory entry incomplete: no credential reference, "
                          "no SNMP profile, no site province")
    assert any("province=-" in text for _, text in bad.evidence)
    assert bad.remediation[0] == ("gin directory device set gw-moph "
                                  "--credential-ref <vault:...|file:...> "
                                  "--snmp-profile <profile>")
    assert bad.remediation[1] == "gin directory site set MOPH HQ --province <province>"
    assert all("vault:gin" not in text for _, text in got[("pe1", "inv.complete")].evidence)
    assert bad.controls == ("7.1.1",)
    unknown = records.INVENTORY.run(None, "frr", Context(device="x", now=NOW))
    assert unknown.status is Status.UNKNOWN


def test_contacts_per_agency(gin_dir):
    got = judged(gin_dir)
    dopa = got[("DOPA", "org.contacts")]
    assert dopa.status is Status.PASS and dopa.agency == "DOPA"
    moph = got[("MOPH", "org.contacts")]
    assert moph.status is Status.FAIL
    assert "no security contact" in moph.reason
    assert "the NOC contact has no usable e-mail or phone" in moph.reason
    assert any("--role security" in line for line in moph.remediation)
    assert ("MOI", "org.contacts") not in got  # no device: nothing on the GIN to answer for
    ministry = records.AgencyRecord("MOI", "ministry", devices=0)
    ctx = records.RecordContext(device="MOI", now=NOW, record=ministry)
    assert records.contacts(None, ctx).status is Status.NOT_APPLICABLE
    assert got[("GIN", "org.contacts")].status is Status.FAIL  # the operator needs them too
    assert set(moph.controls) == {"6.1.3", "13.1.1"}
    assert records.CONTACTS.run(None, "-", Context(device="x")).status is Status.UNKNOWN


def test_links_in_clear_while_the_tunnel_is_planned_or_down(gin_dir):
    for status in ("planned", "down"):
        set_tunnel(gin_dir, status)
        got = judged(gin_dir)
        for link in ("GIN-DOPA-br1", "GIN-MOPH-hq"):
            f = got[(link, "vpn.link_protected")]
            assert f.status is Status.FAIL, (status, link, f.reason)
            assert "crosses the GIN in clear" in f.reason
            assert any(f"is {status}" in text for _, text in f.evidence)
            assert f.severity == "medium"
            assert f.remediation[0].startswith("gin vpn create gw-")
            assert "&& gin vpn deploy" in f.remediation[0]
    assert set(got[("GIN-MOPH-hq", "vpn.link_protected")].controls) == {
        "10.6.1", "11.4.5", "12.3.1"}


def test_link_protected_by_a_tunnel_in_force(gin_dir):
    set_tunnel(gin_dir, "up")
    got = judged(gin_dir)
    moph = got[("GIN-MOPH-hq", "vpn.link_protected")]
    assert moph.status is Status.PASS, moph.reason  # the tunnel ends at that site
    br1 = got[("GIN-DOPA-br1", "vpn.link_protected")]
    assert br1.status is Status.PASS, br1.reason  # its LAN is inside the tunnel's /48
    assert any("2001:db8:1::/48" in text for _, text in br1.evidence)
    # br2 has no prefix recorded: whether the HQ tunnel carries it cannot be told
    assert got[("GIN-DOPA-br2", "vpn.link_protected")].status is Status.UNKNOWN
    assert got[("GIN-DOPA-hq", "vpn.link_protected")].status is Status.NOT_APPLICABLE
    set_tunnel(gin_dir, "deployed")
    assert judged(gin_dir)[("GIN-MOPH-hq", "vpn.link_protected")].status is Status.PASS


def test_weak_tunnel_is_no_protection(gin_dir):
    set_tunnel(gin_dir, "up", ("ike: sha1",))
    f = judged(gin_dir)[("GIN-MOPH-hq", "vpn.link_protected")]
    assert f.status is Status.FAIL
    assert any("weak ike: sha1" in text for _, text in f.evidence)


def test_site_outside_the_tunnel_subnets_fails():
    t = records.TunnelEnd("t9", "up", (), "gw-a", "gw-b", 1, ("2001:db8:1::/48",))
    link = records.LinkRecord("L", "active", "A", "department", "br", 2,
                              ("2001:db8:77::/64",), (t,), "gw-a")
    ctx = records.RecordContext(device="L", now=NOW, record=link)
    assert records.link_protected(None, ctx).status is Status.FAIL
    agencyless = records.LinkRecord("L", "active", None, None, None, None)
    ctx = records.RecordContext(device="L", now=NOW, record=agencyless)
    assert records.link_protected(None, ctx).status is Status.UNKNOWN
    assert records.LINK_VPN.run(None, "link", Context(device="L")).status is Status.UNKNOWN


def test_scope_and_vpn_gateway_findings_come_together(gin_dir):
    got = judged(gin_dir, {"MOPH"})
    assert {f.agency for f in got.values()} == {"MOPH"}
    checks = {c for _, c in got}
    assert {"inv.complete", "org.contacts", "vpn.link_protected", "vpn.tunnel_crypto"} <= checks


def test_queries_do_not_grow_with_the_directory(gin_dir):
    """O(rows) SQL: the same number of statements for 5 devices as for 35."""
    def statements() -> int:
        seen: list[str] = []
        engine = gin_dir.engine

        def count(*args) -> None:
            seen.append(args[2])

        event.listen(engine, "before_cursor_execute", count)
        try:
            judged(gin_dir)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    before = statements()
    with gin_dir.transaction() as s:
        for n in range(10):
            code = f"AG{n}"
            store.add_agency(s, code=code, name_en=code)
            store.add_site(s, code, code="hq", province="Bangkok")
            store.add_contact(s, code, "NOC", role="noc", email=f"noc@{n}.example")
            for k in range(3):
                host = f"ce-{n}-{k}"
                store.add_device(s, code, "hq", hostname=host, role="ce", platform="frr")
                store.add_interface(s, "pe1", f"eth2.{n}{k}")
                store.add_interface(s, host, "eth0")
                store.add_link(s, f"GIN-{code}-{k}", ("pe1", f"eth2.{n}{k}"), (host, "eth0"),
                               agency=code, site="hq", status="active")
    assert statements() == before


def test_every_check_is_mapped_and_registered():
    fw = catalogue.load()
    for check in records.CHECKS:
        assert BY_ID[check.id] is check
        assert fw.controls_of(check.id)
    assert fw.controls["6.1.3"].iso27002_2022 == "5.2"


def test_check_and_report_show_the_directory_facts(gin_dir, db_url, tmp_path: Path,
                                                   monkeypatch, capsys):
    monkeypatch.setenv("GIN_WEB_EVIDENCE_DIR", str(tmp_path / "web"))
    configs = tmp_path / "configs"
    configs.mkdir()
    base = ["--db", db_url, "audit"]
    assert main([*base, "check", "--configs", str(configs), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    checks = {(f["device"], f["check"]) for f in data["findings"]}
    assert {("gw-moph", "inv.complete"), ("MOPH", "org.contacts"),
            ("GIN-MOPH-hq", "vpn.link_protected")} <= checks
    set_tunnel(gin_dir, "up")
    out = tmp_path / "r.html"
    assert main([*base, "report", "--configs", str(configs), "--ministry", "MOI",
                 "--format", "html", "--lang", "th", "-o", str(out), "--no-history"]) == 0
    page = out.read_text(encoding="utf-8")
    # the link whose coverage is not recorded, in the findings table with the Thai label
    row = next(r for r in page.split("<tr>") if "<td>GIN-DOPA-br2</td>" in r)
    assert '<td class="unknown">ไม่ทราบ</td>' in row and "vpn.link_protected" in row
    assert "GIN-MOPH-hq" not in page  # the ministry's scope: MOI and DOPA only
