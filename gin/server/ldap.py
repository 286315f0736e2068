"""LDAP logins: a user's password is checked by binding to the directory server as them, and
their roles come from the LDAP groups they are a member of.

Configured with a YAML file whose keys are those of NetBox's ``ldap_config.py`` (django-auth-
ldap), so an admin who has set up NetBox against the ministry's directory recognises them::

    AUTH_LDAP_SERVER_URI: ldap://ldap.gin.go.th
    AUTH_LDAP_START_TLS: true
    AUTH_LDAP_USER_DN_TEMPLATE: uid=%(user)s,ou=people,dc=gin,dc=go,dc=th
    AUTH_LDAP_GROUP_SEARCH_BASE: ou=groups,dc=gin,dc=go,dc=th
    AUTH_LDAP_BIND_DN: cn=gin-reader,dc=gin,dc=go,dc=th   # optional: searches groups as it
    AUTH_LDAP_BIND_PASSWORD_FILE: /etc/gin/ldap-bind.secret  # never the password itself
    AUTH_LDAP_GROUP_ROLES:         # gin's own key: group DN -> "role:scope[:AGENCY]"
      cn=gin-soc,ou=groups,dc=gin,dc=go,dc=th: soc:gin
      cn=moi-net,ou=groups,dc=gin,dc=go,dc=th: [engineer:ministry:MOI, viewer:gin]

Groups are ``groupOfNames`` / ``groupOfUniqueNames`` entries whose ``member`` /
``uniqueMember`` holds the user's DN.  The mapping is authoritative: each LDAP login sets the
user's grants to exactly what their groups give (a user removed from a group loses the role at
their next login, and their login tokens expire within a day).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger("gin.server.ldap")

KEYS = {"AUTH_LDAP_SERVER_URI", "AUTH_LDAP_START_TLS", "AUTH_LDAP_USER_DN_TEMPLATE",
        "AUTH_LDAP_GROUP_SEARCH_BASE", "AUTH_LDAP_BIND_DN", "AUTH_LDAP_BIND_PASSWORD_FILE",
        "AUTH_LDAP_GROUP_ROLES", "AUTH_LDAP_TIMEOUT", "AUTH_LDAP_CA_FILE"}
REQUIRED = ("AUTH_LDAP_SERVER_URI", "AUTH_LDAP_USER_DN_TEMPLATE", "AUTH_LDAP_GROUP_SEARCH_BASE",
            "AUTH_LDAP_GROUP_ROLES")
ROLE_RE = re.compile(r"^([a-z]+):(gin|ministry|agency)(?::([A-Za-z0-9_-]{1,32}))?$")


class LdapConfigError(ValueError):
    """The configuration file is wrong: one line saying where and how to fix it."""


Grant = tuple[str, str, str | None]  # (role, scope, agency code)


def normal_dn(dn: str) -> str:
    """DNs compared the way LDAP does for these attributes: case and spaces after commas."""
    return ",".join(part.strip() for part in dn.split(",")).lower()


@dataclass(frozen=True)
class LdapConfig:
    server_uri: str
    user_dn_template: str
    group_search_base: str
    group_roles: dict[str, tuple[Grant, ...]]  # normalised group DN -> grants
    start_tls: bool = False
    bind_dn: str | None = None
    bind_password: str | None = None
    timeout: int = 10
    ca_file: str | None = None

    def user_dn(self, user: str) -> str:
        return self.user_dn_template % {"user": user}


def _grants(where: str, value: Any) -> tuple[Grant, ...]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        found = ROLE_RE.fullmatch(str(item).strip())
        if not found or (found.group(2) == "gin") != (found.group(3) is None):
            raise LdapConfigError(f"{where}: {item!r} is not 'role:gin' or "
                                  "'role:ministry:CODE' / 'role:agency:CODE'")
        role, scope, agency = found.groups()
        out.append((role, scope, agency.upper() if agency else None))
    return tuple(out)


def load_config(path: str | Path) -> LdapConfig:
    """Read and check an LDAP configuration file (errors name the file and the key)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise LdapConfigError(f"{path}: cannot read the LDAP configuration ({exc})") from None
    if not isinstance(data, dict):
        raise LdapConfigError(f"{path}: expected a mapping of AUTH_LDAP_* keys")
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise LdapConfigError(f"{path}: unknown key {unknown[0]!r} "
                              f"(known: {', '.join(sorted(KEYS))})")
    for key in REQUIRED:
        if not data.get(key):
            raise LdapConfigError(f"{path}: {key} is required")
    uri = str(data["AUTH_LDAP_SERVER_URI"])
    if not uri.startswith(("ldap://", "ldaps://")):
        raise LdapConfigError(f"{path}: AUTH_LDAP_SERVER_URI {uri!r} must start with ldap:// "
                              "or ldaps://")
    template = str(data["AUTH_LDAP_USER_DN_TEMPLATE"])
    if "%(user)s" not in template:
        raise LdapConfigError(f"{path}: AUTH_LDAP_USER_DN_TEMPLATE must contain %(user)s")
    roles = data["AUTH_LDAP_GROUP_ROLES"]
    if not isinstance(roles, dict):
        raise LdapConfigError(f"{path}: AUTH_LDAP_GROUP_ROLES must map group DNs to roles")
    password = None
    if data.get("AUTH_LDAP_BIND_PASSWORD_FILE"):
        try:
            password = Path(data["AUTH_LDAP_BIND_PASSWORD_FILE"]).read_text().strip()
        except OSError as exc:
            raise LdapConfigError(f"{path}: AUTH_LDAP_BIND_PASSWORD_FILE: {exc.strerror}") from None
    if bool(data.get("AUTH_LDAP_BIND_DN")) != (password is not None):
        raise LdapConfigError(f"{path}: give AUTH_LDAP_BIND_DN and AUTH_LDAP_BIND_PASSWORD_FILE "
                              "together, or neither (groups are then read as the user)")
    return LdapConfig(
        server_uri=uri, user_dn_template=template,
        group_search_base=str(data["AUTH_LDAP_GROUP_SEARCH_BASE"]),
        group_roles={normal_dn(str(dn)): _grants(f"{path}: AUTH_LDAP_GROUP_ROLES[{dn}]", v)
                     for dn, v in roles.items()},
        start_tls=bool(data.get("AUTH_LDAP_START_TLS", False)),
        bind_dn=data.get("AUTH_LDAP_BIND_DN"), bind_password=password,
        timeout=int(data.get("AUTH_LDAP_TIMEOUT", 10)), ca_file=data.get("AUTH_LDAP_CA_FILE"))


