"""The directory's tables: the single source of truth for the GIN.

One class per thing an engineer talks about (agency, site, device, interface,
prefix, link, tunnel, contact) plus the change log.  Prefixes store their
first and last address as fixed-width hex strings so that range and
longest-prefix queries work with plain B-tree indexes on SQLite and PostgreSQL
alike (IPv6 integers do not fit in BIGINT).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

AGENCY_KINDS = (
    "office",  # Office of the Prime Minister and similar top-level offices
    "ministry",
    "department",
    "state-enterprise",
    "public-organization",
    "independent",
    "provincial",
    "gin",  # the network operator itself
    "other",
)
# A device's platform is any registered one (directory.platform_names), not a list here.
DEVICE_ROLES = ("pe", "ce", "firewall", "vpn-gateway", "sensor")
PREFIX_STATUSES = ("planned", "active", "reserved", "released")
PREFIX_ROLES = (
    "supernet",
    "agency",
    "site",
    "lan",
    "p2p",
    "loopback",
    "transit-pool",
    "agency-block",
    "management",
    "other",
)
LINK_STATUSES = ("planned", "provisioned", "active", "failed", "decommissioned")
TUNNEL_TYPES = ("ikev2", "wireguard")
HEX_WIDTH = 32  # 128 bits; IPv4 uses the same width (zero-padded) so one column fits both


def utcnow() -> dt.datetime:
    """Timezone-aware now, so times compare the same on SQLite and PostgreSQL."""
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    """Declarative base with a JSON type map shared by every table."""

    type_annotation_map = {dict[str, Any]: JSON}


class Timestamped:
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class Agency(Timestamped, Base):
    """A government agency (ministry, department, state enterprise...) on the GIN."""

    __tablename__ = "agency"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_en: Mapped[str] = mapped_column(String(255))
    name_th: Mapped[str | None] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(32), default="department")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id", ondelete="RESTRICT"))
    asn: Mapped[int | None] = mapped_column(BigInteger)
    description: Mapped[str | None] = mapped_column(Text)

    parent: Mapped[Agency | None] = relationship(remote_side=[id], lazy="joined")
    sites: Mapped[list[Site]] = relationship(back_populates="agency")
    __table_args__ = (
        CheckConstraint(f"kind IN {AGENCY_KINDS!r}", name="agency_kind"),
        Index("ix_agency_name_en", "name_en"),
        Index("ix_agency_name_th", "name_th"),
    )


class Site(Timestamped, Base):
    """A place where an agency has equipment: head office, provincial hall, branch."""

    __tablename__ = "site"
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str | None] = mapped_column(String(255))
    province: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(Text)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)

    agency: Mapped[Agency] = relationship(back_populates="sites", lazy="joined")
    __table_args__ = (
        UniqueConstraint("agency_id", "code", name="uq_site_agency_code"),
        CheckConstraint("latitude IS NULL OR (latitude >= -90 AND latitude <= 90)", name="lat"),
        CheckConstraint("longitude IS NULL OR (longitude BETWEEN -180 AND 180)", name="lon"),
    )


class Device(Timestamped, Base):
    """A router, firewall, VPN gateway or sensor; holds a credential *reference*, never a secret."""

    __tablename__ = "device"
    id: Mapped[int] = mapped_column(primary_key=True)
    hostname: Mapped[str] = mapped_column(String(63), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="RESTRICT"))
    role: Mapped[str] = mapped_column(String(16))
    platform: Mapped[str] = mapped_column(String(32))
    mgmt_address: Mapped[str | None] = mapped_column(String(64))
    mgmt_port: Mapped[int | None] = mapped_column(Integer)
    snmp_profile: Mapped[str | None] = mapped_column(String(64))
    snmp_address: Mapped[str | None] = mapped_column(String(64))
    credential_ref: Mapped[str | None] = mapped_column(String(255))
    asn: Mapped[int | None] = mapped_column(BigInteger)

    site: Mapped[Site] = relationship(lazy="joined")
    interfaces: Mapped[list[Interface]] = relationship(
        back_populates="device", cascade="all, delete-orphan"
    )
    __table_args__ = (CheckConstraint(f"role IN {DEVICE_ROLES!r}", name="device_role"),)


class Interface(Timestamped, Base):
    """A device port; links and addresses attach here."""

    __tablename__ = "interface"
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(default=True)
    speed_mbps: Mapped[int | None] = mapped_column(Integer)

    device: Mapped[Device] = relationship(back_populates="interfaces", lazy="joined")
    __table_args__ = (UniqueConstraint("device_id", "name", name="uq_interface_device_name"),)


class Prefix(Timestamped, Base):
    """An IPv4 or IPv6 prefix.  ``network``/``last`` are zero-padded hex of the range bounds."""

    __tablename__ = "prefix"
    id: Mapped[int] = mapped_column(primary_key=True)
    cidr: Mapped[str] = mapped_column(String(43))
    family: Mapped[int] = mapped_column(Integer)
    prefixlen: Mapped[int] = mapped_column(Integer)
    network: Mapped[str] = mapped_column(String(HEX_WIDTH))
    last: Mapped[str] = mapped_column(String(HEX_WIDTH))
    status: Mapped[str] = mapped_column(String(16), default="active")
    role: Mapped[str] = mapped_column(String(16), default="other")
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("prefix.id", ondelete="RESTRICT"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id", ondelete="SET NULL"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="SET NULL"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id", ondelete="SET NULL"))
    interface_id: Mapped[int | None] = mapped_column(
        ForeignKey("interface.id", ondelete="SET NULL")
    )
    link_id: Mapped[int | None] = mapped_column(ForeignKey("link.id", ondelete="SET NULL"))
    description: Mapped[str | None] = mapped_column(String(255))

    agency: Mapped[Agency | None] = relationship(lazy="joined")
    site: Mapped[Site | None] = relationship(lazy="joined")
    device: Mapped[Device | None] = relationship(lazy="joined")
    __table_args__ = (
        UniqueConstraint("family", "network", "prefixlen", name="uq_prefix_family_network_len"),
        CheckConstraint("family IN (4, 6)", name="prefix_family"),
        CheckConstraint(f"status IN {PREFIX_STATUSES!r}", name="prefix_status"),
        Index("ix_prefix_lookup", "family", "prefixlen", "network"),
        Index("ix_prefix_range", "family", "network", "last"),
        Index("ix_prefix_parent", "parent_id"),
        Index("ix_prefix_agency", "agency_id"),
        Index("ix_prefix_link", "link_id"),
        Index("ix_prefix_interface", "interface_id"),
    )


class FreeBlock(Base):
    """Free space inside an allocatable prefix, kept as maximal aligned blocks (a buddy system).

    The allocator never enumerates addresses: finding room for a /64 under a /32 is
    one indexed query per prefix length, whatever the size of the table.
    """

    __tablename__ = "free_block"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("prefix.id", ondelete="CASCADE"))
    prefixlen: Mapped[int] = mapped_column(Integer)
    network: Mapped[str] = mapped_column(String(HEX_WIDTH))
    __table_args__ = (
        UniqueConstraint("parent_id", "network", "prefixlen", name="uq_free_block"),
        Index("ix_free_block_pick", "parent_id", "prefixlen", "network"),
    )


class Link(Timestamped, Base):
    """A point-to-point link, typically GIN PE <-> agency CE, dual-stack with IPv6 first."""

    __tablename__ = "link"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    a_interface_id: Mapped[int] = mapped_column(ForeignKey("interface.id", ondelete="RESTRICT"))
    b_interface_id: Mapped[int] = mapped_column(ForeignKey("interface.id", ondelete="RESTRICT"))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id", ondelete="SET NULL"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="planned")
    bandwidth_mbps: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(String(255))

    a_interface: Mapped[Interface] = relationship(foreign_keys=[a_interface_id], lazy="joined")
    b_interface: Mapped[Interface] = relationship(foreign_keys=[b_interface_id], lazy="joined")
    agency: Mapped[Agency | None] = relationship(lazy="joined")
    __table_args__ = (
        CheckConstraint(f"status IN {LINK_STATUSES!r}", name="link_status"),
        CheckConstraint("a_interface_id <> b_interface_id", name="link_distinct_ends"),
    )


class Tunnel(Timestamped, Base):
    """A site-to-site VPN tunnel between two gateways (IKEv2/IPsec or WireGuard)."""

    __tablename__ = "tunnel"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    type: Mapped[str] = mapped_column(String(16))
    a_device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="RESTRICT"))
    b_device_id: Mapped[int] = mapped_column(ForeignKey("device.id", ondelete="RESTRICT"))
    auth: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="planned")
    policy: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    secret_ref: Mapped[str | None] = mapped_column(String(255))

    a_device: Mapped[Device] = relationship(foreign_keys=[a_device_id], lazy="joined")
    b_device: Mapped[Device] = relationship(foreign_keys=[b_device_id], lazy="joined")
    __table_args__ = (CheckConstraint(f"type IN {TUNNEL_TYPES!r}", name="tunnel_type"),)


class Contact(Timestamped, Base):
    """A person to call about an agency's network (NOC, security officer, CIO)."""

    __tablename__ = "contact"
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(64))

    agency: Mapped[Agency] = relationship(lazy="joined")


