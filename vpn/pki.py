"""The GIN VPN CA: gateway certificates for IKEv2, their expiry, revocation and the CRL.

One CA (ECDSA P-384, SHA-384 signatures) signs every gateway's certificate.  A gateway's
certificate names its host name as a DNS SAN, which is the IKE identity ``swanctl.conf``
uses (``id = <hostname>``, see :mod:`vpn.render`), and its tunnels' outer addresses as IP
SANs.  Certificates live in the directory's ``certificate`` table; private keys are stored
only sealed (:func:`vpn.keys.seal_bytes`, bound to ``certificate <serial>``), so the change
log and any export see ``***``.

A renewed certificate does not replace the old one at once: both are valid until a deploy
of the new one succeeds and :func:`mark_deployed` records it, which revokes the older ones
as superseded.  :func:`credentials_for` is what a deploy step loads onto a gateway.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from sqlalchemy import select
from sqlalchemy.orm import Session

from devices.errors import GinError
from devices.secrets import Secret
from directory import models as m
from directory import store
from directory.errors import Conflict, Invalid, NotFound
from vpn import keys

CA_NAME = "GIN VPN CA"
CA_FILE = "gin-vpn-ca"
CA_DAYS = 3650
CERT_DAYS = 397
CRL_DAYS = 7
EXPIRING_DAYS = 30
MAX_DAYS = 3650 * 2
#: ``--reason`` words (RFC 5280 CRLReason), as people type them.
REASONS: dict[str, x509.ReasonFlags] = {
    "unspecified": x509.ReasonFlags.unspecified,
    "key-compromise": x509.ReasonFlags.key_compromise,
    "ca-compromise": x509.ReasonFlags.ca_compromise,
    "affiliation-changed": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessation-of-operation": x509.ReasonFlags.cessation_of_operation,
}
_SERIAL = re.compile(r"[0-9a-f]{1,40}")
_HASH = hashes.SHA384()


class PkiError(GinError):
    """The CA is missing, or a certificate operation cannot be done; one line says why."""


@dataclass(frozen=True)
class Credentials:
    """What a strongSwan gateway needs for certificate authentication (key never printed)."""

    hostname: str
    serial: str
    cert_pem: str
    key_pem: Secret
    ca_pem: str
    crl_pem: str

    def files(self) -> dict[str, str]:
        """The files under a ``swanctl`` directory (``certs = <host>.pem`` in swanctl.conf).

        The key's value is a :class:`~devices.secrets.Secret`: write it with mode 0600.
        """
        return {f"x509/{self.hostname}.pem": self.cert_pem,
                f"private/{self.hostname}.pem": self.key_pem,
                f"x509ca/{CA_FILE}.pem": self.ca_pem,
                f"x509crl/{CA_FILE}.crl": self.crl_pem}


def utc(value: dt.datetime | None) -> dt.datetime | None:
    """A stored time as timezone-aware UTC (SQLite hands back naive datetimes)."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _now(now: dt.datetime | None) -> dt.datetime:
    return (utc(now) or m.utcnow()).replace(microsecond=0)


def _days(days: int, what: str) -> dt.timedelta:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise Invalid(f"{what}: validity must be 1..{MAX_DAYS} days, got {days!r}")
    return dt.timedelta(days=days)


def _context(serial: str) -> str:
    return f"certificate {serial}"


def _seal_key(key: ec.EllipticCurvePrivateKey, serial: str) -> str:
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    return keys.seal_bytes(der, _context(serial))


