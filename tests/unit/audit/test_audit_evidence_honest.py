"""Removing evidence can never raise a score: missing evidence is "unknown" and counts
against it.

The audit is the real one (:func:`audit.assess.assess`: every registered check, the real
parser) over a real directory on SQLite and real configs: the ones gin renders for a PE and
a CE on FRR, IOS and Junos, and the golden good/bad configs of devices the directory does
not know (listed in the folder's ``devices.yaml``).  The evidence is a set of pieces: each
device's config file, the FRR routers' host files (/etc copies), the role a
``devices.yaml`` gives, each directory device's inventory details (management address,
credential reference, SNMP profile), the agency's security and NOC contacts, and the stored
web scans of the agency's public services.  For any two sets, one inside the other, the
smaller never scores higher.  The devices themselves
(the directory's rows and the ``devices.yaml`` entries) stay: they are the scope, not
evidence about it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from audit import assess
from audit.evidence import BackupStore
from audit.web.evidence import WebEvidence
from directory import models as m
from directory import store
from directory.store import Directory
from links.render import render
from tests.unit.audit.conftest import GOLDEN, NOW, as_running, golden
from tests.unit.audit_web.test_auditweb_checks import GOOD
from tests.unit.audit_web.test_auditweb_checks import NOW as SCANNED
from tests.unit.links.conftest import make_intent

#: Devices the directory records: (hostname, platform, role, rendered as).
REGISTERED = (("pe1", "frr", "pe", "pe1"), ("ce1", "frr", "ce", "ce1"),
              ("ce2", "cisco_ios", "ce", "ce1"), ("pe2", "juniper_junos", "pe", "pe1"))
#: Devices only the auditor's devices.yaml lists: (name, platform, role, golden config).
#: (A CE running uRPF on its uplink: "not applicable" with its role known.)
LISTED = (("r-good", "cisco_ios", "ce", "cisco_ios_good.conf"),
          ("r-bad", "cisco_ios", "ce", "cisco_ios_bad.conf"),
          ("j-good", "juniper_junos", "pe", "juniper_junos_good.conf"),
          ("j-bad", "juniper_junos", "pe", "juniper_junos_bad.conf"))
#: FRR routers' /etc copies.
HOSTS = {"pe1": "host_good", "ce1": "host_bad"}
INVENTORY = {"mgmt_address": "2001:db8:ff::1", "credential_ref": "env:GIN_PW",
             "snmp_profile": "gin-v3"}
CONTACTS = {"security": ("Somchai", "security", "soc@dopa.example"),
            "noc": ("Malee", "noc", "noc@dopa.example")}

#: The agency's public services the directory records, and their scans (one good, one
#: that did not answer).
SCANS = {"www.dopa.go.th": dict(GOOD, agency="DOPA", host="www.dopa.go.th"),
         "old.dopa.go.th": dict(GOOD, agency="DOPA", host="old.dopa.go.th",
                                error="connection refused")}

PIECES = sorted({("config", d) for d, *_ in (*REGISTERED, *LISTED)}
                | {("web", h) for h in SCANS}
                | {("host", d) for d in HOSTS} | {("role", d) for d, *_ in LISTED}
                | {("inventory", d) for d, *_ in REGISTERED}
                | {("contact", c) for c in CONTACTS})


@cache
def configs() -> dict[str, str]:
    """Each device's config text (rendered once)."""
    out = {}
    for host, platform, _role, rendered in REGISTERED:
        out[host] = as_running(platform, render(make_intent(platform))[rendered])
    for name, _platform, _role, file in LISTED:
        out[name] = golden(file)
    return out


@pytest.fixture(scope="module")
def gin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Directory]:
    """The directory: one agency, one site, the registered devices."""
    db = tmp_path_factory.mktemp("honest") / "gin.sqlite"
    d = Directory(f"sqlite:///{db}", actor="auditor")
    with d.transaction() as s:
        store.add_agency(s, code="DOPA", name_en="Provincial Administration")
        store.add_site(s, "DOPA", code="hq", province="Bangkok")
        for host, platform, role, _ in REGISTERED:
            store.add_device(s, "DOPA", "hq", hostname=host, platform=platform, role=role)
        for name, host in zip(("www", "old"), SCANS, strict=True):
            store.add_service(s, "DOPA", name, f"https://{host}/")
    yield d
    d.close()


def _set_directory(d: Directory, evidence: frozenset[tuple[str, str]]) -> None:
    """The directory holding exactly the inventory details and contacts in ``evidence``."""
    with d.transaction() as s:
        for host, *_ in REGISTERED:
            wanted = ("inventory", host) in evidence
            store.update(s, store.get_device(s, host),
                         **{k: (v if wanted else None) for k, v in INVENTORY.items()})
        have = {c.role: c for c in store.list_all(s, m.Contact)}
        for key, (name, role, email) in CONTACTS.items():
            if ("contact", key) in evidence and role not in have:
                store.add_contact(s, "DOPA", name, role=role, email=email)
            elif ("contact", key) not in evidence and role in have:
                store.remove(s, have[role])