class Change(Base):
    """One row per mutation: who, when, what, and the object before and after (secrets redacted)."""

    __tablename__ = "change_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(16))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int | None] = mapped_column(Integer)
    object_key: Mapped[str] = mapped_column(String(255))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: The hash chain (``directory.chain``): entries are numbered 1, 2, 3... without gaps and
    #: each ``hash`` covers the entry's fields and the previous entry's hash, so an altered or
    #: removed entry breaks the chain where it happened.
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    hash: Mapped[str | None] = mapped_column(String(64))
    __table_args__ = (
        Index("ix_change_object", "object_type", "object_key"),
        Index("ix_change_time", "time"),
    )


class Service(Timestamped, Base):
    """An agency's public service (website, e-service portal): what ``gin audit web`` scans.

    ``url`` is where people start (``https://www.example.go.th/``); ``hosts`` lists every host
    name the service answers to (the URL's host first), so the audit checks each name's
    certificate, headers and IPv6 readiness, not only the one in the link people click.
    """

    __tablename__ = "service"
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agency.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(String(2048))
    hosts: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(String(255))

    agency: Mapped[Agency] = relationship(lazy="joined")
    __table_args__ = (
        UniqueConstraint("agency_id", "name", name="uq_service_agency_name"),
        Index("ix_service_agency", "agency_id"),
    )


