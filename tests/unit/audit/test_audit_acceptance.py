"""Accepted risks: recorded in the directory with who and until when; every report format
shows the finding as accepted (listed, out of the score) while it is in force, and counts it
again once it has expired."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest

from audit import acceptance, assess, report
from audit.runner import ConfigSource, run
from devices.errors import ConfigError
from tests.unit.audit.conftest import NOW, golden

T0 = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
CHECK = "mgmt.ssh_v2_only"


def _stored(directory) -> int:
    audits = run([ConfigSource("r1", "cisco_ios", golden("cisco_ios_bad.conf"), "pe", "DOPA",
                               NOW, True, origin="r1.cfg")], now=NOW)
    done = assess.record(directory, assess.Assessment(assess.Scope("GIN"), audits, T0,
                                                      "iso17799"))
    assert done.run_id is not None
    return done.run_id


def test_an_accepted_finding_is_listed_as_accepted_and_leaves_the_score(directory) -> None:
    run_id = _stored(directory)
    before = assess.stored(directory, run_id).data()
    failing = [f for f in before["findings"] if f["check"] == CHECK]
    assert failing and failing[0]["status"] == "fail" and failing[0]["accepted"] is None
    row = acceptance.accept(directory, "r1", CHECK, "replacement router ordered",
                            acceptance.parse_until("30d"))
    # r1 is not in the directory: its agency comes from its newest stored finding
    assert row["state"] == "in force" and row["agency"] == "DOPA"
    assert row["accepted_by"] == directory.actor
    after = assess.stored(directory, run_id)
    data = after.data()
    accepted = [f for f in data["findings"] if f["check"] == CHECK]
    assert accepted[0]["status"] == "fail"  # the verdict is not rewritten
    assert accepted[0]["accepted"]["by"] == directory.actor
    assert data["score"]["accepted"] == 1
    assert data["score"]["fail"] == before["score"]["fail"] - 1
    assert data["score"]["score"] > before["score"]["score"]
    html = report.to_html(after.audits, scope="GIN")
    assert "accepted risk" in html and "replacement router ordered" in html
    assert 'id="accepted-count"' in html
    thai = report.to_html(after.audits, scope="GIN", lang="th")
    assert "ยอมรับความเสี่ยง" in thai
    rows = list(csv.DictReader(io.StringIO(report.to_csv(after.audits))))
    assert [r["accepted"] for r in rows if r["check"] == CHECK][0].startswith(
        f"accepted by {directory.actor} until ")
    assert all(not r["accepted"] for r in rows if r["check"] != CHECK)
    exported = json.loads(report.to_json(after.audits))
    assert exported["score"]["accepted"] == 1


def test_an_expired_acceptance_counts_again(directory) -> None:
    run_id = _stored(directory)
    made = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    acceptance.accept(directory, "r1", CHECK, "waiver for the migration",
                      made + dt.timedelta(days=5), now=made)
    listed = acceptance.listing(directory)
    assert [r["state"] for r in listed] == ["expired"]
    data = assess.stored(directory, run_id).data()
    assert data["score"]["accepted"] == 0
    assert [f["accepted"] for f in data["findings"] if f["check"] == CHECK] == [None]
    in_force = acceptance.applied(directory, assess.stored(directory, run_id).audits,
                                  now=made + dt.timedelta(days=1))
    assert any(f.accepted for a in in_force for f in a.findings)


def test_a_passing_finding_stays_a_pass_when_accepted(directory) -> None:
    run_id = _stored(directory)
    passing = next(f for a in assess.stored(directory, run_id).audits for f in a.findings
                   if f.status.value == "pass")
    acceptance.accept(directory, passing.device, passing.check, "belt and braces",
                      dt.datetime.now(dt.UTC) + dt.timedelta(days=3))
    data = assess.stored(directory, run_id).data()
    assert data["score"]["accepted"] == 0


@pytest.mark.parametrize("device,check,reason,until,said", [
    ("r1", "no.such.check", "x", "30d", "is not a gin audit check"),
    ("r1", CHECK, "   ", "30d", "--reason"),
    ("r1", CHECK, "x", "2001-01-01", "not in the future"),
    ("r1", CHECK, "x", "400d", "at most 366 days"),
    ("r1", CHECK, "x", "tomorrow", "expected YYYY-MM-DD"),
    ("typo-r1", CHECK, "x", "30d", "neither in the directory nor in any stored audit run"),
])
def test_bad_acceptances_are_refused_with_one_line_and_change_nothing(
        directory, device, check, reason, until, said) -> None:
    with pytest.raises(ConfigError, match=said) as caught:
        acceptance.accept(directory, device, check, reason, acceptance.parse_until(until))
    assert "\n" not in str(caught.value)
    assert acceptance.listing(directory) == []


def test_gin_audit_accept_then_every_report_of_the_run_shows_it(tmp_path, sqlite_url,
                                                                  monkeypatch) -> None:
    """The CLI path: a run recorded, a risk accepted, the stored run's reports show it."""
    import shutil

    from click.testing import CliRunner

    from directory.store import Directory
    from tests.unit.audit.conftest import GOLDEN
    from tests.unit.audit.test_audit_cli import root

    monkeypatch.setenv("GIN_BACKUP_DIR", str(tmp_path / "backups"))
    Directory(sqlite_url).engine.dispose()
    configs = tmp_path / "configs"
    configs.mkdir()
    shutil.copy(GOLDEN / "cisco_ios_bad.conf", configs / "r1.conf")
    (configs / "devices.yaml").write_text("r1: {platform: cisco_ios, role: pe, agency: MOF}\n")

    def gin(*args: str, code: int = 0):
        result = CliRunner().invoke(root, ["--db", sqlite_url, "audit", *args])
        assert result.exit_code == code, result.output
        return result

    gin("check", "--configs", str(configs))
    said = gin("accept", "r1", CHECK, "--reason", "router replaced in Q1", "--until", "60d")
    assert "accepted mgmt.ssh_v2_only on r1 until" in said.stdout and "cli-test" in said.stdout
    listed = json.loads(gin("accepted", "--json").stdout)
    assert [(r["device"], r["agency"], r["state"]) for r in listed] == [("r1", "MOF",
                                                                        "in force")]
    gin("report", "--run", "latest", "--format", "html", "-o", str(tmp_path / "r.html"))
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "router replaced in Q1" in html and "accepted by cli:" in html
    assert "as cli-test until" in html
    refused = gin("accept", "r1", CHECK, "--reason", "x", "--until", "yesterday", code=1)
    assert "--until 'yesterday'" in str(refused.exception)
    assert len(json.loads(gin("accepted", "--json").stdout)) == 1
