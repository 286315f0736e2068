"""``gin monitor respond`` as a user runs it: edge-router text, refusals in one line that
change nothing, and the router sync with no edge router in the directory."""

from __future__ import annotations

import json

import pytest

from gin.cli import main


def _gin(capsys, url: str, *args: str) -> tuple[int, str, str]:
    code = main(["--db", url, "monitor", "respond", "--no-gateway", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_acl_text_for_each_platform(capsys, sqlite_url):
    assert _gin(capsys, sqlite_url, "--block", "2001:db8:bad::7", "--no-routers")[0] == 0
    code, out, _ = _gin(capsys, sqlite_url, "--acl", "frr")
    assert code == 0 and out == "ipv6 route 2001:db8:bad::7/128 blackhole\n"
    code, out, _ = _gin(capsys, sqlite_url, "--acl", "juniper_junos", "--json")
    assert code == 0
    assert ("set firewall family inet6 filter GIN-GSI-BLOCK6 term gsi-source from "
            "source-address 2001:db8:bad::7/128") in json.loads(out)["config"]
    code, _, err = _gin(capsys, sqlite_url, "--acl", "nokia_sros")
    assert code == 1 and "unknown platform 'nokia_sros'" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("hostile", ["2001:db8::1\nno router bgp 65000", "203.0.113.9;reboot",
                                     "'\"", "\x1b[2J", "9" * 100_000, ""])
def test_hostile_block_is_one_line_and_changes_nothing(capsys, sqlite_url, hostile):
    code, _, err = _gin(capsys, sqlite_url, "--block", hostile)
    assert code in (1, 2) and "Traceback" not in err and len(err) < 2000
    assert len([ln for ln in err.splitlines() if "error" in ln.lower()]) == 1
    code, out, _ = _gin(capsys, sqlite_url, "--list", "--json")
    assert code == 0 and json.loads(out) == []


def test_expire_with_no_edge_router_is_a_no_op(capsys, sqlite_url):
    code, out, _ = _gin(capsys, sqlite_url, "--expire", "--json")
    assert code == 0 and json.loads(out) == {"expired": True, "routers": []}
    code, _, err = _gin(capsys, sqlite_url, "--expire", "--lift", "203.0.113.9")
    assert code == 2 and "give one of" in err
