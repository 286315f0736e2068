"""``gin serve`` over TLS on loopback with a test CA: a client trusting the CA talks to it,
one that does not is stopped by certificate verification, plain HTTP gets nowhere; and plain
HTTP on anything but loopback is refused before serving."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gin.cli import main


def make_ca_and_leaf(tmp_path):
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gin serve test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                       False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("::1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = {name: tmp_path / f"{name}.pem" for name in ("ca", "cert", "key")}
    paths["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths["cert"].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths["key"].touch(mode=0o600)
    paths["key"].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    return paths


def test_tls_on_loopback_with_a_test_ca(sqlite_url, serve, tmp_path):
    pki = make_ca_and_leaf(tmp_path)
    svc = serve(sqlite_url, "--tls-cert", str(pki["cert"]), "--tls-key", str(pki["key"]))
    assert svc.url.startswith("https://127.0.0.1:")
    trust = ssl.create_default_context(cafile=str(pki["ca"]))
    with svc.client("viewer", verify=trust) as c:
        me = c.get("/me")
        assert me.status_code == 200 and me.json()["user"] == "viewer"
        tls = me.extensions["network_stream"].get_extra_info("ssl_object")
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        assert c.get("/agencies/DOPA").headers["strict-transport-security"]
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        svc.client("viewer").get("/me")  # the system trust store does not know the test CA
    plain = svc.url.replace("https://", "http://")
    with pytest.raises(httpx.HTTPError):
        httpx.get(plain + "/api/v1/health", timeout=30)


@pytest.mark.parametrize("args, message", [
    (["--listen", "0.0.0.0:8443"], "without TLS would send tokens in clear"),
    (["--listen", "[::1]:8443", "--tls-cert", __file__], "both --tls-cert and --tls-key"),
    (["--listen", "nonsense"], "expected HOST:PORT"),
])
def test_serve_refuses_unsafe_or_bad_settings_before_serving(sqlite_url, capsys, args, message):
    assert main(["--db", sqlite_url, "serve", *args]) == 2
    assert message in capsys.readouterr().err