CERTIFICATE_KINDS = ("ca", "gateway")
CERTIFICATE_STATUSES = ("valid", "revoked")


class Certificate(Timestamped, Base):
    """An X.509 certificate of the GIN VPN CA: the CA's own, or a gateway's.

    Whether it has expired is computed from ``not_after``; ``status`` records revocation.
    ``deployed_at`` is set while the certificate is the one loaded on its device (cleared
    when another replaces it), so the audit can find a revoked certificate still in use.
    The private key is stored only sealed (``sealed:...``): the change log redacts it.
    """

    __tablename__ = "certificate"
    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(40), unique=True)  # lower-case hex
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(255))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id", ondelete="RESTRICT"))
    not_before: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    not_after: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="valid")
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revocation_reason: Mapped[str | None] = mapped_column(String(32))
    deployed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    pem: Mapped[str] = mapped_column(Text)
    private_key_sealed: Mapped[str | None] = mapped_column(Text)

    device: Mapped[Device | None] = relationship(lazy="joined")
    __table_args__ = (
        CheckConstraint(f"kind IN {CERTIFICATE_KINDS!r}", name="certificate_kind"),
        CheckConstraint(f"status IN {CERTIFICATE_STATUSES!r}", name="certificate_status"),
        Index("ix_certificate_device", "device_id"),
        Index("ix_certificate_not_after", "not_after"),
    )


class TunnelRotation(Timestamped, Base):
    """New secrets of a tunnel waiting for a successful deploy (``gin vpn rotate``).

    The tunnel keeps its current ``secret_ref`` until the deploy of the new one succeeds;
    only then are the new values moved onto the tunnel and this row removed.
    """

    __tablename__ = "tunnel_rotation"
    id: Mapped[int] = mapped_column(primary_key=True)
    tunnel_id: Mapped[int] = mapped_column(ForeignKey("tunnel.id", ondelete="CASCADE"),
                                           unique=True)
    secret_ref: Mapped[str | None] = mapped_column(String(255))
    #: What is not secret: the new WireGuard public keys, the new certificates' serials.
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    tunnel: Mapped[Tunnel] = relationship(lazy="joined")


class AuditRun(Base):
    """One audit run (``gin audit check`` / ``report``), stored once with its findings, so
    every report format renders the same run and the trend compares runs of one scope.

    The row stays small (it is written to the change log); the findings and the devices'
    notes are in :class:`AuditFinding` and :class:`AuditDevice`.
    """

    __tablename__ = "audit_run"
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(255))
    generated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    framework: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(128))
    #: pass / (pass + fail + unknown) in percent; None: nothing applicable.
    score: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    unknown: Mapped[int] = mapped_column(Integer, default=0)
    not_applicable: Mapped[int] = mapped_column(Integer, default=0)
    #: Evidence files not read, each with why: ``[{"path": ..., "reason": ...}]``.
    skipped: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    __table_args__ = (Index("ix_audit_run_scope_time", "scope", "generated_at"),)


