"""The auditor's and the engineer's pages in a real browser (Debian's Chromium driven by
Playwright) against a real ``gin serve`` on 127.0.0.1, logging in through the form.

The directory holds three stored audit runs (a router's config getting better, then worse),
an accepted risk and an expired one, and a backup of the GIN router's config, so every page
shows real numbers: the trend chart, the drill-down to evidence, the downloads (each file is
read back and checked), the engineer's plan -> rendered config -> lines to push.  Every page
load is watched (no request leaves 127.0.0.1, no console error) and screenshotted in both
languages; with ``GIN_CONSOLE_SCREENSHOTS=docs/screenshots`` small copies go to the README.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from audit import acceptance, assess
from audit.evidence import BackupStore
from audit.runner import ConfigSource, run
from directory import identity, store
from directory.store import Directory
from tests.integration.console.test_console_browser import HOSTILE_TH, Watched, chromium, watching
from tests.integration.server.conftest import PASSWORD, seed, start, stop

playwright_api = pytest.importorskip("playwright.sync_api")
GOLDEN = Path(__file__).parents[2] / "unit" / "audit" / "golden"
T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
#: Which golden config each audited router had in each of the three runs.
RUNS = (("frr_bad", "cisco_ios_good"), ("frr_good", "cisco_ios_good"),
        ("frr_good", "cisco_ios_bad"))
ACCEPTED_CHECK = "mgmt.ssh_v2_only"
DOCS_SHOTS = {"audit-auditor-en", "audit-auditor-th", "audit-agency-auditor-en",
              "audit-agency-auditor-th", "audit-finding-auditor-en", "audit-finding-auditor-th",
              "engineer-plan-eng_dopa-en", "engineer-plan-eng_dopa-th",
              "engineer-link-eng_dopa-en", "engineer-link-eng_dopa-th"}
BACKUP = """hostname dopa-pe1
log syslog informational
service password-encryption
!
interface lo
 ipv6 address 2001:db8:ffff::11/128
!
router bgp 64512
 bgp router-id 10.255.0.1
 no bgp ebgp-requires-policy
!
line vty
!
"""


def _audits(frr: str, ios: str) -> list:
    sources = [ConfigSource("dopa-pe1", "frr", (GOLDEN / f"{frr}.conf").read_text(), "pe",
                            "DOPA", T0, True, origin="dopa-pe1.cfg"),
               ConfigSource("mof-pe-1", "cisco_ios", (GOLDEN / f"{ios}.conf").read_text(),
                            "pe", "MOF", T0, True, origin="mof-pe-1.cfg"),
               ConfigSource("xss-ce-1", "frr", (GOLDEN / "frr_bad.conf").read_text(), "ce",
                            "XSS", T0, True, origin="xss-ce-1.cfg")]
    return run(sources, now=T0)


def seed_work(db_url: str, backups: Path) -> None:
    """The hostile agency, three stored runs, two acceptances, a router's backup."""
    d = Directory(db_url, actor="test-setup")
    try:
        with d.transaction() as s:
            store.add_agency(s, code="XSS", name_en="Hostile <b>bold</b> office",
                             name_th=HOSTILE_TH, kind="department", parent="MOI")
            store.add_device(s, "MOF", store.add_site(s, "MOF", code="BKK").code,
                             hostname="mof-pe-1", role="pe", platform="cisco_ios")
            identity.add_user(s, "auditor2", PASSWORD)
            identity.grant(s, "auditor2", "auditor", "gin", None)
        for i, (frr, ios) in enumerate(RUNS):
            assess.record(d, assess.Assessment(assess.Scope("GIN"), _audits(frr, ios),
                                               T0 + dt.timedelta(days=7 * i), "iso17799"))
        acceptance.accept(d, "mof-pe-1", ACCEPTED_CHECK, "old router, replaced in Q1",
                          acceptance.parse_until("90d"))
        past = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
        acceptance.accept(d, "xss-ce-1", ACCEPTED_CHECK, "waiver that ran out",
                          past + dt.timedelta(days=10), now=past)
    finally:
        d.close()
    BackupStore(backups).save("dopa-pe1", "frr", BACKUP)


@pytest.fixture(scope="module")
def console(tmp_path_factory) -> Iterator:
    here = tmp_path_factory.mktemp("console-work")
    db_url = f"sqlite:///{here / 'gin.db'}"
    tokens = seed(db_url)
    backups = here / "backups"
    seed_work(db_url, backups)
    before = os.environ.get("GIN_BACKUP_DIR")
    os.environ["GIN_BACKUP_DIR"] = str(backups)  # the server's backups (start copies the env)
    try:
        svc = start(db_url, here / "serve.log")
    finally:
        if before is None:
            os.environ.pop("GIN_BACKUP_DIR")
        else:
            os.environ["GIN_BACKUP_DIR"] = before
    svc.tokens = tokens
    yield svc, here
    stop(svc.proc)
    log = svc.log.read_text()
    assert PASSWORD not in log and not any(t in log for t in tokens.values())


