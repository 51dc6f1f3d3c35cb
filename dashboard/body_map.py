"""A body map: front and back silhouettes whose areas are shaded by session count.

Each drawn region is a filled scatter trace (not a layout shape), so it can hover. Clicks need
points: `st.plotly_chart(fig, on_select="rerun", selection_mode="points")` reports only points,
never a fill. So every area also has a marker trace with one visible point at the centre of each
of its regions, and an invisible trace of "hit" points spread over its regions so that a click
anywhere on the area lands on a point. All carry the area code as `customdata`: the page reads
`event.selection.points[i]["customdata"]` (a plain string, e.g. "face").

`other` has no place on a body and is not drawn: the page states its count in a caption."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping

import plotly.graph_objects as go
from plotly.colors import sample_colorscale

from dashboard.charts import BACKGROUND, plain
from queries.contract import BODY_AREAS
from queries.labels import value as plain_name

AREAS = tuple(code for code in BODY_AREAS if code != "other")
# Single-hue sequential scale (ColorBrewer Blues from its third step, so the lowest count is still
# clearly blue next to the grey of none); the largest count gets the darkest end.
COLOURSCALE = [[0.0, "#c6dbef"], [0.25, "#9ecae1"], [0.5, "#6baed6"], [0.75, "#2171b5"], [1.0, "#08306b"]]
ZERO_COLOUR = "#d9d9d9"
OUTLINE = "#8c8c8c"  # mid grey: reads on white and on Streamlit's dark #0e1117
HEIGHT = 420
HIT_SPACING = 3.0  # body units between invisible hit points (a body unit is about 3 px at 420 px high)
HIT_EDGE = (1.8, 0.35)  # and along each outline: spacing, and inset so they stay inside

Point = tuple[float, float]
Polygon = list[Point]

# Silhouette coordinates: a body 100 units tall, feet at y=0, the front figure centred on x=0 and
# the back one on x=BACK_X. Outlines are given for the figure's right-hand side (x >= 0), top to
# bottom, and mirrored; Chaikin smoothing rounds their corners.
BACK_X = 46.0
VIEWS = {"front": 0.0, "back": BACK_X}
GAP = 0.7  # blank band between neighbouring regions, so each reads as an area of its own

HEAD = dict(cx=0.0, cy=92.6, rx=5.5, ry=6.9)
NECK = [(2.5, 87.0), (2.6, 84.0), (2.9, 82.0), (4.0, 80.6)]
TORSO = [(4.2, 79.8), (8.0, 78.7), (11.3, 77.0), (12.5, 74.2), (11.9, 69.5), (11.0, 63.0),
         (9.4, 56.0), (10.3, 50.5), (10.8, 45.0)]
CHEST_BOTTOM = 61.5
ARM = [(12.6, 77.8), (15.2, 76.6), (16.8, 73.0), (17.3, 67.0), (17.9, 60.5), (19.0, 53.0), (19.6, 47.6),
       (16.4, 47.0), (15.6, 53.0), (14.6, 59.5), (13.6, 64.0), (13.0, 68.0), (13.1, 71.5), (13.5, 75.0)]
HAND = dict(cx=18.3, cy=42.0, rx=2.5, ry=4.4, tilt=0.12)
LEG = [(10.8, 44.0), (11.1, 38.0), (10.3, 30.0), (8.7, 23.5), (9.0, 16.0), (6.8, 6.0), (8.2, 2.4),
       (7.4, 0.8), (3.6, 0.8), (3.8, 6.0), (3.0, 16.0), (2.7, 23.5), (1.7, 33.0), (0.5, 39.0), (0.4, 44.0)]


def hairline(x: float) -> float:
    """Where the face meets the scalp on the front view: lower at the temples."""
    return 95.6 - 0.08 * x * x


def chin(x: float) -> float:
    """The underside of the head, where the neck stops."""
    inside = max(0.0, 1 - (x / HEAD["rx"]) ** 2)
    return HEAD["cy"] - HEAD["ry"] * math.sqrt(inside)


def body_map(counts: Mapping[str, int], *, title: str) -> go.Figure:
    """Front and back silhouettes, each contract area but `other` shaded by its session count.

    Unknown keys are ignored; a missing area counts 0 and is grey. Traces, found by `meta`:
    one `{"area", "view", "role": "region"}` per area and view it is drawn on (arms, hands, legs,
    neck and scalp on both), one `{"area", "role": "target"}` with a clickable point at the centre
    of each region and one `{"area", "role": "hit"}` of invisible clickable points; the points'
    `customdata` is the area code."""
    counts = {code: _count(counts.get(code)) for code in AREAS}
    largest = max(counts.values())
    labels = {code: plain(f"{plain_name(code)}: {counts[code]:,} sessions") for code in AREAS}
    regions, hit_points, centre_points = _geometry()
    fig = go.Figure()
    # Fills first (regions do not overlap), then every point above every fill.
    for code in AREAS:
        for view, polygons in regions[code].items():
            xs, ys = _joined(polygons)
            fig.add_scatter(
                x=xs, y=ys, mode="lines", fill="toself", fillcolor=area_colour(counts[code], largest),
                line=dict(color=OUTLINE, width=1), hoveron="fills", text=labels[code], hoverinfo="text",
                name=f"{plain_name(code)} ({view})", meta={"area": code, "view": view, "role": "region"},
                showlegend=False,
            )
    for code in AREAS:
        hits = hit_points[code]
        fig.add_scatter(
            x=[x for x, _ in hits], y=[y for _, y in hits], mode="markers", customdata=[code] * len(hits),
            text=[labels[code]] * len(hits), hovertemplate="%{text}<extra></extra>",
            marker=dict(size=10, opacity=0), selected=dict(marker=dict(opacity=0)),
            unselected=dict(marker=dict(opacity=0)),
            name=f"{plain_name(code)} (click)", meta={"area": code, "role": "hit"}, showlegend=False,
        )
    for code in AREAS:
        centres = centre_points[code]
        fig.add_scatter(
            x=[x for x, _ in centres], y=[y for _, y in centres], mode="markers",
            customdata=[code] * len(centres), text=[labels[code]] * len(centres),
            hovertemplate="%{text}<extra></extra>",
            marker=dict(size=8, color="white", opacity=0.6, line=dict(color=OUTLINE, width=1)),
            selected=dict(marker=dict(opacity=0.6)), unselected=dict(marker=dict(opacity=0.6)),
            name=plain_name(code), meta={"area": code, "role": "target"}, showlegend=False,
        )
    # Fills cannot carry a colour bar: an empty marker trace does.
    fig.add_scatter(
        x=[None], y=[None], mode="markers", hoverinfo="skip", showlegend=False, name="Sessions",
        meta={"role": "colourbar"},
        marker=dict(color=[0], cmin=0, cmax=max(largest, 1), colorscale=COLOURSCALE, showscale=True,
                    colorbar=dict(title=dict(text="Sessions", side="top"), tickformat=",d", orientation="h",
                                  x=0.5, xanchor="center", y=0, yanchor="top", yref="paper", thickness=10,
                                  len=240, lenmode="pixels", outlinewidth=0,
                                  **({"dtick": 1} if largest < 10 else {}))),
    )
    for view, dx in VIEWS.items():
        fig.add_annotation(x=dx, y=-1, xref="x", yref="y", text=view.capitalize(), showarrow=False,
                           yanchor="top", font=dict(size=14))
    hidden = dict(visible=False, fixedrange=True, showgrid=False, zeroline=False)
    fig.update_layout(
        title=dict(text=plain(title)), height=HEIGHT,
        margin=dict(l=10, r=10, t=40 if title else 10, b=50), hovermode="closest", hoverdistance=10,
        dragmode=False, showlegend=False, clickmode="event+select",
        xaxis=dict(hidden, range=[-22, BACK_X + 22]),
        yaxis=dict(hidden, range=[-7, 100], scaleanchor="x", scaleratio=1),
        **BACKGROUND,
    )
    return fig


def area_colour(count: int, largest: int) -> str:
    """Grey for none, else the sequential scale at count / largest (the largest count: darkest)."""
    if count <= 0 or largest <= 0:
        return ZERO_COLOUR
    return sample_colorscale(COLOURSCALE, [min(count / largest, 1.0)])[0]


def _count(value) -> int:
    """A count from a dict built off a frame: numpy integers do; None and NaN count 0."""
    return int(value) if value is not None and value == value else 0


# --- geometry ---------------------------------------------------------------------------------

@functools.cache
def _geometry() -> tuple[dict[str, dict[str, list[Polygon]]], dict[str, list[Point]], dict[str, list[Point]]]:
    """Per area: its regions by view, its invisible clickable points and its centres. The same on every
    draw, so worked out once: the points inside each polygon took 0.1 s of every Body areas rerun."""
    regions = {code: _regions(code) for code in AREAS}
    polygons = {code: [polygon for view_polygons in regions[code].values() for polygon in view_polygons]
                for code in AREAS}
    hits = {code: [point for polygon in polygons[code]
                   for point in _lattice(polygon, HIT_SPACING) + _inset_outline(polygon, *HIT_EDGE)]
            for code in AREAS}
    centres = {code: [_centre(polygon) for polygon in polygons[code]] for code in AREAS}
    return regions, hits, centres


def _regions(code: str) -> dict[str, list[Polygon]]:
    """The polygons an area is drawn as, per view, in figure coordinates."""
    head = _ellipse(**HEAD)
    torso = _smooth(_mirrored(TORSO), sharp={len(TORSO) - 1, len(TORSO)})  # flat bottom
    neck = _clip(_smooth(_mirrored(NECK)), lambda x: chin(x) - GAP, keep="below")
    arm, hand, leg = _smooth(ARM), _ellipse(**HAND), _smooth(LEG)
    shapes: dict[str, dict[str, list[Polygon]]] = {
        "face": {"front": [_clip(head, lambda x: hairline(x) - GAP / 2, keep="below")]},
        "scalp": {"front": [_clip(head, lambda x: hairline(x) + GAP / 2, keep="above")], "back": [head]},
        "neck": {"front": [neck], "back": [neck]},
        "chest": {"front": [_clip(torso, lambda x: CHEST_BOTTOM + GAP / 2, keep="above")]},
        "abdomen": {"front": [_clip(torso, lambda x: CHEST_BOTTOM - GAP / 2, keep="below")]},
        "back": {"back": [torso]},
        "arms": {view: [arm, _flip(arm)] for view in VIEWS},
        "hands": {view: [hand, _flip(hand)] for view in VIEWS},
        "legs": {view: [leg, _flip(leg)] for view in VIEWS},
    }
    return {view: [_shift(p, VIEWS[view]) for p in polygons] for view, polygons in shapes[code].items()}


def _joined(polygons: list[Polygon]) -> tuple[list, list]:
    """Closed outlines as one x and one y list, separated by None (each fills on its own)."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for polygon in polygons:
        if xs:
            xs.append(None)
            ys.append(None)
        xs += [x for x, _ in polygon] + [polygon[0][0]]
        ys += [y for _, y in polygon] + [polygon[0][1]]
    return xs, ys


