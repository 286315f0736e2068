"""The baseline gin pushes is the baseline gin audits: the configs rendered by
``links.render`` pass every applicable check by construction.

Rendered text is wrapped as the router would show it (``as_running``: FRR's version stamp
and IOS's final ``end``), since a config without them reads as cut short.  (This test found
two real gaps in the CE templates, a missing IPv4 inbound prefix-list on IOS and a missing
import policy on Junos; both were fixed in the templates, not in the checks.)
"""

from __future__ import annotations

import pytest

from audit.checks import ALL
from audit.checks.host import NO_HOST
from links.render import render
from tests.unit.audit.conftest import as_running, audit_text
from tests.unit.links.conftest import make_intent

CASES = [(p, host) for p in ("frr", "cisco_ios", "cisco_xe", "juniper_junos")
         for host in ("pe1", "ce1")]


@pytest.mark.parametrize("platform,host", CASES)
def test_rendered_config_passes_every_applicable_check(platform: str, host: str) -> None:
    text = as_running(platform, render(make_intent(platform))[host])
    audit = audit_text(text, platform, role=host[:2])
    assert audit.error is None
    bad = {f.check: (f.status.value, f.reason) for f in audit.findings
           if f.status.value not in ("pass", "not_applicable")}
    if platform == "frr":
        # gin renders FRR's vtysh config, not the host's /etc: those checks wait for the
        # host evidence, and say so
        host_checks = {c.id for c in ALL if c.rules.get("frr") is not None
                       and c.rules["frr"].__module__ == "audit.checks.host"}
        assert set(bad) == host_checks
        assert all(s == "unknown" and NO_HOST in r for s, r in bad.values()), bad
        return
    assert bad == {}
