"""Agency resolution from the directory agrees with the directory's own whois index."""

from __future__ import annotations

import ipaddress

import numpy as np
import pytest

from directory import allocator, store
from directory.store import Directory
from monitor.sensor.addresses import halves
from monitor.sensor.agency import directory_resolver, directory_routers

whois = pytest.importorskip("directory.whois")


@pytest.fixture
def agencies(sqlite_url):
    d = Directory(sqlite_url, actor="tester")
    with d.transaction() as s:
        for code in ("MOF", "MOI"):
            store.add_agency(s, code=code, name_en=code)
            store.add_site(s, code, code="HQ")
        store.add_device(s, "MOF", "HQ", hostname="ce1", role="ce", platform="frr",
                         mgmt_address="192.168.60.1")
        allocator.add_prefix(s, "2001:db8:100::/40", role="supernet")      # no agency
        allocator.add_prefix(s, "2001:db8:110::/48", role="agency", agency="MOF")
        allocator.add_prefix(s, "2001:db8:110:5::/64", role="lan")         # inherits MOF
        allocator.add_prefix(s, "2001:db8:120::/48", role="agency", agency="MOI")
        allocator.add_prefix(s, "10.20.0.0/16", role="agency", agency="MOI")
        allocator.add_prefix(s, "10.20.9.0/24", role="lan")                # inherits MOI
    yield d
    d.close()


ADDRESSES = ["2001:db8:110::1", "2001:db8:110:5::9", "2001:db8:120:ff::1", "2001:db8:130::1",
             "10.20.9.9", "10.20.200.1", "10.21.0.1", "192.0.2.1"]


def test_resolver_matches_whois_one_by_one_and_over_arrays(agencies):
    resolve = directory_resolver(agencies)
    with agencies.transaction() as s:
        index = whois.WhoisIndex.load(s)
    expected = [index.agency(a) for a in ADDRESSES]
    assert expected == ["MOF", "MOF", "MOI", None, "MOI", "MOI", None, None]
    got = []
    for a in ADDRESSES:
        ip = ipaddress.ip_address(a)
        got.append(resolve(ip.version, int(ip)))
    assert got == expected
    table, codes = resolve.table()
    hi = np.array([halves(a)[0] for a in ADDRESSES], np.uint64)
    lo = np.array([halves(a)[1] for a in ADDRESSES], np.uint64)
    assert [codes[i] if i >= 0 else None for i in table.lookup(hi, lo)] == expected


def test_routers_are_the_directory_device_addresses(agencies):
    with agencies.transaction() as s:  # a sensor is no router: its RAs would be rogue
        store.add_device(s, "MOF", "HQ", hostname="ids1", role="sensor", platform="linux",
                         mgmt_address="192.168.60.50")
    assert directory_routers(agencies) == ["192.168.60.1"]