@pytest.fixture(scope="module")
def browser(console) -> Iterator:
    yield from chromium()


class Shots(Watched):
    """A watched browser whose screenshots named in :data:`DOCS_SHOTS` go to the README."""

    docs_shots = frozenset(DOCS_SHOTS)


@pytest.fixture
def watched(console, browser) -> Iterator:
    svc, here = console
    yield from watching(browser, svc.url, here, Shots)


def in_both_languages(w: Watched, path: str, name: str) -> Iterator[str]:
    """Open ``path`` in English then Thai (through the header's switch), screenshot each."""
    for lang in ("en", "th"):
        w.go(f"/ui/lang/{lang}?back={path}")
        assert w.page.locator("html").get_attribute("lang") == lang
        yield lang
        w.shot(f"{name}-{lang}")
    w.go("/ui/lang/en")


def test_auditor_sees_the_trend_the_findings_and_downloads_a_run(console, watched, tmp_path):
    svc, _ = console
    w = watched()
    w.login("auditor")
    assert w.page.locator("header nav a[href='/ui/audit']").count() == 1
    assert w.page.locator("header nav a[href='/ui/engineer']").count() == 0
    for lang in in_both_languages(w, "/ui/audit", "audit-auditor"):
        chart = w.page.locator("svg#trend-chart")
        assert chart.count() == 1
        assert chart.locator("circle.point").count() == len(RUNS)
        assert "%" in w.page.inner_text("#overall")
        assert w.page.locator("#ministries a[href='/ui/audit/agency/MOI']").count() == 1
        assert w.page.locator("#agencies a[href='/ui/audit/agency/XSS']").count() == 1
        rows = w.page.locator("#accepted tbody tr")
        assert rows.count() == 2
        state = w.page.inner_text("#accepted")
        assert ("in force" if lang == "en" else "มีผล") in state
        assert ("expired" if lang == "en" else "หมดอายุ") in state
        assert "old router, replaced in Q1" in state
        assert w.page.locator("text=provision").count() == 0
        assert w.page.locator("form.write").count() == 0
    # the latest run: mof-pe-1 got worse, and one of its failures is an accepted risk
    w.go("/ui/audit/agency/MOF")
    assert w.page.locator("svg#trend-chart circle.point").count() == len(RUNS)
    w.go("/ui/audit")
    with w.page.expect_download() as got:
        w.page.click("#downloads a:text-is('CSV')")
    path = tmp_path / "run.csv"
    got.value.save_as(path)
    assert got.value.suggested_filename.startswith("gin-audit-run-")
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert {r["device"] for r in rows} >= {"dopa-pe1", "mof-pe-1", "xss-ce-1"}
    accepted = [r for r in rows if r["accepted"]]
    assert accepted and all(r["device"] == "mof-pe-1" for r in accepted)
    with w.page.expect_download() as got:
        w.page.click("#downloads a:text-is('HTML')")
    html = Path(got.value.path()).read_text(encoding="utf-8")
    assert "Security posture report" in html and "old router, replaced in Q1" in html
    assert "<script" not in html.split("</style>", 1)[-1].replace(HOSTILE_TH, "")
    with w.page.expect_download() as got:
        w.page.click("#downloads a:text-is('OSCAL')")
    oscal = json.loads(Path(got.value.path()).read_text(encoding="utf-8"))
    assert "assessment-results" in oscal
    with w.page.expect_download() as got:
        w.page.click("#downloads a:text-is('PDF')")
    assert Path(got.value.path()).read_bytes()[:5] == b"%PDF-"


def test_auditor_drills_down_to_a_findings_evidence_and_remediation(watched):
    w = watched()
    w.login("auditor")
    for lang in in_both_languages(w, "/ui/audit/agency/MOI", "audit-agency-auditor"):
        heading = "Agencies under it" if lang == "en" else "หน่วยงานในสังกัด"
        assert heading in w.page.inner_text("main")
        assert w.page.locator("#under a[href='/ui/audit/agency/DOPA']").count() == 1
        assert w.page.locator("#findings tbody tr").count() >= 1
        assert w.page.locator("svg#trend-chart circle.point").count() == len(RUNS)
        target = w.page.locator("#findings a[href*='/finding/']").first.get_attribute("href")
    for lang in in_both_languages(w, target, "audit-finding-auditor"):
        assert ("Remediation" if lang == "en" else "วิธีแก้ไข") in w.page.inner_text("main")
        assert w.page.locator("#evidence tbody tr, #remediation").count() >= 1
        assert w.page.locator("#history li").count() >= 1
    w.go("/ui/audit/agency/XSS")
    assert HOSTILE_TH in w.page.inner_text("h1")  # a stored <script> shows as text
    assert w.page.evaluate("window.__pwned") is None
    assert w.page.locator("main script").count() == 0


