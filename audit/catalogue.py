"""Control catalogues as data: a framework file lists clauses, controls, and the checks
that give evidence for each control.

Keeping the mapping in data (as Prowler's framework files do) means a new framework
(CIS, NIST SP 800-53) is a new YAML file under ``audit/data/``, not code.  Only IDs and
short titles are stored: the standards' text is copyrighted.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from devices.errors import ConfigError

DATA = Path(__file__).with_name("data")
KEYS = {"id", "title", "title_th", "iso27002_2022", "checks", "mapping"}


@dataclass(frozen=True)
class Clause:
    id: str
    title: str
    title_th: str | None


@dataclass(frozen=True)
class Control:
    id: str
    title: str
    clause: str
    iso27002_2022: str | None
    checks: tuple[str, ...]
    #: "nearest" when the 2022 number is the nearest successor of a withdrawn control.
    mapping: str = "direct"


@dataclass(frozen=True)
class Framework:
    name: str
    title: str
    clauses: dict[str, Clause]
    controls: dict[str, Control]

    def controls_of(self, check_id: str) -> list[Control]:
        """The controls a check gives evidence for (may be several)."""
        return [c for c in self.controls.values() if check_id in c.checks]


def available() -> list[str]:
    """Names of the framework files shipped with gin."""
    return sorted(p.stem for p in DATA.glob("*.yaml"))


@cache
def load(name: str = "iso17799") -> Framework:
    """Load ``audit/data/<name>.yaml``; a missing or malformed file is a clear error."""
    path = DATA / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"unknown framework {name!r}; known: {', '.join(available())}")
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    clauses = {str(c["id"]): Clause(str(c["id"]), c["title"], c.get("title_th"))
               for c in raw["clauses"]}
    controls: dict[str, Control] = {}
    for c in raw["clauses"] + raw["controls"]:
        extra = set(c) - KEYS
        if extra:  # e.g. a title with an unquoted comma in a YAML flow mapping
            raise ConfigError(f"{path.name}: unexpected keys {sorted(extra)} in {c.get('id')}")
    for c in raw["controls"]:
        cid = str(c["id"])
        clause = cid.split(".")[0]
        if clause not in clauses:
            raise ConfigError(f"{path.name}: control {cid} is in no listed clause")
        controls[cid] = Control(cid, c["title"], clause,
                                str(c["iso27002_2022"]) if c.get("iso27002_2022") else None,
                                tuple(c.get("checks") or ()), c.get("mapping", "direct"))
    return Framework(raw["framework"], raw["title"], clauses, controls)
