"""The GIN VPN CA: issue, SANs matching the IKE id, expiry states, revocation, CRL, and the
credentials a deploy loads; checked by OpenSSL itself, with keys never in the change log."""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from devices.errors import ConfigError
from devices.secrets import Secret
from directory import models as m
from directory.errors import Conflict, Invalid, NotFound
from tests.conftest import need
from vpn import pki, tunnels

NOW = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def ca(vdir):
    with vdir.transaction() as s:
        pki.init_ca(s, now=NOW)
    return vdir


def test_ca_is_p384_self_signed_and_single(ca):
    with ca.transaction() as s:
        row = pki.get_ca(s)
        cert = pki.load(row)
        assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey)
        assert cert.public_key().curve.name == "secp384r1"
        assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        cert.verify_directly_issued_by(cert)
        assert row.private_key_sealed.startswith("sealed:v1:")
        with pytest.raises(Conflict, match="exists already"):
            pki.init_ca(s, now=NOW)


def test_issue_sans_match_ike_identity(ca):
    with ca.transaction() as s:
        tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "ikev2", "cert", name="t1",
                              a_address="2001:db8:ffff::11")
        row = pki.issue(s, "gw-dopa", now=NOW)
        cert = pki.load(row)
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert san.get_values_for_type(x509.DNSName) == ["gw-dopa"]
        assert san.get_values_for_type(x509.IPAddress) == [
            ipaddress.ip_address("2001:db8:ffff::11")]
        cert.verify_directly_issued_by(pki.load(pki.get_ca(s)))
        assert (cert.not_valid_after_utc - NOW).days == pki.CERT_DAYS
        assert row.subject == "O=GIN,OU=DOPA,CN=gw-dopa"
        with pytest.raises(Conflict, match="renew"):
            pki.issue(s, "gw-dopa", now=NOW)
        # the IKE id swanctl.conf uses is the DNS SAN
        from vpn.render import render
        text = render(tunnels.spec(tunnels.get_tunnel(s, "t1")))["gw-dopa"]
        assert "id = gw-dopa\n" in text and "certs = gw-dopa.pem" in text


def test_no_ca_and_unknown_device_are_one_line(vdir):
    with vdir.transaction() as s:
        with pytest.raises(pki.PkiError, match="gin vpn ca init"):
            pki.issue(s, "gw-dopa")
        pki.init_ca(s)
        with pytest.raises(NotFound):
            pki.issue(s, "gw-nowhere")
        with pytest.raises(pki.PkiError, match="outlive the CA"):
            pki.issue(s, "gw-dopa", days=pki.CA_DAYS + 10)
        for days in (0, -1, 10**9, True):
            with pytest.raises(Invalid, match="validity"):
                pki.issue(s, "gw-dopa", days=days)


def test_states_expiry_and_list(ca):
    with ca.transaction() as s:
        row = pki.issue(s, "gw-dopa", days=40, now=NOW)
        assert pki.state(row, NOW) == "valid"
        assert pki.state(row, NOW + dt.timedelta(days=15)) == "expiring"
        assert pki.state(row, NOW + dt.timedelta(days=41)) == "expired"
        listed = [pki.row(c, NOW) for c in pki.list_certificates(s)]
        assert [r["kind"] for r in listed] == ["ca", "gateway"]
        assert listed[1]["days_left"] == 40 and listed[1]["key"] == "sealed"
        assert all("BEGIN" not in str(v) for r in listed for v in r.values())
        with pytest.raises(pki.PkiError, match="no valid certificate"):
            pki.current(s, "gw-dopa", NOW + dt.timedelta(days=41))


def test_revoke_crl_and_openssl_verify(ca, tmp_path):
    need_openssl = shutil.which("openssl")
    with ca.transaction() as s:
        good = pki.issue(s, "gw-dopa", now=NOW)
        bad = pki.issue(s, "gw-moph", now=NOW)
        pki.revoke(s, bad.serial.upper(), "key-compromise", now=NOW)
        with pytest.raises(Conflict, match="revoked already"):
            pki.revoke(s, bad.serial, "superseded")
        with pytest.raises(pki.PkiError, match="CA certificate"):
            pki.revoke(s, pki.get_ca(s).serial)
        crl = x509.load_der_x509_crl(pki.crl_bytes(s, "der", now=NOW))
        assert crl.is_signature_valid(pki.load(pki.get_ca(s)).public_key())
        assert crl.next_update_utc == NOW + dt.timedelta(days=pki.CRL_DAYS)
        entry = crl.get_revoked_certificate_by_serial_number(int(bad.serial, 16))
        assert entry is not None and entry.extensions.get_extension_for_class(
            x509.CRLReason).value.reason == x509.ReasonFlags.key_compromise
        assert crl.get_revoked_certificate_by_serial_number(int(good.serial, 16)) is None
        files = {"ca.pem": pki.get_ca(s).pem, "good.pem": good.pem, "bad.pem": bad.pem,
                 "crl.pem": pki.crl_bytes(s, "pem", now=NOW).decode()}
    if not need_openssl:
        pytest.skip("openssl not installed")
    for name, text in files.items():
        (tmp_path / name).write_text(text)

    def verify(name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["openssl", "verify", "-attime", str(int(NOW.timestamp()) + 60),
                               "-crl_check", "-CAfile", "ca.pem",
                               "-CRLfile", "crl.pem", name], cwd=tmp_path, text=True,
                              capture_output=True)

    assert verify("good.pem").returncode == 0
    out = verify("bad.pem")
    assert out.returncode != 0 and "revoked" in out.stdout + out.stderr


