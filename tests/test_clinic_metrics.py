"""The clinic pages' queries (queries/sql/metrics/clinic), as tables of tiny hand-made exports and the figures
they must give (SPEC §2.1, 2.3–2.5, 2.7–2.11). Exports shared by several cases are loaded once per module.

The filters reaching each query, rows after as_of and empty data are checked for every query in
test_metrics.py; here each query's own arithmetic is worked out by hand.
"""

from __future__ import annotations

import math
from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest
from conftest import booking, complaint, consumable, session, write_export

from queries.api import DIMENSIONS, LIST_TOTALS, Filters, as_text, default_as_of, query_sql, run_query
from queries.load import load

AS_OF = date(2025, 6, 30)
TIP = "MicroPen sterile tip (12-needle)"
GEL = "Topical numbing gel"


def d(text: str) -> date:
    return date.fromisoformat(text)


def run(con, name: str, filters: Filters | None = None, *, as_of: date = AS_OF, **extra) -> pd.DataFrame:
    return run_query(con, name, filters, as_of=as_of, **extra)


def plain(value):
    """A cell as a plain Python value: NA/NaN as None, dates and timestamps as ISO text."""
    if value is None or (not isinstance(value, str | list) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d") if value == value.normalize() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def rows(frame: pd.DataFrame, *columns: str) -> list[tuple]:
    return [tuple(plain(row[c]) for c in columns) for _, row in frame.iterrows()]


def assert_rows(frame: pd.DataFrame, columns: tuple[str, ...], expected: list[tuple]) -> None:
    """Rows in order; floats compared to 1e-9 relative, None for a missing value."""
    actual = rows(frame, *columns)
    assert len(actual) == len(expected), (actual, expected)
    for got, want in zip(actual, expected, strict=True):
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            if isinstance(w, float) and not isinstance(g, bool):
                assert g == pytest.approx(w, rel=1e-9, abs=1e-12), (got, want)
            else:
                assert g == w, (got, want)


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """Load an export written from rows, once per module: `export(sessions=[...], ...)`."""
    connections = []

    def build(bookings=(), sessions=(), consumables=None, complaints=None):
        folder = write_export(tmp_path_factory.mktemp("export"), bookings=list(bookings), sessions=list(sessions),
                              consumables=consumables, complaints=complaints)
        connections.append(load(folder).connection)
        return connections[-1]

    yield build
    for con in connections:
        con.close()


# ---------------------------------------------------------------- 2.1 sessions by body area: comparison period

@pytest.fixture(scope="module")
def two_months(export):
    return export(sessions=[
        session("S1", "P1", "2025-06-01"), session("S2", "P2", "2025-06-10"),
        session("S3", "P3", "2025-06-20", body_area="neck"),
        session("S4", "P1", "2025-05-05"),
        session("S5", "P4", "2025-05-06", body_area="hands"), session("S6", "P5", "2025-05-31 23:00", body_area="hands"),
        session("S7", "P6", "2025-07-01", body_area="neck"),  # after as_of
    ])


JUNE = Filters(start=d("2025-06-01"), end=d("2025-06-30"))
BODY_AREA_COLUMNS = ("body_area", "count_sessions", "share_of_sessions", "count_sessions_previous", "change_in_sessions")


@pytest.mark.parametrize("filters, previous, expected", [
    pytest.param(JUNE, (d("2025-05-01"), d("2025-05-31")),
                 [("face", 2, 2 / 3, 1, 1), ("neck", 1, 1 / 3, 0, 1), ("hands", 0, 0.0, 2, -2)],
                 id="comparison: an area new this period has 0 before; one only before stays with 0 now"),
    pytest.param(JUNE, None, [("face", 2, 2 / 3, None, None), ("neck", 1, 1 / 3, None, None)],
                 id="no comparison period: previous and change are null"),
    pytest.param(Filters(start=d("2025-06-01"), end=d("2025-06-30"), body_areas=("hands", "neck")),
                 (d("2025-05-01"), d("2025-05-31")),
                 [("neck", 1, 1.0, 0, 1), ("hands", 0, 0.0, 2, -2)], id="the filters apply to both periods"),
    pytest.param(Filters(start=d("2025-05-01"), end=d("2025-05-31")), (d("2025-06-01"), d("2025-07-31")),
                 [("hands", 2, 2 / 3, 0, 2), ("face", 1, 1 / 3, 2, -1), ("neck", 0, 0.0, 1, -1)],
                 id="the comparison period stops at as_of too"),
])
def test_sessions_by_body_area_comparison(two_months, filters, previous, expected):
    extra = {"previous_start": previous[0], "previous_end": previous[1]} if previous else {}
    assert_rows(run(two_months, "sessions_by_body_area", filters, **extra), BODY_AREA_COLUMNS, expected)


@pytest.mark.parametrize("grain, expected", [
    pytest.param("month", [("2025-05-01", "face", 1), ("2025-05-01", "hands", 2), ("2025-06-01", "face", 2),
                           ("2025-06-01", "neck", 1)], id="month"),
    pytest.param("week", [("2025-05-05", "face", 1), ("2025-05-05", "hands", 1), ("2025-05-26", "hands", 1),
                          ("2025-05-26", "face", 1), ("2025-06-09", "face", 1), ("2025-06-16", "neck", 1)],
                 id="ISO week, starting on Monday"),
])
def test_sessions_by_area_month_grain(two_months, grain, expected):
    frame = run(two_months, "sessions_by_area_month", grain=grain)
    # 2025-05-31 (Sat) and 2025-06-01 (Sun) are in the week of Monday 26 May.
    assert sorted(rows(frame, "period_start", "body_area", "count_sessions")) == sorted(expected)
    assert list(frame["period_start"]) == sorted(frame["period_start"])


@pytest.fixture(scope="module")
def areas_and_staff(export):
    return export(sessions=[
        session("S1", "P1", "2025-06-01", location="North", practitioner="Ana"),
        session("S2", "P2", "2025-06-02", treatment="Chemical peel", location="North", practitioner="Ana"),
        session("S3", "P3", "2025-06-03", treatment="Chemical peel", practitioner="Ana"),
        session("S4", "P4", "2025-06-04", body_area="neck", location="South", practitioner="Ben"),
        session("S5", "P5", "2025-07-01", body_area="neck", location="South", practitioner="Ben"),  # after as_of
    ])


@pytest.mark.parametrize("dimension, expected", [
    pytest.param("location", [("face", "North", 2), ("face", "(not recorded)", 1), ("neck", "South", 1)],
                 id="location, missing as (not recorded)"),
    pytest.param("practitioner", [("face", "Ana", 3), ("neck", "Ben", 1)], id="practitioner"),
    pytest.param("treatment", [("face", "Chemical peel", 2), ("face", "Micro-needling", 1),
                               ("neck", "Micro-needling", 1)], id="treatment"),
])
def test_sessions_by_area_and_dimension(areas_and_staff, dimension, expected):
    frame = run(areas_and_staff, "sessions_by_area_and_dimension", dimension=dimension)
    assert rows(frame, "body_area", "dimension_value", "count_sessions") == expected


# ---------------------------------------------------------------- needle depth: bands and spread per area

@pytest.fixture(scope="module")
def depths(export):
    """One session a day, so a one-day period picks one depth. as_of 2025-06-30."""
    return export(
        sessions=[
            session("D1", "P1", "2025-06-01", needle_depth_mm="0.5"),
            session("D2", "P2", "2025-06-02", needle_depth_mm="0.51"),
            session("D3", "P3", "2025-06-03", needle_depth_mm="1.0"),
            session("D4", "P4", "2025-06-04", body_area="neck", needle_depth_mm="1.5"),
            session("D5", "P5", "2025-06-05", body_area="neck", needle_depth_mm="2.0"),
            session("D6", "P6", "2025-06-06", body_area="neck", needle_depth_mm="2.01"),
            session("D7", "P7", "2025-06-07", needle_depth_mm=""),
            session("D8", "P8", "2025-06-08", treatment="Chemical peel", needle_depth_mm="2.5"),
        ],
        complaints=[
            complaint("C1", "P1", "2025-06-03", session_id="D1"),
            complaint("C2", "P6", "2025-06-08", session_id="D6"),
            complaint("C3", "P6", "2025-06-09", session_id="D6", category="swelling"),
            complaint("C4", "P7", "2025-06-09", session_id="D7"),
            complaint("C5", "P2", "2025-07-01", session_id="D2"),  # reported after as_of
        ],
    )


@pytest.mark.parametrize("day, band", [
    pytest.param("2025-06-01", "≤ 0.5 mm", id="0.5 is in the first band"),
    pytest.param("2025-06-02", "0.5–1.0 mm", id="0.51 is in the next"),
    pytest.param("2025-06-03", "0.5–1.0 mm", id="1.0 is in 0.5-1.0"),
    pytest.param("2025-06-04", "1.0–1.5 mm", id="1.5 is in 1.0-1.5"),
    pytest.param("2025-06-05", "1.5–2.0 mm", id="2.0 is in 1.5-2.0"),
    pytest.param("2025-06-06", "> 2.0 mm", id="2.01 is over 2.0"),
    pytest.param("2025-06-07", "(not recorded)", id="missing depth"),
])
def test_needle_depth_band_edges(depths, day, band):
    frame = run(depths, "complaint_rate_by_dimension", Filters(start=d(day), end=d(day)), dimension="depth_band")
    assert frame["dimension_value"].tolist() == [band]


COMPLAINT_RATE_COLUMNS = ("dimension_value", "count_sessions", "count_complaints", "complaints_per_100_sessions")


@pytest.mark.parametrize("dimension, filters, expected", [
    pytest.param("depth_band", Filters(), [
        ("≤ 0.5 mm", 1, 1, 100.0), ("0.5–1.0 mm", 2, 0, 0.0), ("1.0–1.5 mm", 1, 0, 0.0), ("1.5–2.0 mm", 1, 0, 0.0),
        ("> 2.0 mm", 1, 2, 200.0), ("(not recorded)", 1, 1, 100.0)],  # D8, a peel at 2.5 mm, is no needling
        id="depth bands shallow to deep, not recorded last; C5 reported after as_of; micro-needling only"),
    pytest.param("body_area", Filters(), [("face", 5, 2, 40.0), ("neck", 3, 2, 200 / 3)], id="body area"),
    pytest.param("depth_band", Filters(treatments=("Micro-needling",), body_areas=("neck",)),
                 [("1.0–1.5 mm", 1, 0, 0.0), ("1.5–2.0 mm", 1, 0, 0.0), ("> 2.0 mm", 1, 2, 200.0)], id="filtered"),
])
def test_complaint_rate_by_dimension(depths, dimension, filters, expected):
    frame = run(depths, "complaint_rate_by_dimension", filters, dimension=dimension)
    assert_rows(frame, COMPLAINT_RATE_COLUMNS, expected)


DEPTH_COLUMNS = ("body_area", "count_sessions", "count_without_depth", "depth_min_mm", "depth_q1_mm",
                 "depth_median_mm", "depth_q3_mm", "depth_max_mm", "depth_mean_mm")


def test_needle_depth_by_area(depths):
    # Micro-needling only (D8, a peel, is left out). face: 0.5, 0.51, 1.0 and D7 without a depth;
    # quartiles interpolate: q1 = 0.5 + 0.5·(0.51 − 0.5), q3 = 0.51 + 0.5·(1.0 − 0.51).
    # neck: 1.5, 2.0, 2.01. Deepest median first.
    assert_rows(run(depths, "needle_depth_by_area"), DEPTH_COLUMNS, [
        ("neck", 3, 0, 1.5, 1.75, 2.0, 2.005, 2.01, 5.51 / 3),
        ("face", 3, 1, 0.5, 0.505, 0.51, 0.755, 1.0, 2.01 / 3),
    ])


# ---------------------------------------------------------------- 2.3 / 2.7 rebooking by cohort, by dimension

COHORT_COLUMNS = ("month", "count_sessions", "count_eligible", "count_rebooked", "count_pending", "rebooking_rate",
                  "window_status")


def test_rebooking_by_cohort_month(build_db):
    # as_of 2025-06-15. Nov: both windows closed (one rebooked). Dec: 10 Dec + 6 months = 10 Jun has
    # closed (rebooked), 20 Dec's window is open: pending, though already rebooked. Jan: open, no rate yet.
    con = build_db(
        bookings=[booking("B1", "P1", "2025-01-05"), booking("B3", "P3", "2025-02-01"), booking("B4", "P4", "2025-02-01")],
        sessions=[session("C1", "P1", "2024-11-05"), session("C2", "P2", "2024-11-20"),
                  session("C3", "P3", "2024-12-10"), session("C4", "P4", "2024-12-20"),
                  session("C5", "P5", "2025-01-05"), session("C6", "P6", "2025-06-16")],  # C6: after as_of
    )
    assert_rows(run(con, "rebooking_by_cohort_month", as_of=d("2025-06-15")), COHORT_COLUMNS, [
        ("2024-11-01", 2, 2, 1, 0, 0.5, "closed"),
        ("2024-12-01", 2, 1, 1, 1, 1.0, "closing"),
        ("2025-01-01", 1, 0, 0, 1, None, "open"),
    ])


@pytest.fixture(scope="module")
def patient_types(export):
    """as_of 2025-06-30: every 2024 window has closed.

    P1: S1 2024-01-10 (first visit, rebooked by B2), S2 2024-03-10 (returning, not rebooked)
    P2: S3 face + S4 neck 2024-02-01 (first visit, both rebooked by B4), S5 2024-05-01 (returning)
    P4: S7 2024-04-01 (first visit, not rebooked)
    P3: S6 2025-06-01 (first visit, pending even though already rebooked by B7 on 2025-06-20)
    """
    return export(
        bookings=[booking("B1", "P1", "2024-01-10"), booking("B2", "P1", "2024-03-10"),
                  booking("B3", "P2", "2024-02-01"), booking("B4", "P2", "2024-05-01"),
                  booking("B5", "P4", "2024-04-01"), booking("B6", "P3", "2025-06-01"),
                  booking("B7", "P3", "2025-06-20")],
        sessions=[session("S1", "P1", "2024-01-10", booking_id="B1"), session("S2", "P1", "2024-03-10", booking_id="B2"),
                  session("S3", "P2", "2024-02-01", booking_id="B3"),
                  session("S4", "P2", "2024-02-01", booking_id="B3", body_area="neck"),
                  session("S5", "P2", "2024-05-01", booking_id="B4"),
                  session("S7", "P4", "2024-04-01", booking_id="B5"), session("S6", "P3", "2025-06-01", booking_id="B6")],
    )


REBOOKING_COLUMNS = ("dimension_value", "count_eligible", "count_rebooked", "count_pending", "rebooking_rate")


@pytest.mark.parametrize("dimension, filters, expected", [
    pytest.param("patient_type", Filters(), [("first_visit", 4, 3, 1, 0.75), ("returning", 2, 0, 0, 0.0)],
                 id="first_visit vs returning; a face-and-neck first day is two first-visit sessions"),
    pytest.param("patient_type", Filters(start=d("2024-03-01")), [("first_visit", 1, 0, 1, 0.0), ("returning", 2, 0, 0, 0.0)],
                 id="returning: by the first day in the export, not in the period"),
    pytest.param("body_area", Filters(), [("face", 5, 2, 1, 0.4), ("neck", 1, 1, 0, 1.0)], id="body area (SPEC 2.7)"),
    pytest.param("patient_type", Filters(start=d("2025-01-01")), [("first_visit", 0, 0, 1, None)],
                 id="only pending: no rate"),
])
def test_rebooking_by_dimension(patient_types, dimension, filters, expected):
    frame = run(patient_types, "rebooking_by_dimension", filters, dimension=dimension)
    assert_rows(frame, REBOOKING_COLUMNS, expected)


# ---------------------------------------------------------------- rebooking curve (Kaplan-Meier)

@pytest.fixture(scope="module")
def censored(export):
    """as_of 2025-06-30. Four sessions, each a different patient:

    A 2024-06-01: window closed (ends 2024-12-01, day 183); rebooked on day 30 (2024-07-01).
    B 2024-06-01: window closed, never rebooked: followed to day 183.
    C 2025-06-20: 10 days before as_of, not rebooked (yet): censored at day 10.
    D 2025-05-01: 60 days before as_of, rebooked on day 5 (2025-05-06): an event at day 5.
    """
    return export(
        bookings=[booking("BA", "PA", "2024-07-01"), booking("BD", "PD", "2025-05-06")],
        sessions=[session("A", "PA", "2024-06-01"), session("B", "PB", "2024-06-01"),
                  session("C", "PC", "2025-06-20"), session("D", "PD", "2025-05-01")],
    )


# Kaplan-Meier by hand: S(t) = Π over event days ≤ t of (1 − events / at risk).
#   day 5:  at risk 4 (A 30, B 183, C 10, D 5 all followed ≥ 5 days), 1 event (D)  S = 3/4
#   day 10: C censored (no event)                                                    S = 3/4
#   day 30: at risk 2 (A, B), 1 event (A)                                            S = 3/4 · 1/2 = 3/8
#   day 31-183: at risk 1 (B), no events; day 184: nobody left, no value.
# cumulative rebooking = 1 − S: 0 to day 4, 0.25 from day 5, 0.625 from day 30. Counting C as not
# rebooked would give 2/4 = 0.5; rebooking_6m gives 1/2 over the two closed windows.
@pytest.mark.parametrize("day, at_risk, rebooked_on_day, cumulative", [
    pytest.param(0, 4, 0, 0.0, id="day 0"),
    pytest.param(4, 4, 0, 0.0, id="day 4"),
    pytest.param(5, 4, 1, 0.25, id="day 5: D rebooked, 1 of 4"),
    pytest.param(10, 3, 0, 0.25, id="day 10: C still at risk on its last day"),
    pytest.param(11, 2, 0, 0.25, id="day 11: C censored, not counted as not rebooked"),
    pytest.param(30, 2, 1, 0.625, id="day 30: A rebooked, 1 of the 2 at risk"),
    pytest.param(183, 1, 0, 0.625, id="day 183: B's window closes"),
    pytest.param(184, 0, 0, None, id="day 184: nobody followed this long"),
])
def test_rebooking_curve_censoring(censored, day, at_risk, rebooked_on_day, cumulative):
    frame = run(censored, "rebooking_curve", dimension="all")
    assert len(frame) == 185 and set(frame["group_value"]) == {"All sessions"}
    row = frame.loc[frame["day"] == day].iloc[0]
    assert (row["count_at_risk"], row["count_rebooked_on_day"]) == (at_risk, rebooked_on_day)
    if cumulative is None:
        assert pd.isna(row["cumulative_rebooking_rate"])
    else:
        assert row["cumulative_rebooking_rate"] == pytest.approx(cumulative)
    assert (row["count_rebooked"], row["count_sessions"]) == (2, 4)


def test_rebooking_curve_with_every_window_closed_ends_at_the_six_month_rate(build_db):
    # 2024 sessions, as_of 2025-06-30: E1 rebooked on day 20, E2 on day 100, E3 and E4 never; the
    # earliest window closes on day 182, after the last rebooking, so the curve ends at 2 / 4.
    con = build_db(
        bookings=[booking("B1", "P1", "2024-01-30"), booking("B2", "P2", "2024-04-19")],
        sessions=[session("E1", "P1", "2024-01-10"), session("E2", "P2", "2024-01-10"),
                  session("E3", "P3", "2024-02-01"), session("E4", "P4", "2024-03-15")],
    )
    curve = run(con, "rebooking_curve", dimension="all")
    known = curve.dropna(subset=["cumulative_rebooking_rate"])
    assert known["day"].max() == 184  # E4: 15 Mar + 6 months = 15 Sep, 184 days
    assert curve.loc[curve["day"] == 20, "cumulative_rebooking_rate"].iloc[0] == pytest.approx(0.25)
    assert curve.loc[curve["day"] == 100, "cumulative_rebooking_rate"].iloc[0] == pytest.approx(0.5)
    six_months = run(con, "rebooking_6m").iloc[0]
    assert (six_months["count_eligible"], six_months["count_rebooked"], six_months["count_pending"]) == (4, 2, 0)
    assert known["cumulative_rebooking_rate"].iloc[-1] == pytest.approx(six_months["rebooking_rate"]) == 0.5


def test_rebooking_curve_groups(patient_types):
    everything = run(patient_types, "rebooking_curve", dimension="body_area")
    assert sorted(set(everything["group_value"])) == ["face", "neck"]
    face = run(patient_types, "rebooking_curve", dimension="body_area", groups=("face",))
    assert set(face["group_value"]) == {"face"}
    # S1 (day 60), S3 (day 90) and S6 (day 19, its window still open) are rebooked.
    assert (face["count_sessions"].iloc[0], face["count_rebooked"].iloc[0]) == (6, 3)
    pd.testing.assert_frame_equal(face.reset_index(drop=True),
                                  everything[everything["group_value"] == "face"].reset_index(drop=True))


# ---------------------------------------------------------------- 2.8 recall list

@pytest.fixture(scope="module")
def recall(export):
    """as_of 2025-06-30. One patient per case; the 60-day patients were last seen on 2025-05-01."""
    return export(
        bookings=[
            booking("BA", "AHEAD", "2025-07-10", booked_at="2025-06-15", status="scheduled"),
            booking("BC", "CANCELLED", "2025-07-10", booked_at="2025-06-15", status="cancelled"),
            booking("BL", "LATE_BOOKING", "2025-07-10", booked_at="2025-07-01", status="scheduled"),
            booking("BO", "ON_AS_OF", "2025-06-30 17:00", booked_at="2025-06-01", status="scheduled"),
            booking("B91", "P9", "2025-03-01", booked_at="2025-02-01", concern="acne_scars", channel="Instagram"),
            booking("B92", "P9", "2025-04-01", booked_at="2025-03-15", concern="wrinkles", channel="Google Ads"),
            booking("B93", "P9", "2025-05-10", booked_at="2025-05-01", status="cancelled"),
        ],
        sessions=[
            session("S41", "R041", "2025-05-20"),
            session("S42", "R042", "2025-05-19"),
            session("S180", "R180", "2025-01-01"),
            session("S181", "R181", "2024-12-31"),
            session("SA", "AHEAD", "2025-05-01"),
            session("SC", "CANCELLED", "2025-05-01"),
            session("SL", "LATE_BOOKING", "2025-05-01"),
            session("SO", "ON_AS_OF", "2025-05-01"),
            session("SS1", "LATER_SESSION", "2025-05-01"), session("SS2", "LATER_SESSION", "2025-07-05"),
            session("S91", "P9", "2025-03-01", treatment="Chemical peel", body_area="neck", location="South",
                    practitioner="Ben", booking_id="B91"),
            session("S92", "P9", "2025-04-01 10:00", location="North", practitioner="Ana", booking_id="B92"),
            session("S93", "P9", "2025-04-01 10:30", body_area="neck", location="North", practitioner="Cara",
                    booking_id="B92"),
            session("S101", "P10", "2025-03-01", location="North"),
            session("S102", "P10", "2025-04-01", location="South"),
        ],
    )


def _recalled(con, filters: Filters | None = None, as_of: date = AS_OF, **bounds) -> dict[str, int]:
    frame = run(con, "recall_list", filters, as_of=as_of, **bounds)
    return dict(zip(frame["patient_id"], frame["days_since"], strict=True))


@pytest.mark.parametrize("patient, days_since", [
    pytest.param("R041", None, id="41 days: too soon"),
    pytest.param("R042", 42, id="42 days: due"),
    pytest.param("R180", 180, id="180 days: due"),
    pytest.param("R181", None, id="181 days: past the window"),
    pytest.param("AHEAD", None, id="a future booking excludes"),
    pytest.param("CANCELLED", 60, id="a cancelled future booking does not exclude"),
    pytest.param("LATE_BOOKING", 60, id="a booking booked after as_of does not exclude"),
    pytest.param("ON_AS_OF", 60, id="an appointment on as_of is not ahead"),
    pytest.param("LATER_SESSION", 60, id="a session after as_of does not move the last visit"),
])
def test_recall_bounds_and_booking_ahead(recall, patient, days_since):
    assert _recalled(recall).get(patient) == days_since


def test_recall_list_order(recall):
    # Longest since first, then patient id.
    assert list(_recalled(recall)) == ["R180", "P10", "P9", "CANCELLED", "LATER_SESSION", "LATE_BOOKING", "ON_AS_OF",
                                       "R042"]


@pytest.mark.parametrize("bounds, as_of, expected", [
    pytest.param({"min_days": 41, "max_days": 181}, AS_OF,
                 {"R041", "R042", "R180", "R181", "P9", "P10", "CANCELLED", "LATE_BOOKING", "ON_AS_OF", "LATER_SESSION"},
                 id="bounds widened: 41 and 181 in; AHEAD still out"),
    pytest.param({"min_days": 90, "max_days": 200}, AS_OF, {"P9", "P10", "R180", "R181"}, id="bounds moved"),
    pytest.param({"min_days": 60, "max_days": 60}, AS_OF, {"CANCELLED", "LATE_BOOKING", "ON_AS_OF", "LATER_SESSION"},
                 id="one day"),
    pytest.param({}, d("2025-06-29"), {"R180", "R181", "P9", "P10", "CANCELLED", "LATE_BOOKING", "LATER_SESSION"},
                 id="an earlier as_of: 41 and 179-180 days; ON_AS_OF's appointment is ahead"),
])
def test_recall_settable_bounds(recall, bounds, as_of, expected):
    assert set(_recalled(recall, as_of=as_of, **bounds)) == expected


RECALL_COLUMNS = ("patient_id", "last_session_date", "days_since", "treatments", "body_areas", "locations",
                  "practitioners", "count_sessions_to_date", "concern", "channel")


def test_recall_list_shows_the_last_visit(recall):
    frame = run(recall, "recall_list")
    p9 = frame[frame["patient_id"] == "P9"]
    # The last day's two sessions (face and neck, at North with Ana and Cara); 3 sessions to date;
    # concern and channel from the latest booking that has them (B93, cancelled, has neither).
    assert rows(p9, *RECALL_COLUMNS) == [("P9", "2025-04-01", 90, "Micro-needling", "face, neck", "North", "Ana, Cara",
                                          3, "wrinkles", "google_ads")]
    r042 = frame[frame["patient_id"] == "R042"]
    assert rows(r042, "count_sessions_to_date", "concern", "channel", "locations") == [(1, "unknown", "unknown", None)]



@pytest.mark.parametrize("as_of, expected", [
    pytest.param(AS_OF, 1, id="a session after as_of is not one to date"),
    pytest.param(d("2025-07-05"), 2, id="on as_of it is"),
])
def test_recall_sessions_to_date(recall, as_of, expected):
    frame = run(recall, "recall_list", as_of=as_of, min_days=0)
    assert rows(frame[frame["patient_id"] == "LATER_SESSION"], "count_sessions_to_date") == [(expected,)]


OTHER_DAY = date(1900, 1, 1)  # an export_date that is not the as-of date: recall_list works the list out


@pytest.mark.parametrize("filters, bounds, selects", [
    pytest.param(None, {}, True, id="default bounds"),
    pytest.param(None, {"min_days": 0, "max_days": 400}, True, id="everyone without a booking ahead"),
    pytest.param(Filters(locations=("North",)), {"min_days": 0, "max_days": 400}, True, id="a location"),
    pytest.param(Filters(practitioners=("Cara",)), {"min_days": 0, "max_days": 400}, True,
                 id="any session of the last day"),
    pytest.param(Filters(practitioners=("Ana",), body_areas=("neck",)), {"min_days": 0, "max_days": 400}, False,
                 id="both filters on one session of the day, not one each (P9: face with Ana, neck with Cara)"),
    pytest.param(Filters(concerns=("wrinkles",), treatments=("Micro-needling",)), {"min_days": 0, "max_days": 400},
                 True, id="concern and treatment"),
    pytest.param(Filters(locations=()), {"min_days": 0, "max_days": 400}, False, id="nothing selected"),
])
def test_recall_at_the_export_date_is_the_list_worked_out(recall, filters, bounds, selects):
    """At the export's date (the dashboard's default) recall_list reads fct_last_visits, built at load; it
    gives the rows the general branch works out from the sessions and bookings."""
    export_date = default_as_of(recall)
    built = run(recall, "recall_list", filters, as_of=export_date, **bounds)
    worked_out = run(recall, "recall_list", filters, as_of=export_date, export_date=OTHER_DAY, **bounds)
    pd.testing.assert_frame_equal(built, worked_out)
    assert bool(len(worked_out)) == selects


@pytest.mark.parametrize("max_rows", [None, 1, 3, 100])
@pytest.mark.parametrize("at_export", [False, True], ids=["as of an earlier day", "as of the export's date"])
def test_recall_first_rows_count_them_all(recall, max_rows, at_export):
    """The page asks for the rows its table shows ($max_rows); count_patients_due is the whole list's length."""
    as_of = default_as_of(recall) if at_export else AS_OF
    every = run(recall, "recall_list", as_of=as_of, min_days=0)
    first = run(recall, "recall_list", as_of=as_of, min_days=0, max_rows=max_rows)
    assert len(every) > 3
    columns = list(every.columns)
    assert rows(first, *columns) == rows(every.head(len(every) if max_rows is None else max_rows), *columns)
    assert set(first["count_patients_due"]) == {len(every)}


@pytest.mark.parametrize("last_day, expected", [
    pytest.param([("face", "North", "Ana")], ("face", "North", "Ana"), id="one session"),
    pytest.param([("face", "North", "Ana"), ("face", "North", "Ana")], ("face", "North", "Ana"),
                 id="two alike: each once"),
    pytest.param([("neck", None, "Ana"), ("face", "North", "Ana")], ("face, neck", "North", "Ana"),
                 id="two areas, one location missing"),
    pytest.param([("face", None, None), ("face", None, None)], ("face", None, None), id="none recorded"),
    pytest.param([("face", "South", "Ana"), ("face", "North", "Ana")], ("face", "North, South", "Ana"),
                 id="two locations, the rest alike"),
    pytest.param([("face", "North", "Ana"), ("face", "North", "Cara")], ("face", "North", "Ana, Cara"),
                 id="two practitioners, the rest alike"),
])
def test_the_last_visit_lists_each_value_once(export, last_day, expected):
    sessions = [session("S0", "P1", "2025-01-10", location="South", practitioner="Cara")] + [
        session(f"S{i}", "P1", "2025-05-01", body_area=area, location=location, practitioner=practitioner)
        for i, (area, location, practitioner) in enumerate(last_day, start=1)]
    con = export(sessions=sessions)
    export_date = default_as_of(con)
    built = run(con, "recall_list", as_of=export_date, min_days=0)
    assert rows(built, "body_areas", "locations", "practitioners") == [expected]
    pd.testing.assert_frame_equal(built, run(con, "recall_list", as_of=export_date, min_days=0, export_date=OTHER_DAY))


def test_recall_at_the_export_date_reads_fct_last_visits(export):
    con = export(bookings=[booking("B1", "P1", "2025-05-01", booked_at="2025-04-01")],
                 sessions=[session("S1", "P1", "2025-05-01", booking_id="B1"), session("S2", "P2", "2025-06-30")])
    export_date = default_as_of(con)
    con.execute("delete from fct_last_visits where patient_id = 'P1'")
    assert list(run(con, "recall_list", as_of=export_date, min_days=0)["patient_id"]) == ["P2"]
    assert list(run(con, "recall_list", as_of=export_date, min_days=0, export_date=OTHER_DAY)["patient_id"]) \
        == ["P1", "P2"]

@pytest.mark.parametrize("filters, expected", [
    pytest.param(Filters(locations=("North",)), ["P9"], id="by the location of the last visit (P10 moved South)"),
    pytest.param(Filters(locations=("South",)), ["P10"], id="P9's earlier South visit does not count"),
    pytest.param(Filters(practitioners=("Cara",)), ["P9"], id="any session of the last day"),
    pytest.param(Filters(treatments=("Chemical peel",)), [], id="P9's peel was not the last visit"),
    pytest.param(Filters(concerns=("wrinkles",)), ["P9"], id="concern of the last visit's booking"),
    pytest.param(Filters(start=d("2025-06-01"), end=d("2025-06-10"), locations=("North",)), ["P9"],
                 id="the period does not apply"),
])
def test_recall_list_filters(recall, filters, expected):
    assert list(_recalled(recall, filters)) == expected


# ---------------------------------------------------------------- 2.9 complaint control chart (u-chart)

def _control_export(export):
    """Sessions one a day per month, each followed by its complaints two days later.

    March 16 sessions, 8 complaints; April 16 sessions, 16 complaints; May 4 sessions, 12 complaints
    (3 each). Noise: a complaint on a March session reported after as_of, one with no session.
    """
    sessions, complaints = [], []
    for month, count_sessions, per_session in (("03", 16, [1] * 8 + [0] * 8), ("04", 16, [1] * 16),
                                               ("05", 4, [3] * 4)):
        for day in range(1, count_sessions + 1):
            sid, performed = f"S{month}{day:02}", date(2025, int(month), day)
            sessions.append(session(sid, f"P{month}{day:02}", performed.isoformat()))
            for k in range(per_session[day - 1]):
                complaints.append(complaint(f"C{month}{day:02}{k}", f"P{month}{day:02}",
                                            (performed + timedelta(days=2)).isoformat(), session_id=sid))
    complaints.append(complaint("LATE", "P0301", "2025-07-05", session_id="S0301"))
    complaints.append(complaint("NONE", "P99", "2025-05-10", category="pain"))
    return export(sessions=sessions, complaints=complaints)


@pytest.fixture(scope="module")
def control(export):
    return _control_export(export)


CONTROL_COLUMNS = ("month", "count_sessions", "count_complaints", "complaints_per_100", "centre_per_100",
                   "upper_limit_per_100", "lower_limit_per_100", "is_signal", "is_collecting")

U_APRIL = 1.4  # the centre from April on


# u = Σc / Σn = (8 + 16 + 12) / (16 + 16 + 4) = 36 / 36 = 1 complaint per session.
#   n = 16: UCL = 1 + 3·sqrt(1/16) = 1.75, LCL = max(0, 1 − 0.75) = 0.25
#   n = 4:  UCL = 1 + 3·sqrt(1/4)  = 2.5,  LCL = max(0, 1 − 1.5)  = 0
#   March 8/16 = 0.5, April 1.0: inside. May 12/4 = 3.0 > 2.5: signals.
# From April only: u = 28/20 = 1.4; April UCL = 1.4 + 3·sqrt(1.4/16), LCL = 1.4 − 3·sqrt(1.4/16);
#   May UCL = 1.4 + 3·sqrt(1.4/4) = 3.17 > 3.0: the same May does not signal against that centre.
@pytest.mark.parametrize("filters, expected", [
    pytest.param(Filters(), [
        ("2025-03-01", 16, 8, 50.0, 100.0, 175.0, 25.0, False, False),
        ("2025-04-01", 16, 16, 100.0, 100.0, 175.0, 25.0, False, False),
        ("2025-05-01", 4, 12, 300.0, 100.0, 250.0, 0.0, True, False),
    ], id="limits by hand; LCL clamped at 0; May signals"),
    pytest.param(Filters(start=d("2025-04-01")), [
        ("2025-04-01", 16, 16, 100.0, 140.0, 100 * (U_APRIL + 3 * math.sqrt(U_APRIL / 16)),
         100 * (U_APRIL - 3 * math.sqrt(U_APRIL / 16)), False, False),
        ("2025-05-01", 4, 12, 300.0, 140.0, 100 * (U_APRIL + 3 * math.sqrt(U_APRIL / 4)), 0.0, False, False),
    ], id="the centre is over the chart's months"),
])
def test_complaints_control(control, filters, expected):
    assert_rows(run(control, "complaints_control", filters), CONTROL_COLUMNS, expected)


@pytest.mark.parametrize("as_of, collecting", [
    pytest.param(d("2025-06-13"), True, id="May ended 13 days before as_of: still collecting"),
    pytest.param(d("2025-06-14"), False, id="14 days: complete"),
])
def test_complaints_control_still_collecting(control, as_of, collecting):
    frame = run(control, "complaints_control", as_of=as_of)
    assert dict(zip(frame["month"].dt.strftime("%m"), frame["is_collecting"], strict=True)) == {
        "03": False, "04": False, "05": collecting}
    assert frame["count_complaints"].tolist() == [8, 16, 12]  # every complaint reported by 2025-05-06


# ---------------------------------------------------------------- complaints: severity, timing, resolution

@pytest.fixture(scope="module")
def aftercare(export):
    """as_of 2025-06-30; S1 and S2 performed 2025-06-01."""
    return export(
        sessions=[session("S1", "P1", "2025-06-01", location="North"), session("S2", "P2", "2025-06-01", location="South")],
        complaints=[
            complaint("K1", "P1", "2025-06-05 09:00", session_id="S1", severity="mild", resolved_at="2025-06-10 17:00"),
            complaint("K2", "P1", "2025-06-06", session_id="S1", severity="Moderate", resolved_at="2025-06-18"),
            complaint("K3", "P2", "2025-06-06", session_id="S2", resolved_at="2025-07-05"),
            complaint("K4", "P2", "2025-06-03", session_id="S2", category="swelling", severity="severe"),
            complaint("K5", "P5", "2025-06-10", category="pain", severity="mild", resolved_at="2025-06-11"),
            complaint("K6", "P1", "2025-07-02", session_id="S1"),  # reported after as_of
        ],
    )


@pytest.mark.parametrize("filters, expected", [
    pytest.param(Filters(), [("pain", "mild", 1), ("prolonged_redness", "mild", 1), ("prolonged_redness", "moderate", 1),
                             ("prolonged_redness", "not_recorded", 1), ("swelling", "severe", 1)],
                 id="missing severity reads not_recorded; K6 reported after as_of"),
    pytest.param(Filters(locations=("South",)), [("prolonged_redness", "not_recorded", 1), ("swelling", "severe", 1)],
                 id="by the session's location; the unlinked K5 drops out"),
])
def test_complaints_by_severity(aftercare, filters, expected):
    assert rows(run(aftercare, "complaints_by_severity", filters), "category", "severity", "count_complaints") == expected


def test_complaint_timing(aftercare):
    # Days from the session's day to the day reported: K4 day 2; K1 day 4 (within normal healing);
    # K2 and K3 day 5 (after it). K5 has no session; K6 is reported after as_of.
    frame = run(aftercare, "complaint_timing")
    assert rows(frame, "category", "days_after_session", "is_after_normal_healing", "count_complaints") == [
        ("prolonged_redness", 4, False, 1), ("prolonged_redness", 5, True, 2), ("swelling", 2, False, 1)]


RESOLUTION_COLUMNS = ("category", "count_complaints", "count_open", "count_resolved", "median_days_to_resolve",
                      "max_days_to_resolve")


@pytest.mark.parametrize("as_of, expected", [
    pytest.param(AS_OF, [("prolonged_redness", 3, 1, 2, 8.5, 12), ("pain", 1, 0, 1, 1.0, 1),
                         ("swelling", 1, 1, 0, None, None)],
                 id="resolved after as_of counts as open; days between the days (K1: 5, K2: 12)"),
    pytest.param(d("2025-07-05"), [("prolonged_redness", 4, 1, 3, 12.0, 29), ("pain", 1, 0, 1, 1.0, 1),
                                   ("swelling", 1, 1, 0, None, None)],
                 id="a later as_of: K3 resolved (29 days), K6 reported and open"),
])
def test_complaint_resolution(aftercare, as_of, expected):
    assert_rows(run(aftercare, "complaint_resolution", as_of=as_of), RESOLUTION_COLUMNS, expected)


# ---------------------------------------------------------------- 2.5 / 2.11 consumables

@pytest.fixture(scope="module")
def supplies(export):
    """as_of 2025-06-30.

    S1 05-10 Micro-needling face North: tip L1 1 x 4.50, " Topical numbing gel " 2 ml x 1.25
    S2 06-02 Micro-needling neck South: gel 3 g x 1.00, gel 1 ml (category other, no cost), tip L2 1 x 4.50
    S3 06-03 Chemical peel face South: gel 4 ml x 1.25
    S5 06-04 Chemical peel face South: nothing recorded
    S6 06-05 Chemical peel face North: gel 5 g x 1.00
    S4 07-01 (after as_of): tip 1 x 4.50;  S9: not a loaded session: tip 1 x 4.50
    """
    return export(
        sessions=[session("S1", "P1", "2025-05-10", location="North"),
                  session("S2", "P2", "2025-06-02", body_area="neck", location="South"),
                  session("S3", "P3", "2025-06-03", treatment="Chemical peel", location="South"),
                  session("S5", "P5", "2025-06-04", treatment="Chemical peel", location="South"),
                  session("S6", "P6", "2025-06-05", treatment="Chemical peel", location="North"),
                  session("S4", "P4", "2025-07-01")],
        consumables=[
            consumable("S1", unit_cost="4.50", lot="L1"),
            consumable("S1", f" {GEL} ", category="numbing", quantity="2", unit="ml", unit_cost="1.25"),
            consumable("S2", GEL, category="numbing", quantity="3", unit="g", unit_cost="1.00"),
            consumable("S2", GEL, category="other", quantity="1", unit="ml"),
            consumable("S2", unit_cost="4.50", lot="L2"),
            consumable("S3", GEL, category="numbing", quantity="4", unit="ml", unit_cost="1.25"),
            consumable("S6", GEL, category="numbing", quantity="5", unit="g", unit_cost="1.00"),
            consumable("S4", unit_cost="4.50"),
            consumable("S9", unit_cost="4.50"),
        ],
    )


ITEM_COLUMNS = ("item", "category", "unit", "quantity", "cost", "count_uncosted_lines", "count_sessions", "count_lots")


@pytest.mark.parametrize("filters, expected", [
    pytest.param(Filters(), [(GEL, "numbing", "g, ml", 15.0, 15.5, 1, 4, 0), (TIP, "needle_tip", "each", 2.0, 9.0, 0, 2, 2)],
                 id="one row per trimmed item, over two units and two categories"),
    pytest.param(Filters(locations=("North",)), [(GEL, "numbing", "g, ml", 7.0, 7.5, 0, 2, 0),
                                                 (TIP, "needle_tip", "each", 1.0, 4.5, 0, 1, 1)], id="filtered"),
])
def test_consumables_by_item_groups_by_item(supplies, filters, expected):
    assert_rows(run(supplies, "consumables_by_item", filters), ITEM_COLUMNS, expected)


# fct_consumables keeps its few-valued text as ENUMs (marts/fct_consumables_types.sql); queries give text.
ENUM_COLUMNS = {"item": "consumable_item", "category": "consumable_category", "unit": "consumable_unit",
                **{column: f"session_{column}" for column in ("location", "practitioner", "treatment", "body_area",
                                                              "concern")}}


def test_the_consumables_mart_keeps_few_valued_text_as_enums(supplies):
    types = dict(supplies.execute("select column_name, data_type from duckdb_columns() "
                                  "where table_name = 'fct_consumables'").fetchall())
    assert {column for column, kind in types.items() if kind.startswith("ENUM")} == set(ENUM_COLUMNS)
    # Each one's values in text order, so that ordering by the column orders by its text.
    for column, type_name in ENUM_COLUMNS.items():
        values = supplies.execute(f"select enum_range(null::{type_name})").fetchone()[0]
        held = supplies.execute(f"select distinct {column}::varchar from fct_consumables").fetchall()
        assert values == sorted(values)
        assert {value for (value,) in held} - {None} <= set(values)


@pytest.mark.parametrize("values", [["b", "a", None], [None, None], ["a"], []],
                         ids=["values-and-null", "all-null", "one", "no-rows"])
def test_as_text_gives_an_enum_as_duckdb_gives_text(values):
    con = duckdb.connect()
    con.execute("create type letter as enum ('a', 'b'); create table t (position integer, e letter, v varchar)")
    for row in enumerate(values):
        con.execute("insert into t values (?, ?, ?)", [*row, row[1]])
    as_enum = con.execute("select e as x from t order by position").df()
    as_varchar = con.execute("select v as x from t order by position").df()
    assert isinstance(as_enum["x"].dtype, pd.CategoricalDtype)
    pd.testing.assert_frame_equal(as_text(as_enum), as_varchar)


@pytest.mark.parametrize("name, columns", [
    ("consumables_by_item", ("item", "category")),
    ("consumables_by_item_month", ("item",)),
    ("numbing_by_area", ("body_area", "unit")),
])
def test_queries_over_enums_give_text_as_the_other_queries_do(supplies, name, columns):
    frame = run(supplies, name)
    text = run(supplies, "sessions_by_body_area")["body_area"].dtype  # a VARCHAR column's
    assert len(frame)
    for column in columns:
        assert frame[column].dtype == text, column


@pytest.mark.parametrize("categories, expected", [
    pytest.param(["other", "numbing", "other"], "other", id="the most common category"),
    pytest.param(["other", "numbing"], "numbing", id="a tie: the first alphabetically"),
    pytest.param(["other", "numbing", "numbing", "other"], "numbing", id="a tie over two sessions each"),
])
def test_consumables_by_item_gives_an_item_its_most_common_category(export, categories, expected):
    con = export(sessions=[session(f"S{i}", f"P{i}", "2025-05-10") for i in range(len(categories))],
                 consumables=[consumable(f"S{i}", GEL, category=c, unit="ml") for i, c in enumerate(categories)])
    assert rows(run(con, "consumables_by_item"), "item", "category", "count_sessions") == [
        (GEL, expected, len(categories))]


@pytest.mark.parametrize("grain, expected", [
    pytest.param("month", [("2025-05-01", TIP, 1.0, 4.5, 0), ("2025-05-01", GEL, 2.0, 2.5, 0),
                           ("2025-06-01", TIP, 1.0, 4.5, 0), ("2025-06-01", GEL, 13.0, 13.0, 1)], id="month"),
    pytest.param("week", [("2025-05-05", TIP, 1.0, 4.5, 0), ("2025-05-05", GEL, 2.0, 2.5, 0),
                          ("2025-06-02", TIP, 1.0, 4.5, 0), ("2025-06-02", GEL, 13.0, 13.0, 1)],
                 id="week: Saturday 10 May is in the week of Monday 5 May"),
])
def test_consumables_by_item_month(supplies, grain, expected):
    frame = run(supplies, "consumables_by_item_month", grain=grain)
    assert_rows(frame, ("period_start", "item", "quantity", "cost", "count_uncosted_lines"), expected)


@pytest.mark.parametrize("dimension, expected", [
    pytest.param("treatment", [("Micro-needling", 2, 14.5, 7.25, 1), ("Chemical peel", 3, 10.0, 10 / 3, 0)],
                 id="treatment: over all sessions, S5 with nothing recorded too"),
    pytest.param("location", [("North", 2, 12.0, 6.0, 0), ("South", 3, 12.5, 12.5 / 3, 1)], id="location"),
])
def test_consumable_cost_by_dimension(supplies, dimension, expected):
    frame = run(supplies, "consumable_cost_by_dimension", dimension=dimension)
    assert_rows(frame, ("dimension_value", "count_sessions", "cost", "cost_per_session", "count_uncosted_lines"),
                expected)


def test_numbing_by_area_per_unit(supplies):
    # face: 4 sessions (S1, S3, S5, S6); ml in S1 (2) and S3 (4); g in S6 (5). neck: S2, 3 g
    # (S2's ml line is category other, not numbing). Units never add up.
    assert_rows(run(supplies, "numbing_by_area"),
                ("body_area", "unit", "count_sessions", "count_sessions_with_numbing", "share_of_sessions", "quantity",
                 "quantity_per_session"),
                [("face", "g", 4, 1, 0.25, 5.0, 5.0), ("neck", "g", 1, 1, 1.0, 3.0, 3.0),
                 ("face", "ml", 4, 2, 0.5, 6.0, 3.0)])


@pytest.fixture(scope="module")
def repeated_lines(export):
    """One session's lines, several of the same item, lot, or category and unit (lines 2..8 of the file)."""
    return export(
        sessions=[session("S1", "P1", "2025-06-02"), session("S2", "P2", "2025-06-03")],
        consumables=[
            consumable("S1", TIP),                                    # 2: tip, no lot
            consumable("S1", TIP, lot="L1"),                          # 3: tip again, lotted
            consumable("S1", TIP, lot="L1"),                          # 4: tip, L1 again
            consumable("S1", "Serum", category="", unit="ml"),        # 5: no category, ml
            consumable("S1", "Serum B", category="", unit="ml"),      # 6: no category, ml again
            consumable("S2", TIP, lot="L1"),                          # 7: another session: firsts again
            consumable("S9", TIP, lot="L1"),                          # 8: no loaded session
        ],
    )


@pytest.mark.parametrize("line, first_of_item, first_of_lot, first_of_category_unit", [
    pytest.param(2, False, False, True, id="an unlotted line is not the first of an item that has a lotted line"),
    pytest.param(3, True, True, False, id="the first lotted line of the item is its first"),
    pytest.param(4, False, False, False, id="the same item and lot again"),
    pytest.param(5, True, False, True, id="no category: lines with none and the same unit are one group"),
    pytest.param(6, True, False, False, id="a second line with no category and the same unit"),
    pytest.param(7, True, True, True, id="another session counts on its own"),
    pytest.param(8, True, True, True, id="a line with no loaded session is the first of its own"),
])
def test_first_of_group_flags(repeated_lines, line, first_of_item, first_of_lot, first_of_category_unit):
    # The flags make "distinct sessions" a plain count: exactly one line per session and group is first.
    assert repeated_lines.execute(
        "select is_first_of_item_in_session, is_first_of_lot_in_session, is_first_of_category_unit_in_session "
        "from fct_consumables where source_line = ?", [line]).fetchall() == [
        (first_of_item, first_of_lot, first_of_category_unit)]


def sharing_a_bit(prefix: str) -> tuple[str, str]:
    """Two different values whose hashes set the same one of fct_consumables' 64 bits per session."""
    first, second = duckdb.connect().execute(
        "select list(v order by v)[1:2] from (select ? || i as v from range(500) as t(i)) "
        "group by hash(v) % 64 having count(*) > 1 order by 1 limit 1", [prefix]).fetchone()[0]
    return first, second


@pytest.fixture(scope="module")
def values_sharing_bits(export):
    """Session S1: two items and two lots, each pair different but sharing a bit (lines 2 and 3)."""
    (item_a, item_b), (lot_a, lot_b) = sharing_a_bit("Serum "), sharing_a_bit("L")
    return export(
        sessions=[session("S1", "P1", "2025-06-02")],
        consumables=[consumable("S1", item_a, lot=lot_a, category="serum", unit="ml"),
                     consumable("S1", item_b, lot=lot_b, category="serum", unit="ml")],
    )


@pytest.mark.parametrize("line", [2, 3])
def test_values_sharing_a_bit_are_still_each_the_first_of_their_own(values_sharing_bits, line):
    # The bits only pick the sessions to look at closely; the values themselves decide.
    assert values_sharing_bits.execute(
        "select is_first_of_item_in_session, is_first_of_lot_in_session, is_first_of_category_unit_in_session "
        "from fct_consumables where source_line = ?", [line]).fetchall() == [(True, True, line == 2)]


@pytest.fixture(scope="module")
def tips(export):
    """as_of 2025-06-30; T5 and T8 are peels (not micro-needling: T8 has no tip and is not missing one),
    T7 is after as_of."""
    return export(
        sessions=[session("T1", "P1", "2025-05-10", location="North", practitioner="Ana"),
                  session("T2", "P2", "2025-05-20", location="North", practitioner="Ben"),
                  session("T3", "P3", "2025-06-01", location="South", practitioner="Ana"),
                  session("T4", "P4", "2025-06-02", treatment="microneedling", location="South"),
                  session("T5", "P5", "2025-06-03", treatment="Chemical peel", location="South", practitioner="Ana"),
                  session("T6", "P6", "2025-06-04", treatment="MICRO-NEEDLING facial", location="South",
                          practitioner="Ana"),
                  session("T7", "P7", "2025-07-02", location="North", practitioner="Ana"),
                  session("T8", "P8", "2025-06-05", treatment="Chemical peel", location="South", practitioner="Ben")],
        consumables=[consumable("T1"), consumable("T2", GEL, category="numbing", unit="ml"), consumable("T3"),
                     consumable("T5"), consumable("T6")],
    )


TIP_COLUMNS = ("dimension_value", "count_micro_needling_sessions", "count_with_needle_tip", "count_without_needle_tip",
               "tip_compliance")


@pytest.mark.parametrize("dimension, expected", [
    pytest.param("month", [("2025-05", 2, 1, 1, 0.5), ("2025-06", 3, 2, 1, 2 / 3)], id="month"),
    pytest.param("location", [("North", 2, 1, 1, 0.5), ("South", 3, 2, 1, 2 / 3)], id="location"),
    pytest.param("practitioner", [("(not recorded)", 1, 0, 1, 0.0), ("Ana", 3, 3, 0, 1.0), ("Ben", 1, 0, 1, 0.0)],
                 id="practitioner"),
])
def test_tip_compliance_by_dimension(tips, dimension, expected):
    assert_rows(run(tips, "tip_compliance_by_dimension", dimension=dimension), TIP_COLUMNS, expected)


def test_sessions_missing_tip(tips):
    frame = run(tips, "sessions_missing_tip")
    assert rows(frame, "session_id", "performed_at", "location", "practitioner", "treatment", "count_consumable_lines") == [
        ("T4", "2025-06-02", "South", None, "microneedling", 0),
        ("T2", "2025-05-20", "North", "Ben", "Micro-needling", 1),
    ]


# ---------------------------------------------------------------- 2.10 lot trace

HA, VC = "Hyaluronic serum", "Vitamin C serum"


def _lot_export(export):
    """as_of 2025-06-30. Lots and the sessions using them (one patient per session):

    TIP  T-1: S01 (complaint reported 07-02, after as_of), S02 (lot written " T-1 "; 1 complaint)
    TIP  X-9: S03                       GEL X-9: S04 (1 complaint)   X-9 is one lot code on two items
    TIP  no lot: S05 (lot "", 1 complaint), S06 (lot "   ")
    GEL  G-1: S07
    HA   BAD: S10-S14, complaints on S10-S13 (4 in 5)      HA OK: S20-S39, a complaint on S20 (1 in 20)
    VC   VC-1: S40-S49, none                                VC VC-2: S50, S51, a complaint each (2 in 2)
    """
    sessions, consumables, complaints = [], [], []

    def use(sid: str, day: int, item: str, lot: str, complained: bool = False, **extra) -> None:
        sessions.append(session(sid, f"P{sid}", f"2025-05-{day:02}", location="North"))
        category = {TIP: "needle_tip", GEL: "numbing"}.get(item, "serum")
        consumables.append(consumable(sid, item, category=category, lot=lot, unit_cost="1", **extra))
        if complained:
            complaints.append(complaint(f"K{sid}", f"P{sid}", f"2025-05-{day + 2:02}", session_id=sid))

    use("S01", 1, TIP, "T-1")
    complaints.append(complaint("KS01", "PS01", "2025-07-02", session_id="S01"))
    use("S02", 2, TIP, " T-1 ", complained=True)
    use("S03", 3, TIP, "X-9")
    use("S04", 4, GEL, "X-9", complained=True, unit="ml")
    use("S05", 5, TIP, "", complained=True)
    use("S06", 6, TIP, "   ")
    use("S07", 7, GEL, "G-1", unit="ml")
    for i in range(5):
        use(f"S1{i}", 10 + i, HA, "BAD", complained=i < 4)
    for i in range(20):
        use(f"S{20 + i}", 1 + i, HA, "OK", complained=i == 0)
    for i in range(10):
        use(f"S{40 + i}", 1 + i, VC, "VC-1")
    use("S50", 1, VC, "VC-2", complained=True)
    use("S51", 2, VC, "VC-2", complained=True)
    return export(sessions=sessions, consumables=consumables, complaints=complaints)


@pytest.fixture(scope="module")
def lots(export):
    return _lot_export(export)


def _poisson_at_least(count: int, expected: float) -> float:
    return 1 - sum(math.exp(-expected) * expected**k / math.factorial(k) for k in range(count))


LOT_COLUMNS = ("lot", "items", "count_items", "count_sessions", "count_complaints", "complaints_per_100_sessions",
               "count_sessions_other_lots", "count_complaints_other_lots", "other_lots_complaints_per_100_sessions",
               "is_flagged")


def test_lot_trace(lots):
    # Other lots of the same item(s), sessions without a lot in neither side:
    #   T-1: TIP's other lots: S03, no complaint.  X-9: TIP's T-1 (S01, S02) and GEL's G-1 (S07): 1 in 3.
    #   G-1: GEL's X-9 (S04): 1 in 1.  BAD: OK, 1 in 20.  OK: BAD, 4 in 5.  VC-1: VC-2, 2 in 2.  VC-2: VC-1, 0 in 10.
    # Flagged: BAD, 4 complaints where 5 · 1/20 = 0.25 were expected (chance 1.3e-4 < 1/1000). VC-2's 2 in 2
    # against 0 elsewhere is as unlikely by chance, but 2 complaints are not enough.
    frame = run(lots, "lot_trace")
    assert_rows(frame, LOT_COLUMNS, [
        ("BAD", HA, 1, 5, 4, 80.0, 20, 1, 5.0, True),
        ("VC-2", VC, 1, 2, 2, 100.0, 10, 0, 0.0, False),
        ("T-1", TIP, 1, 2, 1, 50.0, 1, 0, 0.0, False),
        ("X-9", f"{TIP}, {GEL}", 2, 2, 1, 50.0, 3, 1, 100 / 3, False),
        ("OK", HA, 1, 20, 1, 5.0, 5, 4, 80.0, False),
        ("VC-1", VC, 1, 10, 0, 0.0, 2, 2, 100.0, False),
        ("G-1", GEL, 1, 1, 0, 0.0, 1, 1, 100.0, False),
    ])
    chance = dict(zip(frame["lot"], frame["chance_if_like_other_lots"], strict=True))
    assert chance["BAD"] == pytest.approx(_poisson_at_least(4, 0.25)) and chance["BAD"] < 0.001
    assert chance["VC-2"] == 0.0 and chance["VC-1"] == 1.0
    bad = frame[frame["lot"] == "BAD"]
    assert rows(bad, "count_patients", "first_used_on", "last_used_on", "locations") == [
        (5, "2025-05-10", "2025-05-14", "North")]


# lot_trace counts a lot's patients as bits when count_lots x patient_key_max bits fit its bound, else as
# lot and patient pairs: a count_lots forced past the bound takes the pairs.
BOTH_WAYS = [pytest.param(None, id="patients as bits"), pytest.param(10**9, id="patients as pairs")]


@pytest.mark.parametrize("count_lots", BOTH_WAYS)
def test_lot_trace_counts_a_patient_once_per_lot(export, count_lots):
    # P1 used lot A twice (North, then South) and lot B once; P2 used A once. Two lines of A in one session
    # (S1: a tip and a spare of the same lot) are one session.
    con = export(
        sessions=[session("S1", "P1", "2025-05-01", location="North"), session("S2", "P1", "2025-05-20", location="South"),
                  session("S3", "P2", "2025-05-03", location="North")],
        consumables=[consumable("S1", TIP, lot="A"), consumable("S1", TIP, lot="A"), consumable("S1", GEL, lot="B", unit="ml"),
                     consumable("S2", TIP, lot="A"), consumable("S3", TIP, lot="A")],
    )
    frame = run(con, "lot_trace", count_lots=count_lots)
    assert rows(frame.sort_values("lot"), "lot", "count_sessions", "count_patients", "first_used_on", "last_used_on",
                "locations") == [("A", 3, 2, "2025-05-01", "2025-05-20", "North, South"),
                                 ("B", 1, 1, "2025-05-01", "2025-05-01", "North")]


@pytest.mark.parametrize("count_lots", BOTH_WAYS)
@pytest.mark.parametrize("filters", [
    pytest.param(Filters(), id="everything"),
    pytest.param(Filters(end=d("2025-05-12")), id="a period"),
    pytest.param(Filters(locations=("North",)), id="a location"),
])
def test_lot_trace_is_the_same_either_way(lots, filters, count_lots):
    assert run(lots, "lot_trace", filters, count_lots=count_lots).equals(run(lots, "lot_trace", filters))


def test_lot_trace_reads_its_bound_from_load_meta(lots):
    assert lots.execute("select count_lots from load_meta").fetchone() == (7,)  # " T-1 " is T-1; "" and "   " no lot


@pytest.mark.parametrize("filters, as_of, expected", [
    pytest.param(Filters(), AS_OF, {"BAD": (5, 4, True), "OK": (20, 1, False)}, id="everything"),
    # 3 in 3 against 1 in 12 elsewhere: expected 0.25, P(X >= 3) = 1 - e^-0.25 (1 + 0.25 + 0.03125) = 0.0022.
    pytest.param(Filters(end=d("2025-05-12")), AS_OF, {"BAD": (3, 3, False), "OK": (12, 1, False)},
                 id="the period picks sessions: 3 in 3 is not unlikely enough (chance 0.002)"),
    pytest.param(Filters(), d("2025-05-13"), {"BAD": (4, 2, False), "OK": (13, 1, False)},
                 id="an earlier as_of: later sessions and complaints reported later are not counted"),
])
def test_lot_trace_period_and_as_of(lots, filters, as_of, expected):
    frame = run(lots, "lot_trace", filters, as_of=as_of)
    ha = frame[frame["items"] == HA]
    assert {row.lot: (row.count_sessions, row.count_complaints, row.is_flagged) for row in ha.itertuples()} == expected


@pytest.mark.parametrize("lot, expected", [
    pytest.param("T-1", [("S01", TIP, 0), ("S02", TIP, 1)],
                 id="a trimmed lot; S01's complaint is reported after as_of"),
    pytest.param("X-9", [("S03", TIP, 0), ("S04", GEL, 1)], id="one lot code, two items"),
    pytest.param("", [], id="no lot is not a lot"),
    pytest.param("NOPE", [], id="a lot not in the data"),
])
def test_lot_sessions(lots, lot, expected):
    assert rows(run(lots, "lot_sessions", lot=lot), "session_id", "items", "count_complaints") == expected


@pytest.mark.parametrize("lot, as_of, expected", [
    pytest.param("T-1", AS_OF, [("KS02", "S02", 2)], id="a complaint reported after as_of is not listed"),
    pytest.param("T-1", d("2025-07-02"), [("KS02", "S02", 2), ("KS01", "S01", 62)], id="it is once reported"),
    pytest.param("X-9", AS_OF, [("KS04", "S04", 2)], id="X-9"),
])
def test_lot_complaints(lots, lot, as_of, expected):
    frame = run(lots, "lot_complaints", lot=lot, as_of=as_of)
    assert rows(frame, "complaint_id", "session_id", "days_after_session") == expected


# ---------------------------------------------------------------- the lists' first rows ($max_rows)

@pytest.mark.parametrize("max_rows", [None, 1, 3, 100])
@pytest.mark.parametrize("fixture, name, extra", [
    pytest.param("lots", "lot_sessions", {"lot": "OK"}, id="lot_sessions: OK's 20 sessions"),
    pytest.param("lots", "lot_complaints", {"lot": "BAD"}, id="lot_complaints: BAD's 4 complaints"),
    pytest.param("lots", "lot_sessions", {"lot": "NOPE"}, id="lot_sessions: a lot not in the data, no rows"),
    pytest.param("tips", "sessions_missing_tip", {}, id="sessions_missing_tip: T4 and T2"),
])
def test_a_list_gives_its_first_rows_and_counts_them_all(request, fixture, name, extra, max_rows):
    """A page asks for the rows its table shows; the list's total column counts every row (recall_list: above)."""
    con = request.getfixturevalue(fixture)
    every = run(con, name, **extra)
    first = run(con, name, max_rows=max_rows, **extra)
    columns = list(every.columns)
    assert rows(first, *columns) == rows(every.head(len(every) if max_rows is None else max_rows), *columns)
    assert set(first[LIST_TOTALS[name]]) == ({len(every)} if len(every) else set())


def test_every_list_query_counts_its_rows():
    assert set(LIST_TOTALS) == {"recall_list", "lot_sessions", "lot_complaints", "sessions_missing_tip"}
    for name, column in LIST_TOTALS.items():
        assert "$max_rows" in query_sql(name) and column in query_sql(name), name


# ---------------------------------------------------------------- $dimension: only what DIMENSIONS allows

@pytest.mark.parametrize("name, dimension", [
    pytest.param("tip_compliance_by_dimension", "body_area", id="tip compliance by body area"),
    pytest.param("sessions_by_area_and_dimension", "body_area", id="area by area"),
    pytest.param("complaint_rate_by_dimension", "month", id="complaint rate by month"),
    pytest.param("rebooking_by_dimension", "all", id="rebooking by all"),
    pytest.param("sessions_by_dimension", "patient_type", id="sessions by patient type"),
    pytest.param("rebooking_curve", None, id="no dimension"),
    pytest.param("consumable_cost_by_dimension", "location'; drop table fct_sessions; --", id="not a name"),
])
def test_api_refuses_a_dimension_not_allowed(tips, name, dimension):
    extra = {} if dimension is None else {"dimension": dimension}
    with pytest.raises(ValueError, match=f"{name} groups by one of"):
        run(tips, name, **extra)


# The number each grouped query counts, over the `tips` export: 7 sessions up to as_of, 5 micro-needling.
_COUNTED = {
    "sessions_by_dimension": ("count_sessions", 7), "sessions_by_area_and_dimension": ("count_sessions", 7),
    "complaint_rate_by_dimension": ("count_sessions", 7), "consumable_cost_by_dimension": ("count_sessions", 7),
    "tip_compliance_by_dimension": ("count_micro_needling_sessions", 5),
}


@pytest.mark.parametrize("name, dimension", [
    pytest.param(name, dimension, id=f"{name} by {dimension}") for name, allowed in DIMENSIONS.items()
    for dimension in allowed
])
def test_every_allowed_dimension_counts_every_session_once(tips, name, dimension):
    frame = run(tips, name, dimension=dimension)
    assert not frame.empty
    if name == "rebooking_by_dimension":
        total = (frame["count_eligible"] + frame["count_pending"]).sum()
    elif name == "rebooking_curve":
        total = frame.groupby("group_value")["count_sessions"].first().sum()
    else:
        column, _ = _COUNTED[name]
        total = frame[column].sum()
    if (name, dimension) == ("complaint_rate_by_dimension", "depth_band"):
        assert total == 5  # needle depth: the micro-needling sessions only
        return
    assert total == _COUNTED.get(name, ("", 7))[1]  # rebooking: 7 sessions, eligible or pending


@pytest.mark.parametrize("other_sessions, flagged", [
    pytest.param(19, False, id="19 sessions with other lots: too few to know the usual rate"),
    pytest.param(20, True, id="20 sessions with other lots: 3 in 3 against 0 in 20 is flagged"),
])
def test_a_lot_is_flagged_only_against_enough_sessions_with_other_lots(build_db, other_sessions, flagged):
    count = 3 + other_sessions
    con = build_db(
        sessions=[session(f"S{i:02d}", f"P{i:02d}", "2025-05-10") for i in range(count)],
        consumables=[consumable(f"S{i:02d}", lot="SUSPECT" if i < 3 else "USUAL") for i in range(count)],
        complaints=[complaint(f"C{i}", f"P{i:02d}", "2025-05-12", session_id=f"S{i:02d}") for i in range(3)],
    )
    frame = run(con, "lot_trace").set_index("lot")
    assert frame.loc["SUSPECT", "chance_if_like_other_lots"] == 0.0  # nothing like it elsewhere, either way
    assert frame.loc["SUSPECT", "count_sessions_other_lots"] == other_sessions
    assert bool(frame.loc["SUSPECT", "is_flagged"]) is flagged
