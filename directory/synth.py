"""A synthetic GIN directory of any size, deterministic for a given seed.

Why: benchmarks, load tests and demos need a directory shaped like the real network at
national scale (the GIN linked 2,154 agencies by 2013) without real agencies' data.  The
result is in the exporter's layout, so it can be written as JSON/YAML/CSV and read back by
the importer (the import benchmark does exactly that), or imported straight into a database.

Shape, for ``agencies=N``:

- the GIN operator (``GIN``) with PE routers: one per province, plus one more in Bangkok per
  200 agencies (most head offices are in Bangkok);
- the 20 ministry-level bodies (real codes and names from the samples), then ``N - 20``
  synthetic agencies ``AG0001``... under them, with Thai and English names;
- per agency a head-office site (``HQ``, Bangkok for most, a provincial town for some) and
  0-2 branch sites in provinces (site code = the province's ISO code);
- per site a CE router (platform drawn from frr, cisco_ios, cisco_xe, juniper_junos) with an
  uplink and a LAN interface, linked to a PE sub-interface in the same province;
- interfaces named as each platform names them: ``ports`` maps platform -> purpose
  (``uplink``, ``lan``, ``trunk``) -> name.  That is the platform table's ``interfaces:``
  (``devices.platforms.interface_names()``), which the caller passes: the directory floor
  does not import the devices floor;
- prefixes (unless ``prefixes=False``): the IPv6 supernet, a /48 per agency, a /64 LAN per
  site, and a /127 per link from a point-to-point pool (RFC 6164), all in 2001:db8::/32.
"""

from __future__ import annotations

import ipaddress
import random
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from .samples import provinces

DEFAULT_AGENCIES = 2154
SUPERNET = ipaddress.IPv6Network("2001:db8::/32")
P2P_POOL = ipaddress.IPv6Network("2001:db8:ffff::/48")
CE_PLATFORMS = ("frr", "cisco_ios", "cisco_xe", "juniper_junos")
PE_PLATFORMS = ("cisco_xe", "juniper_junos")
KINDS = ("department", "department", "department", "state-enterprise", "public-organization",
         "provincial")
_TH_HEAD = ("กรม", "สำนักงาน", "สถาบัน", "ศูนย์", "การ")
_TH_TOPIC = ("ส่งเสริมการเกษตร", "พัฒนาชุมชน", "ข้อมูลข่าวสาร", "บริการประชาชน", "ทะเบียน",
             "สาธารณสุข", "การศึกษา", "ขนส่ง", "พลังงานทดแทน", "ทรัพยากรน้ำ")
_EN_HEAD = ("Department", "Office", "Institute", "Centre", "Authority")
_EN_TOPIC = ("Agricultural Promotion", "Community Development", "Information", "Public Service",
             "Registration", "Public Health", "Education", "Transport", "Renewable Energy",
             "Water Resources")
#: platform -> {purpose: interface name}
Ports = Mapping[str, Mapping[str, str]]


def _ministries() -> list[dict[str, Any]]:
    from .samples import sample_rows

    return [dict(r.data) for r in sample_rows()
            if r.kind == "agencies" and r.data.get("kind") in ("ministry", "office")]


def _port_names(ports: Ports) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """(uplink, lan, trunk) name per platform; a platform the mix needs without a name for
    a purpose is refused, naming the key its platform.yaml lacks."""
    def names(platforms: tuple[str, ...], purpose: str) -> dict[str, str]:
        out = {}
        for platform in platforms:
            name = ports.get(platform, {}).get(purpose)
            if not name:
                raise ValueError(f"platform {platform}: no {purpose} interface name (interfaces."
                                 f"{purpose} in its platform.yaml)")
            out[platform] = name
        return out

    return (names(CE_PLATFORMS, "uplink"), names(CE_PLATFORMS, "lan"),
            names(PE_PLATFORMS, "trunk"))


