"""Make the console map's geometry (gin/server/web/geo/thailand.json) from Natural Earth.

    python scripts/thailand_map.py COUNTRIES.shp PROVINCE_LINES.shp

COUNTRIES.shp is ``ne_10m_admin_0_countries`` (any language edition: its .dbf beside it names
the country by ``ADM0_A3``), PROVINCE_LINES.shp is ``ne_10m_admin_1_states_provinces_lines``.
Thailand's outline and the province lines inside it are simplified (Douglas-Peucker, about
2 km) and projected once (equirectangular, scaled by the cosine of 13 N), so the server only
pastes two SVG paths and places sites with :func:`project`.  Natural Earth is public domain
(see gin/server/web/geo/SOURCE.md).  Pure Python: the shapefile and dBase readers are the few
lines the format needs.
"""

from __future__ import annotations

import json
import math
import struct
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "gin" / "server" / "web" / "geo" / "thailand.json"
BOX = (97.2, 5.5, 105.8, 20.6)  # lon/lat bounds drawn
TOLERANCE = 0.02  # degrees (~2 km): enough for a country-sized picture
SCALE = 60.0  # SVG units per degree of latitude
COS = math.cos(math.radians(13.0))
Point = tuple[float, float]


def shapes(path: Path) -> list[list[list[Point]]]:
    """Every record of a polyline/polygon shapefile as its parts (lists of lon/lat)."""
    data = path.read_bytes()
    out, pos = [], 100
    while pos + 8 <= len(data):
        _, words = struct.unpack(">ii", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + 2 * words]
        pos += 8 + 2 * words
        kind = struct.unpack("<i", body[:4])[0]
        if kind not in (3, 5):
            out.append([])
            continue
        nparts, npoints = struct.unpack("<ii", body[36:44])
        starts = list(struct.unpack(f"<{nparts}i", body[44:44 + 4 * nparts])) + [npoints]
        flat = struct.unpack(f"<{2 * npoints}d", body[44 + 4 * nparts:44 + 4 * nparts
                                                      + 16 * npoints])
        pts = list(zip(flat[0::2], flat[1::2], strict=True))
        out.append([pts[a:b] for a, b in zip(starts, starts[1:], strict=False)])
    return out


def dbf_column(path: Path, name: str) -> list[str]:
    """One text column of a dBase file."""
    data = path.read_bytes()
    count, header, record = struct.unpack("<IHH", data[4:12])
    fields, pos, offset = {}, 32, 1
    while data[pos] != 0x0D:
        fname = data[pos:pos + 11].split(b"\0")[0].decode()
        length = data[pos + 16]
        fields[fname] = (offset, length)
        offset += length
        pos += 32
    start, length = fields[name]
    return [data[header + i * record + start:header + i * record + start + length]
            .decode("latin-1").strip() for i in range(count)]


def inside(p: Point, rings: list[list[Point]]) -> bool:
    """Even-odd rule over every ring (islands and holes alike)."""
    x, y = p
    hit = False
    for ring in rings:
        for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
            if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                hit = not hit
    return hit


def simplify(pts: list[Point], tol: float = TOLERANCE) -> list[Point]:
    """Douglas-Peucker, iterative."""
    if len(pts) < 3:
        return pts
    keep = [False] * len(pts)
    keep[0] = keep[-1] = True
    stack = [(0, len(pts) - 1)]
    while stack:
        a, b = stack.pop()
        (x1, y1), (x2, y2) = pts[a], pts[b]
        dx, dy = x2 - x1, y2 - y1
        norm = math.hypot(dx, dy) or 1e-12
        far, index = 0.0, -1
        for i in range(a + 1, b):
            x, y = pts[i]
            d = abs(dy * (x - x1) - dx * (y - y1)) / norm
            if d > far:
                far, index = d, i
        if far > tol:
            keep[index] = True
            stack += [(a, index), (index, b)]
    return [p for p, k in zip(pts, keep, strict=True) if k]


def project(lon: float, lat: float) -> Point:
    """Longitude/latitude to the map's SVG coordinates (the server uses the same)."""
    return ((lon - BOX[0]) * SCALE * COS, (BOX[3] - lat) * SCALE)


def path(parts: list[list[Point]], close: bool) -> str:
    out = []
    for part in parts:
        xy = [project(*p) for p in part]
        out.append("M" + " ".join(f"{x:.1f},{y:.1f}" for x, y in xy) + ("Z" if close else ""))
    return "".join(out)


def main(countries: str, lines: str) -> None:
    shp = Path(countries)
    codes = dbf_column(shp.with_suffix(".dbf"), "ADM0_A3")
    thailand = shapes(shp)[codes.index("THA")]
    rings = [r for r in thailand if len(r) > 3]
    # a closed ring starts and ends on one point: simplify its two halves
    halves = ((simplify(r[:len(r) // 2 + 1]), simplify(r[len(r) // 2:])) for r in rings)
    outline = [a + b[1:] for a, b in halves if len(a) + len(b) >= 5]
    runs: list[list[Point]] = []
    for parts in shapes(Path(lines)):
        for part in parts:
            if not all(BOX[0] <= x <= BOX[2] and BOX[1] <= y <= BOX[3] for x, y in part[:1]):
                continue
            run: list[Point] = []
            for p in part:
                if inside(p, rings):
                    run.append(p)
                elif run:
                    runs.append(run)
                    run = []
            if run:
                runs.append(run)
    provinces = [s for s in (simplify(r) for r in runs) if len(s) >= 2]
    width, height = project(BOX[2], BOX[1])
    doc = {"source": "Natural Earth 1:10m (public domain): ne_10m_admin_0_countries (THA), "
                     "ne_10m_admin_1_states_provinces_lines; see SOURCE.md",
           "box": BOX, "scale": SCALE, "cos": round(COS, 6),
           "width": round(width, 1), "height": round(height, 1),
           "outline": path(outline, True), "provinces": path(provinces, False)}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, separators=(",", ":")) + "\n")
    print(f"{OUT}: {OUT.stat().st_size} bytes, outline {sum(map(len, outline))} points, "
          f"province lines {sum(map(len, provinces))} points")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1].strip())
    main(sys.argv[1], sys.argv[2])