def _open_key(cert: m.Certificate) -> ec.EllipticCurvePrivateKey:
    if not cert.private_key_sealed:
        raise PkiError(f"certificate {cert.serial}: no private key stored")
    der = keys.unseal_bytes(cert.private_key_sealed, _context(cert.serial))
    key = serialization.load_der_private_key(der, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError(f"certificate {cert.serial}: stored key is not ECDSA")
    return key


def _serial_hex(number: int) -> str:
    return f"{number:x}"


def load(cert: m.Certificate) -> x509.Certificate:
    """The stored PEM parsed (a damaged row is one clear line, not a traceback)."""
    try:
        return x509.load_pem_x509_certificate(cert.pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        raise PkiError(f"certificate {cert.serial}: stored PEM is damaged") from None


def find_ca(session: Session) -> m.Certificate | None:
    """The current CA certificate (the newest valid one), or None before ``ca init``."""
    return session.scalar(select(m.Certificate).where(
        m.Certificate.kind == "ca", m.Certificate.status == "valid")
        .order_by(m.Certificate.not_after.desc(), m.Certificate.id.desc()).limit(1))


def get_ca(session: Session) -> m.Certificate:
    """The current CA certificate; before ``gin vpn ca init`` a clear error."""
    ca = find_ca(session)
    if ca is None:
        raise PkiError("no GIN VPN CA yet: create it with `gin vpn ca init`")
    return ca


def _record(session: Session, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey,
            kind: str, device: m.Device | None) -> m.Certificate:
    """Store a newly signed certificate with its private key sealed (bound to its serial)."""
    serial = _serial_hex(cert.serial_number)
    row = m.Certificate(serial=serial, kind=kind, subject=cert.subject.rfc4514_string(),
                        device=device, not_before=cert.not_valid_before_utc,
                        not_after=cert.not_valid_after_utc, status="valid",
                        pem=cert.public_bytes(serialization.Encoding.PEM).decode("ascii"),
                        private_key_sealed=_seal_key(key, serial))
    session.add(row)
    session.flush()
    return row


def init_ca(session: Session, *, days: int = CA_DAYS,
            now: dt.datetime | None = None) -> m.Certificate:
    """Create the GIN VPN CA (ECDSA P-384); refuses when one exists (its certs would orphan)."""
    if find_ca(session) is not None:
        raise Conflict("the GIN VPN CA exists already (gin vpn cert list shows it)")
    start = _now(now)
    life = _days(days, "CA")
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "GIN")])
    number = x509.random_serial_number()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(number)
            .not_valid_before(start - dt.timedelta(minutes=5)).not_valid_after(start + life)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(ski, critical=False)
            .sign(key, _HASH))
    return _record(session, cert, key, "ca", None)


def outer_addresses(session: Session, device: m.Device) -> list[str]:
    """The device's outer tunnel addresses (each tunnel's endpoint), else its mgmt address."""
    found: list[str] = []
    for t in session.scalars(select(m.Tunnel).where(
            (m.Tunnel.a_device_id == device.id) | (m.Tunnel.b_device_id == device.id))
            .order_by(m.Tunnel.id)):
        side = "a" if t.a_device_id == device.id else "b"
        address = ((t.policy or {}).get(side) or {}).get("address")
        if address:
            found.append(str(ipaddress.ip_address(address)))
    if not found and device.mgmt_address:
        # a management name, not an address: the DNS SAN is the identity anyway
        with contextlib.suppress(ValueError):
            found.append(str(ipaddress.ip_address(device.mgmt_address)))
    return list(dict.fromkeys(found))


def valid_certificates(session: Session, device: m.Device,
                       now: dt.datetime | None = None) -> list[m.Certificate]:
    """The device's valid, unexpired certificates, newest first."""
    when = _now(now)
    rows = session.scalars(select(m.Certificate).where(
        m.Certificate.device_id == device.id, m.Certificate.status == "valid")
        .order_by(m.Certificate.not_before.desc(), m.Certificate.id.desc())).all()
    return [c for c in rows if utc(c.not_after) > when]  # type: ignore[operator]


