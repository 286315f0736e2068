"""OSCAL assessment results: the audit in the format assessment tools exchange (NIST OSCAL).

Mapping (one result per run):

- every audited device is an inventory item of the result (hostname, platform, agency);
- every gin finding (device x check) is an *observation*: how it was tested, its status,
  the reason, and the config lines it rests on as relevant evidence;
- every ISO/IEC 17799 control with evidence is an OSCAL *finding* whose target is that
  control's objective: "satisfied" when all its applicable observations pass, otherwise
  "not-satisfied" (a failing or unknown observation: missing evidence is not compliance);
- every failing gin finding is an open *risk*, with the remediation lines as its
  recommended response.

OSCAL ids are tokens (they may not start with a digit), so control 11.4.4 of framework
``iso17799`` is ``iso17799-11.4.4``; the plain number stays in a ``label`` property.  UUIDs
are derived (UUIDv5) from the run time and the names, so the same run exports the same
document, and a device keeps its inventory UUID from run to run.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from audit import catalogue
from audit.checks import Status
from audit.findings import DeviceAudit, Finding

OSCAL_VERSION = "1.1.2"
NS = "urn:gin:audit"
ROOT = uuid.UUID("6f1c3c52-6a7e-5b1e-9d3a-0a9e1f7c2b10")
METHOD = {"pass": "TEST", "fail": "TEST", "unknown": "EXAMINE", "not_applicable": "EXAMINE"}


def control_token(framework: catalogue.Framework, control: str) -> str:
    """The OSCAL control id of a catalogue control (``iso17799-11.4.4``)."""
    return f"{framework.name}-{control}"


def _uid(*parts: str) -> str:
    return str(uuid.uuid5(ROOT, "\x1f".join(parts)))


def _line(text: str) -> str:
    """One line with no outer blanks: OSCAL strings and markup-lines allow nothing else
    (a hostile device name with newlines or padding must still give a valid document)."""
    return " ".join(str(text).split()) or "-"


def _block(text: str) -> str:
    """Multi-line text (markup-multiline) without outer blanks."""
    return str(text).strip() or "-"


def _prop(name: str, value: str, ns: bool = True) -> dict[str, str]:
    prop = {"name": name, "value": _line(value)}
    if ns:
        prop["ns"] = NS
    return prop


def _evidence(f: Finding) -> list[dict[str, Any]]:
    lines = [f"line {ln}: {tx}" if ln is not None else tx for ln, tx in f.evidence]
    out = [{"description": _block("\n".join(lines))}] if lines else []
    if f.origin:
        out.append({"description": _block(f"source: {f.origin}")})
    return out


def to_oscal(audits: Sequence[DeviceAudit], framework: catalogue.Framework | None = None,
             scope: str = "GIN", generated: dt.datetime | None = None) -> dict[str, Any]:
    """The OSCAL ``assessment-results`` document (a plain dict, ready for JSON)."""
    framework = framework or catalogue.load()
    when = (generated or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    stamp = when.isoformat()
    run = _uid("run", scope, stamp)
    items = []
    subjects: dict[str, str] = {}
    for a in audits:
        subjects[a.device] = _uid("device", a.device)
        props = [_prop("asset-id", a.device, ns=False), _prop("platform", a.platform)]
        if a.agency:
            props.append(_prop("agency", a.agency))
        items.append({"uuid": subjects[a.device],
                      "description": _block(f"{a.device} ({a.platform})"
                                            + (f": configuration not read: {a.error}"
                                               if a.error else "")),
                      "props": props})
    observations = []
    risks = []
    by_control: dict[str, list[tuple[Finding, str]]] = defaultdict(list)
    risk_of: dict[str, str] = {}
    for a in audits:
        for f in a.findings:
            obs = _uid("observation", run, f.device, f.check)
            observations.append({
                "uuid": obs,
                "title": _line(f"{f.check} on {f.device}"),
                "description": _block(f"{f.title}: {f.status.value}. {f.reason}"),
                "props": [_prop("check", f.check), _prop("status", f.status.value),
                          _prop("severity", f.severity)],
                "methods": [METHOD[f.status.value]],
                "types": ["finding"],
                "subjects": [{"subject-uuid": subjects.get(f.device)
                              or _uid("device", f.device), "type": "inventory-item"}],
                "relevant-evidence": _evidence(f) or [{"description": "no evidence lines"}],
                "collected": stamp,
            })
            for control in f.controls:
                by_control[control].append((f, obs))
            if f.status is Status.FAIL:
                risk = _uid("risk", run, f.device, f.check)
                risk_of[obs] = risk
                entry: dict[str, Any] = {
                    "uuid": risk, "title": _line(f"{f.title} ({f.device})"),
                    "description": _block(f.reason), "status": "open",
                    "statement": _block(f"{f.device} fails {f.check} "
                                        f"(severity {f.severity}): {f.reason}"),
                    "props": [_prop("severity", f.severity)],
                    "related-observations": [{"observation-uuid": obs}],
                }
                if f.remediation:
                    entry["remediations"] = [{
                        "uuid": _uid("remediation", run, f.device, f.check),
                        "lifecycle": "recommendation", "title": _line(f"Fix {f.check}"),
                        "description": _block("\n".join(f.remediation))}]
                risks.append(entry)
    findings = []
    reviewed = []
    for cid, control in framework.controls.items():
        if cid not in by_control:
            continue
        token = control_token(framework, cid)
        reviewed.append({"control-id": token})
        seen = by_control[cid]
        open_ = [f for f, _ in seen if f.status in (Status.FAIL, Status.UNKNOWN)]
        applicable = [f for f, _ in seen if f.status is not Status.NOT_APPLICABLE]
        satisfied = bool(applicable) and not open_
        counts = {s.value: sum(1 for f, _ in seen if f.status is s) for s in Status}
        summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        findings.append({
            "uuid": _uid("finding", run, cid),
            "title": _line(f"{cid} {control.title}"),
            "description": f"{len(seen)} observations: {summary}",
            "props": [_prop("label", cid, ns=False)]
                     + ([_prop("iso27002-2022", control.iso27002_2022)]
                        if control.iso27002_2022 else []),
            "target": {"type": "objective-id", "target-id": token,
                       "status": {"state": "satisfied" if satisfied else "not-satisfied"}},
            "related-observations": [{"observation-uuid": o} for _, o in seen],
            **({"related-risks": [{"risk-uuid": risk_of[o]} for _, o in seen if o in risk_of]}
               if any(o in risk_of for _, o in seen) else {}),
        })
    result: dict[str, Any] = {
        "uuid": run,
        "title": _line(f"{framework.title} posture of {scope}"),
        "description": _block(f"gin audit of {len(audits)} devices against "
                              f"{framework.title}."),
        "start": stamp, "end": stamp,
        "reviewed-controls": {"control-selections": [
            {"include-controls": reviewed} if reviewed else {"include-all": {}}]},
    }
    if items:
        result["local-definitions"] = {"inventory-items": items}
    if observations:
        result["observations"] = observations
    if risks:
        result["risks"] = risks
    if findings:
        result["findings"] = findings
    return {"assessment-results": {
        "uuid": _uid("document", run),
        "metadata": {"title": _line(f"Security posture report: {scope}"),
                     "last-modified": stamp,
                     "version": stamp, "oscal-version": OSCAL_VERSION},
        "import-ap": {"href": f"urn:gin:assessment-plan:{framework.name}"},
        "results": [result],
    }}


def to_json(audits: Sequence[DeviceAudit], **kw: Any) -> str:
    return json.dumps(to_oscal(audits, **kw), ensure_ascii=False, indent=1)
