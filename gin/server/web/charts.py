"""Charts drawn on the server as inline SVG: the page needs no script and no chart library,
prints as it shows, and the Content-Security-Policy stays ``script-src``-free.  Only the
geometry is computed here; the template draws it (and escapes every label)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 12, 34


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str  # shown as the point's tooltip (SVG <title>)
    run: int


@dataclass(frozen=True)
class TrendChart:
    """A score (0-100 %) over time: the polyline, its points, the grid and the axis labels."""

    width: int
    height: int
    points: tuple[Point, ...]
    line: str
    grid: tuple[tuple[float, str], ...]  # (y, "50 %")
    first: str
    last: str
    left: int
    right: int
    bottom: float


def trend_chart(series: list[tuple[dt.datetime, float | None, int]]) -> TrendChart | None:
    """The chart of ``(time, score, run id)`` oldest first; None when no run has a score.
    Runs are spaced evenly (an audit a week and a catch-up audit the next day both show)."""
    scored = [(when, value, run) for when, value, run in series if value is not None]
    if not scored:
        return None
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = inner_w / (len(scored) - 1) if len(scored) > 1 else 0.0

    def y_of(value: float) -> float:
        return round(TOP + inner_h * (1 - value / 100), 1)

    points = tuple(
        Point(round(LEFT + (i * step if len(scored) > 1 else inner_w / 2), 1), y_of(value),
              f"{when:%Y-%m-%d %H:%M} · {value:.1f} %", run)
        for i, (when, value, run) in enumerate(scored))
    return TrendChart(WIDTH, HEIGHT, points, " ".join(f"{p.x},{p.y}" for p in points),
                      tuple((y_of(v), f"{v} %") for v in (0, 50, 100)),
                      f"{scored[0][0]:%Y-%m-%d}", f"{scored[-1][0]:%Y-%m-%d}",
                      LEFT, WIDTH - RIGHT, HEIGHT - BOTTOM + 18)