def issue(session: Session, hostname: str, *, days: int = CERT_DAYS,
          addresses: list[str] | None = None, renew: bool = False,
          now: dt.datetime | None = None) -> m.Certificate:
    """Issue a gateway certificate: CN and DNS SAN = host name (its IKE id), IP SANs = outer
    addresses.  Refuses when the device has a valid one unless ``renew`` (the old one stays
    valid until the new one is deployed)."""
    device = store.get_device(session, hostname)
    ca_row = get_ca(session)
    start = _now(now)
    life = _days(days, f"certificate of {device.hostname}")
    if not renew and valid_certificates(session, device, start):
        raise Conflict(f"{device.hostname} has a valid certificate already: renew it with "
                       f"`gin vpn cert renew {device.hostname}`")
    ca_cert = load(ca_row)
    ca_end = ca_cert.not_valid_after_utc
    if start + life > ca_end:
        raise PkiError(f"certificate of {device.hostname} would outlive the CA (expires "
                       f"{ca_end:%Y-%m-%d}): shorten --days")
    try:
        ips = [ipaddress.ip_address(a) for a in (addresses if addresses is not None
                                                  else outer_addresses(session, device))]
    except ValueError as exc:
        raise Invalid(f"certificate of {device.hostname}: {exc}") from None
    ca_key = _open_key(ca_row)
    key = ec.generate_private_key(ec.SECP384R1())
    agency = device.site.agency.code
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, device.hostname),
                         x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, agency),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "GIN")])
    san = x509.SubjectAlternativeName(
        [x509.DNSName(device.hostname), *(x509.IPAddress(ip) for ip in ips)])
    number = x509.random_serial_number()
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(ca_cert.subject)
            .public_key(key.public_key()).serial_number(number)
            .not_valid_before(start - dt.timedelta(minutes=5)).not_valid_after(start + life)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(san, critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                ca_key.public_key()), critical=False)
            .sign(ca_key, _HASH))
    return _record(session, cert, key, "gateway", device)


def renew(session: Session, hostname: str, *, days: int = CERT_DAYS,
          now: dt.datetime | None = None) -> m.Certificate:
    """A new certificate for the device; the old stays valid until the new one is deployed."""
    return issue(session, hostname, days=days, renew=True, now=now)


def expiring_devices(session: Session, within_days: int,
                     now: dt.datetime | None = None) -> list[str]:
    """Gateways whose newest valid certificate expires within ``within_days`` (or that hold
    only expired ones), by host name: what ``cert renew --expiring-within`` renews."""
    when = _now(now)
    limit = when + dt.timedelta(days=within_days)
    newest: dict[str, dt.datetime] = {}
    for cert in session.scalars(select(m.Certificate).where(
            m.Certificate.kind == "gateway", m.Certificate.status == "valid")):
        end = utc(cert.not_after)
        assert end is not None and cert.device is not None
        host = cert.device.hostname
        newest[host] = max(newest.get(host, end), end)
    return sorted(h for h, end in newest.items() if end <= limit)


def clean_serial(text: str) -> str:
    """A serial as typed (``4F:A2...``, ``0x4fa2``, any case) -> stored form, or one line."""
    if not isinstance(text, str) or len(text) > 128:
        raise Invalid("serial: expected up to 40 hex digits")
    cleaned = text.strip().lower().removeprefix("0x").replace(":", "")
    if not _SERIAL.fullmatch(cleaned.lstrip("0") or "0") or not cleaned:
        raise Invalid(f"serial {text[:60]!r}: expected up to 40 hex digits (gin vpn cert list "
                      "shows them)")
    return cleaned.lstrip("0") or "0"


def get_certificate(session: Session, serial: str) -> m.Certificate:
    """A certificate by serial (NotFound names it)."""
    key = clean_serial(serial)
    cert = session.scalar(select(m.Certificate).where(m.Certificate.serial == key))
    if cert is None:
        raise NotFound(f"certificate {key} not found (gin vpn cert list shows them)")
    return cert


def revoke(session: Session, serial: str, reason: str = "unspecified",
           now: dt.datetime | None = None) -> m.Certificate:
    """Mark a certificate revoked (it goes on the next CRL).  The CA itself is not revoked
    this way: a new CA means re-issuing every gateway's certificate."""
    if reason not in REASONS:
        raise Invalid(f"revocation reason {reason[:40]!r}: expected one of "
                      f"{', '.join(REASONS)}")
    cert = get_certificate(session, serial)
    if cert.kind == "ca":
        raise PkiError("the CA certificate is not revoked through its own CRL")
    if cert.status == "revoked":
        raise Conflict(f"certificate {cert.serial} was revoked already "
                       f"({cert.revocation_reason}, {utc(cert.revoked_at):%Y-%m-%d %H:%M}Z)")
    cert.status = "revoked"
    cert.revoked_at = _now(now)
    cert.revocation_reason = reason
    session.flush()
    return cert


