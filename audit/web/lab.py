"""A web lab on loopback: a test CA, real Debian nginx and dnsmasq, for demos, tests and the
benchmark of ``gin audit web``.

Everything lives in one temporary folder (certificates, nginx prefix, logs) and listens on
127.0.0.1 and ::1 only, on free high ports; names resolve through the lab's own dnsmasq
(``nameserver``), so /etc/hosts is never touched.  :meth:`WebLab.close` stops both daemons
and removes the folder, also when a test fails half-way.

Server kinds (each one nginx ``server`` on its own port, so protocol settings are its own):

``good``      TLS 1.2/1.3, AEAD forward-secret suites, stapled OCSP, every header, safe cookie
``weak``      TLS 1.0-1.2 with CBC and RSA key-exchange suites (``@SECLEVEL=0``)
``expired``   like good, certificate expired yesterday
``wrongname`` like good, certificate for another name
``bare``      no HSTS nor security headers, version in ``Server``, cookie without flags
``v4only``    like good, AAAA record present but nothing answers on ::1
``v6only``    like good, on ::1 only, with an AAAA record and no A record
``noaaaa``    like good on both families, but DNS has no AAAA record
``garbage``   plain HTTP where TLS is expected (answers garbage to a TLS client)
``dead``      a port where nothing listens
"""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KINDS = ("good", "weak", "expired", "wrongname", "bare", "v4only", "v6only", "noaaaa",
         "garbage", "dead")
GOOD_TLS = ("ssl_protocols TLSv1.2 TLSv1.3;\n"
            "ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
            "ECDHE-ECDSA-CHACHA20-POLY1305;\nssl_prefer_server_ciphers off;")
WEAK_TLS = ("ssl_protocols TLSv1 TLSv1.1 TLSv1.2;\n"
            "ssl_ciphers ECDHE-RSA-AES128-SHA:AES128-SHA:ECDHE-RSA-AES128-GCM-SHA256:"
            "@SECLEVEL=0;")
HEADERS = """add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;
add_header Content-Security-Policy "default-src 'self'; frame-ancestors 'none'" always;
add_header X-Content-Type-Options nosniff always;
add_header X-Frame-Options DENY always;
add_header Referrer-Policy strict-origin-when-cross-origin always;
add_header Set-Cookie "sid=1; Path=/; Secure; HttpOnly; SameSite=Strict" always;
server_tokens off;"""
BARE = """add_header Set-Cookie "sid=1; Path=/" always;
server_tokens on;"""


def free_port(taken: set[int] | None = None) -> int:
    """A TCP port free on 127.0.0.1 and ::1 now (the kernel's pick), not in ``taken``
    (the kernel may hand a just-closed port out again); it is added to ``taken``."""
    taken = taken if taken is not None else set()
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s4:
            s4.bind(("127.0.0.1", 0))
            port = s4.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s6:
                    s6.bind(("::1", port))
            except OSError:
                continue
            if port in taken:
                continue
            taken.add(port)
            return port


@dataclass
class TestCA:
    """A throw-away CA (ECDSA P-256) issuing leaf certificates and OCSP responses."""

    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    cert: x509.Certificate = field(init=False)

    def __post_init__(self) -> None:
        now = dt.datetime.now(dt.UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gin web lab test CA")])
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - dt.timedelta(days=1))
                     .not_valid_after(now + dt.timedelta(days=3650))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                     .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                                  False, False), critical=True)
                     .add_extension(x509.SubjectKeyIdentifier.from_public_key(
                         self.key.public_key()), critical=False)
                     .sign(self.key, hashes.SHA256()))

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, names: list[str], days: int = 90, expired: bool = False,
              rsa_bits: int | None = None, ocsp_url: str | None = None
              ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey]:
        """A leaf for ``names`` (ECDSA P-256, or RSA of ``rsa_bits`` for RSA key exchange),
        naming ``ocsp_url`` as its OCSP responder if given (then a server should staple)."""
        now = dt.datetime.now(dt.UTC)
        start, end = ((now - dt.timedelta(days=30), now - dt.timedelta(days=1)) if expired
                      else (now - dt.timedelta(hours=1), now + dt.timedelta(days=days)))
        key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey = (
            rsa.generate_private_key(65537, rsa_bits) if rsa_bits
            else ec.generate_private_key(ec.SECP256R1()))
        builder = x509.CertificateBuilder()
        if ocsp_url:
            builder = builder.add_extension(x509.AuthorityInformationAccess([
                x509.AccessDescription(x509.AuthorityInformationAccessOID.OCSP,
                                       x509.UniformResourceIdentifier(ocsp_url))]),
                critical=False)
        cert = (builder
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
                .issuer_name(self.cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(start).not_valid_after(end)
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]),
                               critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                               critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                    self.key.public_key()), critical=False)
                .sign(self.key, hashes.SHA256()))
        return cert, key

    def ocsp_good(self, cert: x509.Certificate) -> bytes:
        """A signed "good" OCSP response for ``cert`` (what nginx staples from a file)."""
        now = dt.datetime.now(dt.UTC)
        resp = (ocsp.OCSPResponseBuilder()
                .add_response(cert=cert, issuer=self.cert, algorithm=hashes.SHA1(),
                              cert_status=ocsp.OCSPCertStatus.GOOD, this_update=now,
                              next_update=now + dt.timedelta(days=7), revocation_time=None,
                              revocation_reason=None)
                .responder_id(ocsp.OCSPResponderEncoding.HASH, self.cert)
                .sign(self.key, hashes.SHA256()))
        return resp.public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True)
