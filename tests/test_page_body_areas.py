"""The Body areas page (AppTest on the sample data): its figures equal the headless report's."""

from __future__ import annotations

import json
from datetime import date

import pytest
from pages import (  # noqa: F401
    chart_element,
    chart_spec,
    click_bar,
    fresh_caches,
    multiselect,
    open_page,
    sample_fixture,
    sidebar_pair_matching_nothing,
    table,
)

from queries import labels
from queries.api import Filters
from queries.report import build_report


def area_counts(at) -> dict[str, int]:
    shown = table(at, "Body area", "Sessions")
    return {area: int(n) for area, n in zip(shown["Body area"], shown["Sessions"], strict=True) if n}


def in_words(counts: dict[str, int]) -> dict[str, int]:
    return {labels.value(area): n for area, n in counts.items()}


def test_sessions_by_area_equal_the_report_over_all_dates(sample):
    at = open_page("body_areas", period="all")
    assert at.title[0].value == "Body areas"
    assert area_counts(at) == in_words(build_report(sample)["sessions_by_body_area"])
    headings = [h.value for h in at.subheader]
    assert headings[:2] == ["Sessions by body area", "Body map"]
    assert "Needle depth by body area" in headings


def test_the_page_follows_a_location_and_the_as_of_date(sample):
    location = sample.execute("select min(location) from fct_sessions").fetchone()[0]
    at = open_page("body_areas", period="all", location=location, as_of="2025-06-30")
    expected = build_report(sample, as_of=date(2025, 6, 30), filters=Filters(locations=(location,)))
    assert area_counts(at) == in_words(expected["sessions_by_body_area"])
    assert area_counts(at) != in_words(build_report(sample)["sessions_by_body_area"])


def test_the_comparison_is_the_overview_period_before(sample):
    at = open_page("body_areas", period="last_90_days")
    caption = at.caption[0].value
    assert "03 Aug 2026 – 31 Oct 2026** · compared with 05 May 2026 – 02 Aug 2026" in caption
    shown = table(at, "Body area", "Sessions", "Sessions, comparison period", "Change").set_index("Body area")
    before = in_words(build_report(sample, filters=Filters(start=date(2026, 5, 5), end=date(2026, 8, 2)))
                      ["sessions_by_body_area"])
    assert shown["Sessions, comparison period"].to_dict() == {area: before.get(area, 0) for area in shown.index}
    assert (shown["Change"] == shown["Sessions"] - shown["Sessions, comparison period"]).all()


def test_all_dates_have_no_comparison():
    at = open_page("body_areas", period="all")
    assert "no comparison period" in at.caption[0].value
    assert "Change against the comparison period" not in [h.value for h in at.subheader]


def test_a_short_period_is_drawn_by_week():
    at = open_page("body_areas", period="last_30_days")
    assert "Sessions per week by body area" in [h.value for h in at.subheader]


def test_filters_matching_nothing_show_the_empty_state(sample):
    location, practitioner = sidebar_pair_matching_nothing(sample)
    at = open_page("body_areas", period="all", location=location, practitioner=practitioner)
    assert any("No sessions match these filters" in i.value for i in at.info)
    assert not at.get("plotly_chart")


def test_the_body_map_carries_each_area_and_its_count(sample):
    at = open_page("body_areas", period="all")
    body_map = chart_spec(at, "Sessions by area")
    hovers = json.dumps([t.get("hovertext") or t.get("text") or t.get("hovertemplate") for t in body_map["data"]])
    face = build_report(sample)["sessions_by_body_area"]["face"]
    assert f"{face:,}" in hovers


@pytest.mark.parametrize(("title_part", "key", "area"), [("Sessions and share", "area_volume", "neck"),
                                                         ("Sessions by area", "body_map", "hands")])
def test_a_click_on_an_area_sets_the_body_area_filter_and_the_link(sample, title_part, key, area):
    """A click on a bar of "Sessions by body area", or on the body map, filters every page to that area."""
    at = open_page("body_areas", period="all")
    assert multiselect(at, "Body areas").value == []
    assert chart_element(at, title_part).proto.id.endswith(f"-{key}")  # the title names the chart meant
    click_bar(at, title_part, area)
    assert multiselect(at, "Body areas").value == [area]
    assert at.query_params["body_area"] in (area, [area])
    expected = build_report(sample, filters=Filters(body_areas=(area,)))["sessions_by_body_area"]
    assert area_counts(at) == in_words(expected) == {labels.value(area): expected[area]}


def test_every_figure_heading_has_its_definition_from_the_docs():
    from dashboard import definitions

    at = open_page("body_areas", period="all")
    for heading in at.subheader:
        assert heading.proto.help, heading.value
        assert heading.proto.help in {definitions.text(name) for name in definitions._bullets()}
