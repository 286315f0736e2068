"""Audit runs stored once in the directory (SQLite and PostgreSQL), rendered again from
there, and the trend since the previous run of the same scope."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from audit import assess, history, report
from audit.runner import ConfigSource, run
from devices.errors import ConfigError
from tests.unit.audit.conftest import NOW, golden

T0 = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)


def _assessment(text: str | None, when: dt.datetime, scope: str = "GIN",
                skipped: tuple[tuple[str, str], ...] = ()) -> assess.Assessment:
    audits = run([ConfigSource("r1", "cisco_ios", text, "pe", "DOPA", NOW, True,
                               origin="r1.cfg")], now=NOW)
    return assess.Assessment(assess.Scope(scope), audits, when, "iso17799", skipped)


def test_a_run_comes_back_as_it_was_stored(directory) -> None:
    first = _assessment(golden("cisco_ios_bad.conf"), T0, skipped=(("x/notes.doc", "why"),))
    first.audits[0].warnings.append("a warning")
    missing = _assessment(None, T0 + dt.timedelta(hours=1))
    ids = [assess.record(directory, a).run_id for a in (first, missing)]
    assert ids[0] is not None and ids[1] is not None and ids[0] != ids[1]
    back = assess.stored(directory, ids[0])
    assert back.audits == first.audits and back.skipped == first.skipped
    assert back.generated_at == T0 and back.scope.name == "GIN"
    gone = assess.stored(directory, "latest")
    assert gone.run_id == ids[1] and gone.audits[0].error == missing.audits[0].error
    listed = history.runs(directory)
    assert [r["id"] for r in listed] == [ids[1], ids[0]]
    assert listed[0]["actor"] == directory.actor and listed[0]["actor"].endswith(" as tester")
    assert listed[1]["skipped"] == 1


def test_trend_since_the_previous_run_of_the_same_scope(directory) -> None:
    bad, good = golden("cisco_ios_bad.conf"), golden("cisco_ios_good.conf")
    assess.record(directory, _assessment(bad, T0))
    assess.record(directory, _assessment(good, T0 + dt.timedelta(days=1), scope="MOF"))
    now = assess.record(directory, _assessment(good, T0 + dt.timedelta(days=7)))
    assert now.prior is not None and now.prior["generated_at"].startswith("2026-10-01")
    trend = now.data()["trend"]
    assert trend is not None and trend["score"] > 50
    changed = {c["check"]: (c["before"], c["now"]) for c in trend["changed"]}
    assert changed["mgmt.ssh_v2_only"] == ("fail", "pass")
    assert trend["agencies"]["DOPA"] == trend["score"]
    # rendering the stored run again (a second format) compares with the run before it,
    # never with itself, and records nothing
    again = assess.stored(directory, now.run_id)
    assert again.data()["trend"] == trend
    assert len(history.runs(directory)) == 3


def test_first_run_has_no_trend_and_unknown_runs_are_clear_errors(directory) -> None:
    with pytest.raises(ConfigError, match="no audit run stored"):
        assess.stored(directory, "latest")
    first = assess.record(directory, _assessment(golden("cisco_ios_good.conf"), T0))
    assert first.prior is None and first.data()["trend"] is None
    for bad, why in (("999", "no audit run 999"), ("seven", "expected a run id")):
        with pytest.raises(ConfigError, match=why):
            assess.stored(directory, bad)
    with pytest.raises(ConfigError, match="of scope MOF"):
        assess.stored(directory, "latest", "MOF")


def test_every_format_renders_the_stored_run(directory, tmp_path: Path) -> None:
    stored = assess.record(directory, _assessment(golden("cisco_ios_bad.conf"), T0))
    for fmt in ("json", "csv", "oscal"):
        assess.stored(directory, stored.run_id).write(tmp_path / f"r.{fmt}", fmt)
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["run"] == stored.run_id and data["generated_at"] == T0.isoformat()
    assert data["findings"] == stored.data()["findings"]
    assert "r1" in (tmp_path / "r.csv").read_text(encoding="utf-8")
    assert len(history.runs(directory)) == 1


def test_html_shows_the_trend() -> None:
    prior = history.summary(_assessment(golden("cisco_ios_bad.conf"), T0).data())
    audits = run([ConfigSource("r1", "cisco_ios", golden("cisco_ios_good.conf"), "pe", "DOPA",
                               NOW, True)], now=NOW)
    html = report.to_html(audits, prior=prior, lang="th")
    assert "เทียบกับการตรวจครั้งก่อน" in html and 'id="changes"' in html


def test_runs_of_the_old_runs_folder_are_imported_once(directory, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    old = tmp_path / "audit-runs"
    old.mkdir()
    before = _assessment(golden("cisco_ios_bad.conf"), T0)
    (old / "20261001T000000Z-GIN.json").write_text(json.dumps(history.summary(before.data())))
    (old / "broken.json").write_text("{not json")
    monkeypatch.setenv("GIN_AUDIT_RUNS", str(old))
    done, refused = history.import_files(directory)
    assert len(done) == 1 and [Path(p).name for p, _ in refused] == ["broken.json"]
    imported = assess.stored(directory, done[0])
    assert imported.data()["score"] == before.data()["score"]  # the same statuses
    assert history.import_files(directory, old)[0] == []  # already stored: not twice
    now = assess.record(directory, _assessment(golden("cisco_ios_good.conf"),
                                               T0 + dt.timedelta(days=7)))
    changed = {c["check"]: (c["before"], c["now"]) for c in now.data()["trend"]["changed"]}
    assert changed["mgmt.ssh_v2_only"] == ("fail", "pass")