def _mirrored(right: Polygon) -> Polygon:
    """Right-hand side from top to bottom -> closed outline: right side down, left side up."""
    return list(right) + [(-x, y) for x, y in reversed(right)]


def _flip(polygon: Polygon) -> Polygon:
    return [(-x, y) for x, y in polygon]


def _shift(polygon: Polygon, dx: float) -> Polygon:
    return [(round(x + dx, 2), round(y, 2)) for x, y in polygon]


def _ellipse(cx: float, cy: float, rx: float, ry: float, tilt: float = 0.0, steps: int = 60) -> Polygon:
    points = []
    for i in range(steps):
        t = 2 * math.pi * i / steps
        x, y = rx * math.cos(t), ry * math.sin(t)
        points.append((cx + x * math.cos(tilt) - y * math.sin(tilt), cy + x * math.sin(tilt) + y * math.cos(tilt)))
    return points


def _smooth(polygon: Polygon, rounds: int = 3, sharp: set[int] = frozenset()) -> Polygon:
    """Chaikin corner cutting of a closed outline; the corners at indices `sharp` stay sharp."""
    points, flags = list(polygon), [i in sharp for i in range(len(polygon))]
    for _ in range(rounds):
        cut: Polygon = []
        cut_flags: list[bool] = []
        for i, (x0, y0) in enumerate(points):
            j = (i + 1) % len(points)
            x1, y1 = points[j]
            cut.append((x0, y0) if flags[i] else (0.75 * x0 + 0.25 * x1, 0.75 * y0 + 0.25 * y1))
            cut_flags.append(flags[i])
            if not flags[j]:
                cut.append((0.25 * x0 + 0.75 * x1, 0.25 * y0 + 0.75 * y1))
                cut_flags.append(False)
        points, flags = cut, cut_flags
    return points


