"""Who may use the shared service: users, roles, grants over scopes, API tokens.

Kept in the directory (the ground floor) because the CLI (``gin user ...``) and the service
(``gin serve``) both manage and check the same accounts; every change here is written to the
change log like any other, so a review of access rights (who was given what, by whom, when)
is a history query.

Passwords are stored as argon2id hashes (``argon2-cffi``, the ``serve`` extra).  API tokens
are ``gin_<key>_<secret>``: ``key`` finds the row, only SHA-256 of the 256-bit random secret
is stored and compared in constant time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from . import models as m
from .errors import Conflict, Invalid, NotFound
from .names import clean_text

#: Every permission a route may require, and whether it changes anything (a read-only token
#: carries only the ones that do not).
PERMISSIONS: dict[str, tuple[str, bool]] = {
    "directory.read": ("read agencies, sites, devices, prefixes, whois", False),
    "directory.write": ("add, change and remove directory objects", True),
    "prefix.allocate": ("allocate and release prefixes", True),
    "changelog.read": ("read and verify the change log", False),
    "identity.read": ("review users, roles, grants and tokens", False),
    "identity.admin": ("add users, grant roles, issue and revoke others' tokens", True),
    "gsi.block": ("add and lift GSI blocks", True),
    "monitor.read": ("read monitoring state and threat events", False),
    "audit.read": ("read audit runs and reports", False),
    "network.provision": ("provision links and deploy tunnels", True),
    "audit.run": ("run audits, web scans and config backups (evidence; changes no device)",
                  True),
    "job.cancel": ("cancel one's own jobs (an admin: anyone's)", True),
}
READ_PERMISSIONS = frozenset(p for p, (_, writes) in PERMISSIONS.items() if not writes)

USER_RE = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
TOKEN_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
TOKEN_RE = re.compile(r"^gin_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 366


def _hasher():  # type: ignore[no-untyped-def]
    try:
        from argon2 import PasswordHasher
    except ImportError:  # pragma: no cover - the serve extra is in the lock
        raise Invalid("passwords need argon2-cffi: install gin with the 'serve' extra") from None
    return PasswordHasher()  # argon2id with the library's current recommended cost


def hash_password(password: str) -> str:
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise Invalid(f"password: must be {MIN_PASSWORD} to {MAX_PASSWORD} characters long")
    return _hasher().hash(password)


def clean_user(name: object) -> str:
    text = clean_text(name, "user", 64)
    assert text is not None
    if not USER_RE.fullmatch(text):
        raise Invalid(f"user: {text!r} is not a valid name (lower-case a-z, 0-9, _ . -; "
                      "starts with a letter)")
    return text


def get_user(session: Session, name: str) -> m.User:
    key = clean_user(name)
    user = session.scalars(select(m.User).where(m.User.name == key)).first()
    if user is None:
        raise NotFound(f"user {key!r} not found (gin user list shows who exists)")
    return user


def get_role(session: Session, name: str) -> m.Role:
    role = session.scalars(select(m.Role).where(m.Role.name == str(name).lower())).first()
    if role is None:
        known = ", ".join(session.scalars(select(m.Role.name).order_by(m.Role.name)))
        raise NotFound(f"role {name!r} not found (roles: {known})")
    return role


def add_user(session: Session, name: str, password: str | None = None,
             full_name: str | None = None) -> m.User:
    key = clean_user(name)
    if session.scalar(select(m.User.id).where(m.User.name == key)):
        raise Conflict(f"user {key!r} already exists")
    user = m.User(name=key, full_name=clean_text(full_name, "full_name", 255, False),
                  password_hash=hash_password(password) if password is not None else None)
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, name: str, password: str) -> m.User:
    user = get_user(session, name)
    user.password_hash = hash_password(password)
    session.flush()
    return user


def set_disabled(session: Session, name: str, disabled: bool) -> m.User:
    user = get_user(session, name)
    user.disabled = disabled
    if disabled:
        for token in session.scalars(select(m.ApiToken).where(m.ApiToken.user_id == user.id,
                                                              m.ApiToken.revoked_at.is_(None))):
            token.revoked_at = m.utcnow()
    session.flush()
    return user


def list_users(session: Session) -> list[m.User]:
    return list(session.scalars(select(m.User).order_by(m.User.name)))


def grant(session: Session, user: str, role: str, scope: str = "gin",
          agency: str | None = None) -> m.Grant:
    """Give ``user`` the ``role`` over the whole GIN, a ministry's tree, or one agency."""
    from .store import get_agency

    u, r = get_user(session, user), get_role(session, role)
    if scope not in m.SCOPE_KINDS:
        raise Invalid(f"scope: {scope!r} is not one of {', '.join(m.SCOPE_KINDS)}")
    if (scope == "gin") != (agency is None):
        raise Invalid("scope: 'gin' takes no agency; 'ministry' and 'agency' need --agency CODE")
    ag = get_agency(session, agency) if agency else None
    same_agency = m.Grant.agency_id == ag.id if ag else m.Grant.agency_id.is_(None)
    exists = select(m.Grant.id).where(m.Grant.user_id == u.id, m.Grant.role_id == r.id,
                                      m.Grant.scope == scope, same_agency)
    if session.scalar(exists):
        raise Conflict(f"user {u.name} already has role {r.name} over that scope")
    g = m.Grant(user=u, role=r, scope=scope, agency=ag)
    session.add(g)
    session.flush()
    return g