class LabServer:
    """One lab web server: its name, kind, and the ports its http/https listen on."""

    name: str
    kind: str
    https_port: int
    http_port: int

    @property
    def url(self) -> str:
        """What the directory records: the http URL, which must redirect to https (an https
        URL for the servers that serve no http)."""
        if self.kind in ("garbage", "dead"):
            return f"https://{self.name}:{self.https_port}/"
        return f"http://{self.name}:{self.http_port}/"


def _server_block(srv: LabServer, cert: Path, key: Path, ocsp_file: Path | None,
                  prefix: str) -> str:
    v4, v6 = srv.kind != "v6only", srv.kind != "v4only"
    listen, plain = [], []
    if v4:
        listen.append(f"listen 127.0.0.1:{srv.https_port} ssl;")
        plain.append(f"listen 127.0.0.1:{srv.http_port};")
    if v6:
        listen.append(f"listen [::1]:{srv.https_port} ssl;")
        plain.append(f"listen [::1]:{srv.http_port};")
    if srv.kind == "garbage":
        return (f"server {{ listen 127.0.0.1:{srv.https_port}; listen [::1]:{srv.https_port};"
                f" server_name {srv.name}; return 200 'not tls'; }}\n")
    tls = WEAK_TLS if srv.kind == "weak" else GOOD_TLS
    headers = BARE if srv.kind == "bare" else HEADERS
    staple = (f"ssl_stapling on;\nssl_stapling_file {ocsp_file};" if ocsp_file else "")
    return f"""
server {{
  {' '.join(listen)}
  server_name {srv.name};
  ssl_certificate {cert};
  ssl_certificate_key {key};
  {tls}
  {staple}
  {headers}
  location / {{ return 200 '{prefix} {srv.kind}\\n'; }}
}}
server {{
  {' '.join(plain)}
  server_name {srv.name};
  {'server_tokens off;' if srv.kind != 'bare' else ''}
  location / {{ return 301 https://{srv.name}:{srv.https_port}$request_uri; }}
}}
"""