def _clip(polygon: Polygon, boundary: Callable[[float], float], keep: str) -> Polygon:
    """The part of a polygon above or below the curve y = boundary(x) (Sutherland-Hodgman), with
    the cut following the curve rather than a straight chord."""
    sign = 1 if keep == "above" else -1

    def inside(x: float, y: float) -> float:
        return sign * (y - boundary(x))

    result: Polygon = []
    on_cut: list[bool] = []
    for i, (x0, y0) in enumerate(polygon):
        x1, y1 = polygon[(i + 1) % len(polygon)]
        f0, f1 = inside(x0, y0), inside(x1, y1)
        if f0 >= 0:
            result.append((x0, y0))
            on_cut.append(False)
        if (f0 >= 0) != (f1 >= 0):
            t = f0 / (f0 - f1)
            result.append((x0 + t * (x1 - x0), y0 + t * (y1 - y0)))
            on_cut.append(True)
    curved: Polygon = []
    for i, point in enumerate(result):
        curved.append(point)
        j = (i + 1) % len(result)
        if on_cut[i] and on_cut[j]:  # a chord between two crossings: follow the curve instead
            (xa, _), (xb, _) = point, result[j]
            steps = max(1, int(abs(xb - xa) / 0.4))
            curved += [(xa + (xb - xa) * k / steps, boundary(xa + (xb - xa) * k / steps)) for k in range(1, steps)]
    return curved


