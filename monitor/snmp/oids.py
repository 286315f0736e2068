"""The numeric OIDs the poller reads (no MIB files at run time: Debian ships no IETF MIBs).

Columns are grouped by how often they change: counters every poll, static columns
(names, aliases, speed) every ``static_interval``.  The benchmark's snmp_exporter
configuration is generated from these same tables, so both sides walk the same data.
"""

from __future__ import annotations

from monitor.snmp.ber import oid_content

IF = "1.3.6.1.2.1.2.2.1"  # IF-MIB ifTable
IFX = "1.3.6.1.2.1.31.1.1.1"  # IF-MIB ifXTable

# metric key -> column OID, polled every time
IF_COUNTERS: dict[str, str] = {
    "oper_status": f"{IF}.8",
    "admin_status": f"{IF}.7",
    "in_octets": f"{IFX}.6",  # ifHCInOctets
    "out_octets": f"{IFX}.10",  # ifHCOutOctets
    "in_unicast_packets": f"{IFX}.7",  # ifHCInUcastPkts
    "out_unicast_packets": f"{IFX}.11",  # ifHCOutUcastPkts
    "in_errors": f"{IF}.14",
    "out_errors": f"{IF}.20",
    "in_discards": f"{IF}.13",
    "out_discards": f"{IF}.19",
}

# refreshed every static_interval, after a reboot, or when a new ifIndex appears
IF_STATIC: dict[str, str] = {
    "name": f"{IFX}.1",  # ifName
    "alias": f"{IFX}.18",  # ifAlias
    "high_speed": f"{IFX}.15",  # ifHighSpeed (Mb/s)
}

SYS_UPTIME = "1.3.6.1.2.1.1.3.0"  # sysUpTime.0, TimeTicks

# IP-MIB ipSystemStatsTable, row ipVersion=2 (ipv6): fetched with one GET
# (column numbers checked against net-snmp 5.9: the HC columns are the Counter64 ones)
IP6_STATS: dict[str, str] = {
    "in_receives": "1.3.6.1.2.1.4.31.1.1.4.2",  # ipSystemStatsHCInReceives
    "in_octets": "1.3.6.1.2.1.4.31.1.1.6.2",  # ipSystemStatsHCInOctets
    "in_delivers": "1.3.6.1.2.1.4.31.1.1.19.2",  # ipSystemStatsHCInDelivers
    "out_requests": "1.3.6.1.2.1.4.31.1.1.21.2",  # ipSystemStatsHCOutRequests
    "out_octets": "1.3.6.1.2.1.4.31.1.1.33.2",  # ipSystemStatsHCOutOctets
    "in_hdr_errors": "1.3.6.1.2.1.4.31.1.1.7.2",  # ipSystemStatsInHdrErrors
    "in_discards": "1.3.6.1.2.1.4.31.1.1.17.2",  # ipSystemStatsInDiscards
    "out_discards": "1.3.6.1.2.1.4.31.1.1.25.2",  # ipSystemStatsOutDiscards
}

# HOST-RESOURCES-MIB, where the agent has it
HR_PROCESSOR_LOAD = "1.3.6.1.2.1.25.3.3.1.2"
HR_STORAGE: dict[str, str] = {
    "type": "1.3.6.1.2.1.25.2.3.1.2",
    "units": "1.3.6.1.2.1.25.2.3.1.4",
    "size": "1.3.6.1.2.1.25.2.3.1.5",
    "used": "1.3.6.1.2.1.25.2.3.1.6",
}
HR_STORAGE_RAM = oid_content("1.3.6.1.2.1.25.2.1.2")

# BGP peer tables: MIB name -> {column key: column OID}.  Each table is indexed by the
# peer's address; the state column is the BGP FSM state (1 idle, 2 connect, 3 active,
# 4 opensent, 5 openconfirm, 6 established) in all three.
BGP4_PEER = "1.3.6.1.2.1.15.3.1"  # BGP4-MIB bgpPeerEntry, index = IPv4 address (4 sub-ids)
# FRR >= 8.5 BGP4V2-MIB bgp4V2PeerEntry (FRR's enterprise copy of the IETF draft);
# index ends in the InetAddress (4 or 16 sub-ids), after its type (and length or instance)
BGP4V2_PEER = "1.3.6.1.4.1.7336.4.2.1.1.2.1"
# CISCO-BGP4-MIB cbgpPeer2Entry (IPv4 and IPv6 peers), index = type.length.address
CBGP_PEER2 = "1.3.6.1.4.1.9.9.187.1.2.5.1"
BGP_TABLES: dict[str, dict[str, str]] = {
    "bgp4": {"state": f"{BGP4_PEER}.2", "remote_as": f"{BGP4_PEER}.9"},
    "bgp4v2": {"state": f"{BGP4V2_PEER}.13", "remote_as": f"{BGP4V2_PEER}.10"},
    "cisco": {"state": f"{CBGP_PEER2}.3", "remote_as": f"{CBGP_PEER2}.11"},
}
BGP_ESTABLISHED = 6
# Which of these MIBs a device serves is its platform's `snmp.bgp_mibs` (the platform table,
# devices/platforms/<name>/platform.yaml); a profile's `bgp:` overrides.

# trap OIDs (snmpTrapOID.0 values)
SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
TRAPS: dict[str, str] = {
    "1.3.6.1.6.3.1.1.5.1": "coldStart",
    "1.3.6.1.6.3.1.1.5.2": "warmStart",
    "1.3.6.1.6.3.1.1.5.3": "linkDown",
    "1.3.6.1.6.3.1.1.5.4": "linkUp",
    "1.3.6.1.6.3.1.1.5.5": "authenticationFailure",
}


def encoded(table: dict[str, str]) -> dict[str, bytes]:
    """The same table with BER content bytes as values."""
    return {k: oid_content(v) for k, v in table.items()}
