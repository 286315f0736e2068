"""The console's login over plain HTTP clients against a real ``gin serve``: over TLS the
session cookie is Secure (and HttpOnly, SameSite=Strict, scoped to /ui), and the form is
throttled exactly like the API's login."""

from __future__ import annotations

import ssl
from http.cookies import SimpleCookie

import httpx

from tests.integration.server.conftest import PASSWORD, serve  # noqa: F401  (the fixture)
from tests.integration.server.test_serve_tls import make_ca_and_leaf


def form_login(client: httpx.Client, user: str, password: str) -> httpx.Response:
    page = client.get("/ui/login")
    assert page.status_code == 200
    value = client.cookies["gin_login"]
    assert f'value="{value}"' in page.text  # the hidden field matches the cookie
    return client.post("/ui/login", data={"csrf": value, "user": user, "password": password})


def test_session_cookie_is_secure_over_tls(sqlite_url, serve, tmp_path):  # noqa: F811
    pki = make_ca_and_leaf(tmp_path)
    svc = serve(sqlite_url, "--tls-cert", str(pki["cert"]), "--tls-key", str(pki["key"]))
    trust = ssl.create_default_context(cafile=str(pki["ca"]))
    with httpx.Client(base_url=svc.url, verify=trust) as client:
        answer = form_login(client, "viewer", PASSWORD)
        assert answer.status_code == 303 and answer.headers["location"] == "/ui/"
        set_cookie = [h for h in answer.headers.get_list("set-cookie")
                      if h.startswith("gin_session=")]
        assert len(set_cookie) == 1
        morsel = SimpleCookie(set_cookie[0])["gin_session"]
        assert morsel["secure"] and morsel["httponly"]
        assert morsel["samesite"] == "strict" and morsel["path"] == "/ui"
        page = client.get("/ui/?q=DOPA", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "/ui/agency/DOPA" in page.text
        csp = page.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp


def test_form_logins_are_throttled_like_the_api(sqlite_url, serve):  # noqa: F811
    svc = serve(sqlite_url)
    with httpx.Client(base_url=svc.url) as client:
        for _ in range(5):
            wrong = form_login(client, "auditor", "not the password at all")
            assert wrong.status_code == 200 and "Wrong user name or password" in wrong.text
            assert "gin_session" not in client.cookies
        throttled = form_login(client, "auditor", PASSWORD)
        assert throttled.status_code == 200 and "try again in" in throttled.text
        assert "gin_session" not in client.cookies
        other = form_login(client, "viewer", PASSWORD)  # another account is not held back
        assert other.status_code == 303 and "gin_session" in client.cookies
