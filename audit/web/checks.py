"""Web checks: judge a scan record (:mod:`audit.web.scan`) into findings of the same kind,
catalogue and report as the network checks (:class:`audit.findings.Finding`).

Each check is a pure function of the record, so a report can be rebuilt from stored
evidence at any time.  :mod:`audit.checks.web` registers them; the runner judges each
host's record (:func:`subjects`) like any other subject.  Which controls each check
evidences is data in the one catalogue (``audit/data/iso17799.yaml``, 10.6.x, 10.9.x,
12.3.1, 12.6.1), like the network checks'.  The remediation text (nginx and Apache lines)
is data in :mod:`audit.web.remediation`.  A host that did not answer TLS makes every check "unknown"
(with the reason) and ``web.reachable`` fail: silence is never a pass.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audit.checks.base import Check, Context, Result, Status, Subject
from audit.web import tls
from audit.web.remediation import FIXES

PLATFORM = "web"
BAD_PROTOCOLS = ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1")
#: Suites that are not AEAD (CBC, RC4, NULL), or are export/anonymous/DES/MD5 grade.
WEAK_SUITE = re.compile(r"_CBC_|RC4|NULL|EXPORT|_anon_|_DES_|3DES|_MD5$|IDEA|SEED", re.I)
MIN_KEY_BITS = {"RSA": 2048, "DSA": 99999, "EC": 256, "Ed25519": 0, "Ed448": 0}
WEAK_SIGNATURES = {"md5", "sha1"}
HSTS_MIN_SECONDS = 15552000  # 180 days
EXPIRY_WARN_DAYS = 14
SAFE_REFERRER = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin",
                 "origin", "origin-when-cross-origin"}
VERSION_IN_BANNER = re.compile(r"\d+\.\d+")
REDIRECTS = (301, 302, 303, 307, 308)

Judge = Callable[[dict[str, Any], dt.datetime], Result]


@dataclass(frozen=True)
class WebCheck:
    """One web check: how it judges a scan record, and how bad a failure is."""

    id: str
    title: str
    severity: str
    judge: Judge
    #: True: needs the TLS answer (unknown when the host did not answer TLS).
    needs_tls: bool = True


def _ev(*lines: str) -> tuple[tuple[int | None, str], ...]:
    return tuple((None, line[:300]) for line in lines if line)


def _r(status: Status, reason: str, *evidence: str) -> Result:
    return Result(status, reason, _ev(*evidence))


def _headers(rec: dict[str, Any]) -> dict[str, str] | None:
    answer = (rec.get("http") or {}).get("https") or {}
    return None if answer.get("status") is None else answer.get("headers") or {}


def _no_https(rec: dict[str, Any]) -> Result:
    answer = (rec.get("http") or {}).get("https") or {}
    return _r(Status.UNKNOWN, f"no HTTP answer over https: {answer.get('error') or 'none'}")


# --- TLS ---------------------------------------------------------------------------------------


def reachable(rec: dict[str, Any], _now: dt.datetime) -> Result:
    if rec.get("error"):
        return _r(Status.FAIL, f"unreachable: {rec['error']}", f"address {rec.get('address')}")
    if not isinstance(rec.get("tls"), dict) or not rec["tls"].get("protocols"):
        return _r(Status.UNKNOWN, "no TLS answer recorded")
    return _r(Status.PASS, f"answers TLS at {rec['address']}")


def protocols(rec: dict[str, Any], _now: dt.datetime) -> Result:
    offered = rec["tls"]["protocols"]
    if not offered:
        return _r(Status.UNKNOWN, "no protocol version was accepted")
    bad = [p for p in offered if p in BAD_PROTOCOLS]
    note = "TLS 1.3 offered" if "TLSv1.3" in offered else "TLS 1.3 not offered"
    if bad:
        return _r(Status.FAIL, f"offers {', '.join(bad)} ({note})", f"offered: {' '.join(offered)}")
    return _r(Status.PASS, f"TLS 1.2+ only ({note})", f"offered: {' '.join(offered)}")


def ciphers(rec: dict[str, Any], _now: dt.datetime) -> Result:
    suites = rec["tls"]["ciphers"]
    if not suites:
        return _r(Status.UNKNOWN, "no cipher suite was accepted")
    weak = sorted({c["name"] for c in suites
                   if WEAK_SUITE.search(c["name"]) or (c["key_size"] or 0) < 128})
    if weak:
        return _r(Status.FAIL, f"{len(weak)} weak suite(s) (not AEAD or under 128 bits)", *weak)
    return _r(Status.PASS, f"{len(suites)} suites, all AEAD of 128+ bits")


def forward_secrecy(rec: dict[str, Any], _now: dt.datetime) -> Result:
    suites = rec["tls"]["ciphers"]
    if not suites:
        return _r(Status.UNKNOWN, "no cipher suite was accepted")
    static = sorted({f"{c['protocol']} {c['name']}" for c in suites if not c["fs"]})
    if static:
        return _r(Status.FAIL, "key exchange without forward secrecy offered", *static)
    return _r(Status.PASS, "every suite uses an ephemeral key exchange")


def chain(rec: dict[str, Any], _now: dt.datetime) -> Result:
    t = rec["tls"]
    if t["chain_trusted"] is None:
        return _r(Status.UNKNOWN, t.get("chain_error") or "no certificate was read")
    if not t["chain_trusted"]:
        return _r(Status.FAIL, f"certificate chain not valid: {t['chain_error']}")
    return _r(Status.PASS, "chain validates to a trusted root")


def name_matches(host: str, names: Iterable[str]) -> bool:
    """RFC 6125 matching: exact, or a ``*.`` wildcard standing for one left-most label."""
    host = host.lower().rstrip(".")
    for name in names:
        name = name.lower().rstrip(".")
        if name == host:
            return True
        if name.startswith("*.") and "." in host:
            label, rest = host.split(".", 1)
            if label and rest == name[2:] and "." in rest:
                return True
    return False


def hostname(rec: dict[str, Any], _now: dt.datetime) -> Result:
    names = rec["tls"]["names"]
    if not names:
        return _r(Status.UNKNOWN, "no certificate names were read")
    shown = ", ".join(names[:10])
    if name_matches(rec["host"], names):
        return _r(Status.PASS, f"{rec['host']} is named by the certificate", f"names: {shown}")
    return _r(Status.FAIL, f"the certificate does not name {rec['host']}", f"names: {shown}")


def expiry(rec: dict[str, Any], now: dt.datetime) -> Result:
    seconds = tls.expiry_seconds(rec["tls"], now)
    if seconds is None:
        return _r(Status.UNKNOWN, "no certificate expiry was read")
    days = seconds / 86400
    ev = f"not after {rec['tls']['not_after']}"
    if seconds <= 0:
        return _r(Status.FAIL, f"certificate expired {abs(days):.0f} day(s) ago", ev)
    if days < EXPIRY_WARN_DAYS:
        return _r(Status.FAIL, f"certificate expires in {days:.1f} days "
                  f"(under {EXPIRY_WARN_DAYS})", ev)
    return _r(Status.PASS, f"{days:.0f} days left", ev)


def key(rec: dict[str, Any], _now: dt.datetime) -> Result:
    t = rec["tls"]
    if not t["key_type"]:
        return _r(Status.UNKNOWN, "no certificate key was read")
    ev = f"{t['key_type']} {t['key_bits']} bits, signed with {t['signature_hash']}"
    minimum = MIN_KEY_BITS.get(t["key_type"])
    if minimum is None or (t["key_bits"] or 0) < minimum:
        return _r(Status.FAIL, f"weak key {t['key_type']} {t['key_bits']} bits", ev)
    if (t["signature_hash"] or "").lower() in WEAK_SIGNATURES:
        return _r(Status.FAIL, f"certificate signed with {t['signature_hash']}", ev)
    return _r(Status.PASS, "key and signature strong enough", ev)


def ocsp(rec: dict[str, Any], _now: dt.datetime) -> Result:
    """Stapling matters when the certificate names an OCSP responder: clients would ask it
    otherwise (a privacy leak and a soft-fail).  A certificate naming none (revocation by CRL
    only) has nothing to staple; a record from before responders were read is judged as if
    the certificate named one, so older evidence never turns into a pass."""
    t = rec["tls"]
    if t["ocsp_stapled"]:
        return _r(Status.PASS, "an OCSP response is stapled")
    responders = t.get("ocsp_responders")
    ev = f"OCSP responder {', '.join(responders)}" if responders else ""
    if t.get("must_staple"):
        return _r(Status.FAIL, "the certificate demands stapling (must-staple) and none is "
                  "stapled", ev)
    if responders == []:
        return _r(Status.NOT_APPLICABLE, "the certificate names no OCSP responder: nothing to "
                  "staple")
    return _r(Status.FAIL, "no OCSP response stapled", ev)


# --- HTTP --------------------------------------------------------------------------------------


def redirect(rec: dict[str, Any], _now: dt.datetime) -> Result:
    answer = (rec.get("http") or {}).get("redirect")
    if answer is None:
        return _r(Status.UNKNOWN, "plain http was not asked")
    if answer["status"] is None:
        if "Refused" in (answer["error"] or ""):
            return _r(Status.PASS, "nothing is served over plain http (port closed)")
        return _r(Status.UNKNOWN, f"plain http did not answer: {answer['error']}")
    location = answer["headers"].get("location", "")
    ev = f"HTTP {answer['status']} Location: {location}" if location else f"HTTP {answer['status']}"
    if answer["status"] in REDIRECTS and location.lower().startswith("https://"):
        return _r(Status.PASS, "http redirects to https", ev)
    return _r(Status.FAIL, "plain http is served without a redirect to https", ev)


def _max_age(value: str) -> int | None:
    m = re.search(r"max-age\s*=\s*\"?(\d{1,12})", value, re.I)
    return int(m.group(1)) if m else None


def hsts(rec: dict[str, Any], _now: dt.datetime) -> Result:
    headers = _headers(rec)
    if headers is None:
        return _no_https(rec)
    value = headers.get("strict-transport-security")
    if not value:
        return _r(Status.FAIL, "no Strict-Transport-Security header")
    age = _max_age(value)
    ev = f"Strict-Transport-Security: {value}"
    if age is None or age < HSTS_MIN_SECONDS:
        return _r(Status.FAIL, f"HSTS max-age {age} is under {HSTS_MIN_SECONDS} s (180 days)", ev)
    return _r(Status.PASS, f"HSTS max-age {age} s", ev)


def _header_check(name: str, good: Callable[[str], bool], what: str) -> Judge:
    def judge(rec: dict[str, Any], _now: dt.datetime) -> Result:
        headers = _headers(rec)
        if headers is None:
            return _no_https(rec)
        value = headers.get(name)
        if not value:
            return _r(Status.FAIL, f"no {what} header")
        ev = f"{name}: {value}"
        if not good(value):
            return _r(Status.FAIL, f"{what} header has an unsafe value", ev)
        return _r(Status.PASS, f"{what} set", ev)
    return judge


def frame_options(rec: dict[str, Any], _now: dt.datetime) -> Result:
    headers = _headers(rec)
    if headers is None:
        return _no_https(rec)
    xfo = headers.get("x-frame-options", "")
    csp = headers.get("content-security-policy", "")
    if xfo.strip().upper() in ("DENY", "SAMEORIGIN"):
        return _r(Status.PASS, "framing restricted", f"x-frame-options: {xfo}")
    if "frame-ancestors" in csp.lower():
        return _r(Status.PASS, "framing restricted by CSP frame-ancestors",
                  f"content-security-policy: {csp}")
    return _r(Status.FAIL, "neither X-Frame-Options nor CSP frame-ancestors restricts framing")


def server_version(rec: dict[str, Any], _now: dt.datetime) -> Result:
    headers = _headers(rec)
    if headers is None:
        return _no_https(rec)
    leaks = [f"{n}: {headers[n]}" for n in ("server", "x-powered-by")
             if n in headers and VERSION_IN_BANNER.search(headers[n])]
    if leaks:
        return _r(Status.FAIL, "software version disclosed", *leaks)
    return _r(Status.PASS, "no software version disclosed",
              f"server: {headers['server']}" if "server" in headers else "")


def cookies(rec: dict[str, Any], _now: dt.datetime) -> Result:
    if _headers(rec) is None:
        return _no_https(rec)
    jar = rec["http"]["https"]["cookies"]
    if not jar:
        return _r(Status.NOT_APPLICABLE, "no cookie set on the start page")
    weak = []
    for raw in jar:
        attrs = {a.strip().split("=", 1)[0].lower() for a in raw.split(";")[1:]}
        missing = [a for a in ("secure", "httponly", "samesite") if a not in attrs]
        if missing:
            weak.append(f"{raw.split('=', 1)[0].strip()}: no {'/'.join(missing)}")
    if weak:
        return _r(Status.FAIL, f"{len(weak)} cookie(s) without Secure/HttpOnly/SameSite", *weak)
    return _r(Status.PASS, f"{len(jar)} cookie(s) Secure, HttpOnly, SameSite")


# --- IPv6 --------------------------------------------------------------------------------------


def aaaa(rec: dict[str, Any], _now: dt.datetime) -> Result:
    v6 = rec["dns"]["v6"]
    if v6:
        return _r(Status.PASS, "AAAA record present", f"AAAA {' '.join(v6)}")
    if rec["dns"]["error"]:
        return _r(Status.UNKNOWN, f"DNS did not answer: {rec['dns']['error']}")
    return _r(Status.FAIL, "no AAAA record")


def v6_answers(rec: dict[str, Any], _now: dt.datetime) -> Result:
    v6 = rec.get("ipv6")
    if not rec["dns"]["v6"] or v6 is None:
        return _r(Status.FAIL, "not reachable over IPv6 (no AAAA record)")
    if v6["error"]:
        return _r(Status.FAIL, f"does not answer over IPv6: {v6['error']}",
                  f"[{v6['address']}]:{v6['port']}")
    return _r(Status.PASS, "answers over IPv6", f"[{v6['address']}]:{v6['port']}")


def same_cert(rec: dict[str, Any], _now: dt.datetime) -> Result:
    v6 = rec.get("ipv6")
    if not v6 or not v6["fingerprint"]:
        return _r(Status.UNKNOWN, "no certificate seen over IPv6")
    if not rec["dns"]["v4"] or ":" in rec["address"]:
        return _r(Status.NOT_APPLICABLE, "IPv6 only: nothing to compare with")
    mine = rec["tls"]["fingerprint"]
    ev = (f"IPv4 sha256 {mine}", f"IPv6 sha256 {v6['fingerprint']}")
    if v6["fingerprint"] == mine:
        return _r(Status.PASS, "the same certificate over IPv4 and IPv6", *ev)
    return _r(Status.FAIL, "different certificates over IPv4 and IPv6", *ev)


def _has(value: str) -> bool:
    return bool(value.strip())


CHECKS: tuple[WebCheck, ...] = (
    WebCheck("web.reachable", "Service answers over TLS", "high", reachable, False),
    WebCheck("web.tls_protocols", "Only TLS 1.2 or newer", "high", protocols),
    WebCheck("web.tls_ciphers", "No weak cipher suites", "high", ciphers),
    WebCheck("web.forward_secrecy", "Forward secrecy on every suite", "medium",
             forward_secrecy),
    WebCheck("web.cert_chain", "Certificate chain valid", "high", chain),
    WebCheck("web.cert_hostname", "Certificate names the host", "high", hostname),
    WebCheck("web.cert_expiry", f"Certificate valid for {EXPIRY_WARN_DAYS}+ days", "high",
             expiry),
    WebCheck("web.cert_key", "Certificate key and signature strong", "medium", key),
    WebCheck("web.ocsp_stapling", "OCSP response stapled", "low", ocsp),
    WebCheck("web.https_redirect", "http redirects to https", "medium", redirect),
    WebCheck("web.hsts", "HSTS with max-age of 180 days or more", "medium", hsts),
    WebCheck("web.csp", "Content-Security-Policy set", "medium",
             _header_check("content-security-policy", _has, "Content-Security-Policy")),
    WebCheck("web.content_type_options", "X-Content-Type-Options: nosniff", "low",
             _header_check("x-content-type-options", lambda v: v.strip().lower() == "nosniff",
                           "X-Content-Type-Options")),
    WebCheck("web.frame_options", "Framing restricted (X-Frame-Options or frame-ancestors)",
             "medium", frame_options),
    WebCheck("web.referrer_policy", "Referrer-Policy set to a safe value", "low",
             _header_check("referrer-policy",
                           lambda v: v.split(",")[-1].strip().lower() in SAFE_REFERRER,
                           "Referrer-Policy")),
    WebCheck("web.server_version", "No software version in Server headers", "low",
             server_version),
    WebCheck("web.cookies", "Cookies Secure, HttpOnly and SameSite", "medium", cookies),
    WebCheck("web.ipv6_aaaa", "AAAA record published", "medium", aaaa, False),
    WebCheck("web.ipv6_reachable", "Service answers over IPv6", "medium", v6_answers),
    WebCheck("web.ipv6_same_cert", "Same certificate over IPv4 and IPv6", "medium", same_cert),
)
BY_ID: dict[str, WebCheck] = {c.id: c for c in CHECKS}


def judge(check: WebCheck, rec: dict[str, Any], now: dt.datetime) -> Result:
    """The check's verdict; a host without TLS answer, or a judge crash, is "unknown"."""
    if check.needs_tls and (rec.get("error") or not rec.get("tls")):
        return _r(Status.UNKNOWN, f"unreachable: {rec.get('error') or 'not scanned'}")
    try:
        return check.judge(rec, now)
    except Exception as exc:  # a malformed record must never read as a pass
        return _r(Status.UNKNOWN, f"check error: {type(exc).__name__}: {exc}")


