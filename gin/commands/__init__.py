"""Sub-command groups of the ``gin`` CLI, one module each, imported when their command runs."""

from __future__ import annotations

from gin.lazy_group import LazyCommand

#: The root's groups.  The help is the first line of each group's docstring (a unit test keeps
#: them equal), so ``gin --help`` lists them without importing any.
ROOT_COMMANDS: dict[str, LazyCommand] = {
    "audit": LazyCommand(
        "gin.commands.audit:audit",
        "Security posture: config backups, ISO/IEC 17799 checks, auditor reports."),
    "device": LazyCommand(
        "gin.commands.device:device",
        "Routers and VPN gateways: recover changes a killed gin left half done, show locks."),
    "directory": LazyCommand(
        "gin.commands.directory:directory",
        "The agency network directory: agencies, sites, devices, prefixes, history."),
    "job": LazyCommand(
        "gin.commands.job:job",
        "Jobs of `gin serve` (provision, deploy, backup, audit): list, show, wait for one."),
    "lab": LazyCommand(
        "gin.commands.lab:lab",
        "Real FRR routers in Linux network namespaces, reachable over SSH and SNMPv3."),
    "link": LazyCommand(
        "gin.commands.link:link",
        "GIN links: plan -> render -> provision (push, verify, roll back) -> record."),
    "monitor": LazyCommand(
        "gin.commands.monitor:monitor",
        "SNMP health to Prometheus: the agent, one-shot polls, scrape config, rules, "
        "dashboards."),
    "serve": LazyCommand(
        "gin.commands.serve:serve",
        "Serve the directory's API to the whole GIN team (users and tokens: gin user --help)."),
    "user": LazyCommand(
        "gin.commands.user:user",
        "Users, their roles over scopes, and API tokens of `gin serve`."),
    "vpn": LazyCommand(
        "gin.commands.vpn:vpn",
        "VPN tunnels between agencies: create, list, show, render, rotate, rm; the CA and "
        "gateway certificates (ca, cert, crl)."),
    "worker": LazyCommand(
        "gin.commands.worker:worker",
        "Run the long operations of `gin serve` (jobs) until stopped; needs PostgreSQL."),
}
