"""Web checks judge stored scan records: edge cases of each rule, and damaged or hostile
records never read as a pass."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import runner
from audit.checks import Status
from audit.findings import Finding, findings_of
from audit.web import checks
from audit.web.remediation import FIXES

NOW = dt.datetime(2026, 11, 22, tzinfo=dt.UTC)
GOOD: dict[str, Any] = {
    "agency": "DGA", "service": "portal", "host": "www.dga.go.th",
    "url": "https://www.dga.go.th/", "scanned_at": NOW.isoformat(),
    "dns": {"v4": ["192.0.2.10"], "v6": ["2001:db8::10"], "error": None},
    "address": "192.0.2.10", "error": None,
    "http": {"host": "www.dga.go.th", "address": "192.0.2.10", "http_port": 80,
             "https_port": 443,
             "redirect": {"status": 301, "headers": {"location": "https://www.dga.go.th/"},
                          "cookies": [], "error": None},
             "https": {"status": 200, "headers": {
                 "strict-transport-security": "max-age=63072000; includeSubDomains",
                 "content-security-policy": "default-src 'self'",
                 "x-content-type-options": "nosniff", "x-frame-options": "SAMEORIGIN",
                 "referrer-policy": "no-referrer", "server": "nginx"},
                 "cookies": ["sid=a; Secure; HttpOnly; SameSite=Lax"], "error": None}},
    "tls": {"host": "www.dga.go.th", "address": "192.0.2.10", "port": 443, "error": None,
            "protocols": ["TLSv1.2", "TLSv1.3"],
            "ciphers": [{"protocol": "TLSv1.2", "name": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
                         "key_size": 128, "fs": True},
                        {"protocol": "TLSv1.3", "name": "TLS_AES_256_GCM_SHA384",
                         "key_size": 256, "fs": True}],
            "chain_trusted": True, "chain_error": None, "names": ["*.dga.go.th"],
            "not_after": "2027-03-01T00:00:00+00:00", "key_type": "RSA", "key_bits": 2048,
            "signature_hash": "sha256", "ocsp_stapled": True,
            "ocsp_responders": ["http://ocsp.example.test/"], "must_staple": False,
            "fingerprint": "ab" * 32},
    "ipv6": {"address": "2001:db8::10", "port": 443, "fingerprint": "ab" * 32, "error": None},
}


def judged(rec: dict[str, Any]) -> list[Finding]:
    """The runner's findings on one scanned host."""
    return findings_of(runner.judge(checks.subjects([rec]), now=NOW))


def status(rec: dict[str, Any], check: str) -> Status:
    return checks.judge(checks.BY_ID[check], rec, NOW).status


def changed(path: str, value: Any) -> dict[str, Any]:
    rec = copy.deepcopy(GOOD)
    *parents, last = path.split(".")
    here = rec
    for key in parents:
        here = here[key]
    here[last] = value
    return rec


def test_the_good_record_passes_everything() -> None:
    assert {c.id: status(GOOD, c.id).value for c in checks.CHECKS} == {
        c.id: "pass" for c in checks.CHECKS}


