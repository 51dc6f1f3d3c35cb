"""The body map: every area drawn where a clinician expects it, shaded by its count, with hover
text and clickable points that name the area (the page's on_select reads their customdata)."""

from __future__ import annotations

import colorsys
import re

import numpy as np
import plotly.graph_objects as go
import pytest

from dashboard import body_map as bm
from dashboard.charts import TEMPLATE
from queries.contract import BODY_AREAS

COUNTS = {"face": 1009, "neck": 412, "chest": 150, "hands": 88, "arms": 40, "abdomen": 230, "back": 120,
          "legs": 65, "scalp": 0, "other": 31}
BOTH = {"front", "back"}
EXPECTED_VIEWS = {"face": {"front"}, "scalp": BOTH, "neck": BOTH, "chest": {"front"}, "abdomen": {"front"},
                  "back": {"back"}, "arms": BOTH, "hands": BOTH, "legs": BOTH}


def traces(fig: go.Figure, role: str, area: str | None = None) -> list:
    return [t for t in fig.data if isinstance(t.meta, dict) and t.meta.get("role") == role
            and (area is None or t.meta.get("area") == area)]


def region(fig: go.Figure, area: str, view: str):
    [trace] = [t for t in traces(fig, "region", area) if t.meta["view"] == view]
    return trace


def polygons(trace) -> list[list[tuple[float, float]]]:
    """A region trace's outlines (separated by None)."""
    shapes, current = [], []
    for x, y in zip(trace.x, trace.y, strict=True):
        if x is None:
            shapes.append(current)
            current = []
        else:
            current.append((x, y))
    return [*shapes, current]


def inside(polygon, x: float, y: float) -> bool:
    result = False
    for (x0, y0), (x1, y1) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            result = not result
    return result