def _contains(polygon: Polygon, x: float, y: float) -> bool:
    """Even-odd ray casting."""
    inside = False
    for i, (x0, y0) in enumerate(polygon):
        x1, y1 = polygon[(i + 1) % len(polygon)]
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            inside = not inside
    return inside


def _lattice(polygon: Polygon, spacing: float) -> list[Point]:
    """Grid points inside a polygon (its centre if none fall inside)."""
    xs, ys = [x for x, _ in polygon], [y for _, y in polygon]
    columns = int((max(xs) - min(xs)) / spacing) + 1
    rows = int((max(ys) - min(ys)) / spacing) + 1
    x0 = (min(xs) + max(xs) - (columns - 1) * spacing) / 2
    y0 = (min(ys) + max(ys) - (rows - 1) * spacing) / 2
    points = [(round(x0 + c * spacing, 2), round(y0 + r * spacing, 2)) for r in range(rows) for c in range(columns)]
    return [p for p in points if _contains(polygon, *p)] or [_centre(polygon)]


def _inset_outline(polygon: Polygon, spacing: float, inset: float) -> list[Point]:
    """Points every `spacing` along the outline, moved `inset` inwards: a click just inside an edge
    lands on this area's point rather than on the neighbour's across the gap."""
    clockwise = sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(polygon, polygon[1:] + polygon[:1], strict=True)) < 0
    points: list[Point] = []
    walked = 0.0  # outline length from the start to the end of the previous edge
    for i, (x0, y0) in enumerate(polygon):
        x1, y1 = polygon[(i + 1) % len(polygon)]
        length = math.hypot(x1 - x0, y1 - y0)
        if length == 0:
            continue
        nx, ny = (y1 - y0) / length, -(x1 - x0) / length  # right of the direction of travel
        if not clockwise:
            nx, ny = -nx, -ny
        at = math.ceil(walked / spacing) * spacing - walked  # the next multiple of spacing on this edge
        while at < length:
            x, y = x0 + (x1 - x0) * at / length + nx * inset, y0 + (y1 - y0) * at / length + ny * inset
            if _contains(polygon, x, y):
                points.append((round(x, 2), round(y, 2)))
            at += spacing
        walked += length
    return points


def _centre(polygon: Polygon) -> Point:
    """Area centroid (inside, for the convex-ish shapes drawn here)."""
    area = cx = cy = 0.0
    for i, (x0, y0) in enumerate(polygon):
        x1, y1 = polygon[(i + 1) % len(polygon)]
        cross = x0 * y1 - x1 * y0
        area += cross
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    if abs(area) < 1e-9:
        return polygon[0]
    return round(cx / (3 * area), 2), round(cy / (3 * area), 2)
