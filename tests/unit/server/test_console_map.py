"""The map's placement: directory coordinates when a site has them, else its province's hall
(by English or Thai name, or ISO code), else not drawn; every province lands on the shipped
geometry's canvas."""

from __future__ import annotations

from directory.samples import provinces
from gin.server.web.map import geometry, place, project


def test_a_site_without_coordinates_sits_at_its_province_hall() -> None:
    bangkok = next(p for p in provinces() if p.iso == "TH-10")
    hall = project(bangkok.latitude, bangkok.longitude)
    assert place(None, None, "Bangkok", "HQ") == hall
    assert place(None, None, "กรุงเทพมหานคร", "HQ") == hall
    assert place(None, None, None, "TH-10") == hall
    assert place(14.0, 100.0, "Bangkok", "HQ") == project(14.0, 100.0)  # own coordinates win
    assert place(None, None, "Atlantis", "X1") is None


def test_every_province_falls_on_the_canvas() -> None:
    g = geometry()
    assert g["outline"].startswith("M") and g["provinces"].startswith("M")
    for p in provinces():
        x, y = project(p.latitude, p.longitude)
        assert 0 < x < g["width"] and 0 < y < g["height"], p


def _rings(path: str) -> list[list[tuple[float, float]]]:
    """The outline path's rings ("Mx,y x,y ...Z" each)."""
    return [[tuple(map(float, pt.split(","))) for pt in ring.rstrip("Z").split()]
            for ring in path.split("M")[1:]]


def test_every_provincial_hall_is_on_the_drawn_land() -> None:
    """The projection the server places sites with is the one the geometry was drawn in."""
    rings = _rings(geometry()["outline"])

    def inside(x: float, y: float) -> bool:
        hit = False
        for ring in rings:
            for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
                if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
                    hit = not hit
        return hit

    def near_coast(x: float, y: float, units: float = 3.0) -> bool:
        """Within ``units`` (about 5 km) of the outline: a harbour town on a coast that the
        simplification (about 2 km) moved."""
        for ring in rings:
            for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True):
                dx, dy = x2 - x1, y2 - y1
                t = max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy
                                                                          or 1e-9)))
                if (x - x1 - t * dx) ** 2 + (y - y1 - t * dy) ** 2 <= units ** 2:
                    return True
        return False

    outside = [p.name_en for p in provinces()
               if not (inside(*project(p.latitude, p.longitude))
                       or near_coast(*project(p.latitude, p.longitude)))]
    assert not outside, outside
