"""The console in a real browser: Debian's Chromium driven by Playwright against a real
``gin serve`` on 127.0.0.1, logging in through the form as each kind of user.

Every page load is watched: each request the browser makes must go to the server under test
(nothing to a CDN or an outside font), and the browser's console must stay free of errors.
Screenshots of every page in both languages land in the test's tmp dir; with
``GIN_CONSOLE_SCREENSHOTS=docs/screenshots`` small copies are written there for the README.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from directory import models as m
from directory import store
from directory.store import Directory
from tests.integration.server.conftest import PASSWORD, seed, start, stop

playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
#: The screenshots small copies of which go to the README (one of each page, both languages).
DOCS_SHOTS = {"login-en", "login-th", "search-admin-en", "search-admin-th", "agency-admin-en",
              "agency-admin-th", "agency-viewer-th", "agency-hostile-en"}
HOSTILE_TH = "สำนักงาน<script>window.__pwned=1</script>ทดสอบ"


@pytest.fixture(scope="module")
def console(tmp_path_factory) -> Iterator:
    """A seeded directory (plus an agency whose Thai name holds a script) and gin serve."""
    here = tmp_path_factory.mktemp("console")
    db_url = f"sqlite:///{here / 'gin.db'}"
    tokens = seed(db_url)
    d = Directory(db_url, actor="test-setup")
    try:
        with d.transaction() as s:
            store.add_agency(s, code="XSS", name_en="Hostile <b>bold</b> office",
                             name_th=HOSTILE_TH, kind="department", parent="MOI")
            store.add_contact(s, "DOPA", "สมชาย ใจดี", role="noc", email="noc@dopa.go.th")
            store.add_device(s, "DOPA", "TH-11", hostname="dopa-pe-1", role="pe",
                             platform="frr")
            store.add_device(s, "MOF", store.add_site(s, "MOF", code="BKK").code,
                             hostname="mof-pe-1", role="pe", platform="frr")
    finally:
        d.close()
    svc = start(db_url, here / "serve.log")
    svc.tokens = tokens
    yield svc, here
    stop(svc.proc)
    log = svc.log.read_text()
    assert PASSWORD not in log and not any(t in log for t in tokens.values())


def chromium() -> Iterator:
    """Debian's Chromium, headless, for one module's tests (a fixture yields from it)."""
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def browser(console) -> Iterator:
    yield from chromium()


def dopa_address(svc) -> str:
    """An address inside DOPA's /48 (seeded by the server tests' conftest)."""
    d = svc.directory()
    try:
        with d.transaction() as s:
            cidr = s.scalar(select(m.Prefix.cidr).join(m.Agency, m.Prefix.agency_id == m.Agency.id)
                            .where(m.Agency.code == "DOPA", m.Prefix.prefixlen == 48))
    finally:
        d.close()
    return cidr.split("/")[0] + "1"


class Watched:
    """A browser context with every request and console error recorded."""

    #: Screenshots whose small copies go to docs/screenshots (GIN_CONSOLE_SCREENSHOTS).
    docs_shots: frozenset[str] = frozenset(DOCS_SHOTS)

    def __init__(self, browser, base: str, shots: Path) -> None:
        self.base, self.shots = base, shots
        self.context = browser.new_context(viewport={"width": 1024, "height": 700})
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)

    def login(self, user: str, password: str = PASSWORD) -> None:
        self.go("/ui/login")
        self.page.fill("#user", user)
        self.page.fill("#password", password)
        with self.page.expect_navigation():
            self.page.click("button[type=submit]")

    def press(self, key: str) -> None:
        """Press a key that submits a form, and wait for the page it leads to."""
        with self.page.expect_navigation():
            self.page.keyboard.press(key)

    def shot(self, name: str) -> None:
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        docs = os.environ.get("GIN_CONSOLE_SCREENSHOTS")
        if docs and name in self.docs_shots:
            Path(docs).mkdir(parents=True, exist_ok=True)
            small = Path(docs) / f"{name}.jpeg"
            self.page.screenshot(path=str(small), type="jpeg", quality=60)

    def close(self) -> None:
        local = [u for u in self.requests if not u.startswith(self.base + "/")]
        assert not local, f"requests left 127.0.0.1: {local}"
        assert not self.errors, f"console errors: {self.errors}"
        self.context.close()


def watching(browser: Any, url: str, here: Path, kind: type[Watched] = Watched) -> Iterator:
    """Opens watched browser pages on ``url`` (a fixture yields from it); each is closed at
    the end, which checks that no request left 127.0.0.1 and no console error came."""
    shots = here / "screenshots"
    shots.mkdir(exist_ok=True)
    opened: list[Watched] = []

    def _open() -> Watched:
        w = kind(browser, url, shots)
        opened.append(w)
        return w

    yield _open
    for w in opened:
        w.close()


@pytest.fixture
def watched(console, browser) -> Iterator:
    svc, here = console
    yield from watching(browser, svc.url, here)


def test_each_role_sees_what_its_grants_allow_in_both_languages(watched):
    for user, sees_dopa, writes in (("admin", True, True), ("viewer", True, False),
                                    ("auditor", True, False), ("eng_dopa", True, True),
                                    ("eng_moi", True, True)):
        w = watched()
        w.login(user)
        assert w.page.url.endswith("/ui/"), (user, w.page.url)
        assert user in w.page.inner_text("header")
        w.page.fill("#q", "DOPA")
        w.press("Enter")
        assert w.page.locator("#agencies a[href='/ui/agency/DOPA']").count() == int(sees_dopa), user
        for lang in ("en", "th"):
            w.go(f"/ui/lang/{lang}?back=/ui/agency/DOPA")
            assert w.page.url.endswith("/ui/agency/DOPA")
            assert w.page.locator("html").get_attribute("lang") == lang
            assert "กรมการปกครอง" in w.page.inner_text("h1")
            heading = "ผู้ติดต่อ" if lang == "th" else "Contacts"
            assert heading in w.page.inner_text("main")
            assert "สมชาย ใจดี" in w.page.inner_text("main")
            assert "dopa-pe-1" in w.page.inner_text("main")
            forms = w.page.locator("form.write").count()
            assert forms == int(writes), (user, lang, forms)
            w.shot(f"agency-{user}-{lang}")
            w.go("/ui/?q=" + ("กรม" if lang == "th" else "Ministry"))
            w.shot(f"search-{user}-{lang}")
        w.go("/ui/lang/en")


def test_agency_scope_hides_other_agencies(console, watched):
    svc, _ = console
    w = watched()
    w.login("eng_dopa")
    w.go("/ui/?q=MOF")
    assert w.page.locator("#agencies a[href='/ui/agency/MOF']").count() == 0
    w.go("/ui/?q=DOPA")
    assert w.page.locator("#agencies a[href='/ui/agency/DOPA']").count() == 1
    address = dopa_address(svc)
    w.go("/ui/?q=" + address)  # whois: the owner of an address
    assert w.page.locator("section a[href='/ui/agency/DOPA']").count() == 1
    other = watched()
    other.login("eng_mof")
    other.go("/ui/?q=" + address)  # outside their ministry: not told who owns it
    assert other.page.locator("a[href='/ui/agency/DOPA']").count() == 0
    w.go("/ui/?q=-pe-")  # devices by host name: only the agency's own
    assert "dopa-pe-1" in w.page.inner_text("main")
    assert "mof-pe-1" not in w.page.inner_text("main")
    # The refused page itself is an expected 403 (Chromium logs it as a failed resource).
    answer = w.context.request.get(svc.url + "/ui/agency/MOF", headers={"Accept": "text/html"})
    assert answer.status == 403
    assert "directory.read" in answer.text() and "not permitted" in answer.text()
    unknown = w.context.request.get(svc.url + "/ui/agency/NOSUCH",
                                    headers={"Accept": "text/html"})
    assert unknown.status == 404 and "<h1>" in unknown.text() and "NOSUCH" in unknown.text()
    script = httpx.get(svc.url + "/api/v1/agencies/NOSUCH",
                       headers={"Authorization": f"Bearer {svc.tokens['admin']}"})
    assert script.status_code == 404 and "NOSUCH" in script.json()["detail"]


def test_login_page_and_search_are_reachable_by_keyboard_only(console, watched):
    w = watched()
    w.go("/ui/login")
    page = w.page
    # the skip link, the header's language switch, then the form; the page's autofocus may
    # land while we tab, so go round the whole cycle (its fields and the browser's own stop)
    page.keyboard.press("Tab")
    for _ in range(12):
        if page.evaluate("document.activeElement.id") == "user":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "user"
    page.keyboard.type("viewer")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(PASSWORD)
    w.press("Enter")
    assert page.url.endswith("/ui/")
    w.shot("login-done")
    page.keyboard.press("Tab")
    for _ in range(8):
        if page.evaluate("document.activeElement.id") == "q":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("DOPA")
    w.press("Enter")
    assert page.locator("#agencies a[href='/ui/agency/DOPA']").count() == 1


def test_post_without_the_csrf_token_is_refused_and_changes_nothing(console, watched):
    svc, _ = console
    w = watched()
    w.login("admin")
    w.go("/ui/agency/DOPA")
    before = w.page.inner_text("#description")
    forged = w.context.request.post(svc.url + "/ui/agency/DOPA/description",
                                    form={"description": "forged"})
    assert forged.status == 403 and "CSRF" in forged.text()
    wrong = w.context.request.post(svc.url + "/ui/agency/DOPA/description",
                                   form={"description": "forged", "csrf": "0" * 64})
    assert wrong.status == 403
    w.go("/ui/agency/DOPA")
    assert w.page.inner_text("#description") == before
    w.page.fill("#new-description", "แก้ไขผ่านคอนโซล")
    w.page.click("form.write button")
    w.page.wait_for_url("**/ui/agency/DOPA")
    assert w.page.inner_text("#description") == "แก้ไขผ่านคอนโซล"
    assert "api:admin" in w.page.inner_text("main")  # the change log names the user
    login_forged = httpx.post(svc.url + "/ui/login", data={"user": "admin",
                                                           "password": PASSWORD})
    assert login_forged.status_code == 403


def test_viewer_post_is_refused_even_with_its_csrf_token(console, watched):
    svc, _ = console
    w = watched()
    w.login("viewer")
    w.go("/ui/agency/DOPA")
    token = w.page.locator("form.inline input[name=csrf]").get_attribute("value")
    answer = w.context.request.post(svc.url + "/ui/agency/DOPA/description",
                                    form={"description": "viewer was here", "csrf": token})
    assert answer.status == 403 and "directory.write" in answer.text()


def test_script_in_a_thai_name_renders_as_text_and_decomposed_thai_matches(watched):
    w = watched()
    w.login("admin")
    decomposed = unicodedata.normalize("NFKD", "สำนักงาน")
    assert decomposed != "สำนักงาน"
    w.go("/ui/?q=" + decomposed)
    assert w.page.locator("#agencies a[href='/ui/agency/XSS']").count() == 1
    w.go("/ui/?q=สำนักงาน")
    assert w.page.locator("#agencies a[href='/ui/agency/XSS']").count() == 1
    w.go("/ui/agency/XSS")
    assert HOSTILE_TH in w.page.inner_text("h1")
    assert w.page.evaluate("window.__pwned") is None
    assert w.page.locator("main script").count() == 0
    w.shot("agency-hostile-en")


def test_logout_revokes_the_session(console, watched):
    svc, _ = console
    w = watched()
    w.login("auditor")
    cookie = next(c for c in w.context.cookies() if c["name"] == "gin_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/ui"
    w.page.click("header form button")
    w.page.wait_for_url("**/ui/login")
    again = httpx.get(svc.url + "/ui/", cookies={"gin_session": cookie["value"]},
                      follow_redirects=False)
    assert again.status_code == 401
    w.go("/ui/")
    assert w.page.url.endswith("/ui/login")
    w.shot("login-en")
    w.go("/ui/lang/th?back=/ui/login")
    assert "เข้าสู่ระบบ" in w.page.inner_text("h1")
    w.shot("login-th")
