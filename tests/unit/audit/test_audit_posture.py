"""The console's posture numbers (aggregate queries over stored runs) are the report's numbers
for the same run, accepted risks included, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from audit import acceptance, assess, posture, report
from audit.runner import ConfigSource, run
from directory import samples
from tests.unit.audit.conftest import NOW, golden

T0 = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)


def _record(directory, texts: dict[str, tuple[str, str, str]], when: dt.datetime) -> int:
    sources = [ConfigSource(device, platform, golden(name), "pe", agency, NOW, True,
                            origin=f"{device}.cfg")
               for device, (platform, name, agency) in texts.items()]
    done = assess.record(directory, assess.Assessment(assess.Scope("GIN"), run(sources, now=NOW),
                                                      when, "iso17799"))
    assert done.run_id is not None
    return done.run_id


def test_scores_per_agency_match_the_report_with_an_accepted_risk(directory) -> None:
    with directory.transaction() as s:
        samples.load_samples(s)  # the ministry tree (DOPA under MOI)
    first = _record(directory, {"r1": ("cisco_ios", "cisco_ios_good.conf", "DOPA"),
                                "r2": ("frr", "frr_bad.conf", "MOF")}, T0)
    last = _record(directory, {"r1": ("cisco_ios", "cisco_ios_bad.conf", "DOPA"),
                               "r2": ("frr", "frr_good.conf", "MOF")},
                   T0 + dt.timedelta(days=7))
    acceptance.accept(directory, "r1", "mgmt.ssh_v2_only", "replacement ordered",
                      acceptance.parse_until("10d"))
    stored = assess.stored(directory, last)
    expected = {s["key"]: s for s in stored.data()["agencies"]}
    with directory.transaction() as s:
        counts = posture.counts_by_agency(s, last)
        scores = {k: posture.score(k, k, c).as_dict() for k, c in counts.items()}
        only_dopa = posture.counts_by_agency(s, last, {"DOPA"})
        series = posture.trend(s, "GIN")
        dopa_series = posture.trend(s, "GIN", {"DOPA"})
        rows, total = posture.open_findings(s, last, {"DOPA"})
        one = posture.finding(s, rows[0].id)
    assert scores == expected
    assert expected["DOPA"]["accepted"] == 1
    assert set(only_dopa) == {"DOPA"}
    assert [r for _, _, r in series] == [first, last]
    overall = report.to_data(assess.stored(directory, first).audits)["score"]["score"]
    assert series[0][1] == overall  # the first run's score as recorded
    assert dopa_series[0][1] > dopa_series[1][1]  # DOPA's router got worse
    assert total >= len(rows) > 0 and all(r.agency == "DOPA" for r in rows)
    assert any(r.accepted is not None for r in rows)
    assert one is not None and one["run"] == last and one["evidence"] is not None
    assert [h[0] for h in one["history"]][0] == last
    with directory.transaction() as s:
        assert posture.subtree(s, "MOI") >= {"MOI", "DOPA"}