def revoke_grant(session: Session, user: str, role: str, scope: str = "gin",
                 agency: str | None = None) -> None:
    u, r = get_user(session, user), get_role(session, role)
    for g in list(u.grants):
        if g.role_id == r.id and g.scope == scope and (
                (g.agency.code if g.agency else None) == (agency.upper() if agency else None)):
            session.delete(g)
            u.grants.remove(g)
            session.flush()
            return
    raise NotFound(f"user {u.name} has no role {r.name} over scope {scope} {agency or ''}".strip())


# --- tokens -------------------------------------------------------------------------------------


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(session: Session, user: str, name: str, days: int | None = DEFAULT_TOKEN_DAYS,
                 read_only: bool = False) -> tuple[m.ApiToken, str]:
    """A new token; the returned secret is shown once and never stored."""
    u = get_user(session, user)
    label = clean_text(name, "token name", 64)
    assert label is not None
    if not TOKEN_NAME_RE.fullmatch(label):
        raise Invalid(f"token name: {label!r} is not valid (A-Z a-z 0-9 _ . -)")
    if days is not None and not 1 <= int(days) <= MAX_TOKEN_DAYS:
        raise Invalid(f"token expiry: {days} days is outside 1..{MAX_TOKEN_DAYS}")
    exists = select(m.ApiToken.id).where(m.ApiToken.user_id == u.id, m.ApiToken.name == label)
    if session.scalar(exists):
        raise Conflict(f"user {u.name} already has a token named {label!r} "
                       "(revoke it first or choose another name)")
    key, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    expires = m.utcnow() + dt.timedelta(days=int(days)) if days is not None else None
    token = m.ApiToken(user=u, name=label, key=key, secret_hash=_digest(secret),
                       read_only=read_only, expires_at=expires)
    session.add(token)
    session.flush()
    return token, f"gin_{key}_{secret}"


def list_tokens(session: Session, user: str | None = None) -> list[m.ApiToken]:
    stmt = select(m.ApiToken).join(m.ApiToken.user).order_by(m.User.name, m.ApiToken.name)
    if user:
        stmt = stmt.where(m.ApiToken.user_id == get_user(session, user).id)
    return list(session.scalars(stmt))


def revoke_token(session: Session, user: str, name: str) -> m.ApiToken:
    u = get_user(session, user)
    token = session.scalars(select(m.ApiToken).where(m.ApiToken.user_id == u.id,
                                                     m.ApiToken.name == name)).first()
    if token is None:
        raise NotFound(f"user {u.name} has no token named {name!r}")
    if token.revoked_at is None:
        token.revoked_at = m.utcnow()
        session.flush()
    return token


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)  # SQLite hands back naive UTC
    return value