def score(d: Directory, evidence: frozenset[tuple[str, str]]) -> float:
    """The overall score of the GIN audited from exactly ``evidence``."""
    _set_directory(d, evidence)
    with tempfile.TemporaryDirectory(prefix="gin-honest-") as tmp:
        root = Path(tmp)
        folder, hosts, empty, web = (root / "configs", root / "hosts", root / "none",
                                     root / "web")
        for path in (folder, hosts, empty):
            path.mkdir()
        for device, text in configs().items():
            if ("config", device) in evidence:
                (folder / f"{device}.cfg").write_text(text, encoding="utf-8")
        listed = {}
        for name, platform, role, _ in LISTED:
            listed[name] = {"platform": platform, "agency": "DOPA"}
            if ("role", name) in evidence:
                listed[name]["role"] = role
        (folder / "devices.yaml").write_text(yaml.safe_dump(listed), encoding="utf-8")
        for device, copy in HOSTS.items():
            if ("host", device) in evidence:
                shutil.copytree(GOLDEN / copy, hosts / device)
        scans = [rec for host, rec in SCANS.items() if ("web", host) in evidence]
        if scans:
            WebEvidence(web).save(scans, now=SCANNED)
        result = assess.assess(assess.Scope(), assess.Evidence(
            directory=d, backups=BackupStore(empty), configs=folder, host_dir=hosts,
            web_dir=web), now=NOW)
    devices = {a.device for a in result.audits}
    assert {n for n, *_ in (*REGISTERED, *LISTED)} <= devices  # the scope never shrinks
    value = result.data()["score"]["score"]
    assert value is not None
    return value


def test_the_full_evidence_is_read(gin: Directory) -> None:
    everything = score(gin, frozenset(PIECES))
    nothing = score(gin, frozenset())
    assert 0 <= nothing < everything <= 100


def test_config_files_removed_one_by_one_never_raise_the_score(gin: Directory) -> None:
    """The reported case: all three configs, one of three, none (with the directory)."""
    rest = frozenset(p for p in PIECES if p[0] != "config")
    three = [("config", d) for d, *_ in REGISTERED[1:]]
    scores = [score(gin, rest | set(three[:n])) for n in (3, 1, 0)]
    assert scores == sorted(scores, reverse=True), scores


def test_each_piece_removed_alone_never_raises_the_score(gin: Directory) -> None:
    full = frozenset(PIECES)
    top = score(gin, full)
    raised = {piece: after for piece in PIECES
              if (after := score(gin, full - {piece})) > top}
    assert raised == {}, (top, raised)


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(data=st.data())
def test_removing_evidence_never_raises_the_score(gin: Directory, data: st.DataObject) -> None:
    more = data.draw(st.sets(st.sampled_from(PIECES)), label="evidence")
    less = data.draw(st.sets(st.sampled_from(sorted(more))) if more else st.just(set()),
                     label="after removing some")
    high, low = score(gin, frozenset(more)), score(gin, frozenset(less))
    assert low <= high, (sorted(more - less), low, high)


def test_a_recorded_service_never_scanned_is_unknown_not_absent(tmp_path: Path) -> None:
    """The directory records DGA's portal; before any `gin audit web` its checks read
    "unknown" (and count), after a scan they read what the scan shows: never lower."""
    d = Directory(f"sqlite:///{tmp_path / 'gin.sqlite'}", actor="auditor")
    with d.transaction() as s:
        store.add_agency(s, code="DGA", name_en="Digital Government Agency")
        store.add_service(s, "DGA", "portal", "https://www.dga.go.th/")
    evidence = assess.Evidence(directory=d, backups=BackupStore(tmp_path / "b"),
                               web_dir=tmp_path / "web")

    def audit() -> tuple[float, dict[str, str], str | None]:
        result = assess.assess(assess.Scope(), evidence, now=SCANNED)
        [host] = [a for a in result.audits if a.device == "www.dga.go.th"]
        return (result.data()["score"]["score"], {f.check: f.status.value for f in host.findings},
                host.error)

    before, statuses, error = audit()
    assert set(statuses.values()) == {"unknown"} and len(statuses) > 10
    assert error is not None and "gin audit web" in error
    WebEvidence(tmp_path / "web").save([GOOD], now=SCANNED)
    after, statuses, error = audit()
    assert error is None and statuses["web.tls_protocols"] == "pass"
    assert before <= after
    d.close()
