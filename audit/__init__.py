"""Security posture for auditors: evidence -> checks -> reports.

- :mod:`audit.assess`: the audit as one call (a scope and the evidence at hand -> every
  finding in scope), the stored runs rendered again, and the web scan;
- :mod:`audit.evidence`: config backups (versions by SHA-256, diffs) and config folders;
  :mod:`audit.sources` turns them into sources and attaches the other evidence:
  :mod:`audit.host` (Linux routers' /etc: sshd, rsyslog, chrony, snmpd, nftables),
  :mod:`audit.changes` (config changes between backups against the change log) and
  :mod:`audit.monitoring` (Prometheus: scraped and up, threat events);
- :mod:`audit.parse`: a config parsed once, with line numbers for the evidence;
- :mod:`audit.checks`: small data-driven checks, one module per family, each registering
  itself in :mod:`audit.checks.registry` for the subject it judges (a config, a directory
  record, a VPN gateway, a scanned web host); controls come from the framework files in
  ``audit/data`` (:mod:`audit.catalogue`);
- :mod:`audit.runner`: runs every registered check, over many configs (parsed once) and
  over the other subjects, into :mod:`audit.findings`;
- :mod:`audit.history`: runs stored once in the directory's database, and the trend;
- :mod:`audit.report`: JSON, CSV, HTML (and PDF through :mod:`audit.pdf`), OSCAL
  assessment results (:mod:`audit.oscal`).
"""
