"""The console's login over plain HTTP clients against a real ``gin serve``: over TLS the
session cookie is Secure (and HttpOnly, SameSite=Strict, scoped to /ui), and the form is
throttled exactly like the API's login.  gin's own web audit judges the console's pages."""

from __future__ import annotations

import datetime as dt
import ssl
from http.cookies import SimpleCookie
from urllib.parse import urlsplit

import httpx

import audit.checks  # noqa: F401  (the registry first, as gin loads it)
from audit.web.checks import BY_ID
from audit.web.http import fetch
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
    port = urlsplit(svc.url).port
    for path in ("/ui/login", "/ui/static/console.css"):
        answer = fetch("127.0.0.1", port, "127.0.0.1", path, tls=True)
        assert answer.status == 200, (path, answer)
        record = {"tls": True, "http": {"https": answer.as_dict()}}
        for check in ("web.hsts", "web.csp", "web.content_type_options", "web.frame_options",
                      "web.referrer_policy", "web.server_version", "web.cookies"):
            verdict = BY_ID[check].judge(record, dt.datetime.now(dt.UTC))
            no_cookie = check == "web.cookies" and path.endswith(".css")
            expected = "not_applicable" if no_cookie else "pass"
            assert verdict.status.value == expected, (path, check, verdict)


def test_form_logins_are_throttled_like_the_api(sqlite_url, serve):  # noqa: F811
    svc = serve(sqlite_url)
    with httpx.Client(base_url=svc.url) as client:
        for _ in range(5):
            wrong = form_login(client, "auditor", "not the password at all")
            assert wrong.status_code == 200 and "Wrong user name or password" in wrong.text
            assert "gin_session" not in client.cookies
        throttled = form_login(client, "auditor", PASSWORD)
        assert throttled.status_code == 200 and "Too many failed logins" in throttled.text
        client.cookies.set("gin_lang", "th", path="/ui")
        in_thai = form_login(client, "auditor", PASSWORD)
        assert "ลองใหม่ใน" in in_thai.text
        assert "gin_session" not in client.cookies
        other = form_login(client, "viewer", PASSWORD)  # another account is not held back
        assert other.status_code == 303 and "gin_session" in client.cookies
