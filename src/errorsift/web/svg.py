"""Geometry for the inline SVG charts: numbers in, coordinates out; the templates draw them.

Charts are inline SVG (no chart library, no script) so they work under a strict CSP and on a phone.
Only numbers computed here reach the SVG attributes; every label is escaped by the template.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Bar", "Spark", "bars", "sparkline"]


@dataclass(frozen=True, slots=True)
class Spark:
    width: int
    height: int
    points: str  # the polyline's "x,y x,y …"
    area: str  # the same line closed along the bottom, for a light fill
    last_x: float
    last_y: float
    peak: int


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def sparkline(values: Sequence[int], width: int = 112, height: int = 28, pad: int = 3) -> Spark:
    """A trend line scaled to its own peak: the shape matters on a card, not the absolute count."""
    vals = list(values) or [0]
    peak = max(vals)
    span_x = width - 2 * pad
    span_y = height - 2 * pad
    step = span_x / (len(vals) - 1) if len(vals) > 1 else 0.0
    coords = []
    for i, v in enumerate(vals):
        x = pad + i * step
        y = pad + span_y - (v / peak * span_y if peak else 0.0)
        coords.append((x, y))
    points = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in coords)
    bottom = _fmt(height - pad)
    area = f"{_fmt(coords[0][0])},{bottom} {points} {_fmt(coords[-1][0])},{bottom}"
    return Spark(width, height, points, area, coords[-1][0], coords[-1][1], peak)


@dataclass(frozen=True, slots=True)
class Bar:
    x: str
    y: str
    w: str
    h: str
    value: int
    index: int


def bars(values: Sequence[int], width: int = 640, height: int = 120, gap: float = 2.0) -> list[Bar]:
    """Bars scaled to the series' peak; a zero still gets a 1px stub so the time axis reads."""
    vals = list(values)
    if not vals:
        return []
    peak = max(vals) or 1
    slot = width / len(vals)
    out = []
    for i, v in enumerate(vals):
        h = max(1.0, v / peak * (height - 1)) if v else 1.0
        out.append(Bar(_fmt(i * slot + gap / 2), _fmt(height - h), _fmt(max(1.0, slot - gap)), _fmt(h), v, i))
    return out
