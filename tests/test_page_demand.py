"""The Demand page (AppTest on the sample data): aggregates only, small cells hidden, figures equal to the
headless report where they overlap, and the filters and as-of date followed."""

from __future__ import annotations

import io
import re
from datetime import date

import pandas as pd
import pytest
import streamlit as st
from pages import (  # noqa: F401
    chart_specs,
    drawn_text,
    fresh_caches,
    metrics,
    open_page,
    sample_fixture,
    sidebar_pair_matching_nothing,
    table,
)

from queries import labels
from queries.api import Filters, run_query
from queries.report import build_report

PATIENT_ID = re.compile(r"\bP\d+\b")
HIDDEN = "<11"


@pytest.fixture
def downloads(monkeypatch):
    """Every file the page offers for download, by file name (what the browser would save)."""
    captured: dict[str, bytes] = {}
    original = st.download_button

    def capture(label, data, file_name=None, *args, **kwargs):
        if isinstance(data, bytes | str):  # not the workbook, built only when clicked (tests/test_page_exports.py)
            captured[file_name] = data if isinstance(data, bytes) else data.encode("utf-8")
        return original(label, data, file_name, *args, **kwargs)

    monkeypatch.setattr(st, "download_button", capture)
    return captured


def number(text: str) -> int:
    return int(text.replace(",", ""))


def shown_cells(frame: pd.DataFrame, first: str) -> dict[tuple[str, str], str]:
    """{(row, column): text} of a wide table whose first column is `first`."""
    return {(row[first], column): row[column] for _, row in frame.iterrows() for column in frame.columns[1:]}


@pytest.mark.parametrize("as_of", [None, "2025-06-30"])
def test_demand_figures_equal_the_report(sample, as_of):
    at = open_page("demand", period="all", **({"as_of": as_of} if as_of else {}))
    report = build_report(sample, as_of=date.fromisoformat(as_of) if as_of else None)
    cards = metrics(at)
    channels = report["demand_by_concern_channel"]
    assert number(cards["Bookings made"]) == sum(sum(row.values()) for row in channels.values()) \
        == sum(report["demand_by_concern"].values())
    conversion = report["consultation_conversion"]
    assert cards["Conversion"] == f"{conversion['rate']:.0%}"
    assert number(cards["Pending"]) == conversion["pending"]
    note = next(c.value for c in at.caption if "treated within 90 days" in c.value)
    assert note.startswith(f"{conversion['converted']:,} of {conversion['eligible']:,} consultations")

    grid = table(at, "Concern", "All channels")
    cells = shown_cells(grid, "Concern")
    compared = 0
    for concern, row in channels.items():
        for channel, count in row.items():
            text = cells[(labels.value(concern), labels.value(channel))]
            if text != HIDDEN:
                assert number(text) == count, (concern, channel)
                compared += 1
    assert compared > 10, "most of the sample's concern × channel cells are shown"

    by_concern = table(at, "Concern", "Eligible", "Converted").set_index("Concern")
    for concern, row in conversion["by_concern"].items():
        for column, key in (("Eligible", "eligible"), ("Converted", "converted")):
            text = by_concern.loc[labels.value(concern), column]
            assert text == HIDDEN or number(text) == row[key], (concern, column)
    assert by_concern.loc["All consultations", "Eligible"] == f"{conversion['eligible']:,}"


def test_small_cells_are_hidden_and_the_rest_equal_the_query(sample):
    at = open_page("demand")  # the last 12 months: many small cells
    view_start = date(2025, 11, 1)
    raw = run_query(sample, "demand_by_concern_month_channel", Filters(start=view_start, end=date(2026, 10, 31)))
    raw = raw[raw["month"].isna() & raw["concern"].notna() & raw["channel"].notna()]
    cells = shown_cells(table(at, "Concern", "All channels"), "Concern")
    small = hidden = 0
    for row in raw.itertuples():
        text = cells[(labels.value(row.concern), labels.value(row.channel))]
        if row.count_patients < 11:
            assert text == HIDDEN, row
            small += 1
        elif text == HIDDEN:
            hidden += 1  # a companion: hidden so the small ones cannot be worked out
        else:
            assert number(text) == row.count_bookings
    assert small > 0 and hidden > 0
    assert any("fewer than 11 patients could identify someone" in i.value.lower() for i in at.info)
    assert "&lt;11" in drawn_text(chart_specs(at)), "hidden cells are marked on the charts"