class WebLab:
    """Start nginx and dnsmasq serving ``servers`` ({name: kind}) under ``domain``."""

    def __init__(self, servers: dict[str, str], prefix: str = "ginweb",
                 domain: str = "web.test") -> None:
        for tool in ("nginx", "dnsmasq"):
            if not (shutil.which(tool) or Path(f"/usr/sbin/{tool}").exists()):
                raise RuntimeError(f"the web lab needs {tool} (deps/apt-web.txt)")
        self.root = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
        self.prefix = prefix
        self.ca = TestCA()
        self.ca_file = self.root / "ca.pem"
        self.ca_file.write_bytes(self.ca.pem())
        self.servers: dict[str, LabServer] = {}
        self._ports: set[int] = set()
        self._procs: list[subprocess.Popen[bytes]] = []
        try:
            self._start(servers, domain)
        except BaseException:
            self.close()
            raise

    def _start(self, servers: dict[str, str], domain: str) -> None:
        blocks, records = [], []
        certs: dict[tuple[str, ...], tuple[Path, Path, Path]] = {}
        for label, kind in servers.items():
            if kind not in KINDS:
                raise ValueError(f"unknown lab server kind {kind!r}")
            name = f"{label}.{domain}"
            srv = LabServer(name, kind, free_port(self._ports), free_port(self._ports))
            self.servers[label] = srv
            addresses = {"v6only": "::1", "noaaaa": "127.0.0.1"}.get(kind, "127.0.0.1,::1")
            records.append(f"--host-record={name},{addresses}")
            if kind == "dead":
                continue
            names = [f"other.{domain}"] if kind == "wrongname" else [name]
            key_ = (*names, kind == "expired")
            if key_ not in certs:
                cert, key = self.ca.issue(names, expired=kind == "expired",
                                          rsa_bits=1024 if kind == "weak" else None,
                                          ocsp_url=f"http://ocsp.{domain}/")
                stem = self.root / f"{label}"
                stem.with_suffix(".crt").write_bytes(
                    cert.public_bytes(serialization.Encoding.PEM) + self.ca.pem())
                stem.with_suffix(".key").write_bytes(key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption()))
                stem.with_suffix(".ocsp").write_bytes(self.ca.ocsp_good(cert))
                certs[key_] = (stem.with_suffix(".crt"), stem.with_suffix(".key"),
                               stem.with_suffix(".ocsp"))
            crt, key_path, ocsp_file = certs[key_]
            blocks.append(_server_block(srv, crt, key_path,
                                        ocsp_file if kind != "bare" else None, self.prefix))
        (self.root / "logs").mkdir()
        conf = self.root / "nginx.conf"
        conf.write_text(f"""
worker_processes 1;
pid {self.root}/nginx.pid;
error_log {self.root}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {self.root}/body;
  proxy_temp_path {self.root}/proxy;
  fastcgi_temp_path {self.root}/fastcgi;
  uwsgi_temp_path {self.root}/uwsgi;
  scgi_temp_path {self.root}/scgi;
  server_names_hash_bucket_size 128;
  {''.join(blocks)}
}}
""", encoding="utf-8")
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        check = subprocess.run([nginx, "-t", "-q", "-p", str(self.root), "-e",
                                str(self.root / "logs/error.log"), "-c", str(conf)],
                               capture_output=True, text=True)
        if check.returncode:
            raise RuntimeError(f"nginx -t: {check.stderr.strip()}")
        self._procs.append(subprocess.Popen(
            [nginx, "-p", str(self.root), "-e", str(self.root / "logs/error.log"),
             "-c", str(conf), "-g", "daemon off;"], stderr=subprocess.DEVNULL))
        self.dns_port = free_port(self._ports)
        dnsmasq = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
        self._procs.append(subprocess.Popen(
            [dnsmasq, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
             "--no-hosts", "--bind-interfaces", "--listen-address=127.0.0.1",
             f"--port={self.dns_port}", f"--local=/{domain}/", "--pid-file=",
             "--user=root", "--log-facility=-", "--quiet-dhcp", *records],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self._wait_listening()

    @property
    def nameserver(self) -> str:
        return f"127.0.0.1:{self.dns_port}"

    def _wait_listening(self) -> None:
        """Until every live server's https port and the DNS port accept (or a daemon died)."""
        ports = [("::1" if s.kind == "v6only" else "127.0.0.1", s.https_port)
                 for s in self.servers.values() if s.kind != "dead"]
        deadline = time.monotonic() + 30
        while True:
            for proc in self._procs:
                if proc.poll() is not None:
                    log = (self.root / "logs/error.log")
                    detail = log.read_text()[-500:] if log.exists() else ""
                    raise RuntimeError(f"{proc.args[0]} exited ({proc.returncode}): {detail}")
            pending = [p for p in ports if not _accepts(*p)]
            if not pending and _dns_answers(self.dns_port):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"web lab: ports {pending[:5]} not listening after 30 s")
            time.sleep(0.05)

    def close(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self._procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> WebLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _accepts(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=0.5):
            return True
    except OSError:
        return False


def _dns_answers(port: int) -> bool:
    import dns.message
    import dns.query

    try:
        dns.query.udp(dns.message.make_query("probe.invalid", "A"), "127.0.0.1", timeout=0.5,
                      port=port)
        return True
    except Exception:
        return False
