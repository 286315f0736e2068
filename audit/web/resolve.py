"""Host names to addresses (A and AAAA), asked of a DNS server: the AAAA answer is itself
evidence (IPv6 readiness), so the records are kept, not only one address to connect to.

``nameserver`` (``ADDR`` or ``ADDR:PORT``) names the server to ask (a lab's dnsmasq on
loopback, or an agency's authoritative server); without it the system's resolvers
(/etc/resolv.conf) are asked.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field
from typing import Any

from devices.errors import ConfigError

TIMEOUT = 3.0


@dataclass
class Addresses:
    """What DNS said for one name; ``error`` is set when it could not be asked."""

    v4: list[str] = field(default_factory=list)
    v6: list[str] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_nameserver(text: str) -> tuple[str, int]:
    """``127.0.0.1``, ``127.0.0.1:5353``, ``::1`` or ``[::1]:5353`` -> (address, port)."""
    raw = text.strip()
    host, port = raw, 53
    if raw.startswith("["):
        host, _, rest = raw[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
        if rest and not port_text:
            raise ConfigError(f"nameserver {text!r}: expected [ADDR]:PORT")
        port = int(port_text) if port_text.isdigit() else 53 if not port_text else -1
    elif raw.count(":") == 1:
        host, _, port_text = raw.partition(":")
        port = int(port_text) if port_text.isdigit() else -1
    try:
        address = str(ipaddress.ip_address(host))
    except ValueError:
        raise ConfigError(f"nameserver {text!r}: not an IP address") from None
    if not 1 <= port <= 65535:
        raise ConfigError(f"nameserver {text!r}: port must be 1..65535")
    return address, port


def resolver(nameserver: str | None = None) -> Any:
    """A dnspython resolver asking ``nameserver`` (or the system's)."""
    import dns.resolver

    if nameserver is None:
        res = dns.resolver.Resolver()
    else:
        address, port = parse_nameserver(nameserver)
        res = dns.resolver.Resolver(configure=False)
        res.nameservers = [address]
        res.port = port
    res.lifetime = TIMEOUT
    return res


def resolve(name: str, res: Any) -> Addresses:
    """A and AAAA records of ``name``; "no such record" is an empty list, not an error."""
    import dns.exception
    import dns.resolver

    out = Addresses()
    for rtype, bucket in (("A", out.v4), ("AAAA", out.v6)):
        try:
            answer = res.resolve(name, rtype, search=False)
            bucket.extend(sorted({r.address for r in answer}))
        except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
            continue
        except dns.exception.DNSException as exc:
            out.error = f"{rtype} {name}: {type(exc).__name__}"
    return out
