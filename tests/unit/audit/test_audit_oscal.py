"""OSCAL assessment-results export, validated by compliance-trestle's OSCAL models (the
pydantic classes generated from NIST's OSCAL schema): findings per ISO control,
observations per device and check, risks per failure."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit import catalogue, oscal
from audit.checks import Status
from audit.runner import ConfigSource, audit_one, combine, finding
from tests.conftest import need
from tests.unit.audit.conftest import NOW, golden

try:
    from trestle.oscal import assessment_results as ar
except ImportError:  # CI (GIN_REQUIRE_INTEGRATION=1) fails instead of skipping
    ar = None


def validate(doc: dict) -> object:
    """Round-trip through JSON, then through the OSCAL models (extra keys, bad tokens,
    wrong enumerations and missing required fields all raise)."""
    need(ar is not None, "needs compliance-trestle (OSCAL models): pip install "
                         "compliance-trestle")
    return ar.Model.model_validate(json.loads(json.dumps(doc)))


@pytest.fixture(scope="module")
def audits() -> list:
    return [audit_one(ConfigSource(f"{platform}-{kind}", platform,
                                   golden(f"{platform}_{kind}.conf"), role="pe", agency="DOPA",
                                   backed_up_at=NOW, in_directory=True), now=NOW)
            for platform in ("cisco_ios", "frr", "juniper_junos") for kind in ("good", "bad")]


def test_export_is_valid_oscal_with_controls_observations_and_risks(audits: list) -> None:
    doc = oscal.to_oscal(audits, generated=NOW)
    model = validate(doc)
    result = model.assessment_results.results[0]  # type: ignore[attr-defined]
    n_findings = sum(len(a.findings) for a in audits)
    assert len(result.observations) == n_findings
    fails = [f for a in audits for f in a.findings if f.status is Status.FAIL]
    assert len(result.risks) == len(fails) > 0
    targets = {f.target.target_id: f.target.status.state.value for f in result.findings}
    assert targets["iso17799-11.4.4"] == "not-satisfied"  # the bad configs allow telnet
    labels = {p.value for f in result.findings for p in f.props if p.name == "label"}
    assert {"11.4.4", "10.10.1", "12.3.1"} <= labels
    selected = {c.control_id for c in
                result.reviewed_controls.control_selections[0].include_controls}
    assert selected == set(targets)
    # every observation a finding or a risk points at exists
    uuids = {str(o.uuid) for o in result.observations}
    related = {str(r.observation_uuid) for f in result.findings
               for r in f.related_observations}
    assert related and related <= uuids
    # remediation travels as the risk's recommended response
    ssh = next(r for r in result.risks if "Management over SSH" in r.title)
    assert "ip ssh version 2" in ssh.remediations[0].description


def test_same_run_same_document_and_stable_device_ids(audits: list) -> None:
    one = oscal.to_oscal(audits, generated=NOW)
    assert one == oscal.to_oscal(audits, generated=NOW)
    later = oscal.to_oscal(audits, generated=NOW.replace(year=2027))
    items = lambda d: [i["uuid"] for i in  # noqa: E731
                       d["assessment-results"]["results"][0]["local-definitions"]
                       ["inventory-items"]]
    assert items(one) == items(later)
    assert one["assessment-results"]["uuid"] != later["assessment-results"]["uuid"]


def test_a_control_with_only_passes_is_satisfied_and_unknown_is_not() -> None:
    fw = catalogue.load()
    good = finding("r1", "log.ntp", "Clock synchronised by NTP", Status.PASS, "medium", "ok")
    unknown = finding("r2", "log.remote_syslog", "Logs sent", Status.UNKNOWN, "medium",
                      "no host evidence")
    doc = oscal.to_oscal(combine([], [good, unknown]), fw, generated=NOW)
    validate(doc)
    states = {f["target"]["target-id"]: f["target"]["status"]["state"]
              for f in doc["assessment-results"]["results"][0]["findings"]}
    assert states["iso17799-10.10.6"] == "satisfied"
    assert states["iso17799-10.10.1"] == "not-satisfied"


def test_an_empty_audit_is_still_a_valid_document() -> None:
    validate(oscal.to_oscal([], generated=NOW))


@settings(max_examples=40, deadline=None)
@given(name=st.text(min_size=1, max_size=80), reason=st.text(max_size=300),
       line=st.text(max_size=200))
def test_hostile_names_and_evidence_stay_valid_json_and_oscal(name: str, reason: str,
                                                              line: str) -> None:
    f = finding(name, "svc.http_off", "HTTP off", Status.FAIL, "medium", reason,
                evidence=[(1, line)], remediation=["no ip http server"], origin=name)
    text = oscal.to_json(combine([], [f]), generated=NOW)
    doc = json.loads(text)
    validate(doc)
    obs = doc["assessment-results"]["results"][0]["observations"][0]
    if line.strip():
        assert line.strip() in obs["relevant-evidence"][0]["description"]
