"""Junos configs as routers print them: braces as well as ``set`` lines, ``inactive:`` and
``deactivate``, comments, and groups applied where ``apply-groups`` names them.  Each is
read into the same statements, cited by the line of the text the auditor holds."""

from __future__ import annotations

import pytest

from audit.checks import BY_ID
from audit.checks.base import Context, Status
from audit.junos_text import BraceError, braces_to_set, expand_groups, is_braces
from audit.parse import AuditParseError, parse

BRACES = """\
## Last commit: 2026-11-30 10:00:00 UTC by admin
version 21.4R3.15;
system {
    host-name r1;
    /* a comment
       over two lines */
    login {
        user admin {
            uid 2000;
            class super-user;
            authentication {
                encrypted-password "$6$abc$def"; ## SECRET-DATA
            }
        }
    }
    services {
        ssh;
        inactive: telnet;
    }
}
protocols {
    bgp {
        group EXT {
            type external;
            import [ BOGONS AGENCY ];
            peer-as 65001;
            inactive: neighbor 192.0.2.9;
            neighbor 192.0.2.1 {
                description "edge { to } agency";
            }
        }
    }
}
"""


def test_braces_become_set_lines_with_their_own_line_numbers() -> None:
    assert is_braces(BRACES) and not is_braces("set version 21.4\nset system host-name r\n")
    lines, origin = braces_to_set(BRACES)
    numbered = dict(zip(lines, origin, strict=True))
    assert numbered["set version 21.4R3.15"] == 2
    assert numbered["set system login user admin authentication encrypted-password "
                    '"$6$abc$def"'] == 12
    assert numbered["set system services ssh"] == 17
    assert numbered["set protocols bgp group EXT import [ BOGONS AGENCY ]"] == 25
    assert numbered['set protocols bgp group EXT neighbor 192.0.2.1 description '
                    '"edge { to } agency"'] == 29
    # what is inactive is not in force; comments are not statements
    assert not any("telnet" in ln or "192.0.2.9" in ln or "comment" in ln for ln in lines)


def test_an_empty_block_is_a_statement() -> None:
    lines, _ = braces_to_set("interfaces {\n    lo0 {\n        unit 0 {\n"
                             "            family inet6;\n        }\n    }\n}\n"
                             "system {\n    services {\n        netconf {\n        }\n    }\n}\n")
    assert lines == ["set interfaces lo0 unit 0 family inet6", "set system services netconf"]


@pytest.mark.parametrize("cut", [BRACES[:BRACES.index("    services {")],
                                 BRACES + "}\n", 'system {\n    host-name "r1;\n}\n',
                                 "system {\n    /* never closed\n}\n"])
def test_braces_that_do_not_balance_are_one_clear_error(cut: str) -> None:
    with pytest.raises(BraceError):
        braces_to_set(cut)
    with pytest.raises(AuditParseError, match="braces"):
        parse(cut, "juniper_junos")


def test_the_checks_read_braces_and_cite_their_lines() -> None:
    config = parse(BRACES, "juniper_junos")
    assert config.incomplete is None
    ssh = BY_ID["mgmt.ssh_v2_only"].run(config, "juniper_junos", Context(device="r1"))
    assert ssh.status is Status.PASS, ssh  # telnet is inactive
    users = BY_ID["auth.local_users"].run(config, "juniper_junos", Context(device="r1"))
    assert users.status is Status.PASS and users.evidence[0][0] == 12
    assert "$6$" not in users.evidence[0][1]  # the hash itself is never cited


def test_deactivated_set_lines_are_not_in_force() -> None:
    text = ("set version 21.4R3\nset system services ssh\nset system services telnet\n"
            "deactivate system services telnet\n")
    config = parse(text, "juniper_junos")
    ssh = BY_ID["mgmt.ssh_v2_only"].run(config, "juniper_junos", Context(device="r1"))
    assert ssh.status is Status.PASS, ssh