@pytest.mark.parametrize("path, value, check, expected", [
    ("tls.protocols", ["TLSv1.1", "TLSv1.2"], "web.tls_protocols", Status.FAIL),
    ("tls.protocols", ["SSLv3"], "web.tls_protocols", Status.FAIL),
    ("tls.protocols", [], "web.tls_protocols", Status.UNKNOWN),
    ("tls.ciphers", [{"protocol": "TLSv1.2", "name": "TLS_RSA_WITH_RC4_128_SHA",
                      "key_size": 128, "fs": False}], "web.tls_ciphers", Status.FAIL),
    ("tls.ciphers", [{"protocol": "TLSv1.2", "name": "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
                      "key_size": 128, "fs": True}], "web.tls_ciphers", Status.FAIL),
    ("tls.ciphers", [{"protocol": "TLSv1.2", "name": "TLS_RSA_WITH_AES_128_GCM_SHA256",
                      "key_size": 128, "fs": False}], "web.forward_secrecy", Status.FAIL),
    ("tls.chain_trusted", None, "web.cert_chain", Status.UNKNOWN),
    ("tls.names", ["*.go.th"], "web.cert_hostname", Status.FAIL),
    ("tls.names", ["www.dga.go.th."], "web.cert_hostname", Status.PASS),
    ("tls.not_after", "2026-11-30T00:00:00+00:00", "web.cert_expiry", Status.FAIL),
    ("tls.not_after", "2026-11-01T00:00:00+00:00", "web.cert_expiry", Status.FAIL),
    ("tls.not_after", None, "web.cert_expiry", Status.UNKNOWN),
    ("tls.key_bits", 1024, "web.cert_key", Status.FAIL),
    ("tls.signature_hash", "sha1", "web.cert_key", Status.FAIL),
    ("tls.key_type", "DSA", "web.cert_key", Status.FAIL),
    ("tls.ocsp_stapled", False, "web.ocsp_stapling", Status.FAIL),
    ("http.redirect", {"status": 200, "headers": {}, "cookies": [], "error": None},
     "web.https_redirect", Status.FAIL),
    ("http.redirect", {"status": 302, "headers": {"location": "http://www.dga.go.th/x"},
                       "cookies": [], "error": None}, "web.https_redirect", Status.FAIL),
    ("http.redirect", {"status": None, "headers": {}, "cookies": [],
                       "error": "ConnectionRefusedError: refused"},
     "web.https_redirect", Status.PASS),
    ("http.redirect", {"status": None, "headers": {}, "cookies": [],
                       "error": "TimeoutError: timed out"}, "web.https_redirect", Status.UNKNOWN),
    ("http.https.headers.strict-transport-security", "max-age=300", "web.hsts", Status.FAIL),
    ("http.https.headers.strict-transport-security", "includeSubDomains", "web.hsts",
     Status.FAIL),
    ("http.https.headers.x-content-type-options", "sniff", "web.content_type_options",
     Status.FAIL),
    ("http.https.headers.x-frame-options", "ALLOW-FROM x", "web.frame_options", Status.FAIL),
    ("http.https.headers.referrer-policy", "unsafe-url", "web.referrer_policy", Status.FAIL),
    ("http.https.headers.server", "Apache/2.4.41 (Ubuntu)", "web.server_version", Status.FAIL),
    ("http.https.cookies", ["sid=1; Secure"], "web.cookies", Status.FAIL),
    ("http.https.cookies", [], "web.cookies", Status.NOT_APPLICABLE),
    ("http.https", {"status": None, "headers": {}, "cookies": [], "error": "reset"},
     "web.hsts", Status.UNKNOWN),
    ("dns.v6", [], "web.ipv6_aaaa", Status.FAIL),
    ("dns.v6", [], "web.ipv6_reachable", Status.FAIL),
    ("ipv6.error", "ConnectionRefusedError", "web.ipv6_reachable", Status.FAIL),
    ("ipv6.fingerprint", "cd" * 32, "web.ipv6_same_cert", Status.FAIL),
    ("ipv6.fingerprint", None, "web.ipv6_same_cert", Status.UNKNOWN),
])
def test_rules(path: str, value: Any, check: str, expected: Status) -> None:
    assert status(changed(path, value), check) is expected


def test_csp_frame_ancestors_stands_for_x_frame_options() -> None:
    rec = changed("http.https.headers.x-frame-options", "")
    assert status(rec, "web.frame_options") is Status.FAIL
    rec["http"]["https"]["headers"]["content-security-policy"] = "frame-ancestors 'none'"
    assert status(rec, "web.frame_options") is Status.PASS


def test_wildcards_match_one_label_only() -> None:
    assert checks.name_matches("www.dga.go.th", ["*.dga.go.th"])
    assert not checks.name_matches("a.b.dga.go.th", ["*.dga.go.th"])
    assert not checks.name_matches("dga.go.th", ["*.dga.go.th"])
    assert not checks.name_matches("go.th", ["*.th"])


def test_unreachable_host_is_never_a_pass() -> None:
    rec = changed("error", "Server rejected the connection")
    found = {f.check: f.status for f in judged(rec)}
    assert found["web.reachable"] is Status.FAIL
    assert all(s is Status.UNKNOWN for c, s in found.items()
               if checks.BY_ID[c].needs_tls and c != "web.reachable")


def test_every_check_has_fixes_for_nginx_and_apache() -> None:
    assert {c.id for c in checks.CHECKS} == set(FIXES)
    assert all(set(f) == {"nginx", "apache"} and all(f.values()) for f in FIXES.values())


