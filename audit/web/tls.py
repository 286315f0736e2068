"""TLS facts of many endpoints at once, through sslyze (a maintained scanner, not our own
TLS client): protocol versions and cipher suites accepted, the certificate chain, the leaf's
names, expiry and key, and whether an OCSP response is stapled.

The scanner connects to the address we give (so test names never touch /etc/hosts) and
sends the host name as SNI.  What comes back is plain JSON-able data (:class:`TlsFacts`):
the checks judge it later, and the evidence store keeps it as it was seen.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

PROTOCOLS = {  # sslyze scan command -> protocol name
    "ssl_2_0_cipher_suites": "SSLv2",
    "ssl_3_0_cipher_suites": "SSLv3",
    "tls_1_0_cipher_suites": "TLSv1.0",
    "tls_1_1_cipher_suites": "TLSv1.1",
    "tls_1_2_cipher_suites": "TLSv1.2",
    "tls_1_3_cipher_suites": "TLSv1.3",
}


@dataclass(frozen=True)
class Endpoint:
    """Where to connect (``address``) and which name to present (SNI, certificate check)."""

    host: str
    address: str
    port: int = 443


@dataclass
class TlsFacts:
    """What one TLS endpoint offered.  ``error`` set: nothing else is trustworthy."""

    host: str
    address: str
    port: int
    error: str | None = None
    protocols: list[str] = field(default_factory=list)
    #: accepted suites: {"protocol", "name", "key_size", "fs"} (fs: forward secret)
    ciphers: list[dict[str, Any]] = field(default_factory=list)
    chain_trusted: bool | None = None
    chain_error: str | None = None
    names: list[str] = field(default_factory=list)
    not_after: str | None = None
    key_type: str | None = None
    key_bits: int | None = None
    signature_hash: str | None = None
    ocsp_stapled: bool = False
    #: OCSP responders the leaf names (authorityInfoAccess): none, nothing to staple
    ocsp_responders: list[str] = field(default_factory=list)
    #: the leaf demands a stapled response (TLS feature status_request, "must-staple")
    must_staple: bool = False
    fingerprint: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _key(cert: x509.Certificate) -> tuple[str, int | None]:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    return type(key).__name__, None


def cert_names(cert: x509.Certificate) -> list[str]:
    """DNS names of the certificate (subjectAltName; the CN only when there is no SAN)."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        return [n.lower() for n in san.value.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        cns = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
        return [str(cn.value).lower() for cn in cns]