class AuditDevice(Base):
    """A device (or service, agency, link) of one run, and why its evidence could not be read."""

    __tablename__ = "audit_device"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("audit_run.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    device: Mapped[str] = mapped_column(String(255))
    agency: Mapped[str | None] = mapped_column(String(255))
    platform: Mapped[str] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)
    __table_args__ = (Index("ix_audit_device_run", "run_id", "position"),)


class AuditFinding(Base):
    """One check's verdict on one device in one run, with its evidence (secrets redacted)."""

    __tablename__ = "audit_finding"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("audit_run.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    device: Mapped[str] = mapped_column(String(255))
    agency: Mapped[str | None] = mapped_column(String(255))
    platform: Mapped[str] = mapped_column(String(64))
    check: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(255))
    controls: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[Any]] = mapped_column(JSON)
    remediation: Mapped[list[str]] = mapped_column(JSON)
    origin: Mapped[str] = mapped_column(Text)
    __table_args__ = (Index("ix_audit_finding_run", "run_id", "position"),
                      # posture per agency in a run (the console), without reading the run
                      Index("ix_audit_finding_run_agency", "run_id", "agency", "status"),
                      # one check on one device across runs; accepted risks
                      Index("ix_audit_finding_device_check", "device", "check"))


class AuditAcceptance(Base):
    """A failing or unknown finding (one check on one device) accepted as a risk: by whom,
    why, and until when.  While it is in force, reports show the finding as accepted (not
    hidden) and leave it out of the score; once it expires the finding counts again."""

    __tablename__ = "audit_acceptance"
    id: Mapped[int] = mapped_column(primary_key=True)
    device: Mapped[str] = mapped_column(String(255))
    check: Mapped[str] = mapped_column(String(64))
    agency: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text)
    accepted_by: Mapped[str] = mapped_column(String(128))
    accepted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    __table_args__ = (Index("ix_audit_acceptance_finding", "device", "check"),)


# --- who may use the shared service (``gin serve``) -------------------------------------------

SCOPE_KINDS = ("gin", "ministry", "agency")


class User(Timestamped, Base):
    """A person (or a robot account) who may log in to the service.

    ``password_hash`` is an argon2id hash (never the password); an account without one can
    only use API tokens.  A disabled account keeps its grants and history but cannot act.
    """

    __tablename__ = "gin_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(255))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(default=False)
    #: The console's language for this person ("en", "th"; None: not chosen yet).
    language: Mapped[str | None] = mapped_column(String(8))
    #: The TOTP second factor's secret, sealed (``sealed:v1:...``, never in clear), when the
    #: account has one; and the last time step a code was accepted for (no code twice).
    totp_sealed: Mapped[str | None] = mapped_column(Text)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)

    grants: Mapped[list[Grant]] = relationship(back_populates="user", lazy="selectin",
                                               cascade="all, delete-orphan")


class Role(Base):
    """A role is data: its name and the permissions it carries (``directory.read``, ...)."""

    __tablename__ = "gin_role"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    description: Mapped[str | None] = mapped_column(String(255))
    permissions: Mapped[list[str]] = mapped_column(JSON)


class Grant(Base):
    """One role for one user over one scope: the whole GIN, a ministry (and every agency
    under it) or one agency."""

    __tablename__ = "gin_grant"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("gin_user.id", ondelete="CASCADE"))
    role_id: Mapped[int] = mapped_column(ForeignKey("gin_role.id", ondelete="RESTRICT"))
    scope: Mapped[str] = mapped_column(String(16), default="gin")
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id", ondelete="RESTRICT"))

    user: Mapped[User] = relationship(back_populates="grants")
    role: Mapped[Role] = relationship(lazy="joined")
    agency: Mapped[Agency | None] = relationship(lazy="joined")
    __table_args__ = (
        CheckConstraint(f"scope IN {SCOPE_KINDS!r}", name="gin_grant_scope"),
        CheckConstraint("(scope = 'gin') = (agency_id IS NULL)", name="gin_grant_agency"),
        UniqueConstraint("user_id", "role_id", "scope", "agency_id", name="uq_gin_grant"),
    )