def synthesize(agencies: int = DEFAULT_AGENCIES, seed: int = 2013, prefixes: bool = True,
               branches: int = 2, *, ports: Ports) -> dict[str, list[dict[str, Any]]]:
    """Build the directory as rows per kind (see the module docstring for the shape)."""
    if not 1 <= agencies <= 65000:  # one /48 each under a /32, the p2p pool at the top
        raise ValueError("agencies: between 1 and 65,000")
    uplink, lan, trunk = _port_names(ports)
    rng = random.Random(seed)
    provs = provinces()
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    out["agencies"].append({"code": "GIN", "name_en": "GIN Network Operations",
                            "name_th": "ศูนย์ปฏิบัติการเครือข่ายสารสนเทศภาครัฐ", "kind": "gin"})

    # PE routers: one per province, extra ones in Bangkok.
    pes: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in provs:
        count = 1 + (agencies // 200 if p.iso == "TH-10" else 0)
        out["sites"].append({"agency": "GIN", "code": p.iso, "name": f"GIN PoP {p.name_en}",
                             "province": p.name_en, "latitude": p.latitude,
                             "longitude": p.longitude})
        for n in range(1, count + 1):
            platform = PE_PLATFORMS[(len(out["devices"]) + n) % 2]
            host = f"gin-{p.iso[3:]}-pe{n}"
            pe = {"hostname": host, "agency": "GIN", "site": p.iso, "role": "pe",
                  "platform": platform, "mgmt_address": _mgmt(len(out["devices"])),
                  "mgmt_port": 22, "snmp_address": _mgmt(len(out["devices"])),
                  "snmp_profile": "gin-v3", "credential_ref": "vault:gin/pe", "asn": 64512}
            out["devices"].append(pe)
            out["interfaces"].append({"device": host, "name": trunk[platform],
                                      "description": "trunk to agencies", "enabled": True,
                                      "speed_mbps": 10000})
            pes[p.iso].append({"host": host, "platform": platform, "vlan": 100})

    ministries = _ministries()[:agencies]
    rows = [dict(m) for m in ministries]
    for i in range(1, agencies - len(ministries) + 1):
        head, topic = rng.randrange(len(_TH_HEAD)), rng.randrange(len(_TH_TOPIC))
        rows.append({"code": f"AG{i:04d}", "kind": rng.choice(KINDS),
                     "name_en": f"{_EN_HEAD[head]} of {_EN_TOPIC[topic]} No. {i}",
                     "name_th": f"{_TH_HEAD[head]}{_TH_TOPIC[topic]} ที่ {i}",
                     "parent": rng.choice(ministries)["code"] if ministries else None})
    out["agencies"].extend(rows)

    site_no = 0
    link_no = 0
    wanted: list[tuple[Any, ...]] = []
    for a_index, agency in enumerate(rows):
        code = agency["code"]
        hq = provs[0] if rng.random() < 0.8 else rng.choice(provs)
        places = [("HQ", hq)] + [(p.iso, p) for p in rng.sample(provs, rng.randint(0, branches))]
        seen: set[str] = set()
        for site_code, prov in places:
            if site_code in seen:
                continue
            seen.add(site_code)
            site_no += 1
            out["sites"].append({
                "agency": code, "code": site_code,
                "name": f"{code} {'head office' if site_code == 'HQ' else 'branch'} "
                        f"{prov.name_en}",
                "province": prov.name_en,
                "latitude": round(prov.latitude + rng.uniform(-0.05, 0.05), 5),
                "longitude": round(prov.longitude + rng.uniform(-0.05, 0.05), 5)})
            platform = rng.choice(CE_PLATFORMS)
            host = f"{code.lower()}-{site_code.lower()}-ce1"
            out["devices"].append({
                "hostname": host, "agency": code, "site": site_code, "role": "ce",
                "platform": platform, "mgmt_address": _mgmt(len(out["devices"])),
                "mgmt_port": 22, "snmp_address": _mgmt(len(out["devices"])),
                "snmp_profile": "gin-v3", "credential_ref": f"vault:agency/{code.lower()}"})
            out["interfaces"].append({"device": host, "name": uplink[platform],
                                      "description": "GIN uplink", "enabled": True,
                                      "speed_mbps": 1000})
            out["interfaces"].append({"device": host, "name": lan[platform],
                                      "description": "agency LAN", "enabled": True,
                                      "speed_mbps": 1000})
            pe = pes[prov.iso][site_no % len(pes[prov.iso])]
            sub = f"{trunk[pe['platform']]}.{pe['vlan']}"
            pe["vlan"] += 1
            out["interfaces"].append({"device": pe["host"], "name": sub,
                                      "description": f"{code} {site_code}", "enabled": True})
            link_no += 1
            link = f"GIN-{code}-{site_code}"
            out["links"].append({
                "name": link, "a_device": pe["host"], "a_interface": sub, "b_device": host,
                "b_interface": uplink[platform], "agency": code, "site": site_code,
                "status": "active", "bandwidth_mbps": rng.choice((10, 20, 50, 100, 1000))})
            wanted.append(("lan", a_index, len(seen), code, site_code, host))
            wanted.append(("p2p", link_no, link))
        if rng.random() < 0.5:
            out["contacts"].append({"agency": code, "name": f"NOC {code}", "role": "noc",
                                    "email": f"noc@{code.lower()}.example.go.th",
                                    "phone": f"+66 2 {rng.randrange(100, 999)} "
                                             f"{rng.randrange(1000, 9999)}"})
    out["prefixes"] = _prefix_rows(rows, wanted) if prefixes else []
    from .exporter import sort_rows  # the order an export of the same directory has

    return sort_rows({k: out[k] for k in ("agencies", "sites", "devices", "interfaces", "links",
                                          "prefixes", "contacts")})


def _mgmt(n: int) -> str:
    """Management addresses from 10.0.0.0/8 (10.x.y.z, skipping .0 and .255)."""
    n += 1
    return f"10.{(n // 254 // 256) % 256}.{(n // 254) % 256}.{n % 254 + 1}"


def _prefix_rows(agencies: list[dict[str, Any]], wanted: list[Any]) -> list[dict[str, Any]]:
    """IPv6 plan: supernet, /48 per agency, /64 LAN per site, /127 per link (RFC 6164)."""
    base = int(SUPERNET.network_address)
    out = [{"prefix": str(SUPERNET), "status": "active", "role": "supernet",
            "description": "GIN IPv6 supernet"},
           {"prefix": str(P2P_POOL), "status": "active", "role": "transit-pool",
            "agency": "GIN", "description": "point-to-point links"}]
    for i, a in enumerate(agencies):
        net = ipaddress.IPv6Network((base + ((i + 1) << 80), 48))
        out.append({"prefix": str(net), "status": "active", "role": "agency",
                    "agency": a["code"]})
    for item in wanted:
        if item[0] == "lan":
            _, a_index, site_index, code, site, host = item
            net = ipaddress.IPv6Network((base + ((a_index + 1) << 80) + (site_index << 72)
                                         + (1 << 64), 64))
            out.append({"prefix": str(net), "status": "active", "role": "lan",
                        "agency": code, "site": site, "device": host})
        else:
            _, n, link = item
            net = ipaddress.IPv6Network((int(P2P_POOL.network_address) + 2 * n, 127))
            out.append({"prefix": str(net), "status": "active", "role": "p2p", "agency": "GIN",
                        "link": link})
    return out


def count_rows(data: dict[str, list[dict[str, Any]]]) -> int:
    return sum(len(v) for v in data.values())