def test_groups_apply_where_apply_groups_names_them() -> None:
    statements = [line.split()[1:] for line in """\
set groups BGP protocols bgp group <*> peer-as 65001
set groups BGP protocols bgp group <*> import GIN-IN
set groups IF interfaces <ge-*> unit 0 family inet6
set groups SYS system authentication-order [ tacplus password ]
set groups NEST system apply-groups SYS
set apply-groups NEST
set protocols bgp group EXT neighbor 192.0.2.1
set protocols bgp group EXT apply-groups BGP
set interfaces ge-0/0/0 unit 0 family inet address 192.0.2.0/31
set interfaces xe-0/1/0 unit 0 family inet address 192.0.2.2/31
set apply-groups IF""".splitlines()]
    inherited = {" ".join(words) for _, words in expand_groups(statements)}
    assert inherited == {
        "protocols bgp group EXT peer-as 65001", "protocols bgp group EXT import GIN-IN",
        "interfaces ge-0/0/0 unit 0 family inet6",
        "system authentication-order [ tacplus password ]"}


def test_a_bgp_group_inheriting_peer_as_and_import_is_judged_by_them() -> None:
    base = ("set version 21.4R3\nset routing-options autonomous-system 65000\n"
            "set groups EDGE protocols bgp group <*> peer-as 65001\n"
            "set protocols bgp group EXT neighbor 192.0.2.1\n"
            "set protocols bgp group EXT apply-groups EDGE\n")
    check = BY_ID["route.bgp_inbound_filter"]
    ctx = Context(device="r1", role="pe")
    bare = check.run(parse(base, "juniper_junos"), "juniper_junos", ctx)
    assert bare.status is Status.FAIL, bare  # the inherited peer-as makes it eBGP
    policy = ("set groups EDGE protocols bgp group <*> import GIN-IN\n"
              "set policy-options policy-statement GIN-IN term a from prefix-list A\n"
              "set policy-options policy-statement GIN-IN term a then accept\n"
              "set policy-options policy-statement GIN-IN then reject\n"
              "set policy-options prefix-list A 2001:db8:10::/48\n")
    filtered = check.run(parse(base + policy, "juniper_junos"), "juniper_junos", ctx)
    assert filtered.status is Status.PASS, filtered
    assert any("set groups EDGE" in text for _, text in filtered.evidence)


def test_an_input_filter_list_on_lo0_protects_the_routing_engine() -> None:
    text = """\
version 21.4R3.15;
interfaces {
    lo0 {
        unit 0 {
            family inet6 {
                filter {
                    input-list [ ACCEPT-MGMT DISCARD-ALL ];
                }
            }
        }
    }
}
firewall {
    family inet6 {
        filter ACCEPT-MGMT {
            term ssh {
                then accept;
            }
        }
        filter DISCARD-ALL {
            term all {
                then discard;
            }
        }
    }
}
"""
    check = BY_ID["mgmt.access_acl"]
    ctx = Context(device="r1")
    assert check.run(parse(text, "juniper_junos"), "juniper_junos", ctx).status is Status.PASS
    half = text.replace("        filter DISCARD-ALL {\n            term all {\n"
                        "                then discard;\n            }\n        }\n", "")
    result = check.run(parse(half, "juniper_junos"), "juniper_junos", ctx)
    assert result.status is Status.FAIL and result.evidence[0][0] == 7, result


def test_a_statement_written_in_place_overrides_the_group_and_except_keeps_it_out() -> None:
    text = ("set version 21.4R3\nset routing-options autonomous-system 65000\n"
            "set groups EDGE protocols bgp group <*> peer-as 65001\n"
            "set protocols bgp apply-groups EDGE\n"
            "set protocols bgp group CORE neighbor 192.0.2.1\n"
            "set protocols bgp group CORE peer-as 65000\n"
            "set protocols bgp group RR neighbor 192.0.2.2\n"
            "set protocols bgp group RR apply-groups-except EDGE\n")
    result = BY_ID["route.bgp_inbound_filter"].run(parse(text, "juniper_junos"),
                                                    "juniper_junos", Context(device="r1"))
    # CORE's own peer-as 65000 wins over the group's; RR does not take the group at all
    assert result.status is Status.NOT_APPLICABLE, result