def crl(session: Session, *, days: int = CRL_DAYS,
        now: dt.datetime | None = None) -> x509.CertificateRevocationList:
    """A CRL signed by the CA listing every revoked certificate, valid ``days`` days.

    The CRL number is the issue time in microseconds, so it only grows, and a CRL issued in
    the same second as the one a gateway holds still replaces it (charon keeps the one with
    the higher number: a rotation's deploy is followed at once by the CRL revoking the
    certificates it replaced)."""
    ca_row = get_ca(session)
    ca_cert = load(ca_row)
    when = _now(now)
    number = int((utc(now) or m.utcnow()).timestamp() * 1_000_000)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca_cert.subject)
               .last_update(when).next_update(when + _days(days, "CRL"))
               .add_extension(x509.CRLNumber(number), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   ca_cert.public_key()), critical=False))  # type: ignore[arg-type]
    for cert in session.scalars(select(m.Certificate).where(
            m.Certificate.status == "revoked").order_by(m.Certificate.id)):
        revoked = (x509.RevokedCertificateBuilder().serial_number(int(cert.serial, 16))
                   .revocation_date(utc(cert.revoked_at) or when))
        flag = REASONS.get(cert.revocation_reason or "unspecified")
        if flag is not None and flag is not x509.ReasonFlags.unspecified:
            revoked = revoked.add_extension(x509.CRLReason(flag), critical=False)
        builder = builder.add_revoked_certificate(revoked.build())
    return builder.sign(_open_key(ca_row), _HASH)


def crl_bytes(session: Session, fmt: str = "pem", **kw: Any) -> bytes:
    """The CRL as PEM or DER."""
    if fmt not in ("pem", "der"):
        raise Invalid(f"CRL format {fmt!r}: expected pem or der")
    enc = serialization.Encoding.PEM if fmt == "pem" else serialization.Encoding.DER
    return crl(session, **kw).public_bytes(enc)


def state(cert: m.Certificate, now: dt.datetime | None = None,
          expiring_days: int = EXPIRING_DAYS) -> str:
    """``revoked``, ``expired``, ``expiring`` (within ``expiring_days``) or ``valid``."""
    when = _now(now)
    end = utc(cert.not_after)
    assert end is not None
    if cert.status == "revoked":
        return "revoked"
    if end <= when:
        return "expired"
    if end - when <= dt.timedelta(days=expiring_days):
        return "expiring"
    return "valid"


def row(cert: m.Certificate, now: dt.datetime | None = None) -> dict[str, Any]:
    """What ``cert list`` prints: never the key, only whether one is sealed."""
    when = _now(now)
    end = utc(cert.not_after)
    assert end is not None
    return {"serial": cert.serial, "kind": cert.kind,
            "device": cert.device.hostname if cert.device else None,
            "subject": cert.subject,
            "not_before": utc(cert.not_before), "not_after": end,
            "days_left": (end - when).days, "status": state(cert, when),
            "revoked_at": utc(cert.revoked_at), "reason": cert.revocation_reason,
            "deployed_at": utc(cert.deployed_at),
            "key": "sealed" if cert.private_key_sealed else None}


def list_certificates(session: Session, device: str | None = None) -> list[m.Certificate]:
    """Every certificate (or one device's), CA first, then by device and age."""
    query = select(m.Certificate).outerjoin(m.Device, m.Certificate.device_id == m.Device.id)
    if device is not None:
        query = query.where(m.Certificate.device_id == store.get_device(session, device).id)
    return list(session.scalars(query.order_by(m.Certificate.kind, m.Device.hostname,
                                               m.Certificate.not_before, m.Certificate.id)))


def current(session: Session, hostname: str, now: dt.datetime | None = None) -> m.Certificate:
    """The certificate a deploy loads on the device: its newest valid, unexpired one."""
    device = store.get_device(session, hostname)
    found = valid_certificates(session, device, now)
    if not found:
        raise PkiError(f"{device.hostname} has no valid certificate: issue one with "
                       f"`gin vpn cert issue {device.hostname}`")
    return found[0]