def test_no_patient_identifier_on_the_page_or_in_its_downloads(downloads):
    at = open_page("demand", period="all")
    frames = [d.value for d in at.dataframe]
    assert len(frames) >= 8
    assert len(downloads) >= 8, sorted(downloads)
    frames += [pd.read_csv(io.BytesIO(data), dtype=str) for data in downloads.values()]
    for frame in frames:
        assert not [c for c in frame.columns if "patient" in str(c).lower()], frame.columns
        text = frame.astype(str).to_string()
        assert not PATIENT_ID.search(text), PATIENT_ID.search(text)
    assert not PATIENT_ID.search(drawn_text(chart_specs(at)))
    assert not PATIENT_ID.search("\n".join(m.value for m in [*at.markdown, *at.caption, *at.info, *at.warning]))


def test_downloads_carry_the_hidden_values_not_the_raw_ones(downloads):
    at = open_page("demand")
    shown = table(at, "Concern", "All channels")
    saved = pd.read_csv(io.BytesIO(downloads["bookings_by_concern_and_channel.csv"]), dtype=str)
    assert list(saved.columns) == list(shown.columns)
    assert (saved == shown.map(lambda v: v.replace(",", ""))).all().all()
    assert (saved == HIDDEN).sum().sum() > 0


def test_k_comes_from_the_practice_settings(tmp_path, monkeypatch, sample):
    settings = tmp_path / "practice.toml"
    settings.write_text("[privacy]\nmin_patients_per_cell = 40\n")
    monkeypatch.setenv("PRACTICE_SETTINGS", str(settings))
    at = open_page("demand", period="all")
    cells = shown_cells(table(at, "Concern", "All channels"), "Concern")
    raw = run_query(sample, "demand_by_concern_month_channel", Filters())
    raw = raw[raw["month"].isna() & raw["concern"].notna() & raw["channel"].notna()]
    between = raw[(raw["count_patients"] >= 11) & (raw["count_patients"] < 40)]
    assert len(between), "cells the default k shows and k = 40 hides"
    for row in between.itertuples():
        assert cells[(labels.value(row.concern), labels.value(row.channel))] == "<40"
    assert HIDDEN not in set(cells.values())
    assert any("fewer than 40 patients" in i.value for i in at.info)


def test_the_page_follows_a_location(sample):
    location = sample.execute("select min(location) from fct_bookings").fetchone()[0]
    at = open_page("demand", period="all", location=location)
    filtered = build_report(sample, filters=Filters(locations=(location,)))
    everything = build_report(sample)
    shown = number(metrics(at)["Bookings made"])
    assert shown == sum(filtered["demand_by_concern"].values()) < sum(everything["demand_by_concern"].values())
    assert metrics(at)["Conversion"] == f"{filtered['consultation_conversion']['rate']:.0%}"


def test_a_partly_missing_year_earlier_is_said():
    # Last 12 months to 31 Dec 2024: a year earlier is 2 Jan – 31 Dec 2023; the export starts on 3 Oct 2023.
    at = open_page("demand", as_of="2024-12-31")
    warning = next(w.value for w in at.warning if "a year earlier is short" in w.value)
    assert "Only 90 of the 364 days of 02 Jan 2023 – 31 Dec 2023" in warning
    assert "starts on 03 Oct 2023" in warning


def test_no_year_earlier_in_the_export_says_so():
    at = open_page("demand", as_of="2024-06-30")
    assert any("there is nothing to compare with" in i.value for i in at.info)
    assert not any("a year earlier is short" in w.value for w in at.warning)


def test_filters_matching_nothing_show_the_empty_state(sample):
    location, practitioner = sidebar_pair_matching_nothing(sample)
    at = open_page("demand", period="all", location=location, practitioner=practitioner)
    assert any("No bookings were made in this period" in i.value for i in at.info)
    assert not at.get("plotly_chart") and not at.dataframe


def test_pending_consultations_are_shown_apart(sample):
    at = open_page("demand", period="all")
    by_channel = table(at, "Channel", "Eligible", "Pending")
    raw = run_query(sample, "consultation_conversion")
    overall = raw[raw["concern"].isna() & raw["channel"].isna()].iloc[0]
    total = by_channel.set_index("Channel").loc["All consultations"]
    assert number(total["Pending"]) == overall["count_pending"] > 0
    # Pending ones are neither converted nor not converted.
    assert number(total["Converted"]) + number(total["Not converted"]) == number(total["Eligible"])
