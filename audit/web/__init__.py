"""Agencies' public websites in the posture audit: TLS, HTTP headers, IPv6.

- :mod:`audit.web.scan`: the directory's services -> one evidence record per host name,
  built from :mod:`~audit.web.resolve` (A/AAAA), :mod:`~audit.web.http` (redirect,
  headers, cookies), :mod:`~audit.web.tls` (sslyze) and :mod:`~audit.web.ipv6`;
- :mod:`audit.web.evidence`: the records stored per run (what a report is rebuilt from);
- :mod:`audit.web.checks`: records -> findings in the same catalogue and report as the
  network checks, with the fixes of :mod:`~audit.web.remediation`;
- :mod:`audit.web.metrics`: ``gin_web_cert_expiry_seconds`` for the monitor agent;
- :mod:`audit.web.lab`: nginx + dnsmasq + a test CA on loopback (tests, demo, bench).
"""
