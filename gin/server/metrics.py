"""What the service counts for Prometheus: logins, refusals, token use (``/api/v1/metrics``).

Per process, as Prometheus expects (each ``gin serve`` is scraped on its own); label values
are a small fixed set, never a user name or an address.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, generate_latest

REGISTRY = CollectorRegistry(auto_describe=True)
LOGINS = Counter("gin_api_logins", "Password logins by result (success, failure, throttled).",
                 ["result"], registry=REGISTRY)
REFUSALS = Counter("gin_api_refusals", "Requests refused: 401 not authenticated, 403 not "
                   "permitted.", ["status"], registry=REGISTRY)
TOKENS = Counter("gin_api_token_authentications", "Bearer tokens presented, by result "
                 "(accepted, rejected).", ["result"], registry=REGISTRY)

for _result in ("success", "failure", "throttled"):
    LOGINS.labels(_result)
for _status in ("401", "403"):
    REFUSALS.labels(_status)
for _result in ("accepted", "rejected"):
    TOKENS.labels(_result)


def exposition() -> bytes:
    return generate_latest(REGISTRY)
