"""Naive audit baseline: every check re-parses the config with ciscoconfparse2.

Runs in its own virtualenv (ciscoconfparse2 0.9 pins hier-config 2.x, gin needs 3.x), so
it imports nothing from gin: ``python audit_naive_ccp2.py LIST_FILE`` where each line of
LIST_FILE is ``<platform> <path>``; prints JSON {configs, checks, seconds, fails}.
The 13 config checks mirror gin's (same lines looked at); what is measured is the cost of
parsing once per check instead of once per config.
"""

from __future__ import annotations

import json
import re
import sys
import time

from ciscoconfparse2 import CiscoConfParse


def parsed(lines):  # noqa: ANN001, ANN201
    return CiscoConfParse(lines, syntax="ios")


def _kids(obj, pattern):  # noqa: ANN001, ANN202
    return [c for c in obj.all_children if re.search(pattern, c.text)]


def ssh(lines, junos):  # noqa: ANN001, ANN201
    p = parsed(lines)
    if junos:
        return not p.find_objects(r"^set system services telnet")
    vtys = p.find_objects(r"^line vty")
    return bool(p.find_objects(r"^ip ssh version 2")) and all(
        any(c.text.split()[2:] == ["ssh"] for c in _kids(v, r"transport input")) for v in vtys)


def timeout(lines, junos):  # noqa: ANN001, ANN201
    p = parsed(lines)
    if junos:
        return bool(p.find_objects(r"^set system login idle-timeout ([1-9]|1[0-5])$"))
    return all(not _kids(v, r"exec-timeout 0 0") for v in p.find_objects(r"^line "))


def banner(lines, junos):  # noqa: ANN001, ANN201
    p = parsed(lines)
    return bool(p.find_objects(r"^set system login message" if junos else r"^banner "))


def acl(lines, junos):  # noqa: ANN001, ANN201
    p = parsed(lines)
    if junos:
        return bool(p.find_objects(r"^set interfaces lo0 .* filter input"))
    return all(_kids(v, r"access-class \S+ in") for v in p.find_objects(r"^line vty"))


def secrets(lines, junos):  # noqa: ANN001, ANN201
    p = parsed(lines)
    if junos:
        return not p.find_objects(r'encrypted-password "\$1\$')
    return bool(p.find_objects(r"^service password-encryption")) and not p.find_objects(
        r"^(username .* password|enable password)")


def syslog(lines, junos):  # noqa: ANN001, ANN201
    p = parsed(lines)
    return bool(p.find_objects(r"^set system syslog host" if junos else
                               r"^(logging host|log syslog)"))


def ntp(lines, junos):  # noqa: ANN001, ANN201
    p = parsed(lines)
    return bool(p.find_objects(r"^set system ntp server" if junos else r"^ntp server"))


def snmp(lines, junos):  # noqa: ANN001, ANN201
    p = parsed(lines)
    if junos:
        return not p.find_objects(r"^set snmp community")
    return not p.find_objects(r"^snmp-server community")


def http(lines, junos):  # noqa: ANN001, ANN201
    p = parsed(lines)
    if junos:
        return not p.find_objects(r"^set system services web-management")
    return not p.find_objects(r"^ip http (secure-)?server")


def bgp(lines, junos):  # noqa: ANN001, ANN201
    p = parsed(lines)
    if junos:
        peers = {o.text.split()[6] for o in
                 p.find_objects(r"^set protocols bgp group \S+ neighbor")}
        imports = {o.text.split()[6] for o in
                   p.find_objects(r"^set protocols bgp group \S+ neighbor \S+ import")}
        return peers <= imports
    for proc in p.find_objects(r"^router bgp"):
        peers = {c.text.split()[1] for c in _kids(proc, r"^\s*neighbor \S+ remote-as")}
        filtered = {c.text.split()[1] for c in
                    _kids(proc, r"neighbor \S+ (prefix-list|route-map) \S+ in")}
        if not peers <= filtered:
            return False
    return True


def urpf(lines, junos):  # noqa: ANN001, ANN201
    p = parsed(lines)
    if junos:
        units = {tuple(o.text.split()[2:7]) for o in
                 p.find_objects(r"^set interfaces \S+ unit \d+ family inet6? address")}
        checked = {tuple(o.text.split()[2:7]) for o in
                   p.find_objects(r"^set interfaces \S+ unit \d+ family inet6? rpf-check")}
        return units <= checked | {u for u in units if u[0] == "lo0"}
    return all(_kids(i, r"verify unicast") for i in p.find_objects(r"^interface ")
               if _kids(i, r"^\s*ipv6 address"))


def crypto(lines, junos):  # noqa: ANN001, ANN201
    p = parsed(lines)
    weak = r"\b(des|3des|md5|sha|sha1|group ?[125]|3des-cbc|des-cbc)\b"
    if junos:
        return not p.find_objects(r"^set security (ike|ipsec) .*" + weak)
    return not any(_kids(o, weak) for o in p.find_objects(r"^crypto "))


def raguard(lines, junos):  # noqa: ANN001, ANN201
    p = parsed(lines)
    if junos:
        return True
    return all(_kids(i, r"ipv6 nd raguard") for i in p.find_objects(r"^interface ")
               if _kids(i, r"^\s*ipv6 address") and not _kids(i, r"verify unicast"))


CHECKS = (ssh, timeout, banner, acl, secrets, syslog, ntp, snmp, http, bgp, urpf, crypto,
          raguard)


def main(list_file: str) -> None:
    from pathlib import Path

    jobs = [line.split(None, 1) for line in Path(list_file).read_text().splitlines() if line]
    texts = [(platform, Path(path.strip()).read_text().splitlines()) for platform, path in jobs]
    start = time.perf_counter()
    fails = 0
    for platform, lines in texts:
        junos = platform == "juniper_junos"
        for check in CHECKS:
            fails += not check(lines, junos)
    seconds = time.perf_counter() - start
    print(json.dumps({"configs": len(texts), "checks": len(CHECKS), "seconds": seconds,
                      "fails": fails}))


if __name__ == "__main__":
    main(sys.argv[1])