READS = {  # evidence key -> the checks that rest on it
    "tls": {c.id for c in checks.CHECKS if c.needs_tls} - {"web.https_redirect", "web.hsts",
                                                          "web.csp", "web.content_type_options",
                                                          "web.frame_options",
                                                          "web.referrer_policy",
                                                          "web.server_version", "web.cookies",
                                                          "web.ipv6_reachable"},
    "http": {"web.https_redirect", "web.hsts", "web.csp", "web.content_type_options",
             "web.frame_options", "web.referrer_policy", "web.server_version", "web.cookies"},
    "dns": {"web.ipv6_aaaa", "web.ipv6_reachable", "web.ipv6_same_cert"},
    "ipv6": {"web.ipv6_reachable", "web.ipv6_same_cert"},
}
JUNK = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda kids: st.lists(kids, max_size=4)
                    | st.dictionaries(st.text(max_size=12), kids, max_size=6), max_leaves=30)


@settings(max_examples=120, deadline=None)
@given(JUNK, st.sampled_from(sorted(READS)))
def test_damaged_evidence_is_never_a_pass(junk: Any, key: str) -> None:
    """Whatever replaces a part of the evidence (not a well-formed object), the checks that
    read that part say unknown or fail, and nothing crashes."""
    rec = copy.deepcopy(GOOD)
    rec[key] = junk
    found = {f.check: f.status for f in judged(rec)}
    assert len(found) == len(checks.CHECKS)
    if not isinstance(junk, dict):
        passed = {c for c in READS[key] if found[c] is Status.PASS}
        assert not passed, (key, junk, passed)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.text(max_size=15), JUNK, max_size=8))
def test_any_record_gives_every_finding(rec: dict[str, Any]) -> None:
    found = judged(rec)
    assert [f.check for f in found] == [c.id for c in checks.CHECKS]


def test_every_web_check_maps_to_catalogue_controls() -> None:
    """The mapping is data in the one catalogue, beside the network checks'."""
    from audit import catalogue

    fw = catalogue.load()
    for check in checks.CHECKS:
        assert fw.controls_of(check.id), check.id
    for cid in ("10.9.1", "10.9.2", "10.9.3", "12.3.1", "10.6.2"):
        assert any(c.startswith("web.") for c in fw.controls[cid].checks), cid
    found = {f.check: f for f in judged(GOOD)}
    assert found["web.tls_protocols"].controls == ("10.6.2", "10.9.2", "12.3.1")
    assert found["web.ipv6_aaaa"].controls == ("10.6.1",)
    assert "crypto.strong_ike_ipsec" in fw.controls["12.3.1"].checks  # shared with networks


def test_stapling_is_judged_by_what_the_certificate_names() -> None:
    unstapled = changed("tls.ocsp_stapled", False)
    no_responder = copy.deepcopy(unstapled)
    no_responder["tls"]["ocsp_responders"] = []
    assert status(no_responder, "web.ocsp_stapling") is Status.NOT_APPLICABLE
    no_responder["tls"]["must_staple"] = True
    assert status(no_responder, "web.ocsp_stapling") is Status.FAIL
    older = copy.deepcopy(unstapled)  # evidence from before responders were read
    del older["tls"]["ocsp_responders"], older["tls"]["must_staple"]
    assert status(older, "web.ocsp_stapling") is Status.FAIL
    result = checks.judge(checks.BY_ID["web.ocsp_stapling"], unstapled, NOW)
    assert "http://ocsp.example.test/" in str(result.evidence)


def test_responders_and_must_staple_are_read_from_the_certificate() -> None:
    from cryptography import x509

    from audit.web.lab import TestCA
    from audit.web.tls import ocsp_demands

    ca = TestCA()
    assert ocsp_demands(ca.issue(["a.test"])[0]) == ([], False)
    cert = ca.issue(["a.test"], ocsp_url="http://ocsp.a.test/")[0]
    assert ocsp_demands(cert) == (["http://ocsp.a.test/"], False)
    key = ca.key
    must = (x509.CertificateBuilder().subject_name(cert.subject).issuer_name(cert.issuer)
            .public_key(cert.public_key()).serial_number(1)
            .not_valid_before(cert.not_valid_before_utc).not_valid_after(cert.not_valid_after_utc)
            .add_extension(x509.TLSFeature([x509.TLSFeatureType.status_request]), critical=False)
            .sign(key, cert.signature_hash_algorithm))
    assert ocsp_demands(must) == ([], True)
