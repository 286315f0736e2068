"""Stored runs and the trend since the previous run of the same scope."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from audit import history, report
from audit.runner import ConfigSource, run
from tests.unit.audit.conftest import NOW, golden


def _data(text: str, when: dt.datetime, scope: str = "GIN") -> dict:
    audits = run([ConfigSource("r1", "cisco_ios", text, "pe", "DOPA", NOW, True)], now=NOW)
    return report.to_data(audits, scope=scope, generated=when)


def test_trend_since_the_previous_run_of_the_same_scope(tmp_path: Path) -> None:
    bad, good = golden("cisco_ios_bad.conf"), golden("cisco_ios_good.conf")
    t0 = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    history.save(_data(bad, t0), tmp_path)
    history.save(_data(good, t0 + dt.timedelta(days=1), scope="MOF"), tmp_path)  # other scope
    now = _data(good, t0 + dt.timedelta(days=7))
    prior = history.previous("GIN", now["generated_at"], tmp_path)
    assert prior is not None and prior["generated_at"].startswith("2026-10-01")
    trend = history.trend(now, prior)
    assert trend is not None and trend["score"] > 50
    changed = {c["check"]: (c["before"], c["now"]) for c in trend["changed"]}
    assert changed["mgmt.ssh_v2_only"] == ("fail", "pass")
    assert trend["agencies"]["DOPA"] == trend["score"]


def test_first_run_has_no_trend_and_damaged_files_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    assert history.previous("GIN", "2030-01-01", tmp_path) is None
    assert report.to_data([], scope="GIN")["trend"] is None


def test_html_shows_the_trend(tmp_path: Path) -> None:
    t0 = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    prior = history.summary(_data(golden("cisco_ios_bad.conf"), t0))
    audits = run([ConfigSource("r1", "cisco_ios", golden("cisco_ios_good.conf"), "pe", "DOPA",
                               NOW, True)], now=NOW)
    html = report.to_html(audits, prior=prior, lang="th")
    assert "เทียบกับการตรวจครั้งก่อน" in html and 'id="changes"' in html