def test_strongswan_pki_trusts_ours_and_sees_the_revocation(vdir, tmp_path):
    """strongSwan's own verifier (``pki --verify``, as charon checks a peer) on our files."""
    need(shutil.which("pki") is not None, "needs strongSwan's pki tool (strongswan-pki)")
    with vdir.transaction() as s:
        pki.init_ca(s)  # valid from now: pki --verify checks against the clock
        good, bad = pki.issue(s, "gw-dopa"), pki.issue(s, "gw-moph")
        pki.revoke(s, bad.serial, "key-compromise")
        (tmp_path / "ca.pem").write_text(pki.get_ca(s).pem)
        (tmp_path / "crl.der").write_bytes(pki.crl_bytes(s, "der"))
        (tmp_path / "good.pem").write_text(good.pem)
        (tmp_path / "bad.pem").write_text(bad.pem)

    def verify(name: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["pki", "--verify", "--in", name, "--cacert", "ca.pem",
                               "--crl", "crl.der"], cwd=tmp_path, text=True,
                              capture_output=True)

    out = verify("good.pem")
    assert out.returncode == 0 and "certificate not revoked" in out.stdout + out.stderr
    out = verify("bad.pem")
    assert out.returncode == 1 and "key compromise" in out.stdout + out.stderr


def test_credentials_for_deploy_and_supersede(ca):
    with ca.transaction() as s:
        old = pki.issue(s, "gw-dopa", now=NOW)
        creds = pki.credentials_for(s, "gw-dopa", now=NOW)
        assert creds.serial == old.serial and isinstance(creds.key_pem, Secret)
        assert str(creds.key_pem) == "***"
        key = serialization.load_pem_private_key(creds.key_pem.reveal().encode(), None)
        cert = x509.load_pem_x509_certificate(creds.cert_pem.encode())
        assert key.public_key() == cert.public_key()
        assert set(creds.files()) == {"x509/gw-dopa.pem", "private/gw-dopa.pem",
                                      "x509ca/gin-vpn-ca.pem", "x509crl/gin-vpn-ca.crl"}
        x509.load_pem_x509_crl(creds.crl_pem.encode())
        pki.mark_deployed(s, old.serial, now=NOW)
        new = pki.renew(s, "gw-dopa", now=NOW + dt.timedelta(days=300))
        later = NOW + dt.timedelta(days=301)
        # renewed but not deployed: both valid, the deploy takes the new one
        assert pki.state(old, later) == "valid" and old.deployed_at is not None
        assert pki.credentials_for(s, "gw-dopa", now=later).serial == new.serial
        assert pki.mark_deployed(s, new.serial, now=later) == [old]
        assert old.status == "revoked" and old.revocation_reason == "superseded"
        assert old.deployed_at is None and new.deployed_at is not None


def test_private_keys_never_in_change_log(ca):
    with ca.transaction() as s:
        pki.issue(s, "gw-dopa", now=NOW)
        logged = [c.after for c in s.scalars(select(m.Change).where(
            m.Change.object_type == "certificate"))]
    assert logged and all(a["private_key_sealed"] == "***" for a in logged)
    assert all("sealed:" not in str(a) for a in logged)


def test_wrong_sealing_key_is_one_line(ca, monkeypatch):
    import base64
    monkeypatch.setenv("GIN_VPN_KEY", base64.b64encode(b"x" * 32).decode())
    with ca.transaction() as s, pytest.raises(ConfigError, match="cannot decrypt"):
        pki.issue(s, "gw-dopa")


@pytest.mark.parametrize("text", ["", "xyz", "12" * 21, "1\n2", "0x", "ab'; drop", "a" * 5000,
                                  "\x00", "१२"])
def test_bad_serials_refused(text):
    with pytest.raises(Invalid, match="serial"):
        pki.clean_serial(text)


def test_serial_forms():
    assert pki.clean_serial("0x4F:A2") == pki.clean_serial("4fa2") == "4fa2"
    assert pki.clean_serial("00:0a") == "a"


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=80))
def test_hostile_reason_refused(reason):
    if reason in pki.REASONS:
        return
    with pytest.raises(Invalid, match="revocation reason") as info:
        pki.revoke(None, "ab", reason)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


def test_lifecycle_on_sqlite_and_postgresql(vdir_any):
    """Times come back timezone-aware (or are made so) on both databases."""
    with vdir_any.transaction() as s:
        pki.init_ca(s, now=NOW)
        tunnels.create_tunnel(s, "gw-dopa", "gw-moph", "ikev2", "cert", name="c1")
        cert = pki.issue(s, "gw-dopa", now=NOW)
    with vdir_any.transaction() as s:
        assert pki.row(pki.get_certificate(s, cert.serial), NOW)["days_left"] == pki.CERT_DAYS
        tunnels.rotate(s, "c1", now=NOW)
        tunnels.complete_rotation(s, "c1", now=NOW)
        assert pki.get_certificate(s, cert.serial).revocation_reason == "superseded"
        assert pki.crl(s, now=NOW).get_revoked_certificate_by_serial_number(
            int(cert.serial, 16)) is not None