def token_state(token: m.ApiToken, now: dt.datetime | None = None) -> str:
    """``active``, ``expired`` or ``revoked``."""
    now = now or m.utcnow()
    if token.revoked_at is not None:
        return "revoked"
    expires = _aware(token.expires_at)
    if expires is not None and expires <= now:
        return "expired"
    return "active"


# --- authentication -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """Who is acting and what they were given: the service turns this into decisions."""

    user: str
    token: str | None
    read_only: bool
    grants: tuple[tuple[str, frozenset[str], int | None], ...]  # (scope, permissions, agency)
    #: When the token used expires (None: a password login, or a token without expiry);
    #: the service believes a cached check no longer than this.
    expires_at: dt.datetime | None = field(default=None, compare=False)

    @property
    def actor(self) -> str:
        """What the change log records: the user, and the token when one was used."""
        return f"api:{self.user}" + (f"/token:{self.token}" if self.token else "")


def identity_of(user: m.User, token: m.ApiToken | None = None) -> Identity:
    grants = []
    for g in user.grants:
        perms = frozenset(g.role.permissions)
        if token is not None and token.read_only:
            perms &= READ_PERMISSIONS
        grants.append((g.scope, perms, g.agency_id))
    return Identity(user.name, token.name if token else None,
                    bool(token and token.read_only), tuple(grants),
                    _aware(token.expires_at) if token is not None else None)


def authenticate_token(session: Session, presented: str) -> Identity | None:
    """The identity behind a presented token, or None (unknown, wrong, expired, revoked, or
    its user disabled).  Marks the token as used."""
    match = TOKEN_RE.fullmatch(presented or "")
    if not match:
        return None
    key, secret = match.groups()
    token = session.scalars(select(m.ApiToken).where(m.ApiToken.key == key)).first()
    if token is None or not hmac.compare_digest(token.secret_hash, _digest(secret)):
        return None
    now = m.utcnow()
    if token_state(token, now) != "active" or token.user.disabled:
        return None
    last = _aware(token.last_used_at)
    if last is None or now - last > dt.timedelta(seconds=60):  # not a write per request
        token.last_used_at = now
    return identity_of(token.user, token)


_DUMMY: list[str] = []


def authenticate_password(session: Session, name: str, password: str) -> Identity | None:
    """The identity for a correct name and password, else None.  An unknown name costs the
    same hash as a known one, so timing does not tell which names exist."""
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = _hasher()
    try:
        user = get_user(session, name)
    except (Invalid, NotFound):
        user = None
    if user is None or not has_password(user) or user.disabled:
        if not _DUMMY:
            _DUMMY.append(hasher.hash(secrets.token_hex(16)))
        with contextlib.suppress(VerificationError):
            hasher.verify(_DUMMY[0], password or "x")
        return None
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return identity_of(user)


# --- LDAP-backed users ---------------------------------------------------------------------------

#: What an LDAP-backed account holds instead of a password hash: like the ``!`` of a locked
#: /etc/shadow entry it can never verify, so such an account logs in only through LDAP.
LDAP_MARK = "!ldap"


def has_password(user: m.User) -> bool:
    """Whether the account has a local (argon2id) password."""
    return user.password_hash is not None and user.password_hash != LDAP_MARK


def is_ldap(user: m.User) -> bool:
    return user.password_hash == LDAP_MARK


def ldap_login_allowed(session: Session, name: str) -> bool:
    """An LDAP login may create ``name`` or act for an LDAP-backed account, never take over a
    local account (one with a password, or a token-only robot created by ``gin user add``)."""
    user = session.scalars(select(m.User).where(m.User.name == clean_user(name))).first()
    return user is None or is_ldap(user)