@dataclass(frozen=True)
class WebContext(Context):
    """A check context that carries one host's scan record."""

    scan: dict[str, Any] | None = None


def fixes(check: WebCheck) -> list[str]:
    """The check's nginx and Apache remediation lines, each prefixed with its server."""
    return [f"{server}: {line}" for server, lines in FIXES.get(check.id, {}).items()
            for line in lines]


def as_check(check: WebCheck) -> Check:
    """``check`` as the runner runs it: a "web" subject's check over its scan record."""
    def rule(_config: object, ctx: Context) -> Result:
        scan = getattr(ctx, "scan", None)
        if not isinstance(scan, dict):
            return _r(Status.UNKNOWN, "no scan record")
        return judge(check, scan, ctx.now)

    return Check(id=check.id, title=check.title, severity=check.severity,
                 rules={"*": rule}, remediation={"*": fixes(check)}, context_only=True,
                 subject="web")


def subjects(records: Iterable[dict[str, Any]]) -> list[Subject]:
    """One subject per scanned host (an unreachable one carries the error)."""
    out = []
    for rec in records:
        host = str(rec.get("host") or "?")
        error = f"unreachable: {rec['error']}" if rec.get("error") else None
        origin = f"web scan {rec.get('scanned_at', '?')} {rec.get('url', '')}".strip()
        agency = rec.get("agency")
        agency = str(agency) if agency is not None else None
        out.append(Subject(host, "web", PLATFORM, WebContext(device=host, agency=agency,
                                                             scan=rec),
                           agency, origin, error))
    return out


def stored_subjects(root: Path | str | None = None, agencies: set[str] | None = None,
                    expected: Iterable[tuple[str, str]] = ()) -> list[Subject]:
    """The newest scan of every host (only ``agencies``' codes when given), as subjects:
    what ``gin audit report`` adds to the devices'.  ``expected``: ``(agency, host)`` of the
    services the directory records; one never scanned is still a subject, with no record,
    so its checks read "unknown" (missing evidence) instead of the service vanishing."""
    from audit.web.evidence import WebEvidence

    records = WebEvidence(root).latest()
    wanted = None if agencies is None else {a.upper() for a in agencies}
    if wanted is not None:
        records = [r for r in records if str(r.get("agency") or "").upper() in wanted]
    out = subjects(records)
    seen = {s.name for s in out}
    for agency, host in expected:
        if host in seen or (wanted is not None and agency.upper() not in wanted):
            continue
        seen.add(host)
        out.append(Subject(host, "web", PLATFORM, WebContext(device=host, agency=agency),
                           agency, "no web scan",
                           "not scanned yet: run 'gin audit web'"))
    return out
