"""What each kind of job does: the same importable calls as the CLI's commands, with the
job's log and progress in place of the terminal's progress bar.

Each function takes a :class:`~gin.server.jobs.JobContext` and returns (ok, result).  The
result holds what the CLI would print (statuses, counts, ids), never a config or a secret:
config diffs stay in the change log, where they are redacted.

Each function calls :meth:`~gin.server.jobs.JobContext.checkpoint` where stopping leaves
nothing half done, so a cancelled job stops there: between links (each link's converge,
with its restore, is whole), between tunnels (each deploy, with its put-back, is whole) and
between batches of devices backed up.  An audit or a web scan stores its run whole: it
stops only before it starts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from .jobs import JobContext, JobFunction

#: converge() steps a link ends after on each of its two routers (read, diff, push,
#: read back, save) and once for both (verify): the progress total of one link
STEPS_PER_LINK = 2 * 5 + 1
#: vpn.deploy's steps on each of a tunnel's two gateways (render, read, push, read back) and
#: once for the tunnel (verify): the progress total of one tunnel; the record is one more
STEPS_PER_TUNNEL = 2 * 4 + 1
#: devices backed up at once (audit.evidence.backup's connections); a cancelled backup
#: stops between two such batches
BACKUP_BATCH = 8


def _counting(ctx: JobContext, what: str) -> Callable[[int], Any]:
    """A ``progress(total)`` context manager (as the audit calls take) that advances the
    job's progress by one per item."""

    @contextmanager
    def progress(total: int) -> Iterator[Callable[[], None]]:
        ctx.progress(0, total)
        ctx.log(f"{total} {what} to go")
        yield ctx.advance

    return progress


def provision(ctx: JobContext) -> tuple[bool, dict[str, Any]]:
    """``gin link provision``: converge each link's routers, verify, roll back what fails."""
    from devices import transport as transports
    from links import provision as prov

    names = list(ctx.params["links"])
    ctx.progress(0, STEPS_PER_LINK * len(names))
    transport = transports.get(ctx.params.get("via", "netmiko"))
    results: list[Any] = []
    for name in names:
        ctx.checkpoint({"links": [_link_row(r) for r in results]})
        results += prov.provision(ctx.directory, [name], transport,
                                  verify_timeout=float(ctx.params.get("verify_timeout", 45)),
                                  with_ping=bool(ctx.params.get("ping", True)),
                                  observer=ctx.observer,
                                  on_done=lambda r: ctx.log(f"link {r.link}: {r.status}"
                                                            + (f" ({r.message})" if r.message
                                                               else "")))
    rows = [_link_row(r) for r in results]
    ok = all(prov.EXIT[r.status] == 0 for r in results)
    return ok, {"links": rows, **({} if ok else {"message": "; ".join(
        f"{r.link}: {r.status}" for r in results if prov.EXIT[r.status])})}


def _link_row(r: Any) -> dict[str, Any]:
    return {"link": r.link, "status": r.status, "message": r.message, "checks": r.checks,
            "restored": r.restored,
            "pushed": {h: len(v) for h, v in r.diff.items()} if r.status != "no change"
            else {}}


def deploy(ctx: JobContext) -> tuple[bool, dict[str, Any]]:
    """``gin vpn deploy``: both gateways of each tunnel, brought up, or put back."""
    from vpn import deploy as deploying

    names = list(ctx.params["tunnels"])
    total = STEPS_PER_TUNNEL * len(names) + 1
    ctx.progress(0, total)
    results: list[Any] = []
    for name in names:
        ctx.checkpoint({"tunnels": [r.as_dict() for r in results]})
        for r in deploying.deploy(ctx.directory, [name],
                                  verify=bool(ctx.params.get("verify", True)),
                                  via=ctx.params.get("via", "netmiko"), observer=ctx.observer):
            ctx.log(f"tunnel {r.tunnel}: {r.result}" + (f" ({r.message})" if r.message else ""))
            results.append(r)
    ok = all(deploying.EXIT[r.result] == 0 for r in results)
    if ok:  # a side with no change skips no step, but a tunnel with none skips its verify
        ctx.progress(total, total)
    return ok, {"tunnels": [r.as_dict() for r in results], **({} if ok else {"message": "; ".join(
        f"{r.tunnel}: {r.result}" for r in results if deploying.EXIT[r.result])})}


