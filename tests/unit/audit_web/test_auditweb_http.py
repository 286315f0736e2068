"""The HTTP reader against hostile servers on 127.0.0.1 (real sockets): garbage, header
floods, over-long lines, injected header text.  Each gives an error on record, no crash,
and nothing read past the caps."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from audit.web import http

CASES = {
    "garbage": b"\x16\x03\x01\x00\x05hello\x00\xff" * 10,
    "flood": b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(500)) + b"\r\n",
    "long": b"HTTP/1.1 200 OK\r\nServer: " + b"a" * 200000 + b"\r\n\r\n",
    "empty": b"",
    "ok": (b"HTTP/1.1 200 OK\r\nServer: nginx/1.2 \r\nX-Frame-Options: DENY\r\n"
           b"Set-Cookie: a=1; Secure\r\nSet-Cookie: b=2\r\n"
           b"Strict-Transport-Security: max-age=1\r\nContent-Length: 3\r\n\r\nabc"),
    "redirect": (b"HTTP/1.1 301 Moved\r\nLocation: https://evil.example:8443/\r\n"
                 b"Content-Length: 0\r\n\r\n"),
}


@pytest.fixture(scope="module")
def server() -> Iterator[dict[str, int]]:
    """One listening socket per case; each connection gets that case's bytes, then closed."""
    socks, ports = [], {}
    stop = threading.Event()

    def serve(sock: socket.socket, payload: bytes) -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            with conn:
                try:
                    conn.recv(4096)
                    conn.sendall(payload)
                except OSError:
                    pass

    threads = []
    for name, payload in CASES.items():
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        socks.append(sock)
        ports[name] = sock.getsockname()[1]
        t = threading.Thread(target=serve, args=(sock, payload), daemon=True)
        t.start()
        threads.append(t)
    yield ports
    stop.set()
    for t in threads:
        t.join()
    for sock in socks:
        sock.close()


@pytest.mark.parametrize("case", ["garbage", "flood", "long", "empty"])
def test_hostile_answers_are_errors(server: dict[str, int], case: str) -> None:
    answer = http.fetch("127.0.0.1", server[case], "www.example.go.th", tls=False)
    assert answer.status is None and answer.error and "\n" not in answer.error
    assert len(answer.error) < 300


def test_tls_to_a_plain_server_is_an_error(server: dict[str, int]) -> None:
    answer = http.fetch("127.0.0.1", server["ok"], "www.example.go.th", tls=True)
    assert answer.status is None and "SSL" in (answer.error or "")


def test_kept_headers_and_cookies(server: dict[str, int]) -> None:
    answer = http.fetch("127.0.0.1", server["ok"], "www.example.go.th", tls=False)
    assert answer.status == 200
    assert answer.headers["server"] == "nginx/1.2"
    assert answer.cookies == ["a=<redacted>; Secure", "b=<redacted>"]
    assert set(answer.headers) <= set(http.KEPT)


def test_redirect_elsewhere_names_no_https_port(server: dict[str, int]) -> None:
    answer = http.fetch("127.0.0.1", server["redirect"], "www.example.go.th", tls=False)
    assert answer.status == 301
    location = answer.headers["location"]
    assert http.https_port_of(location, "www.example.go.th") is None
    assert http.https_port_of(location, "evil.example") == 8443
    for bad in ("https://x:99999/", "https://[::1/", "javascript:x", "", "https://x\r\n:1/"):
        assert http.https_port_of(bad, "x") is None


def test_refused_port_is_an_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        answer = http.fetch("127.0.0.1", port, "www.example.go.th", tls=False)
    assert answer.status is None and "Refused" in (answer.error or "")


def test_cookie_values_never_kept() -> None:
    assert http.cookie_without_value("SESSION=s3cr3t-token; Path=/; Secure; HttpOnly") == \
        "SESSION=<redacted>; Path=/; Secure; HttpOnly"
    assert "tok" not in http.cookie_without_value("tok")
    assert http.cookie_without_value("x=" + "y" * 5000).startswith("x=<redacted>")