class LdapUnavailable(RuntimeError):
    """The LDAP server could not be reached or refused the service account."""


@dataclass(frozen=True)
class LdapUser:
    dn: str
    full_name: str | None
    groups: tuple[str, ...]  # normalised DNs
    grants: tuple[Grant, ...]


def _server(config: LdapConfig):  # type: ignore[no-untyped-def]
    import ssl

    from ldap3 import Server, Tls

    tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=config.ca_file) if (
        config.start_tls or config.server_uri.startswith("ldaps://")) else None
    return Server(config.server_uri, connect_timeout=config.timeout, tls=tls)


def _connection(config: LdapConfig, dn: str, password: str):  # type: ignore[no-untyped-def]
    from ldap3 import Connection

    conn = Connection(_server(config), user=dn, password=password, receive_timeout=config.timeout,
                      raise_exceptions=False)
    conn.open()
    if config.start_tls:
        conn.start_tls()
    return conn


def authenticate(config: LdapConfig, user: str, password: str) -> LdapUser | None:
    """Bind as ``user`` with ``password``; their DN, name, groups and mapped grants, or None
    for a wrong name or password.  ``user`` must already be a valid gin user name (no DN
    metacharacters).  An empty password is refused here: LDAP would take it as an anonymous
    bind and "succeed"."""
    from ldap3 import BASE, SUBTREE
    from ldap3.core.exceptions import LDAPException
    from ldap3.utils.conv import escape_filter_chars

    if not password:
        return None
    dn = config.user_dn(user)
    try:
        conn = _connection(config, dn, password)
        if not conn.bind():
            conn.unbind()
            return None
        try:
            conn.search(dn, "(objectClass=*)", BASE, attributes=["cn", "displayName"])
            entry = conn.entries[0] if conn.entries else None
            full_name = None
            if entry is not None:
                for attr in ("displayName", "cn"):
                    if attr in entry and entry[attr].value:
                        value = entry[attr].value
                        full_name = str(value[0] if isinstance(value, list) else value)
                        break
            reader = conn
            if config.bind_dn:
                reader = _connection(config, config.bind_dn, config.bind_password or "")
                if not reader.bind():
                    raise LdapUnavailable("the LDAP server refused AUTH_LDAP_BIND_DN")
            who = escape_filter_chars(dn)
            reader.search(config.group_search_base,
                          f"(|(&(objectClass=groupOfNames)(member={who}))"
                          f"(&(objectClass=groupOfUniqueNames)(uniqueMember={who})))",
                          SUBTREE, attributes=[])
            groups = tuple(sorted(normal_dn(e.entry_dn) for e in reader.entries))
            if reader is not conn:
                reader.unbind()
        finally:
            conn.unbind()
    except LDAPException as exc:
        log.error("LDAP server %s unavailable: %s", config.server_uri, type(exc).__name__)
        raise LdapUnavailable(f"the LDAP server {config.server_uri} is unavailable") from None
    grants: list[Grant] = []
    for group in groups:
        for g in config.group_roles.get(group, ()):
            if g not in grants:
                grants.append(g)
    return LdapUser(dn, full_name, groups, tuple(grants))
