"""What happened on the network, as evidence: link faults (10.10.5) and the SOC's answer
to threats (13.2.1).

- ``ops.link_faults`` reads the device's link outages in the audit window from Prometheus
  (:mod:`audit.outages`): every outage is shown with when it began and ended and whether
  GinLinkDown told the SOC.  A link still down at the audit is an open fault (fail); faults
  that were cleared pass, shown.
- ``inc.gsi_response`` reads the high or critical threat events from the device's agency's hosts
  (Prometheus) and the GSI blocks of that agency's sources (the directory's change log,
  :mod:`audit.gsi`): who cut the source off, when, why, on which edge routers, and who lifted
  it.  Serious threat events with no block recorded are a threat left unanswered (fail).

Both read only the context (they run whether or not the config could be read) and are
"unknown" when their evidence was not consulted (no ``--prometheus``; no directory).
"""

from __future__ import annotations

from audit.checks.base import Check, Context, Result, Status
from audit.checks.registry import register
from audit.parse import ParsedConfig

SHOWN = 10


def _hours(ctx: Context) -> str:
    window = ctx.monitor.window if ctx.monitor else None
    return f"{window.total_seconds() / 3600:g} h" if window else "?"


def link_faults(config: ParsedConfig | None, ctx: Context) -> Result:
    """10.10.5: the device's link faults are logged (Prometheus' samples and GinLinkDown's
    history) and cleared."""
    fact = ctx.monitor
    if fact is None or fact.outages is None:
        return Result(Status.UNKNOWN, "no Prometheus consulted (give --prometheus URL)")
    if not fact.interfaces and not fact.outages:
        return Result(Status.UNKNOWN, f"no interface status in Prometheus for this device "
                                      f"in the last {_hours(ctx)}: its link faults cannot be "
                                      "seen")
    lines = tuple((None, o.line()) for o in fact.outages[:SHOWN])
    open_ = [o for o in fact.outages if o.end is None]
    if open_:
        return Result(Status.FAIL, f"{len(open_)} link(s) down now while administratively "
                                   f"up ({', '.join(o.ifname for o in open_[:SHOWN])}): an "
                                   "open fault", lines)
    if fact.outages:
        return Result(Status.PASS, f"{len(fact.outages)} link fault(s) in the last "
                                   f"{_hours(ctx)}, all cleared", lines)
    return Result(Status.PASS, f"no link fault in the last {_hours(ctx)} "
                               f"({fact.interfaces} interface(s) watched)")


def gsi_response(config: ParsedConfig | None, ctx: Context) -> Result:
    """13.2.1: the SOC answers serious threat events from the agency: the source is cut off
    (a GSI block, recorded with who, when and why) or the block is on record anyway."""
    fact, blocks = ctx.monitor, ctx.blocks
    block_lines = tuple((None, line) for b in (blocks or ())[:SHOWN] for line in b.lines())
    if fact is None:
        return Result(Status.UNKNOWN, "no Prometheus consulted (give --prometheus URL): the "
                                      "agency's threat events are not known", block_lines)
    threat_lines = tuple((None, t) for t in fact.threats)
    if not fact.serious:
        if blocks:
            return Result(Status.PASS, f"no serious threat event; {len(blocks)} GSI block(s) "
                                       "recorded", (*threat_lines, *block_lines))
        return Result(Status.NOT_APPLICABLE, "no serious threat event from the agency"
                      + (" and no GSI block" if blocks is not None else ""), threat_lines)
    if blocks is None:
        return Result(Status.UNKNOWN, "no directory consulted: the GSI blocks (its change "
                                      "log) are not known", threat_lines)
    evidence = (*threat_lines, *block_lines)
    if not blocks:
        return Result(Status.FAIL, "serious threat events from the agency "
                                   f"({', '.join(fact.serious)}) and no GSI block recorded: "
                                   "the source was not cut off", evidence)
    return Result(Status.PASS, f"serious threat events ({', '.join(fact.serious)}) "
                               f"answered by {len(blocks)} GSI block(s)", evidence)


LINK_FAULTS = Check(
    id="ops.link_faults",
    title="Link faults logged and cleared",
    severity="medium",
    rules={"*": link_faults},  # type: ignore[dict-item]
    remediation={"*": ["gin link show <link>  # its two ends: fix the port, the cable or the peer",
                       "gin monitor poll  # the interface reads up again"]},
    context_only=True,
)
GSI_RESPONSE = Check(
    id="inc.gsi_response",
    title="Serious threat events answered (GSI cut-off recorded)",
    severity="medium",
    rules={"*": gsi_response},  # type: ignore[dict-item]
    remediation={"*": ["gin monitor respond --block <source> --ttl 3600 --reason <why>"]},
    context_only=True,
)

CHECKS = register(LINK_FAULTS, GSI_RESPONSE)
