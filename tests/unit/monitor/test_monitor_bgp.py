"""BGP peer tables: index decoding per MIB, hostile rows, which devices are asked, and
the exported series (both exposition paths)."""

from __future__ import annotations

import pytest
from test_monitor_collector import key, result, scrape

from monitor.collector import SnmpCollector
from monitor.snmp import ber
from monitor.snmp.poller import _bgp_peers
from monitor.snmp.targets import Profile, bgp_mibs, build_target, load_profiles
from monitor.snmp.transport import SnmpError


def idx(*subs: int) -> bytes:
    """Index suffix bytes (sub-identifiers as BER encodes them inside an OID)."""
    return ber.oid_content([1, 3, *subs])[1:]  # drop the encoded "1.3" pair


V6 = [0x20, 0x01, 0x0D, 0xB8] + [0] * 11 + [2]  # 2001:db8::2


def test_index_and_values_per_mib() -> None:
    tables = [
        {idx(10, 254, 0, 1): 6, idx(192, 0, 2, 9): 1},  # bgp4 state
        {idx(10, 254, 0, 1): 65000, idx(192, 0, 2, 9): 4200000000},  # bgp4 remote AS
        {idx(2, 16, *V6): 3},  # cisco cbgpPeer2State: type.length.address
        {},  # cisco remote AS column missing: no AS sample, not an error
    ]
    peers = _bgp_peers(("bgp4", "cisco"), tables)
    assert peers == {"10.254.0.1": (6, 65000), "192.0.2.9": (1, 4200000000),
                     "2001:db8::2": (3, None)}


def test_bgp4v2_index_forms_and_one_peer_listed_twice() -> None:
    tables = [{idx(10, 0, 0, 1): 6}, {idx(10, 0, 0, 1): 65001},  # bgp4
              {idx(1, 4, 10, 0, 0, 1): 6, idx(1, 2, *V6): 2},  # bgp4v2 (FRR's index forms)
              {idx(1, 4, 10, 0, 0, 1): 65001}]
    assert _bgp_peers(("bgp4", "bgp4v2"), tables) == {"10.0.0.1": (6, 65001),
                                                      "2001:db8::2": (2, None)}


@pytest.mark.parametrize("tables, why", [
    ([{idx(10, 0, 0, 1): 7}, {}], "FSM state"),
    ([{idx(10, 0, 0, 1): b"established"}, {}], "FSM state"),
    ([{idx(10, 0, 0, 1): 6}, {idx(10, 0, 0, 1): 2**40}], "32-bit"),
    ([{idx(10, 0, 0, 1): 6}, {idx(10, 0, 0, 1): b"AS65000"}], "32-bit"),
    ([{idx(10, 0, 0): 6}, {}], "not an IP address"),
    ([{idx(10, 0, 0, 300): 6}, {}], "not an IP address"),
    ([{idx(10, 0, (i >> 8) & 255, i & 255): 6 for i in range(5000)}, {}], "more than"),
])
def test_hostile_rows_are_malformed_errors(tables: list[dict], why: str) -> None:
    with pytest.raises(SnmpError, match=why) as err:
        _bgp_peers(("bgp4",), tables)
    assert err.value.reason == "malformed"


def test_which_devices_are_asked() -> None:
    assert bgp_mibs(Profile(), "frr") == ("bgp4", "bgp4v2")
    assert bgp_mibs(Profile(), "cisco_xe") == ("bgp4", "cisco")
    assert bgp_mibs(Profile(), "linux") == ()  # a VPN gateway: no BGP walk at all
    assert bgp_mibs(Profile(bgp=()), "frr") == ()
    t = build_target("r1", "192.0.2.1", Profile(version="v2c", community_ref="env:NOPE"),
                     platform="cisco_ios")
    assert t.bgp_mibs == ("bgp4", "cisco")


def test_profile_bgp_setting(tmp_path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("profiles:\n  a: {bgp: false}\n  b: {bgp: [bgp4]}\n  c: {bgp: true}\n")
    profiles = load_profiles(path)
    assert (profiles["a"].bgp, profiles["b"].bgp, profiles["c"].bgp) == ((), ("bgp4",), None)
    path.write_text("profiles:\n  a: {bgp: [ospf]}\n")
    with pytest.raises(Exception, match="unknown MIB ospf"):
        load_profiles(path)


def test_exported_series_both_paths() -> None:
    c = SnmpCollector()
    c.update(result("pe1", bgp={"10.254.0.1": (6, 65000), "2001:db8::2": (1, None)}))
    m = scrape(c)
    assert m == scrape(c, fast=True)
    dev = {"agency": "MOF", "site": "BKK", "device": "pe1"}
    assert m["gin_bgp_peer_up"] == {key(**dev, peer="10.254.0.1"): 1,
                                    key(**dev, peer="2001:db8::2"): 0}
    assert m["gin_bgp_peer_state"][key(**dev, peer="2001:db8::2")] == 1
    assert m["gin_bgp_peer_remote_as"] == {key(**dev, peer="10.254.0.1"): 65000}
    c.update(result("pe1", ok=False, reason="timeout"))  # no stale session state
    assert "gin_bgp_peer_up" not in scrape(c)


def test_a_four_byte_as_in_the_integer32_column_reads_unsigned() -> None:
    # FRR's BGP4-MIB puts a private 4-byte AS (4200000001) into the Integer32 column
    tables = [{idx(10, 0, 0, 1): 6}, {idx(10, 0, 0, 1): 4200000001 - 2**32}]
    assert _bgp_peers(("bgp4",), tables) == {"10.0.0.1": (6, 4200000001)}
