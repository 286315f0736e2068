"""The optional second factor: time-based one-time codes (RFC 6238, ``pyotp``).

The secret is made here, shown once as an ``otpauth://`` URI for the user's authenticator app
(``gin user totp enable``), and stored only sealed with the service's sealing key (the same
AES-256-GCM key as the VPN secrets, ``GIN_VPN_KEY_FILE``), bound to the user's name so a
sealed value copied to another account does not open.  A code is accepted for the current
30-second step or the one either side (clock drift), and each step once only.
"""

from __future__ import annotations

import time

from sqlalchemy.orm import Session

from directory import identity
from directory import models as m

ISSUER = "gin"
DIGITS = 6
INTERVAL = 30
DRIFT_STEPS = 1


def _context(user: str) -> str:
    return f"totp:{user}"


def enable(session: Session, name: str) -> str:
    """A new secret for ``name``, stored sealed; returns the otpauth URI (shown once)."""
    import pyotp

    from directory.errors import Conflict
    from vpn.keys import seal_bytes

    user = identity.get_user(session, name)
    if identity.has_totp(user):
        raise Conflict(f"user {user.name} already has a one-time code: "
                       f"gin user totp disable {user.name} first")
    secret = pyotp.random_base32()
    identity.set_totp(session, user.name, seal_bytes(secret.encode("ascii"),
                                                     _context(user.name)))
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(
        name=user.name, issuer_name=ISSUER)


def disable(session: Session, name: str) -> None:
    identity.set_totp(session, name, None)


def secret_of(user: m.User) -> str:
    """The account's TOTP secret (for checking a code, and for tests computing real codes)."""
    from vpn.keys import unseal_bytes

    assert user.totp_sealed is not None
    return unseal_bytes(user.totp_sealed, _context(user.name)).decode("ascii")


def check(session: Session, user: m.User, code: str | None, now: float | None = None) -> bool:
    """Whether ``code`` is the account's current one-time code, not used before."""
    import pyotp

    if not code or not code.isdigit() or len(code) != DIGITS:
        return False
    totp = pyotp.TOTP(secret_of(user), digits=DIGITS, interval=INTERVAL)
    now = time.time() if now is None else now
    step = int(now // INTERVAL)
    for candidate in range(step - DRIFT_STEPS, step + DRIFT_STEPS + 1):
        if pyotp.utils.strings_equal(totp.at(candidate * INTERVAL), code):
            return identity.use_totp_step(session, user, candidate)
    return False
