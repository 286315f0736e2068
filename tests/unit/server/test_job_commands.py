"""``gin job`` as an operator types it, on a directory (SQLite and PostgreSQL) whose jobs
were written by ``directory.jobs`` (as the service writes them) and run by the service's
real in-process runner; and the jobs on the service's ``/metrics``, parsed as Prometheus
parses them and checked by ``promtool``."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import threading

import pytest
from prometheus_client.parser import text_string_to_metric_families

from directory import jobs as records
from directory.errors import Conflict
from directory.store import Directory, local_actor
from gin.cli import main
from gin.server.job_kinds import KINDS
from gin.server.jobs import InProcessRunner, JobContext, execute
from gin.server.metrics import DURATION_BUCKETS, exposition

#: a bound for a wedged job or process, not a speed check
WAIT = 300


def url(d: Directory) -> str:
    return d.engine.url.render_as_string(hide_password=False)


def gin(capsys, d: Directory, *args: str) -> tuple[int, str, str]:
    code = main(["--db", url(d), *args])
    out, err = capsys.readouterr()
    return code, out, err


def new_job(d: Directory, kind: str = "backup", owner: str = "api:alice",
            devices: tuple[str, ...] = ()) -> int:
    with d.transaction() as s:
        return records.create(s, kind, {"devices": list(devices)}, owner, "in-process")


def ended_job(d: Directory, ok: bool, kind: str = "backup", lines: tuple[str, ...] = ()) -> int:
    """A job taken through its whole life the way a worker takes it."""
    job_id = new_job(d, kind)
    assert records.claim(d.engine, job_id, records.Worker(os.getpid(), "lab-host", "t0"))
    records.set_progress(d.engine, job_id, 1, 4)
    for line in lines:
        records.log(d.engine, job_id, line)
    assert records.finish(d.engine, job_id, ok, {"devices": []},
                          None if ok else "not backed up: dopa-pe1")
    return job_id


def test_list_show_and_filters(directory, capsys):
    d = directory
    good = ended_job(d, True, lines=("dopa-pe1 running-config: saved",))
    bad = ended_job(d, False, kind="audit", lines=("dopa-pe1 running-config: failed",))
    queued = new_job(d, "provision", owner="api:bob/laptop")

    code, out, err = gin(capsys, d, "job", "list", "--json")
    assert code == 0, err
    assert [j["id"] for j in json.loads(out)] == [queued, bad, good]  # newest first

    code, out, _ = gin(capsys, d, "job", "list", "--state", "failed", "--json")
    assert code == 0 and [(j["id"], j["error"]) for j in json.loads(out)] == [
        (bad, "not backed up: dopa-pe1")]
    code, out, _ = gin(capsys, d, "job", "list", "--kind", "provision", "--json")
    assert code == 0 and [(j["id"], j["owner"]) for j in json.loads(out)] == [
        (queued, "api:bob/laptop")]
    code, out, err = gin(capsys, d, "job", "list", "--limit", "2", "--json")
    assert code == 0 and [j["id"] for j in json.loads(out)] == [queued, bad]
    assert err == "gin: more jobs after these 2 (a larger --limit shows them)\n"
    code, out, _ = gin(capsys, d, "job", "list")
    assert code == 0 and "4/4 100%" in out and "0/?" in out  # a success ends at its total

    code, out, err = gin(capsys, d, "job", "show", str(bad), "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["state"] == "failed" and shown["worker"] == f"pid {os.getpid()} on lab-host"
    assert shown["progress"] == {"done": 1, "total": 4, "percent": 25}
    assert shown["started_at"] and shown["finished_at"] and shown["owner"] == "api:alice"
    assert [ln["line"] for ln in shown["log"]] == ["dopa-pe1 running-config: failed"]
    code, out, _ = gin(capsys, d, "job", "show", str(good))
    assert code == 0 and "succeeded" in out and "dopa-pe1 running-config: saved" in out
    assert f"pid {os.getpid()} on lab-host" in out


def test_bad_input_is_one_clear_line_and_changes_nothing(directory, capsys):
    d = directory
    job_id = new_job(d)
    code, out, err = gin(capsys, d, "job", "list", "--state", "done")
    assert code != 0 and out == ""
    assert err.strip().splitlines() == [
        "gin: error: job state 'done' is not one of queued, running, succeeded, failed, "
        "cancelled"]
    code, out, err = gin(capsys, d, "job", "list", "--kind", "provisioning")
    assert code != 0 and out == ""
    assert err.strip().splitlines() == [
        "gin: error: job kind 'provisioning' is not one of provision, deploy, withdraw, backup, "
        "audit, web_scan"]
    for verb in ("show", "wait", "cancel"):
        code, out, err = gin(capsys, d, "job", verb, str(job_id + 1))
        assert code != 0 and out == ""
        assert err.strip().splitlines() == [f"gin: error: job {job_id + 1} not found"]
    with d.transaction() as s:
        assert records.get(s, job_id).state == "queued"


def test_wait_gives_up_after_its_timeout_and_the_job_goes_on(directory, capsys):
    d = directory
    job_id = new_job(d)
    code, out, err = gin(capsys, d, "job", "wait", str(job_id), "--timeout", "0.5")
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        f"gin: job {job_id} still queued after 0.5 s; it goes on (gin job wait {job_id} "
        "again, or a longer --timeout)"]
    with d.transaction() as s:
        assert records.get(s, job_id).state == "queued"


def test_wait_ends_when_the_worker_stopped_its_heartbeat(directory, capsys):
    d = directory
    job_id = new_job(d)
    assert records.claim(d.engine, job_id, records.Worker(4242, "gone-host", "t0"))
    records.log(d.engine, job_id, "dopa-pe1: reading")
    old = records.m.utcnow() - records.STALE_AFTER * 2
    with d.engine.begin() as conn:
        conn.execute(records.JOB.update().where(records.JOB.c.id == job_id)
                     .values(heartbeat_at=old))
    code, out, err = gin(capsys, d, "job", "wait", str(job_id), "--timeout", str(WAIT))
    assert code == 1 and out.strip().endswith("dopa-pe1: reading")
    assert err.strip().splitlines() == [
        f"gin: job {job_id} is running but its worker (pid 4242 on gone-host) has sent no "
        f"heartbeat since {old.isoformat(timespec='seconds')}: presumed dead (the next gin "
        "serve or gin worker to start fails the job)"]


def wait_in_a_process(d: Directory, job_id: int) -> subprocess.Popen:
    """``gin job wait`` as a user runs it, started before the job runs."""
    return subprocess.Popen([sys.executable, "-m", "gin.cli", "--db", url(d),
                             "job", "wait", str(job_id), "--timeout", str(WAIT)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_wait_follows_jobs_run_by_the_real_in_process_runner(directory, tmp_path, monkeypatch):
    d = directory
    monkeypatch.setenv("GIN_DATA_DIR", str(tmp_path / "data"))
    every = new_job(d)  # every device of an empty directory: nothing to do, it succeeds
    missing = new_job(d, devices=("no-such-router",))  # not in the directory: it fails
    waiters = {every: wait_in_a_process(d, every), missing: wait_in_a_process(d, missing)}
    runner = InProcessRunner(d, KINDS)
    try:
        runner.submit(every)
        runner.submit(missing)
        done = {j: p.communicate(timeout=WAIT) + (p.returncode,) for j, p in waiters.items()}
    finally:
        for p in waiters.values():
            p.kill() if p.poll() is None else None
        runner.close()
    out, err, code = done[every]
    assert code == 0, err
    assert out.strip().splitlines()[-1] == f"job {every} succeeded" and err == ""
    out, err, code = done[missing]
    with d.transaction() as s:
        failed = records.get(s, missing)
        assert failed.state == "failed"
        logged = [ln.line for ln in records.lines(s, missing)]
    assert code == 1
    assert err.strip().splitlines() == [f"gin: job {missing} failed: {failed.error}"]
    assert [ln.split("  ", 1)[1] for ln in out.strip().splitlines()] == logged


def families(text: str) -> dict[str, dict[tuple, float]]:
    """Prometheus's own parser: name -> {(sample name, sorted labels): value}."""
    found: dict[str, dict[tuple, float]] = {}
    for fam in text_string_to_metric_families(text):
        for sample in fam.samples:
            found.setdefault(fam.name, {})[
                (sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_jobs_on_metrics_parse_and_pass_promtool(directory):
    d = directory
    for ok in (True, True, False):
        ended_job(d, ok)
    running = new_job(d, "provision")
    assert records.claim(d.engine, running, records.Worker(os.getpid(), "lab-host", "t0"))
    new_job(d, "audit")
    with d.transaction() as s:  # a kind this gin does not know: counted, under "other"
        records.create(s, "from-a-newer-gin", {}, "api:alice", "in-process")

    text = exposition(d).decode()
    got = families(text)
    jobs = got["gin_jobs"]

    def count(state: str, kind: str) -> float:
        return jobs[("gin_jobs", (("kind", kind), ("state", state)))]

    assert count("succeeded", "backup") == 2 and count("failed", "backup") == 1
    assert count("running", "provision") == 1 and count("queued", "audit") == 1
    assert count("queued", "other") == 1 and count("failed", "deploy") == 0
    assert {dict(k[1])["kind"] for k in jobs} == {*KINDS, "other"}  # bounded label values
    assert sum(jobs.values()) == 6
    hist = got["gin_job_duration_seconds"]
    ok = dict((("kind", "backup"), ("state", "succeeded")))
    assert hist[("gin_job_duration_seconds_count", tuple(sorted(ok.items())))] == 2
    inf = tuple(sorted({**ok, "le": "+Inf"}.items()))
    assert hist[("gin_job_duration_seconds_bucket", inf)] == 2
    assert len({k[1] for k in hist if k[0].endswith("_bucket")}) == (
        (len(KINDS) + 1) * len(records.ENDED) * (len(DURATION_BUCKETS) + 1))
    assert "gin_api_logins_total" in got or "gin_api_logins" in got  # the process's own too

    promtool = shutil.which("promtool")
    assert promtool, "promtool is part of the lab (Prometheus's own checker)"
    checked = subprocess.run([promtool, "check", "metrics"], input=text, text=True,
                             capture_output=True, timeout=WAIT)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_series_is_there_before_the_first_job(directory):
    got = families(exposition(directory).decode())
    assert set(got["gin_jobs"].values()) == {0}
    assert len(got["gin_jobs"]) == len(records.STATES) * (len(KINDS) + 1)


def test_a_job_is_counted_in_the_bucket_of_its_duration(directory):
    d = directory
    job_id = ended_job(d, False, kind="deploy")
    start = records.m.utcnow().replace(microsecond=0) - dt.timedelta(minutes=1)
    with d.engine.begin() as conn:
        conn.execute(records.JOB.update().where(records.JOB.c.id == job_id).values(
            started_at=start, finished_at=start + dt.timedelta(seconds=7.5)))
    never_ran = new_job(d, "deploy")  # failed while queued: it has no duration
    assert records.fail_dead(d.engine, never_ran, "its worker died")
    hist = families(exposition(d).decode())["gin_job_duration_seconds"]

    def sample(suffix: str, **extra: str) -> float:
        labels = {"kind": "deploy", "state": "failed", **extra}
        return hist[(f"gin_job_duration_seconds{suffix}", tuple(sorted(labels.items())))]

    assert sample("_bucket", le="5.0") == 0 and sample("_bucket", le="15.0") == 1
    assert sample("_bucket", le="+Inf") == 1 == sample("_count")
    assert sample("_sum") == pytest.approx(7.5, abs=0.01)


def test_a_queued_job_cancelled_from_the_shell_never_runs(directory, capsys, tmp_path,
                                                          monkeypatch):
    d = directory
    monkeypatch.setenv("GIN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("GIN_ACTOR", raising=False)
    me = local_actor()  # the shell's user: what the change log would record
    job_id = new_job(d)
    code, out, err = gin(capsys, d, "job", "cancel", str(job_id))
    assert (code, err) == (0, "")
    assert out.strip() == f"job {job_id} cancelled: it will not start"
    ran = execute(d, job_id, KINDS)  # a worker that takes it anyway finds it cancelled
    assert ran is None
    with d.transaction() as s:
        job = records.get(s, job_id)
        assert (job.state, job.started_at, job.worker_pid) == ("cancelled", None, None)
        said = [ln.line for ln in records.lines(s, job_id)]
    assert said == [f"cancelled by {me} before it started"]
    assert job.error == f"cancelled by {me} before it started"
    code, out, err = gin(capsys, d, "job", "cancel", str(job_id))
    assert code == 1 and out == ""
    assert err.strip().splitlines() == [
        f"gin: error: job {job_id} has already ended (cancelled): nothing to cancel"]
    code, out, err = gin(capsys, d, "job", "wait", str(job_id))
    assert code == 1
    assert err.strip().splitlines()[-1] == (
        f"gin: job {job_id} cancelled: cancelled by {me} before it started")


def _stepper(reached: threading.Event, go: threading.Event, checkpoint: bool):
    """A job kind of three steps that waits after its first one (so a test can ask it to
    stop while it runs), then reaches a safe point or, with ``checkpoint`` False, none."""

    def run(ctx: JobContext) -> tuple[bool, dict]:
        ctx.progress(0, 3)
        ctx.advance()
        reached.set()
        assert go.wait(WAIT)
        if checkpoint:
            ctx.checkpoint({"steps": 1})
        ctx.advance(2)
        return True, {"steps": 3}

    return run


@pytest.mark.parametrize("checkpoint", [True, False], ids=["safe-point", "none-left"])
def test_a_running_job_stops_at_its_next_safe_point(directory, checkpoint, tmp_path,
                                                    monkeypatch):
    d = directory
    monkeypatch.setenv("GIN_DATA_DIR", str(tmp_path / "data"))
    reached, go = threading.Event(), threading.Event()
    job_id = new_job(d, "steps", owner="api:alice/token:t")
    ended: list[str | None] = []
    worker = threading.Thread(target=lambda: ended.append(execute(
        d, job_id, {"steps": _stepper(reached, go, checkpoint)})))
    worker.start()
    try:
        assert reached.wait(WAIT)
        assert records.cancel(d.engine, job_id, "api:bob") == "stopping"
        assert records.cancel(d.engine, job_id, "api:carol") == "stopping"  # asked already
    finally:
        go.set()
        worker.join(WAIT)
    with d.transaction() as s:
        job = records.get(s, job_id)
        said = [ln.line for ln in records.lines(s, job_id)]
    assert said[1] == "cancellation asked by api:bob: the job stops at its next safe point"
    assert job.cancel_requested_by == "api:bob"
    if checkpoint:
        assert ended == ["cancelled"]
        assert (job.state, job.error, job.result) == ("cancelled", "cancelled by api:bob",
                                                      {"steps": 1})
        assert (job.progress_done, job.progress_total) == (1, 3)  # it stopped after step 1
        assert said[2:] == ["cancelled by api:bob: stopped at a safe point after 1 of 3 step(s)"]
    else:  # no safe point was left: it ran to its end, and says so
        assert ended == ["succeeded"] and job.state == "succeeded"
        assert said[2:] == ["the cancellation asked by api:bob came after the job's last safe "
                            "point: it ran to its end", "succeeded"]
    with pytest.raises(Conflict, match=f"job {job_id} has already ended"):
        records.cancel(d.engine, job_id, "api:bob")
    jobs = families(exposition(d).decode())["gin_jobs"]
    assert jobs[("gin_jobs", (("kind", "other"), ("state", "cancelled")))] == int(checkpoint)
    hist = families(exposition(d).decode())["gin_job_duration_seconds"]
    cancelled = (("kind", "other"), ("state", "cancelled"))
    assert hist[("gin_job_duration_seconds_count", cancelled)] == int(checkpoint)