def ocsp_demands(cert: x509.Certificate) -> tuple[list[str], bool]:
    """The OCSP responders ``cert`` names and whether it demands stapling (must-staple).

    A certificate that names no responder (CAs now may publish only CRLs) has nothing a
    server could staple."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
        responders = [str(d.access_location.value) for d in aia
                      if d.access_method == x509.AuthorityInformationAccessOID.OCSP]
    except x509.ExtensionNotFound:
        responders = []
    try:
        features = cert.extensions.get_extension_for_class(x509.TLSFeature).value
        must = x509.TLSFeatureType.status_request in features
    except x509.ExtensionNotFound:
        must = False
    return responders, must


def fingerprint(cert_der: bytes) -> str:
    """SHA-256 of the DER certificate: two addresses serve the same certificate iff equal."""
    return hashlib.sha256(cert_der).hexdigest()


def _forward_secret(protocol: str, accepted: Any) -> bool:
    if protocol == "TLSv1.3":
        return True
    name = accepted.cipher_suite.name
    return "_DHE_" in name or "_ECDHE_" in name or accepted.ephemeral_key is not None


def _certificate(facts: TlsFacts, result: Any) -> None:
    deployments = result.certificate_deployments
    if not deployments:
        facts.chain_trusted, facts.chain_error = False, "the server sent no certificate"
        return
    dep = deployments[0]
    leaf = dep.received_certificate_chain[0]
    facts.names = cert_names(leaf)
    facts.not_after = leaf.not_valid_after_utc.isoformat()
    facts.key_type, facts.key_bits = _key(leaf)
    algo = leaf.signature_hash_algorithm
    facts.signature_hash = algo.name if algo is not None else None
    facts.fingerprint = fingerprint(leaf.public_bytes(serialization.Encoding.DER))
    facts.ocsp_stapled = dep.ocsp_response is not None
    facts.ocsp_responders, facts.must_staple = ocsp_demands(leaf)
    trusted = [p for p in dep.path_validation_results if p.was_validation_successful]
    facts.chain_trusted = bool(trusted)
    if not trusted:
        errors = sorted({p.validation_error or "not trusted" for p in dep.path_validation_results})
        facts.chain_error = "; ".join(errors)[:300] or "no trust store validated the chain"


def _facts(result: Any) -> TlsFacts:
    loc = result.server_location
    facts = TlsFacts(result.network_configuration.tls_server_name_indication,
                     loc.ip_address or "", loc.port)
    if result.scan_result is None:
        trace = result.connectivity_error_trace
        facts.error = (str(trace).splitlines()[-1] if trace else "no TLS connection")[:300]
        return facts
    attempts = result.scan_result
    for command, protocol in PROTOCOLS.items():
        attempt = getattr(attempts, command)
        if attempt.result is None:
            continue
        accepted = attempt.result.accepted_cipher_suites
        if accepted:
            facts.protocols.append(protocol)
        facts.ciphers += [{"protocol": protocol, "name": a.cipher_suite.name,
                           "key_size": a.cipher_suite.key_size,
                           "fs": _forward_secret(protocol, a)} for a in accepted]
    cert = attempts.certificate_info
    if cert.result is not None:
        _certificate(facts, cert.result)
    else:
        reason = cert.error_reason.value if cert.error_reason else "failed"
        facts.chain_error = f"certificate scan {reason}"
    return facts


def scan(endpoints: Sequence[Endpoint], ca_file: Path | str | None = None,
         done: Callable[[TlsFacts], None] | None = None, concurrency: int = 10,
         timeout: int = 5) -> dict[Endpoint, TlsFacts]:
    """Scan every endpoint concurrently; an endpoint that does not speak TLS gets ``error``.

    ``ca_file``: PEM roots trusted besides the bundled stores (an agency-internal CA, or a
    test CA).  ``done`` is called as each endpoint finishes (a progress bar).
    """
    from sslyze import (
        CertificateInfoExtraArgument,
        ScanCommand,
        ScanCommandsExtraArguments,
        Scanner,
        ServerNetworkConfiguration,
        ServerNetworkLocation,
        ServerScanRequest,
    )

    if not endpoints:
        return {}
    # sslyze's bundled trust stores hold a root with a negative serial: noise, not a finding
    warnings.filterwarnings("ignore", message="Parsed a serial number which wasn't positive")
    commands = {ScanCommand.CERTIFICATE_INFO, *(ScanCommand(c) for c in PROTOCOLS)}
    extra = ScanCommandsExtraArguments(
        certificate_info=CertificateInfoExtraArgument(Path(ca_file)) if ca_file else None)
    requests, by_uuid = [], {}
    for ep in endpoints:
        req = ServerScanRequest(
            server_location=ServerNetworkLocation(ep.host, ep.port, ep.address),
            network_configuration=ServerNetworkConfiguration(
                tls_server_name_indication=ep.host, network_timeout=timeout,
                network_max_retries=1),
            scan_commands=commands, scan_commands_extra_arguments=extra)
        requests.append(req)
        by_uuid[req.uuid] = ep
    scanner = Scanner(per_server_concurrent_connections_limit=5,
                      concurrent_server_scans_limit=concurrency)
    scanner.queue_scans(requests)
    out: dict[Endpoint, TlsFacts] = {}
    for result in scanner.get_results():
        ep = by_uuid[result.uuid]
        try:
            facts = _facts(result)
        except Exception as exc:  # an odd answer is an error, never a pass
            facts = TlsFacts(ep.host, ep.address, ep.port,
                             error=f"unreadable TLS answer: {type(exc).__name__}: {exc}"[:300])
        out[ep] = facts
        if done:
            done(facts)
    return out


def expiry_seconds(facts: TlsFacts | dict[str, Any], now: dt.datetime | None = None
                   ) -> float | None:
    """Seconds until the leaf certificate expires (negative once expired)."""
    not_after = facts["not_after"] if isinstance(facts, dict) else facts.not_after
    if not not_after:
        return None
    now = now or dt.datetime.now(dt.UTC)
    return (dt.datetime.fromisoformat(not_after) - now).total_seconds()