def sync_ldap_user(session: Session, name: str, full_name: str | None,
                   grants: tuple[tuple[str, str, str | None], ...]) -> Identity | None:
    """Create or update the LDAP-backed account ``name`` after a successful LDAP bind, with
    exactly ``grants`` (role, scope, agency) from its groups: roles from groups no longer held
    are taken away.  Grants naming an unknown role or agency are skipped (the caller logs
    them).  None if the account is disabled locally (a local disable overrides LDAP)."""
    key = clean_user(name)
    user = session.scalars(select(m.User).where(m.User.name == key)).first()
    if user is None:
        user = m.User(name=key, password_hash=LDAP_MARK)
        session.add(user)
    elif not is_ldap(user):
        raise Conflict(f"user {key!r} is a local account: LDAP may not log in as it")
    if user.disabled:
        return None
    name_text = clean_text(full_name, "full_name", 255, False)
    if name_text and user.full_name != name_text:
        user.full_name = name_text
    session.flush()
    wanted = set()
    for role, scope, agency in grants:
        with contextlib.suppress(NotFound):
            r = get_role(session, role)
            ag_id = None
            if agency is not None:
                from .store import get_agency

                ag_id = get_agency(session, agency).id
            wanted.add((r.id, scope, ag_id))
    for g in list(user.grants):
        if (g.role_id, g.scope, g.agency_id) not in wanted:
            user.grants.remove(g)
            session.delete(g)
        else:
            wanted.discard((g.role_id, g.scope, g.agency_id))
    for role_id, scope, ag_id in sorted(wanted, key=str):
        user.grants.append(m.Grant(role_id=role_id, scope=scope, agency_id=ag_id))
    session.flush()
    session.refresh(user)
    return identity_of(user)


def describe_grant(g: m.Grant) -> dict[str, Any]:
    return {"role": g.role.name, "scope": g.scope, "agency": g.agency.code if g.agency else None}


# --- throttling failed logins -------------------------------------------------------------------

#: Failures within the window before logins are slowed: per account, and per source address
#: (higher: many people may sit behind one address).  Then the wait starts at FIRST_WAIT
#: seconds and doubles with each further failure, up to the window.
THROTTLE_WINDOW = dt.timedelta(minutes=15)
FIRST_WAIT = 30
FREE_FAILURES_USER = 5
FREE_FAILURES_SOURCE = 20


def login_delay(session: Session, name: str, source: str,
                now: dt.datetime | None = None) -> int:
    """Seconds until a login for ``name`` from ``source`` is considered again (0: go ahead).

    Counted from the database, so every server process (and every worker) agrees.  A correct
    password is refused too while the wait lasts: otherwise guessing would simply go on.
    """
    now = now or m.utcnow()
    since = now - THROTTLE_WINDOW
    worst = 0
    for column, value, free in ((m.LoginFailure.user_name, name[:64], FREE_FAILURES_USER),
                                (m.LoginFailure.source, source[:64], FREE_FAILURES_SOURCE)):
        count, last = session.execute(
            select(func.count(), func.max(m.LoginFailure.time))
            .where(column == value, m.LoginFailure.time > since)).one()
        if count >= free and last is not None:
            wait = min(FIRST_WAIT * 2 ** min(count - free, 16),
                       int(THROTTLE_WINDOW.total_seconds()))
            left = wait - int((now - _aware(last)).total_seconds())
            worst = max(worst, left)
    return max(worst, 0)


def record_login_failure(session: Session, name: str, source: str) -> None:
    session.add(m.LoginFailure(user_name=name[:64], source=source[:64]))
    session.flush()


def clear_login_failures(session: Session, name: str) -> None:
    """A successful login forgives the account's failures (the source's stay counted)."""
    session.execute(delete(m.LoginFailure).where(m.LoginFailure.user_name == name[:64]))


# --- a second factor (TOTP) ----------------------------------------------------------------------


def set_totp(session: Session, name: str, sealed: str | None) -> m.User:
    """Give ``name`` a TOTP second factor (its secret already sealed by the caller: the
    directory never holds it in clear), or take it away (None)."""
    user = get_user(session, name)
    if sealed is not None and not sealed.startswith("sealed:"):
        raise Invalid("totp: the secret must be sealed before it is stored")
    user.totp_sealed = sealed
    user.totp_last_step = None
    session.flush()
    return user


def has_totp(user: m.User) -> bool:
    return user.totp_sealed is not None


def use_totp_step(session: Session, user: m.User, step: int) -> bool:
    """Accept a code of time step ``step`` once: False for a step at or before the last one
    accepted (a code seen on the wire is not good a second time)."""
    if user.totp_last_step is not None and step <= user.totp_last_step:
        return False
    user.totp_last_step = step
    session.flush()
    return True