def test_auditor_has_no_plan_or_provision_and_its_posts_are_refused(console, watched):
    svc, _ = console
    w = watched()
    w.login("auditor")
    w.go("/ui/audit")
    token = w.page.locator("header form input[name=csrf]").get_attribute("value")
    for path in ("/ui/engineer", "/ui/engineer/DOPA", "/ui/engineer/DOPA/link/dopa-hq"):
        answer = w.context.request.get(svc.url + path, headers={"Accept": "text/html"})
        assert answer.status == 403 and "network.provision" in answer.text(), path
    posted = w.context.request.post(svc.url + "/ui/engineer/DOPA/plan",
                                    form={"csrf": token, "site": "HQ", "pe": "dopa-pe1:eth7",
                                          "ce": "dopa-cpe:eth7", "name": "auditor-try"})
    assert posted.status == 403 and "network.provision" in posted.text()
    answer = httpx.get(svc.url + "/api/v1/links/auditor-try",
                       headers={"Authorization": f"Bearer {svc.tokens['admin']}"})
    assert answer.status_code == 404  # nothing was planned


def test_engineer_plans_a_link_and_sees_its_config_and_what_would_be_pushed(console, watched):
    svc, _ = console
    w = watched()
    w.login("eng_dopa")
    assert w.page.locator("header nav a[href='/ui/engineer']").count() == 1
    w.go("/ui/engineer")
    w.page.fill("#agency", "dopa")
    w.press("Enter")
    assert w.page.url.endswith("/ui/engineer/DOPA")
    for _lang in in_both_languages(w, "/ui/engineer/DOPA", "engineer-plan-eng_dopa"):
        assert w.page.locator("form.plan button#plan").count() == 1
    w.go("/ui/engineer/DOPA")
    w.page.select_option("#site", "HQ")
    w.page.fill("#pe", "dopa-pe1:eth2")
    w.page.fill("#ce", "dopa-cpe:eth2")
    w.page.fill("#name", "dopa-hq2")
    w.page.check("#ipv6_only")
    with w.page.expect_navigation():
        w.page.click("button#plan")
    assert w.page.url.endswith("/ui/engineer/DOPA/link/dopa-hq2")
    for _lang in in_both_languages(w, "/ui/engineer/DOPA/link/dopa-hq2",
                                   "engineer-link-eng_dopa"):
        pe = w.page.inner_text("pre#config-dopa-pe1")
        assert "router bgp 64512" in pe and "eth2" in pe
        pushed = w.page.inner_text("pre#push-dopa-pe1")  # against the backup
        assert "+ interface eth2" in pushed
        assert "log syslog informational" in pe  # the backup already holds it: not pushed
        assert "+ log syslog informational" not in pushed
        assert "dopa-cpe" in w.page.inner_text("#end-2 h2")
        assert "gin link provision dopa-hq2" in w.page.inner_text("#provision-cli")
    row = httpx.get(svc.url + "/api/v1/links/dopa-hq2",
                    headers={"Authorization": f"Bearer {svc.tokens['admin']}"}).json()
    assert row["status"] == "planned" and row["ipv4"] is None
    changes = httpx.get(svc.url + "/api/v1/changes?limit=50",
                        headers={"Authorization": f"Bearer {svc.tokens['admin']}"}).json()
    assert any(c["actor"].endswith("eng_dopa") for c in changes["items"])
    # a bad end: one line on the form, nothing planned
    w.go("/ui/engineer/DOPA")
    w.page.fill("#pe", "dopa-pe1")
    w.page.fill("#ce", "dopa-cpe:eth3")
    w.page.fill("#name", "dopa-bad")
    with w.page.expect_navigation():
        w.page.click("button#plan")
    assert "DEVICE:INTERFACE" in w.page.inner_text("#problem")
    assert w.page.input_value("#ce") == "dopa-cpe:eth3"


def test_engineer_of_one_agency_cannot_plan_for_another(console, watched):
    svc, _ = console
    w = watched()
    w.login("eng_dopa")
    answer = w.context.request.get(svc.url + "/ui/engineer/MOF", headers={"Accept": "text/html"})
    assert answer.status == 403 and "network.provision" in answer.text()