def credentials_for(session: Session, device: str | m.Device,
                    now: dt.datetime | None = None) -> Credentials:
    """Certificate, private key (a Secret), CA certificate and a fresh CRL for a gateway.

    Needs the sealing key (``GIN_VPN_KEY_FILE``).  After the files are loaded on the
    gateway, call :func:`mark_deployed` with ``Credentials.serial``."""
    hostname = device.hostname if isinstance(device, m.Device) else device
    cert = current(session, hostname, now)
    key = _open_key(cert)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode("ascii")
    return Credentials(hostname=cert.device.hostname if cert.device else hostname,
                       serial=cert.serial, cert_pem=cert.pem, key_pem=Secret(key_pem),
                       ca_pem=get_ca(session).pem,
                       crl_pem=crl_bytes(session, "pem", now=now).decode("ascii"))


def mark_deployed(session: Session, serial: str,
                  now: dt.datetime | None = None) -> list[m.Certificate]:
    """Record that ``serial`` is now loaded on its gateway: the device's other certificates
    are no longer deployed, and older valid ones are revoked as superseded.  Returns them."""
    cert = get_certificate(session, serial)
    if cert.kind != "gateway" or cert.device_id is None:
        raise PkiError(f"certificate {cert.serial} is not a gateway certificate")
    if cert.status == "revoked":
        raise PkiError(f"certificate {cert.serial} is revoked: deploy a valid one")
    when = _now(now)
    cert.deployed_at = when
    replaced = []
    for other in session.scalars(select(m.Certificate).where(
            m.Certificate.device_id == cert.device_id, m.Certificate.id != cert.id)):
        other.deployed_at = None
        if other.status == "valid" and utc(other.not_before) <= utc(cert.not_before):
            other.status, other.revoked_at, other.revocation_reason = "revoked", when, \
                "superseded"
            replaced.append(other)
    session.flush()
    return replaced


MAX_PEM_BYTES = 64 * 1024
_PEM_BLOCK = re.compile(rb"-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+"
                        rb"-----END CERTIFICATE-----")


def read_pem_file(path: Path) -> bytes:
    """A certificate file as received (capped: a huge or binary file is refused unread)."""
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_PEM_BYTES + 1)
    except OSError as exc:
        raise Invalid(f"{path}: {exc.strerror}") from None
    if len(data) > MAX_PEM_BYTES:
        raise Invalid(f"{path}: larger than {MAX_PEM_BYTES // 1024} KiB, not a certificate")
    return data


def parse_pem(data: bytes) -> x509.Certificate:
    """Exactly one PEM certificate (anything else around it, or several, is refused)."""
    if len(data) > MAX_PEM_BYTES:
        raise Invalid(f"certificate: larger than {MAX_PEM_BYTES // 1024} KiB")
    blocks = _PEM_BLOCK.findall(data)
    if len(blocks) != 1:
        raise Invalid(f"certificate: expected one PEM certificate block, found {len(blocks)}")
    try:
        return x509.load_pem_x509_certificate(blocks[0])
    except ValueError:
        raise Invalid("certificate: the PEM block is not a valid X.509 certificate") from None


def verify(session: Session, data: bytes, now: dt.datetime | None = None) -> dict[str, Any]:
    """Is this certificate one of ours and good now?  Signature by the CA, validity window,
    revocation in the directory.  Returns what was found, ``status`` last."""
    cert = parse_pem(data)
    ca_cert = load(get_ca(session))
    when = _now(now)
    try:
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = [str(v) for v in sans.get_values_for_type(x509.DNSName)] + [
            str(v) for v in sans.get_values_for_type(x509.IPAddress)]
    except (x509.ExtensionNotFound, ValueError):
        names = []
    serial = _serial_hex(cert.serial_number)
    out: dict[str, Any] = {"serial": serial, "subject": cert.subject.rfc4514_string()[:255],
                           "sans": ", ".join(names)[:1024],
                           "not_after": cert.not_valid_after_utc}
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return {**out, "status": "untrusted",
                "reason": "not signed by the GIN VPN CA"}
    if cert.not_valid_before_utc > when:
        return {**out, "status": "not yet valid", "reason": ""}
    if cert.not_valid_after_utc <= when:
        return {**out, "status": "expired", "reason": ""}
    row_ = session.scalar(select(m.Certificate).where(m.Certificate.serial == serial))
    if row_ is None:
        return {**out, "status": "unknown", "reason": "signed by the CA but not in the directory"}
    if row_.status == "revoked":
        return {**out, "status": "revoked", "reason": row_.revocation_reason}
    return {**out, "status": "valid", "reason": ""}