class ApiToken(Base):
    """A named API token of a user.  Only a SHA-256 of its random secret is stored (the
    secret has 256 bits of entropy, so a slow hash would add nothing but latency);
    ``key`` is the public half a presented token is looked up by."""

    __tablename__ = "gin_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("gin_user.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    read_only: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(lazy="joined")
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_gin_token_name"),)


class LoginFailure(Base):
    """A failed password login: who was tried, from where, when.  Kept in the database so
    every server process throttles alike (``directory.identity.login_delay``)."""

    __tablename__ = "gin_login_failure"
    id: Mapped[int] = mapped_column(primary_key=True)
    time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    user_name: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    __table_args__ = (Index("ix_login_failure_user", "user_name", "time"),
                      Index("ix_login_failure_source", "source", "time"))


class DeviceChangeEntry(Base):
    """The change journal: one row per device a change touches, written before the push.

    It keeps what a crashed process cannot: the device's running config before the change
    (the *pre-image*, with its SHA-256), the lines pushed, who pushed them (process, host,
    process start, user, job) and how far it got (``state``).  An entry that is not
    ``done``/``restored`` and whose owner is gone is resolved before the device is changed
    again.  The pre-image is the device's own text (it may hold its keys): the journal is
    never written to the change log.
    """

    __tablename__ = "device_change"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(String(36))
    device: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(16))
    pre_image: Mapped[str] = mapped_column(Text)
    pre_sha256: Mapped[str] = mapped_column(String(64))
    lines: Mapped[list[str]] = mapped_column(JSON)
    after_sha256: Mapped[str | None] = mapped_column(String(64))
    owner_pid: Mapped[int] = mapped_column(Integer)
    owner_host: Mapped[str] = mapped_column(String(255))
    owner_start: Mapped[str] = mapped_column(String(64))
    owner_user: Mapped[str] = mapped_column(String(128))
    job_id: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)
    #: every state the entry went through, with its time: [[state, iso time], ...]
    history: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (
        Index("ix_device_change_open", "device", "state"),
        Index("ix_device_change_run", "run_id"),
    )


class DeviceLock(Base):
    """Who holds a device's change lock, since when (on SQLite it *is* the lock; on
    PostgreSQL an advisory lock is, and this row says who holds it)."""

    __tablename__ = "device_lock"
    device: Mapped[str] = mapped_column(String(255), primary_key=True)
    owner_pid: Mapped[int] = mapped_column(Integer)
    owner_host: Mapped[str] = mapped_column(String(255))
    owner_start: Mapped[str] = mapped_column(String(64))
    owner_user: Mapped[str] = mapped_column(String(128))
    acquired_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled")


class Job(Base):
    """A long operation of the service (provision, deploy, backup, audit, web scan): gin's
    own record of it, whatever runs it (an in-process runner, or a procrastinate worker on
    PostgreSQL), so the API reads one table.  ``worker_*`` name the process running it and
    ``heartbeat_at`` says it still lives: a running job whose worker is gone is marked
    failed, never left running.  Written with plain statements, not to the change log (the
    operation's own changes are logged there under ``owner``)."""

    __tablename__ = "gin_job"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    #: the principal who asked (the change log's actor for everything the job changes)
    owner: Mapped[str] = mapped_column(String(128))
    #: the agency the job acts on (who else may see it); None: the whole GIN
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agency.id", ondelete="SET NULL"))
    agency: Mapped[Agency | None] = relationship()
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    #: 0 while the amount of work is not known yet
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    runner: Mapped[str] = mapped_column(String(32))
    worker_pid: Mapped[int | None] = mapped_column(Integer)
    worker_host: Mapped[str | None] = mapped_column(String(255))
    worker_start: Mapped[str | None] = mapped_column(String(64))
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    #: who asked a running job to stop (it stops at its next safe point, ``cancelled``)
    cancel_requested_by: Mapped[str | None] = mapped_column(String(128))
    __table_args__ = (Index("ix_gin_job_state", "state"), Index("ix_gin_job_owner", "owner"),
                      CheckConstraint("state IN ('queued', 'running', 'succeeded', 'failed', "
                                      "'cancelled')", name="ck_gin_job_state"))


class JobLogLine(Base):
    """One line of a job's log (what it did, step by step; never a secret or a config)."""

    __tablename__ = "gin_job_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("gin_job.id", ondelete="CASCADE"))
    time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    line: Mapped[str] = mapped_column(Text)
    __table_args__ = (Index("ix_gin_job_log_job", "job_id", "id"),)