def inside_all(polygon, points: np.ndarray) -> np.ndarray:
    """`inside` for many points at once."""
    start = np.array(polygon)
    end = np.roll(start, -1, axis=0)
    x, y = points[:, :1], points[:, 1:]
    crosses = (start[:, 1] > y) != (end[:, 1] > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        at = start[:, 0] + (y - start[:, 1]) * (end[:, 0] - start[:, 0]) / (end[:, 1] - start[:, 1])
    return ((crosses & (x < at)).sum(axis=1) % 2).astype(bool)


def edge_distances(polygon, points: np.ndarray) -> np.ndarray:
    """Each point's distance to the polygon's outline."""
    start = np.array(polygon)
    step = np.roll(start, -1, axis=0) - start
    offset = points[:, None, :] - start[None, :, :]
    t = np.clip((offset * step).sum(axis=2) / np.maximum((step * step).sum(axis=1), 1e-12), 0, 1)
    return np.hypot(*(offset - t[:, :, None] * step).transpose(2, 0, 1)).min(axis=1)


def rgb(colour: str) -> tuple[float, float, float]:
    if colour.startswith("#"):
        return tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return tuple(float(v) for v in re.findall(r"[\d.]+", colour)[:3])


def luminance(colour: str) -> float:
    r, g, b = rgb(colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def bounds(fig, area, view):
    points = [p for polygon in polygons(region(fig, area, view)) for p in polygon]
    xs, ys = [x for x, _ in points], [y for _, y in points]
    return min(xs), max(xs), min(ys), max(ys)


@pytest.fixture(scope="module")
def fig() -> go.Figure:
    return bm.body_map(COUNTS, title="Sessions by area")


def test_every_contract_area_but_other_is_drawn_on_its_views(fig):
    drawn = {}
    for trace in traces(fig, "region"):
        drawn.setdefault(trace.meta["area"], set()).add(trace.meta["view"])
        assert trace.fill == "toself" and trace.type == "scatter"
    assert drawn == EXPECTED_VIEWS
    assert set(drawn) == set(BODY_AREAS) - {"other"}
    assert not fig.layout.shapes  # regions are traces, so they hover and sit under the clickable points


def test_front_on_the_left_back_on_the_right(fig):
    middle = bm.BACK_X / 2
    for trace in traces(fig, "region"):
        xs = [x for x in trace.x if x is not None]
        if trace.meta["view"] == "front":
            assert max(xs) < middle, trace.name
        else:
            assert min(xs) > middle, trace.name
    labels = {a.text: a.x for a in fig.layout.annotations}
    assert labels == {"Front": 0.0, "Back": bm.BACK_X}


def test_areas_sit_where_a_clinician_expects(fig):
    top = {area: bounds(fig, area, "front")[3] for area in ("scalp", "face", "neck", "chest", "abdomen", "legs")}
    assert top["scalp"] > top["face"] > top["neck"] > top["chest"] > top["abdomen"] > top["legs"]
    for view in BOTH:
        assert bounds(fig, "legs", view)[2] == pytest.approx(min(bounds(fig, a, view)[2] for a in EXPECTED_VIEWS
                                                                 if view in EXPECTED_VIEWS[a]))
        centre = bm.VIEWS[view]
        for limb in ("arms", "hands", "legs"):  # one on each side of the body
            assert [len(p) > 2 for p in polygons(region(fig, limb, view))] == [True, True]
            left, right, _, _ = bounds(fig, limb, view)
            assert left < centre < right
        # Hands hang below the shoulders' arms, outside the torso.
        torso = "chest" if view == "front" else "back"
        assert bounds(fig, "hands", view)[3] < bounds(fig, "arms", view)[2] + 1
        assert bounds(fig, "arms", view)[1] > bounds(fig, torso, view)[1]
    # The back view's head is all scalp; the front's scalp is the cap above the face.
    assert bounds(fig, "scalp", "back")[2] < bounds(fig, "face", "front")[3]
    assert bounds(fig, "scalp", "front")[2] > bounds(fig, "face", "front")[2]


def test_highest_count_darkest_and_zero_grey(fig):
    fills = {t.meta["area"]: t.fillcolor for t in traces(fig, "region")}
    assert fills["scalp"] == bm.ZERO_COLOUR
    assert fills["face"] == bm.area_colour(1009, 1009)
    assert luminance(fills["face"]) < min(luminance(c) for a, c in fills.items() if a != "face")
    # More sessions, never a lighter shade; any session, never the grey of none.
    ordered = sorted((COUNTS[a], luminance(c)) for a, c in fills.items())
    assert [lum for _, lum in ordered] == sorted((lum for _, lum in ordered), reverse=True)
    assert all(c != bm.ZERO_COLOUR for a, c in fills.items() if COUNTS[a])


def test_zero_is_a_light_neutral_grey_and_the_scale_one_hue():
    r, g, b = rgb(bm.ZERO_COLOUR)
    assert r == g == b and luminance(bm.ZERO_COLOUR) > 190
    shades = [bm.area_colour(n, 100) for n in (1, 25, 50, 75, 100)]
    assert all(len(set(rgb(c))) > 1 for c in shades)  # never grey: one session is told from none
    assert [luminance(c) for c in shades] == sorted((luminance(c) for c in shades), reverse=True)
    hues = [colorsys.rgb_to_hsv(*(v / 255 for v in rgb(c)))[0] * 360 for c in shades]
    assert max(hues) - min(hues) < 20


def test_an_area_drawn_twice_shows_the_same_count_and_colour(fig):
    for area, views in EXPECTED_VIEWS.items():
        shown = {(region(fig, area, v).fillcolor, region(fig, area, v).text) for v in views}
        assert len(shown) == 1, area


def test_hover_names_the_area_and_its_formatted_count(fig):
    face = region(fig, "face", "front")
    assert face.text == "Face: 1,009 sessions"
    assert face.hoveron == "fills" and face.hoverinfo == "text"
    [target] = traces(fig, "target", "face")
    assert set(target.text) == {"Face: 1,009 sessions"}
    assert target.hovertemplate == "%{text}<extra></extra>"
    assert region(fig, "back", "back").text == "Back: 120 sessions"
    assert region(fig, "scalp", "back").text == "Scalp: 0 sessions"
    assert "Not on the map" not in str(fig.to_dict()) and "Other" not in {t.name for t in fig.data}


def test_each_region_has_a_clickable_centre_point_carrying_its_code(fig):
    for area, views in EXPECTED_VIEWS.items():
        [target] = traces(fig, "target", area)
        assert target.mode == "markers" and set(target.customdata) == {area}
        points = list(zip(target.x, target.y, strict=True))
        shapes = [p for v in views for p in polygons(region(fig, area, v))]
        assert len(points) == len(shapes), area
        for polygon in shapes:  # one point inside each drawn region
            assert sum(inside(polygon, x, y) for x, y in points) == 1, area


def test_a_click_anywhere_on_an_area_lands_on_a_point_of_that_area(fig):
    """Clicks select the nearest point (fills report none): sample each region and check the
    nearest clickable point, of any area, is this area's and near enough to be within the hover
    distance (10 px; a body unit is about 3 px). Within a pixel of an edge either side may win."""
    clickable = [(x, y, code) for role in ("hit", "target") for t in traces(fig, role)
                 for x, y, code in zip(t.x, t.y, t.customdata, strict=True)]
    assert {code for *_, code in clickable} == set(EXPECTED_VIEWS)
    where = np.array([(x, y) for x, y, _ in clickable])
    codes = np.array([code for *_, code in clickable])
    for trace in traces(fig, "region"):
        for polygon in polygons(trace):
            xs, ys = [x for x, _ in polygon], [y for _, y in polygon]
            gx, gy = np.meshgrid(np.arange(min(xs), max(xs), 0.5), np.arange(min(ys), max(ys), 0.5))
            samples = np.column_stack([gx.ravel(), gy.ravel()])
            samples = samples[inside_all(polygon, samples)]
            samples = samples[edge_distances(polygon, samples) >= 0.3]
            assert len(samples), trace.name
            distances = np.hypot(*(samples[:, None, :] - where[None, :, :]).transpose(2, 0, 1))
            nearest = distances.argmin(axis=1)
            wrong = samples[codes[nearest] != trace.meta["area"]]
            assert not len(wrong), (trace.name, wrong[:3], codes[nearest][codes[nearest] != trace.meta["area"]][:3])
            assert distances.min(axis=1).max() <= 0.75 * bm.HIT_SPACING, trace.name
    assert fig.layout.hoverdistance >= 10


def test_empty_counts_draw_an_all_grey_map():
    fig = bm.body_map({}, title="Nothing yet")
    assert {t.fillcolor for t in traces(fig, "region")} == {bm.ZERO_COLOUR}
    assert {t.meta["area"] for t in traces(fig, "region")} == set(EXPECTED_VIEWS)
    assert region(fig, "face", "front").text == "Face: 0 sessions"
    [bar] = traces(fig, "colourbar")
    assert bar.marker.cmax >= 1 and bar.marker.showscale


def test_unknown_keys_are_ignored():
    fig = bm.body_map({"face": 5, "elbow": 10_000, "other": 900, "Face": 7}, title="x")
    fills = {t.meta["area"]: t.fillcolor for t in traces(fig, "region")}
    assert fills["face"] == bm.area_colour(5, 5)  # the largest drawn count, so the darkest shade
    assert {a for a, c in fills.items() if c != bm.ZERO_COLOUR} == {"face"}
    areas = {t.meta.get("area") for t in fig.data}
    assert "elbow" not in areas and "other" not in areas
    [bar] = traces(fig, "colourbar")
    assert bar.marker.cmax == 5


def test_counts_from_a_frame_work():
    fig = bm.body_map({"face": np.int64(3), "neck": np.int64(0), "legs": float("nan")}, title="x")
    assert region(fig, "face", "front").text == "Face: 3 sessions"
    assert region(fig, "legs", "back").fillcolor == bm.ZERO_COLOUR


def test_colour_bar_is_titled_sessions_with_whole_numbers(fig):
    [bar] = traces(fig, "colourbar")
    assert bar.marker.colorbar.title.text == "Sessions"
    assert bar.marker.cmin == 0 and bar.marker.cmax == 1009
    assert bar.marker.colorbar.tickformat == ",d"
    assert bar.hoverinfo == "skip"
    small = traces(bm.body_map({"face": 3}, title="x"), "colourbar")[0]
    assert small.marker.colorbar.dtick == 1


def test_layout_is_fixed_transparent_and_hidden_axes(fig):
    layout = fig.layout
    assert layout.paper_bgcolor == "rgba(0,0,0,0)" and layout.plot_bgcolor == "rgba(0,0,0,0)"
    assert layout.xaxis.fixedrange and layout.yaxis.fixedrange
    assert layout.xaxis.visible is False and layout.yaxis.visible is False
    assert layout.yaxis.scaleanchor == "x" and layout.yaxis.scaleratio == 1
    assert layout.dragmode is False and layout.hovermode == "closest" and not layout.showlegend
    assert 380 <= layout.height <= 460
    assert fig.layout.template.layout.font.family == go.Figure(layout=dict(template=TEMPLATE)).layout.template.layout.font.family
    assert layout.title.text == "Sessions by area"
    outlines = {t.line.color for t in traces(fig, "region")}
    assert outlines == {bm.OUTLINE}


def test_title_is_plain_text():
    fig = bm.body_map({}, title="Face & neck <b>only</b>")
    assert fig.layout.title.text == "Face &amp; neck &lt;b&gt;only&lt;/b&gt;"


def test_figure_serialises_for_streamlit(fig):
    spec = fig.to_plotly_json()
    assert len(spec["data"]) == len(fig.data)
    assert all(isinstance(code, str) for t in traces(fig, "target") for code in t.customdata)
