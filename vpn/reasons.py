"""Why a tunnel is not up, in words, from what charon logs (LAB-NOTES lists the signals).

charon reports failures as notify names and log lines, on the initiator's control log
(what ``initiate`` streams back) and in each side's file log.  The first matching signal
wins; the table is ordered from the most to the least specific.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

PROPOSAL = "proposal mismatch (no common IKE or ESP proposal)"
AUTH = "authentication failed (wrong PSK, wrong ID or untrusted CA)"
UNTRUSTED = ("authentication failed: the peer's certificate is not trusted (not issued by the "
             "GIN VPN CA, or revoked)")
INSTALL = ("gateway could not install the tunnel's policies or routes (it needs an address in "
           "each protected subnet family)")
TS = "traffic selectors unacceptable (protected subnets differ)"
UNREACHABLE = "peer not responding (unreachable or its charon is down)"
NO_CHILD = "IKE SA up but no CHILD_SA (ESP proposal or traffic selectors refused)"
NO_HANDSHAKE = "no handshake (wrong key on one side, or peer unreachable)"
NOT_LOADED = "not deployed on this gateway"

SIGNALS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.I), reason) for p, reason in (
        (r"NO_PROPOSAL_CHOSEN|no acceptable proposal|no matching proposal", PROPOSAL),
        # the side that checked the certificate says why; its peer only hears AUTH_FAILED
        (r"no trusted .* public key found|no issuer certificate found|certificate .* "
         r"revoked", UNTRUSTED),
        (r"AUTHENTICATION_FAILED|authentication of .* failed|constraint check failed|"
         r"tried \d+ shared key", AUTH),
        (r"unable to install IPsec policies|error installing route", INSTALL),
        (r"TS_UNACCEPTABLE|no acceptable traffic selectors|traffic selectors .* "
         r"unacceptable", TS),
        (r"giving up after \d+ retransmits|peer not responding|retransmit \d+ of request",
         UNREACHABLE),
    ))


def from_lines(lines: Iterable[str]) -> str | None:
    """The reason the log lines give, or None when they name none."""
    text = list(lines)
    for pattern, reason in SIGNALS:
        if any(pattern.search(line) for line in text):
            return reason
    return None


def from_log(path: object, conn: str, max_bytes: int = 256 * 1024) -> str | None:
    """The reason in the last failure of connection ``conn`` in a charon file log.

    Only lines of IKE SAs named ``<conn|n>`` (``ike_name = yes``) count, and only those
    after the last time the connection was established, so an old failure is forgotten.
    """
    from pathlib import Path

    try:
        with Path(str(path)).open("rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            tail = fh.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return None
    tag = f"<{conn}|"
    mine = [line for line in tail if tag in line]
    for i in range(len(mine) - 1, -1, -1):
        if re.search(r"CHILD_SA .* established|IKE_SA .* established", mine[i]):
            mine = mine[i + 1:]
            break
    return from_lines(mine)
