"""Sample data shipped with gin: real Thai agencies and the 77 provincial halls.

Why ship it: a demo, a lab or a first look at ``gin`` needs a directory that looks like the
real GIN (Thai and English names, ministries and their departments, one site per province)
without anyone typing it in.  The data lives as YAML beside this module
(``directory/samples/``):

- ``agencies.yaml``: the Office of the Prime Minister and the 19 ministries (the 20
  ministry-level bodies), the agencies the e-Government plans name (DOPA, DOAE, SSO, PWA,
  MWA, Thailand Post, EGA/DGA, NECTEC, the Budget Bureau, the Cabinet Secretariat, NESDC
  (ex-NESDB), ...) and a few more, each with its parent ministry and kind;
- ``provinces.yaml``: the 77 provinces with ISO 3166-2:TH codes, Thai and English names and
  the approximate provincial-hall position.  Each becomes a site whose code is the ISO code
  (``TH-50`` is Chiang Mai): a DOPA provincial hall, and Bangkok City Hall under BMA.
- a few agencies' public services (``agencies.yaml``, section ``services``), so that
  ``gin directory service list`` and ``gin audit web`` have something to show; their host
  names are documentation names under ``example.go.th``, never an agency's real hosts.

:func:`load_samples` goes through the importer in ``skip`` mode, so it validates like any
import and is idempotent: running it twice, or on a directory that already has some of
these agencies, adds only what is missing and changes nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml
from sqlalchemy.orm import Session

from .errors import ImportFailed
from .importer import ImportReport, import_rows
from .readers import Row, read_yaml

SAMPLES = Path(__file__).with_name("samples")


@dataclass(frozen=True)
class Province:
    """One province: ISO 3166-2 code, names, and where its provincial hall is."""

    iso: str
    name_en: str
    name_th: str
    latitude: float
    longitude: float

    @property
    def hall_en(self) -> str:
        return "Bangkok City Hall" if self.iso == "TH-10" else f"{self.name_en} Provincial Hall"

    @property
    def hall_th(self) -> str:
        return ("ศาลาว่าการกรุงเทพมหานคร" if self.iso == "TH-10"
                else f"ศาลากลางจังหวัด{self.name_th}")

    @property
    def agency(self) -> str:
        """Who runs the hall: DOPA in the 76 provinces, BMA in Bangkok."""
        return "BMA" if self.iso == "TH-10" else "DOPA"


@cache
def provinces() -> tuple[Province, ...]:
    """The 77 provinces, Bangkok first, in ISO code order."""
    doc = yaml.safe_load((SAMPLES / "provinces.yaml").read_text(encoding="utf-8"))
    return tuple(Province(iso, en, th, float(lat), float(lon))
                 for iso, en, th, lat, lon in doc["provinces"])


def sample_rows() -> list[Row]:
    """The sample directory as importer rows (agencies, services, one site per province)."""
    path = SAMPLES / "agencies.yaml"
    parsed = read_yaml(path.read_text(encoding="utf-8"), str(path))
    if parsed.errors:  # a broken file in the package is a bug, say where
        raise ImportFailed(parsed.errors)
    rows = list(parsed.rows)
    source = str(SAMPLES / "provinces.yaml")
    for line, p in enumerate(provinces(), start=7):
        rows.append(Row("sites", source, line, {
            "agency": p.agency, "code": p.iso, "name": p.hall_en, "province": p.name_en,
            "address": p.hall_th, "latitude": p.latitude, "longitude": p.longitude}))
    return rows


def load_samples(session: Session) -> ImportReport:
    """Add the sample agencies and provincial halls that are missing (idempotent)."""
    report = import_rows(session, sample_rows(), mode="skip")
    if report.errors:
        raise ImportFailed(report.errors)
    return report
