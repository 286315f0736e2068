"""Security posture for auditors: evidence -> checks -> reports.

- :mod:`audit.evidence`: config backups (versions by SHA-256, diffs) and config folders;
- :mod:`audit.parse`: a config parsed once, with line numbers for the evidence;
- :mod:`audit.checks`: small data-driven checks per platform, mapped to controls by the
  framework files in ``audit/data`` (:mod:`audit.catalogue`);
- :mod:`audit.runner`: every check over many configs; :mod:`audit.report`: JSON, CSV,
  HTML (and PDF through :mod:`audit.pdf`), with the trend from :mod:`audit.history`.
"""