def withdraw(ctx: JobContext) -> tuple[bool, dict[str, Any]]:
    """``gin vpn withdraw``: each tunnel removed from both ends, its record back to planned
    (a side that fails puts back what the gateways had, and the job fails with why)."""
    from devices.errors import GinError
    from vpn import deploy as deploying
    from vpn import tunnels
    from vpn.render import linux_gateway

    names = list(ctx.params["tunnels"])
    with ctx.directory.transaction() as s:  # a gateway's removal is one step, a router's five
        total = sum(1 + sum(1 if linux_gateway(dev.platform) else 5
                            for dev in (t.a_device, t.b_device))
                    for t in (tunnels.get_tunnel(s, n) for n in names))
    ctx.progress(0, total)
    rows: list[dict[str, Any]] = []
    for name in names:
        ctx.checkpoint({"tunnels": rows})
        try:
            for withdrawn in deploying.withdraw(ctx.directory, [name],
                                                via=ctx.params.get("via", "netmiko"),
                                                observer=ctx.observer):
                ctx.log(f"tunnel {withdrawn}: withdrawn (recorded planned)")
                rows.append({"tunnel": withdrawn, "result": "withdrawn"})
        except (GinError, OSError) as exc:  # put back already: say which tunnel and why
            ctx.log(f"tunnel {name}: failed ({exc})")
            rows.append({"tunnel": name, "result": "failed", "message": str(exc)})
            return False, {"tunnels": rows, "message": f"{name}: failed ({exc})"}
    ctx.progress(total, total)
    return True, {"tunnels": rows}


def backup(ctx: JobContext) -> tuple[bool, dict[str, Any]]:
    """``gin audit backup``: running configs (and host files) into the data directory."""
    from audit.evidence import BackupStore
    from audit.evidence import backup as collect
    from devices import transport as transports

    devices = list(ctx.params.get("devices") or ())
    if not devices:
        with ctx.directory.transaction() as s:
            from directory import models as m
            from directory import store

            devices = [d.hostname for d in store.list_all(s, m.Device, m.Device.hostname)]
    ctx.progress(0, len(devices))
    transport, kept = transports.get(ctx.params.get("via", "netmiko")), BackupStore()
    rows: list[dict[str, Any]] = []
    for start in range(0, len(devices), BACKUP_BATCH):
        ctx.checkpoint({"devices": rows})
        for r in collect(ctx.directory, transport, devices[start:start + BACKUP_BATCH], kept,
                         advance=ctx.advance, host_files=bool(ctx.params.get("host_files"))):
            row = {"device": r.device, "what": r.what, "status": r.status, "sha256": r.sha256,
                   "time": r.time.isoformat(timespec="seconds") if r.time else None,
                   "error": r.error}
            ctx.log(f"{row['device']} {row['what']}: {row['status']}"
                    + (f" ({row['error']})" if row["error"] else ""))
            rows.append(row)
    failed = [r["device"] for r in rows if r["status"] == "failed"]
    return not failed, {"devices": rows, **({"message": f"not backed up: {', '.join(failed)}"}
                                            if failed else {})}


def audit(ctx: JobContext) -> tuple[bool, dict[str, Any]]:
    """``gin audit check``: every check on the newest backups, stored as a run."""
    from audit import assess

    agency, ministry = ctx.params.get("agency"), ctx.params.get("ministry")
    scope = assess.scope_of(ctx.directory, agency, ministry)
    evidence = assess.Evidence(directory=ctx.directory, prometheus=ctx.params.get("prometheus"),
                               max_age_days=int(ctx.params.get("max_age_days", 7)))
    result = assess.assess(scope, evidence, store=True, progress=_counting(ctx, "configs"))
    for path, why in result.skipped:
        ctx.log(f"skipped {path}: {why}")
    counts = {s: sum(1 for a in result.audits for f in a.findings if f.status.value == s)
              for s in ("pass", "fail", "unknown", "not_applicable")}
    ctx.log(f"run {result.run_id} recorded: {len(result.audits)} subjects, {counts}")
    return True, {"run": result.run_id, "scope": scope.name, "subjects": len(result.audits),
                  **counts}


def web_scan(ctx: JobContext) -> tuple[bool, dict[str, Any]]:
    """``gin audit web``: the agencies' public services scanned, kept as evidence."""
    from audit import assess

    result = assess.scan_web(ctx.directory, ctx.params.get("agency"),
                             ctx.params.get("nameserver"),
                             progress=_counting(ctx, "hosts"))
    for r in result.records:
        ctx.log(f"{r.get('host')}: " + (f"did not answer ({r['error']})" if r.get("error")
                                        else "scanned"))
    rows = [{"host": a.device, "agency": a.agency,
             **{s: sum(1 for f in a.findings if f.status.value == s)
                for s in ("pass", "fail", "unknown")}} for a in result.audits]
    return not result.unreachable, {"hosts": rows, **(
        {"message": f"did not answer: {', '.join(result.unreachable)}"}
        if result.unreachable else {})}


#: Every kind of job, by the name recorded in ``gin_job.kind``.
KINDS: dict[str, JobFunction] = {"provision": provision, "deploy": deploy,
                                 "withdraw": withdraw, "backup": backup, "audit": audit,
                                 "web_scan": web_scan}
