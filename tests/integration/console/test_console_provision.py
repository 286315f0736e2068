"""Provisioning from the console, in a real browser (Debian's Chromium driven by Playwright)
against a real ``gin serve`` on SQLite whose jobs run in-process: the engineer's Provision
button starts the same job ``POST /api/v1/links/{name}/provision`` starts, and the job's page
refreshes itself until the job ended, then shows its log and the change-log entries it made.

First on the sample directory, whose link's routers are unreachable on purpose (their
management address is a closed port on 127.0.0.1, so no packet leaves the machine): the job runs
to its end, failed, and says why.  Auditors and viewers get no button and their POSTs are
refused; another agency's engineer too.  Then on the lab's real FRR routers (network
namespaces): the job succeeds and its page lists the push and the verification the change log
recorded under the engineer.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator

import httpx
import pytest

from directory import store
from directory.store import Directory
from tests.integration.console.test_console_browser import Watched, chromium, watching
from tests.integration.server.conftest import PASSWORD, seed, start, stop

playwright_api = pytest.importorskip("playwright.sync_api")
LINK = "dopa-hq"
ENDED = re.compile("^(succeeded|failed)$")


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (connecting is refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def console(tmp_path_factory) -> Iterator:
    here = tmp_path_factory.mktemp("console-provision")
    db_url = f"sqlite:///{here / 'gin.db'}"
    tokens = seed(db_url)
    secret = here / "router.json"
    secret.write_text(json.dumps({"username": "gin", "password": "unused-here"}))
    secret.chmod(0o600)
    port = closed_port()
    d = Directory(db_url, actor="test-setup")
    try:
        with d.transaction() as s:
            for host in ("dopa-pe1", "dopa-cpe"):
                store.update(s, store.get_device(s, host), mgmt_address="127.0.0.1",
                             mgmt_port=port, credential_ref=f"file:{secret}")
    finally:
        d.close()
    svc = start(db_url, here / "serve.log", "--data-dir", str(here / "data"))
    svc.tokens = tokens
    yield svc, here
    stop(svc.proc)
    log = svc.log.read_text()
    assert PASSWORD not in log and not any(t in log for t in tokens.values())


@pytest.fixture(scope="module")
def browser() -> Iterator:
    yield from chromium()


@pytest.fixture
def watched(console, browser) -> Iterator:
    svc, here = console
    yield from watching(browser, svc.url, here)


def api(svc, who: str = "admin") -> httpx.Client:
    return svc.client(who)


def provision_jobs(svc) -> list[dict]:
    items = api(svc).get("/jobs", params={"kind": "provision"}).json()["items"]
    return [j for j in items if LINK in (j["params"] or {}).get("links", [])]


def a_job(svc) -> int:
    """A provision job of the link (one the engineer starts through the API if none yet)."""
    jobs = provision_jobs(svc)
    if jobs:
        return int(jobs[0]["id"])
    started = api(svc, "eng_dopa").post(f"/links/{LINK}/provision", json={"ping": False})
    assert started.status_code == 202, started.text
    return int(started.json()["id"])


def test_engineer_provisions_from_the_link_page_and_watches_the_job_end(console, watched):
    svc, _ = console
    w = watched()
    w.login("eng_dopa")
    w.go(f"/ui/engineer/DOPA/link/{LINK}")
    assert w.page.locator("form.provision button#provision").count() == 1
    with w.page.expect_navigation():
        w.page.click("button#provision")
    found = re.search(r"/ui/jobs/(\d+)", w.page.url)
    assert found, w.page.url
    job_id = int(found.group(1))
    first = w.page.locator("#state").get_attribute("data-state")
    if not ENDED.match(first or ""):  # still going: the page will reload itself, slower
        refresh = w.page.locator("meta[http-equiv=refresh]").get_attribute("content")
        assert refresh.endswith(f"url=/ui/jobs/{job_id}?wait=3"), refresh
    state = w.page.locator("#state")
    playwright_api.expect(state).to_have_attribute("data-state", ENDED, timeout=300_000)
    # ended: the page stands still and shows the job as the API does
    assert w.page.locator("meta[http-equiv=refresh]").count() == 0
    assert w.page.locator("#refresh").count() == 0
    job = api(svc, "eng_dopa").get(f"/jobs/{job_id}").json()
    assert job["kind"] == "provision" and job["params"]["links"] == [LINK]
    assert job["owner"].startswith("api:eng_dopa/")  # the engineer's job, not the console's
    assert state.get_attribute("data-state") == job["state"] == "failed"  # unreachable routers
    log = w.page.inner_text("#log")
    assert "cannot connect to 127.0.0.1" in log  # why it failed, router by router
    assert f"started by {job['owner']}" in log
    assert all(line["line"] in log for line in job["log"])
    assert job["error"] and job["error"] in w.page.inner_text("#error")
    # the change log's entries for the link since the job started, as the API lists them
    changes = api(svc).get("/changes", params={"type": "link", "key": LINK}).json()["items"]
    since = [c for c in changes if c["time"] >= job["started_at"]]
    if since:
        assert w.page.locator("#changes tbody tr").count() == len(since)
    else:
        assert w.page.locator("#no-changes").count() == 1
    # the same page in Thai
    w.go(f"/ui/lang/th?back=/ui/jobs/{job_id}")
    assert "ล้มเหลว" in w.page.inner_text("#state")
    w.go("/ui/lang/en")


def test_auditor_and_viewer_get_no_button_and_their_posts_are_refused(console, watched):
    svc, _ = console
    job_id = a_job(svc)
    before = len(provision_jobs(svc))
    for person in ("auditor", "viewer"):
        w = watched()
        w.login(person)
        w.go("/ui/")
        token = w.page.locator("header form input[name=csrf]").get_attribute("value")
        page = w.context.request.get(f"{svc.url}/ui/engineer/DOPA/link/{LINK}",
                                     headers={"Accept": "text/html"})
        assert page.status == 403 and 'id="provision"' not in page.text(), person
        posted = w.context.request.post(
            f"{svc.url}/ui/engineer/DOPA/link/{LINK}/provision", form={"csrf": token})
        assert posted.status == 403 and "network.provision" in posted.text(), person
        # they may read a job on the agency, but its page starts nothing
        w.go(f"/ui/jobs/{job_id}")
        assert w.page.locator("#state").count() == 1
        assert w.page.locator("form.provision, button#provision").count() == 0
    assert len(provision_jobs(svc)) == before  # nothing was started


def test_another_agencys_engineer_and_a_forged_post_are_refused(console, watched):
    svc, _ = console
    job_id = a_job(svc)
    before = len(provision_jobs(svc))
    w = watched()
    w.login("eng_mof")
    w.go("/ui/")
    token = w.page.locator("header form input[name=csrf]").get_attribute("value")
    posted = w.context.request.post(f"{svc.url}/ui/engineer/DOPA/link/{LINK}/provision",
                                    form={"csrf": token})
    assert posted.status == 403 and "network.provision" in posted.text()
    posted = w.context.request.post(f"{svc.url}/ui/engineer/MOF/link/{LINK}/provision",
                                    form={"csrf": token})
    assert posted.status == 404  # MOF has no such link: DOPA's is not reached through it
    e = watched()
    e.login("eng_dopa")
    forged = e.context.request.post(f"{svc.url}/ui/engineer/DOPA/link/{LINK}/provision",
                                    form={"csrf": "forged"})
    assert forged.status == 403 and "CSRF" in forged.text()
    assert len(provision_jobs(svc)) == before
    # and MOF's engineer may not watch DOPA's job
    seen = w.context.request.get(f"{svc.url}/ui/jobs/{job_id}", headers={"Accept": "text/html"})
    assert seen.status == 403 and "directory.read" in seen.text()


@pytest.fixture(scope="module")
def lab_console(tmp_path_factory) -> Iterator:
    """The kill bench's lab (two PEs, two CEs, links planned) with its directory on SQLite, MOF's
    engineer, and ``gin serve`` over it running jobs in-process."""
    from tests.integration.conftest import require_lab

    require_lab()
    from bench.kill_bench import KillLab
    from directory import identity

    work = tmp_path_factory.mktemp("console-provision-lab")
    kl = KillLab(work)
    svc = None
    try:
        with kl.directory.transaction() as s:
            identity.add_user(s, "eng_mof", PASSWORD)
            identity.grant(s, "eng_mof", "engineer", "agency", "MOF")
            token = identity.create_token(s, "eng_mof", "test")[1]
        svc = start(kl.db, work / "serve.log", "--data-dir", str(work / "data"))
        svc.tokens = {"eng_mof": token}
        yield kl, svc
    finally:
        if svc is not None:
            stop(svc.proc)
        kl.close()


def test_on_the_lab_the_job_succeeds_and_shows_the_changes_it_recorded(lab_console, browser,
                                                                       tmp_path):
    from bench.kill_bench import HOSTS, Tally
    from bench.kill_bench import LINK as LAB_LINK

    kl, svc = lab_console
    kl.reset()
    w = Watched(browser, svc.url, tmp_path)
    try:
        w.login("eng_mof")
        w.go(f"/ui/engineer/MOF/link/{LAB_LINK}")
        with w.page.expect_navigation():
            w.page.click("button#provision")
        state = w.page.locator("#state")
        playwright_api.expect(state).to_have_attribute("data-state", ENDED, timeout=600_000)
        w.page.screenshot(path=str(tmp_path / "job-lab.png"), full_page=True)
        assert state.get_attribute("data-state") == "succeeded", w.page.inner_text("main")
        log = w.page.inner_text("#log")
        assert "ce1: push done" in log and "pe1: save done" in log
        assert f"link {LAB_LINK}: changed" in log
        actions = w.page.locator("#changes tbody td.action").all_inner_texts()
        assert {"push", "verify"} <= set(actions), actions
        assert "api:eng_mof/" in w.page.inner_text("#changes")
    finally:
        w.close()  # no request left 127.0.0.1, no console error
    assert kl.link_status() == "active"
    tally = Tally()
    kl.judge({h: "" for h in HOSTS}, tally, "provisioned from the console")
    assert tally.outcomes == {"verified": len(HOSTS)} and not tally.problems
