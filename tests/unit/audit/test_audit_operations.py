"""10.1.2 and 10.10.2 from their evidence: config changes between real backups matched
against a real directory's change log, and the Prometheus client's handling of bad URLs,
unreachable servers and answers that are not Prometheus JSON (the check against a real
Prometheus is in tests/integration/audit)."""

from __future__ import annotations

import datetime as dt
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from audit import changes, monitoring, sources
from audit.evidence import BackupStore
from audit.runner import ConfigSource, audit_one
from devices.errors import ConfigError, GinError
from directory import store as dstore
from directory.store import Directory

CONFIG = "hostname r1\nline vty\n exec-timeout 5 0\nend\n"


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[tuple[Directory, BackupStore, dt.datetime]]:
    d = Directory(f"sqlite:///{tmp_path / 'd.sqlite'}", actor="auditor-test")
    with d.transaction() as s:
        dstore.add_agency(s, code="DOPA", name_en="Provincial Administration")
        dstore.add_site(s, "DOPA", code="HQ", name="HQ")
        dstore.add_device(s, "DOPA", "HQ", hostname="r1", role="ce", platform="frr")
        dstore.add_device(s, "DOPA", "HQ", hostname="r2", role="ce", platform="frr")
    yield d, BackupStore(tmp_path / "backups"), dt.datetime.now(dt.UTC)
    d.close()


def test_a_change_with_a_change_log_entry_passes_one_without_fails(lab) -> None:  # noqa: ANN001
    d, st, now = lab
    st.save("r1", "frr", CONFIG, now=now)  # after the devices were registered
    with d.transaction() as s:  # a change made through gin: logged now
        dstore.update(s, dstore.get_device(s, "r1"), role="pe")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    st.save("r1", "frr", CONFIG.replace("5 0", "10 0"), now=later)
    # the second change has no entry between its backups: made outside gin
    st.save("r1", "frr", CONFIG.replace("5 0", "10 0") + "!\nlog syslog\n",
            now=later + dt.timedelta(seconds=1))
    st.save("r2", "frr", CONFIG, now=now)  # one version: no change seen
    facts = changes.change_facts(st, d, ["r1", "r2", "ghost", "../evil"],
                                 now=later + dt.timedelta(minutes=1))
    assert set(facts) == {"r1", "r2"}
    r1 = facts["r1"]
    assert len(r1.changes) == 2 and len(r1.unlogged) == 1
    assert "update device r1" in r1.changes[0].entries[0]
    assert r1.unlogged[0].diff == ("+!", "+log syslog")
    srcs = [ConfigSource(n, "frr", CONFIG, changes=facts.get(n)) for n in ("r1", "r2", "r3")]
    got = {s.device: next(f for f in audit_one(s).findings if f.check == "ops.changes_logged")
           for s in srcs}
    assert got["r1"].status.value == "fail"
    assert any("+log syslog" in tx for _, tx in got["r1"].evidence)
    assert "not in the change log" in got["r1"].reason
    assert got["r1"].controls == ("10.1.2", "12.5.1")
    assert got["r2"].status.value == "pass"
    assert got["r3"].status.value == "unknown"  # never compared


def test_an_interface_change_counts_for_its_device(lab) -> None:  # noqa: ANN001
    d, st, now = lab
    st.save("r2", "frr", CONFIG, now=now)
    with d.transaction() as s:
        dstore.add_interface(s, "r2", "eth9", description="new agency LAN")
    st.save("r2", "frr", CONFIG + "interface eth9\n", now=dt.datetime.now(dt.UTC)
            + dt.timedelta(seconds=1))
    src = sources.with_change_log([ConfigSource("r2", "frr", CONFIG)], st, d,
                                  now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1))
    facts = src[0].changes
    assert facts is not None and facts.changes and not facts.unlogged
    assert "interface r2:eth9" in facts.changes[0].entries[0]


def test_a_gsi_block_pushed_to_an_edge_router_counts_for_it(lab) -> None:  # noqa: ANN001
    """The SOC's block goes on the PE through gin: its push record (as the responder's edge
    writes it, keyed by the router) logs the change between two backups."""
    from directory import models as m
    from monitor.sensor.edge import PUSH_TYPE

    d, st, now = lab
    st.save("r1", "frr", CONFIG, now=now)
    with d.transaction() as s:
        s.add(m.Change(time=m.utcnow(), actor="alice as soc", action="push",
                       object_type=PUSH_TYPE, object_id=None, object_key="r1", before=None,
                       after={"action": "block", "status": "changed",
                              "present": ["2001:db8:bad::1/128"], "lines": [], "message": "",
                              "restored": None}))
    st.save("r1", "frr", CONFIG + "ipv6 route 2001:db8:bad::1/128 blackhole\n",
            now=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    facts = changes.change_facts(st, d, ["r1"], now=dt.datetime.now(dt.UTC)
                                 + dt.timedelta(minutes=1))["r1"]
    assert facts.changes and not facts.unlogged
    assert "alice as soc push sensor_block_push r1" in facts.changes[0].entries[0]


def test_changes_outside_the_window_are_not_judged(lab) -> None:  # noqa: ANN001
    d, st, now = lab
    st.save("r1", "frr", CONFIG, now=now - dt.timedelta(days=200))
    st.save("r1", "frr", CONFIG + "!\n", now=now - dt.timedelta(days=150))
    facts = changes.change_facts(st, d, ["r1"], now=now)
    assert facts["r1"].versions == 2 and facts["r1"].changes == []


@pytest.mark.parametrize("url", ["ftp://h/", "http://", "localhost:9090",
                                 "http://h:1/\r\nX-Evil: 1", "javascript:alert(1)"])
def test_prometheus_url_is_checked(url: str) -> None:
    with pytest.raises(ConfigError, match="expected http"):
        monitoring.monitor_facts(url, {"r1": None})


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_prometheus_is_one_clear_error() -> None:
    with pytest.raises(GinError, match="cannot be queried"):
        monitoring.query(f"http://127.0.0.1:{_closed_port()}", "up", timeout=5)


class _NotPrometheus(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("body,why", [
    (b"<html>nginx</html>", "did not answer with query JSON"),
    (b'{"status": "error", "error": "bad_data: parse error"}', "bad_data"),
    (b'{"status": "success", "data": {"result": 5}}', "did not answer with query JSON"),
    (b'{"status": "success"}', "did not answer with query JSON"),
])
def test_an_answer_that_is_not_query_json_is_an_error(body: bytes, why: str) -> None:
    handler = type("H", (_NotPrometheus,), {"body": body})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(GinError, match=why):
            monitoring.query(f"http://127.0.0.1:{server.server_address[1]}", "up")
    finally:
        server.shutdown()
        server.server_close()