def test_each_action_is_reachable_by_keyboard_only(watched):
    w = watched()
    w.login("auditor")
    w.go("/ui/audit")
    reached = focus_walk(w, 80)
    for href in ("/ui/audit/agency/MOI", "/ui/audit?run=1"):
        assert href in reached, (href, reached)
    assert any("/download/csv" in h for h in reached)
    assert any("/download/pdf" in h for h in reached)
    e = watched()
    e.login("eng_dopa")
    e.go("/ui/engineer/DOPA")
    ids = focus_walk(e, 40, attribute="id")
    for needed in ("site", "pe", "ce", "lan", "name", "ipv6_only", "plan"):
        assert needed in ids, (needed, ids)
    # and the plan form submits from the keyboard
    e.page.focus("#pe")
    e.page.keyboard.type("dopa-pe1:eth4")
    e.page.keyboard.press("Tab")
    e.page.keyboard.type("dopa-cpe:eth4")
    e.page.keyboard.press("Tab")
    e.page.keyboard.press("Tab")
    e.page.keyboard.type("dopa-kbd")
    e.press("Enter")
    assert e.page.url.endswith("/ui/engineer/DOPA/link/dopa-kbd")


def focus_walk(w: Watched, steps: int, attribute: str = "href") -> list[str]:
    """What Tab reaches, in order (each element's ``attribute``)."""
    page = w.page
    seen = []
    for _ in range(steps):
        page.keyboard.press("Tab")
        value = page.evaluate(f"document.activeElement.getAttribute('{attribute}')")
        if value:
            seen.append(value)
    return seen


def test_the_language_is_kept_with_the_account(console, browser):
    svc, here = console
    first = Shots(browser, svc.url, here)
    first.login("auditor2")
    first.go("/ui/lang/th?back=/ui/audit")
    assert first.page.locator("html").get_attribute("lang") == "th"
    first.close()
    other = Shots(browser, svc.url, here)  # another browser: no cookie from the first
    other.login("auditor2")
    assert other.page.locator("html").get_attribute("lang") == "th"
    assert "ตรวจประเมิน" in other.page.inner_text("header")
    other.go("/ui/lang/en?back=/ui/audit")
    other.close()
    third = Shots(browser, svc.url, here)
    third.login("auditor2")
    assert third.page.locator("html").get_attribute("lang") == "en"
    third.close()


def test_thai_renders_in_the_vendored_font_served_by_gin(console, watched):
    svc, _ = console
    w = watched()
    w.login("auditor")
    w.go("/ui/lang/th?back=/ui/audit")
    loaded = w.page.evaluate("""async () => {
        await document.fonts.ready;
        await document.fonts.load('16px Garuda', 'สถานะ');
        return [...document.fonts].filter(f => f.family.replaceAll('"', '') === 'Garuda'
                                           && f.status === 'loaded').length;
    }""")
    assert loaded >= 1
    assert w.page.evaluate("document.fonts.check('16px Garuda', 'สถานะความมั่นคงปลอดภัย')")
    assert svc.url + "/ui/static/garuda.woff2" in w.requests
    family = w.page.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily")
    assert family.startswith('"Garuda"') or family.startswith("Garuda")
    w.go("/ui/lang/en")


def test_a_script_in_a_thai_name_is_text_on_the_engineers_pages_too(watched):
    w = watched()
    w.login("admin")
    for path in ("/ui/engineer/XSS", "/ui/audit/agency/XSS"):
        w.go(path)
        assert HOSTILE_TH in w.page.inner_text("h1"), path
        assert w.page.evaluate("window.__pwned") is None
        assert w.page.locator("main script").count() == 0


def test_the_agency_page_shows_its_posture_to_those_who_may_read_it(console, watched):
    w = watched()
    w.login("auditor")
    for _lang in in_both_languages(w, "/ui/agency/MOF", "agency-posture-auditor"):
        assert w.page.locator("#posture .score").count() == 1
        assert w.page.locator("svg#trend-chart circle.point").count() == len(RUNS)
        href = w.page.locator("#agency-findings a").first.get_attribute("href")
        assert href.startswith("/ui/audit/agency/MOF/finding/")
    w.go("/ui/agency/MOF")
    w.page.locator("#agency-findings a").first.click()  # the drill-down is one click away
    assert "/ui/audit/agency/MOF/finding/" in w.page.url
    viewer = watched()
    viewer.login("viewer")  # the directory only, no audit grant: the page has no posture
    viewer.go("/ui/agency/MOF")
    assert viewer.page.locator("h1 small").inner_text() == "MOF"
    assert viewer.page.locator("#posture").count() == 0
