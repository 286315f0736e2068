"""Security posture for auditors: evidence -> checks -> reports.

- :mod:`audit.evidence`: config backups (versions by SHA-256, diffs) and config folders;
  :mod:`audit.sources` turns them into sources and attaches the other evidence:
  :mod:`audit.host` (Linux routers' /etc: sshd, rsyslog, chrony, snmpd, nftables),
  :mod:`audit.changes` (config changes between backups against the change log) and
  :mod:`audit.monitoring` (Prometheus: scraped and up, threat events);
- :mod:`audit.parse`: a config parsed once, with line numbers for the evidence;
- :mod:`audit.checks`: small data-driven checks per platform, mapped to controls by the
  framework files in ``audit/data`` (:mod:`audit.catalogue`);
- :mod:`audit.runner`: every check over many configs, and :func:`audit.runner.finding`
  for findings from any other evidence source (merged with :func:`audit.runner.combine`);
- :mod:`audit.report`: JSON, CSV, HTML (and PDF through :mod:`audit.pdf`), OSCAL
  assessment results (:mod:`audit.oscal`), with the trend from :mod:`audit.history`.
"""
