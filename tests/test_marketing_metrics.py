"""The Demand page's queries (queries/sql/metrics/marketing), as tables of tiny hand-made exports and the figures
they must give (SPEC 2.6, 2.12, 2.13; docs/metrics.md "Marketing pages"). Each query returns its cells and every
total as grouping sets: a null concern / channel / month is "all of them". as_of is 2025-06-30 unless a case
says otherwise."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from conftest import booking, session, write_export

from queries.api import PRECOMPUTED_TABLE, Filters, as_text, bound_values, default_as_of, query_sql, run_query
from queries.load import load
from queries.report import build_report

AS_OF = date(2025, 6, 30)
ALL = None


def d(text: str) -> date:
    return date.fromisoformat(text)


def run(con, name: str, filters: Filters | None = None, *, as_of: date = AS_OF) -> pd.DataFrame:
    return run_query(con, name, filters, as_of=as_of)


def value(v):
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    return v.item() if hasattr(v, "item") else v


def rows(frame: pd.DataFrame, *columns: str) -> list[tuple]:
    return [tuple(value(v) for v in row) for row in frame[list(columns)].itertuples(index=False)]


def where(frame: pd.DataFrame, **dimensions) -> pd.DataFrame:
    """The rows whose dimensions equal the given values (ALL: the total over that dimension)."""
    mask = pd.Series(True, index=frame.index)
    for column, wanted in dimensions.items():
        mask &= frame[column].isna() if wanted is ALL else frame[column] == wanted
    return frame[mask]


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """Load an export written from rows, once per module: `export(bookings=[...], sessions=[...])`."""
    connections = []

    def build(bookings=(), sessions=()):
        folder = write_export(tmp_path_factory.mktemp("export"), bookings=list(bookings), sessions=list(sessions),
                              consumables=None, complaints=None)
        connections.append(load(folder).connection)
        return connections[-1]

    yield build
    for con in connections:
        con.close()


# ---------------------------------------------------------------- 2.13 consultation conversion: one case per location

# case: (consultation day, its status, the day it was made (None: 7 days before), treatment booked,
#        the patient's session day (None: none) and treatment, expected)
CONVERSION_CASES = {
    "day 90 converts": ("2025-01-01", "completed", None, "Consultation", "2025-04-01", "Micro-needling", "converted"),
    "day 91 does not": ("2025-01-01", "completed", None, "Consultation", "2025-04-02", "Micro-needling", "not_converted"),
    "same-day treatment converts": ("2025-01-01", "completed", None, "Consultation", "2025-01-01", "Chemical peel",
                                    "converted"),
    "a session before it does not": ("2025-01-10", "completed", None, "Consultation", "2025-01-09", "Micro-needling",
                                     "not_converted"),
    "no session": ("2025-01-01", "completed", None, "Consultation", None, None, "not_converted"),
    "a consultation session is no treatment": ("2025-01-01", "completed", None, "Consultation", "2025-01-20",
                                               "Consultation follow-up", "not_converted"),
    "consult in any case": ("2025-01-01", "completed", None, "Skin CONSULTATION", "2025-02-01", "Micro-needling",
                            "converted"),
    "cancelled: not a consultation": ("2025-01-01", "cancelled", None, "Consultation", "2025-01-10", "Micro-needling",
                                      "none"),
    "no-show: not a consultation": ("2025-01-01", "no_show", None, "Consultation", "2025-01-10", "Micro-needling",
                                    "none"),
    "another treatment booked: not a consultation": ("2025-01-01", "completed", None, "Micro-needling", "2025-01-10",
                                                     "Micro-needling", "none"),
    "booked after as_of, for later: not counted": ("2025-07-05", "completed", "2025-07-01", "Consultation",
                                                   "2025-07-10", "Micro-needling", "none"),
    "booked after as_of, dated before: not counted": ("2025-03-01", "completed", "2025-07-02", "Consultation",
                                                      "2025-03-10", "Micro-needling", "none"),
    "90 days end on as_of: eligible": ("2025-04-01", "completed", None, "Consultation", None, None, "not_converted"),
    "90 days end on as_of, treated: converted": ("2025-04-01", "completed", None, "Consultation", "2025-06-30",
                                                 "Micro-needling", "converted"),
    "89 days before as_of: pending, though treated": ("2025-04-02", "completed", None, "Consultation", "2025-04-10",
                                                      "Micro-needling", "pending"),
    "on as_of: pending": ("2025-06-30", "completed", None, "Consultation", None, None, "pending"),
}
OUTCOME = {"converted": (1, 1, 0, 0), "not_converted": (1, 0, 1, 0), "pending": (0, 0, 0, 1), "none": (0, 0, 0, 0)}


@pytest.fixture(scope="module")
def consultations(export):
    bookings, sessions = [], []
    for n, (case, (on, status, booked, treatment, session_on, session_treatment, _)) in enumerate(
            CONVERSION_CASES.items()):
        patient = f"P{n}"
        made = booked or (pd.Timestamp(on) - pd.Timedelta(days=7)).date().isoformat()
        bookings.append(booking(f"B{n}", patient, f"{on} 10:00", booked_at=made, treatment=treatment, status=status,
                                location=case, concern="acne_scars"))
        if session_on:
            sessions.append(session(f"S{n}", patient, f"{session_on} 15:00", treatment=session_treatment))
    # Another patient's treatment converts nobody.
    bookings.append(booking("BX", "PX", "2025-01-01", booked_at="2024-12-20", treatment="Consultation",
                            location="someone else treated", concern="acne_scars"))
    sessions.append(session("SX", "PY", "2025-01-05"))
    return export(bookings=bookings, sessions=sessions)


COUNTS = ("count_eligible", "count_converted", "count_not_converted", "count_pending")


@pytest.mark.parametrize("case", [*CONVERSION_CASES, "someone else treated"])
def test_consultation_conversion_window(consultations, case):
    expected = OUTCOME[CONVERSION_CASES[case][-1] if case in CONVERSION_CASES else "not_converted"]
    frame = run(consultations, "consultation_conversion", Filters(locations=(case,)))
    assert rows(where(frame, concern=ALL, channel=ALL), *COUNTS) == [expected]


def test_consultation_conversion_overall_rate(consultations):
    frame = run(consultations, "consultation_conversion")
    expected = [sum(OUTCOME[c[-1]][i] for c in CONVERSION_CASES.values()) for i in range(4)]
    expected[0] += 1
    expected[2] += 1  # someone else treated
    overall = where(frame, concern=ALL, channel=ALL).iloc[0]
    assert [int(overall[c]) for c in COUNTS] == expected == [10, 4, 6, 2]
    assert overall["conversion_rate"] == pytest.approx(4 / 10)


@pytest.fixture(scope="module")
def consultations_by_group(export):
    """Per concern and channel: concern missing reads unknown, channel spellings are one channel."""
    return export(bookings=[
        booking("B1", "P1", "2025-01-01", concern="acne_scars", channel="Google Ads", treatment="Consultation"),
        booking("B2", "P2", "2025-01-01", concern="acne_scars", channel="google-ads", treatment="Consultation"),
        booking("B3", "P3", "2025-01-01", concern="fine_lines", channel=" GOOGLE_ADS ", treatment="Consultation"),
        booking("B4", "P4", "2025-01-01", channel="", treatment="Consultation"),
        booking("B5", "P5", "2025-05-01", concern="acne_scars", channel="Instagram", treatment="Consultation"),
        booking("B6", "P1", "2025-02-01", concern="acne_scars", channel="Google Ads"),  # the treatment booked
    ], sessions=[
        session("S1", "P1", "2025-02-01", booking_id="B6"), session("S3", "P3", "2025-03-01"),
        session("S4", "P4", "2025-01-02"),
    ])


def test_consultation_conversion_by_concern_and_channel(consultations_by_group):
    frame = run(consultations_by_group, "consultation_conversion")
    assert rows(frame, "concern", "channel", *COUNTS, "conversion_rate") == [
        ("acne_scars", None, 2, 1, 1, 1, 0.5),
        ("fine_lines", None, 1, 1, 0, 0, 1.0),
        ("unknown", None, 1, 1, 0, 0, 1.0),
        (None, None, 4, 3, 1, 1, 0.75),
        (None, "google_ads", 3, 2, 1, 0, 2 / 3),
        (None, "instagram", 0, 0, 0, 1, None),
        (None, "unknown", 1, 1, 0, 0, 1.0),
    ]


def test_the_report_takes_conversion_from_the_same_query(consultations_by_group):
    figures = build_report(consultations_by_group, AS_OF)["consultation_conversion"]
    assert figures == {"eligible": 4, "converted": 3, "pending": 1, "rate": 0.75,
                       "by_concern": {"acne_scars": {"eligible": 2, "converted": 1},
                                      "fine_lines": {"eligible": 1, "converted": 1},
                                      "unknown": {"eligible": 1, "converted": 1}}}


# ---------------------------------------------------------------- 2.12 concern × channel: channel spellings

@pytest.fixture(scope="module")
def channels(export):
    return export(bookings=[
        booking("B1", "P1", "2025-06-10", booked_at="2025-06-01", concern="acne_scars", channel="Google Ads"),
        booking("B2", "P2", "2025-06-10", booked_at="2025-06-02", concern="acne_scars", channel="google-ads"),
        booking("B3", "P3", "2025-06-10", booked_at="2025-06-03", concern="acne_scars", channel=" GOOGLE_ADS "),
        booking("B4", "P4", "2025-06-10", booked_at="2025-06-04", concern="acne_scars", channel=""),
        booking("B5", "P5", "2025-06-10", booked_at="2025-06-05", status="cancelled", concern="Acne Scars",
                channel="Walk-In"),
        booking("B6", "P1", "2025-06-20", booked_at="2025-06-06", channel="Google Ads"),  # no concern
        booking("B7", "P6", "2025-07-10", booked_at="2025-07-01", concern="acne_scars", channel="instagram"),
    ])


def test_channel_spellings_are_one_channel(channels):
    frame = run(channels, "demand_by_concern_month_channel")
    cells = where(frame, month=ALL)
    assert rows(cells[cells["channel"].notna()], "concern", "channel", "count_bookings", "count_patients") == [
        ("acne_scars", "google_ads", 3, 3), ("unknown", "google_ads", 1, 1), (None, "google_ads", 4, 3),
        ("acne_scars", "unknown", 1, 1), (None, "unknown", 1, 1),
        ("acne_scars", "walk_in", 1, 1), (None, "walk_in", 1, 1),
    ]
    assert build_report(channels, AS_OF)["demand_by_concern_channel"] == {
        "acne_scars": {"google_ads": 3, "unknown": 1, "walk_in": 1}, "unknown": {"google_ads": 1}}


@pytest.mark.parametrize("filters, expected", [
    pytest.param(Filters(), 6, id="every booking made by as_of, any status"),
    pytest.param(Filters(start=d("2025-06-03"), end=d("2025-06-05")), 3, id="by the day made"),
    pytest.param(Filters(concerns=("unknown",)), 1, id="the concern filter"),
    pytest.param(Filters(body_areas=("neck",)), 6, id="bookings have no body area: that filter does not apply"),
    pytest.param(Filters(locations=()), 0, id="nothing matches: the grand total is 0"),
])
def test_demand_totals_follow_the_filters(channels, filters, expected):
    frame = run(channels, "demand_by_concern_month_channel", filters)
    assert rows(where(frame, month=ALL, concern=ALL, channel=ALL), "count_bookings") == [(expected,)]


# ---------------------------------------------------------------- bookings per month: share and partial months

@pytest.fixture(scope="module")
def months(export):
    return export(bookings=[
        booking("B1", "P1", "2025-05-20", booked_at="2025-05-10", concern="acne_scars"),  # before the period
        booking("B2", "P1", "2025-05-25", booked_at="2025-05-20", concern="acne_scars"),
        booking("B3", "P2", "2025-05-28", booked_at="2025-05-21", concern="wrinkles"),
        booking("B4", "P3", "2025-06-10", booked_at="2025-06-01", concern="acne_scars"),
        booking("B5", "P3", "2025-06-20", booked_at="2025-06-02", concern="acne_scars"),
        booking("B6", "P4", "2025-06-20", booked_at="2025-06-03", concern="acne_scars"),
        booking("B7", "P5", "2025-06-20", booked_at="2025-06-30", concern="wrinkles"),
    ])


def test_bookings_per_month_by_concern(months):
    frame = run(months, "demand_by_concern_month_channel", Filters(start=d("2025-05-15"), end=d("2025-06-30")))
    by_month = frame[frame["month"].notna()]
    assert rows(by_month, "month", "concern", "count_bookings", "count_patients", "share_of_month",
                "is_partial_month") == [
        ("2025-05-01", "acne_scars", 1, 1, 0.5, True),
        ("2025-05-01", "wrinkles", 1, 1, 0.5, True),
        ("2025-05-01", None, 2, 2, None, True),
        ("2025-06-01", "acne_scars", 3, 2, 0.75, False),
        ("2025-06-01", "wrinkles", 1, 1, 0.25, False),
        ("2025-06-01", None, 4, 3, None, False),
    ]


def test_a_patient_in_several_cells_counts_once_in_each_total(export):
    """The totals are rolled up from the cells; a patient is still one patient in a total (P1 books acne
    scars through Instagram and wrinkles through the website in June)."""
    con = export(bookings=[
        booking("B1", "P1", "2025-06-10", concern="acne_scars", channel="instagram"),
        booking("B2", "P1", "2025-06-12", concern="wrinkles", channel="website"),
        booking("B3", "P2", "2025-06-14", concern="acne_scars", channel="website"),
    ])
    frame = run(con, "demand_by_concern_month_channel", Filters(start=d("2025-06-01"), end=d("2025-06-30")))
    assert set(rows(frame, "month", "concern", "channel", "count_bookings", "count_patients")) == {
        ("2025-06-01", "acne_scars", None, 2, 2), ("2025-06-01", "wrinkles", None, 1, 1),
        ("2025-06-01", None, None, 3, 2),
        (None, "acne_scars", "instagram", 1, 1), (None, "acne_scars", "website", 1, 1),
        (None, "wrinkles", "website", 1, 1),
        (None, "acne_scars", None, 2, 2), (None, "wrinkles", None, 1, 1),
        (None, None, "instagram", 1, 1), (None, None, "website", 2, 2),
        (None, None, None, 3, 2),
    }


# ---------------------------------------------------------------- year over year, with the prior year partly missing

@pytest.fixture(scope="module")
def two_years(export):
    """The export starts on 2024-03-01 (its first booking made)."""
    made = [("2024-03-01", "acne_scars"), ("2024-06-15", "acne_scars"), ("2024-06-20", "fine_lines"),
            ("2025-02-01", "acne_scars"), ("2025-06-15", "acne_scars"), ("2025-06-20", "wrinkles")]
    return export(bookings=[booking(f"B{i}", f"P{i}", f"{day} 12:00", booked_at=day, concern=concern)
                            for i, (day, concern) in enumerate(made)])


YOY = ("concern", "count_bookings", "count_bookings_previous", "change_in_bookings", "change_rate")
COVERAGE = ("previous_start", "previous_end", "days_compared", "days_compared_in_data", "data_starts_on")


@pytest.mark.parametrize("start, end, expected, coverage", [
    pytest.param("2025-01-01", "2025-06-30",
                 [("acne_scars", 2, 2, 0, 0.0), ("fine_lines", 0, 1, -1, -1.0), ("wrinkles", 1, 0, 1, None),
                  (None, 3, 3, 0, 0.0)],
                 ("2024-01-01", "2024-06-30", 182, 122, "2024-03-01"),
                 id="the prior year partly missing: 122 of its 182 days are in the export"),
    pytest.param("2025-03-01", "2025-06-30",
                 [("acne_scars", 1, 2, -1, -0.5), ("fine_lines", 0, 1, -1, -1.0), ("wrinkles", 1, 0, 1, None),
                  (None, 2, 3, -1, -1 / 3)],
                 ("2024-03-01", "2024-06-30", 122, 122, "2024-03-01"), id="the prior year fully in the export"),
    pytest.param("2024-04-01", "2024-06-30",
                 [("acne_scars", 1, 0, 1, None), ("fine_lines", 1, 0, 1, None), (None, 2, 0, 2, None)],
                 ("2023-04-01", "2023-06-30", 91, 0, "2024-03-01"), id="the prior year wholly before the export"),
    pytest.param("2025-02-28", "2025-02-28", [(None, 0, 0, 0, None)],
                 ("2024-02-28", "2024-02-28", 1, 0, "2024-03-01"), id="a day before the export: nothing compared"),
])
def test_year_over_year_says_how_much_of_the_prior_year_is_in_the_export(two_years, start, end, expected, coverage):
    frame = run(two_years, "demand_by_concern_month_channel", Filters(start=d(start), end=d(end)))
    totals = where(frame, month=ALL, channel=ALL)
    assert rows(totals, *YOY) == expected
    assert set(rows(frame, *COVERAGE)) == {coverage}
    if coverage[3] < coverage[2]:  # the comparison rows are only on the concern totals
        assert frame.loc[frame["month"].notna(), "count_bookings_previous"].isna().all()


def test_year_over_year_from_a_leap_day(two_years):
    frame = run(two_years, "demand_by_concern_month_channel", Filters(start=d("2024-02-29"), end=d("2024-03-31")),
                as_of=d("2024-12-31"))
    assert set(rows(frame, *COVERAGE)) == {("2023-02-28", "2023-03-31", 32, 0, "2024-03-01")}


# ---------------------------------------------------------------- new patients: first booking in the export

@pytest.fixture(scope="module")
def first_bookings(export):
    return export(bookings=[
        booking("B1", "P1", "2025-01-10", booked_at="2025-01-05", concern="acne_scars", channel="website"),
        booking("B2", "P1", "2025-03-10", booked_at="2025-03-01", concern="wrinkles", channel="instagram"),
        booking("B3", "P2", "2025-03-10", booked_at="2025-03-01 09:00", concern="acne_scars", channel="website",
                location="North"),
        booking("B4", "P2", "2025-04-10", booked_at="2025-03-01 10:00", concern="wrinkles", channel="instagram",
                location="South"),
        booking("B5", "P3", "2025-05-10", booked_at="2025-05-01", status="cancelled", channel="Google Ads",
                location="South"),
        booking("B6", "P4", "2025-07-10", booked_at="2025-07-02", concern="acne_scars", channel="website"),
    ])


@pytest.mark.parametrize("filters, expected", [
    pytest.param(Filters(start=d("2025-02-01"), end=d("2025-06-30")),
                 [("acne_scars", "website", 1), ("acne_scars", None, 1), ("unknown", "google_ads", 1),
                  ("unknown", None, 1), (None, "google_ads", 1), (None, "website", 1), (None, None, 2)],
                 id="P1 booked first before the period; P2 once, by their first booking; a cancelled first "
                    "booking is still new; P4 first booked after as_of"),
    pytest.param(Filters(start=d("2025-01-01"), end=d("2025-06-30")),
                 [("acne_scars", "website", 2), ("acne_scars", None, 2), ("unknown", "google_ads", 1),
                  ("unknown", None, 1), (None, "google_ads", 1), (None, "website", 2), (None, None, 3)],
                 id="a longer period takes P1 in"),
    pytest.param(Filters(start=d("2025-02-01"), end=d("2025-06-30"), locations=("South",)),
                 [("unknown", "google_ads", 1), ("unknown", None, 1), (None, "google_ads", 1), (None, None, 1)],
                 id="the filters select the first booking: P2 was first booked at North"),
])
def test_new_patients_by_concern_and_channel(first_bookings, filters, expected):
    frame = run(first_bookings, "new_patients_by_concern_channel", filters)
    assert rows(frame, "concern", "channel", "count_new_patients") == expected


def test_a_first_booking_tie_goes_to_the_lower_booking_id_and_one_after_as_of_is_not_new(export):
    # fct_bookings flags each patient's first booking once, at load; as_of only filters.
    con = export(bookings=[
        booking("B8", "P1", "2025-03-10", booked_at="2025-03-01 09:00", concern="wrinkles", channel="website"),
        booking("B7", "P1", "2025-03-11", booked_at="2025-03-01 09:00", concern="acne_scars", channel="instagram"),
        booking("B9", "P2", "2025-08-10", booked_at="2025-08-01", concern="acne_scars", channel="website"),
    ])
    frame = run(con, "new_patients_by_concern_channel", Filters(start=d("2025-01-01"), end=d("2025-12-31")))
    assert rows(frame, "concern", "channel", "count_new_patients") == [
        ("acne_scars", "instagram", 1), ("acne_scars", None, 1), (None, "instagram", 1), (None, None, 1)]


# ---------------------------------------------------------------- concern × body area of the sessions

def test_sessions_by_concern_and_body_area(export):
    con = export(bookings=[
        booking("B1", "P1", "2025-06-01", concern="acne_scars"), booking("B2", "P2", "2025-06-02", concern="acne_scars"),
    ], sessions=[
        session("S1", "P1", "2025-06-01", booking_id="B1"), session("S2", "P1", "2025-06-01", booking_id="B1",
                                                                    body_area="neck"),
        session("S3", "P2", "2025-06-02", booking_id="B2"), session("S4", "P3", "2025-06-03", body_area="back"),
        session("S5", "P3", "2025-07-03", body_area="back"),  # after as_of
    ])
    frame = run(con, "sessions_by_concern_and_body_area")
    assert rows(frame, "concern", "body_area", "count_sessions", "count_patients", "share_of_concern") == [
        ("acne_scars", "face", 2, 2, 2 / 3), ("acne_scars", "neck", 1, 1, 1 / 3), ("acne_scars", None, 3, 2, None),
        ("unknown", "back", 1, 1, 1.0), ("unknown", None, 1, 1, None),
        (None, "back", 1, 1, 0.25), (None, "face", 2, 2, 0.5), (None, "neck", 1, 1, 0.25), (None, None, 4, 3, None),
    ]
    narrowed = run(con, "sessions_by_concern_and_body_area", Filters(body_areas=("neck",)))
    assert rows(where(narrowed, concern=ALL, body_area=ALL), "count_sessions") == [(1,)]


# ---------------------------------------------------------------- seasonality over complete months

def test_seasonality_counts_complete_months_only(export):
    """The export starts on 2024-01-10: January 2024 is not complete, so the months run Feb 2024 – May 2025
    (as_of 2025-06-29: June is not over). Feb–May are covered twice, every other month once."""
    made = ["2024-01-15", "2024-02-10", "2024-02-11", "2024-07-01", "2025-02-03", "2025-06-01"]
    con = export(bookings=[booking("B0", "P0", "2024-01-10", concern="wrinkles")] + [
        booking(f"B{i + 1}", f"P{i + 1}", day, concern="acne_scars") for i, day in enumerate(made)])
    frame = run(con, "demand_seasonality", as_of=d("2025-06-29"))
    acne = where(frame, concern="acne_scars")
    assert rows(acne, "month_of_year", "count_bookings", "months_covered", "average_per_month") == [
        (1, 0, 1, 0.0), (2, 3, 2, 1.5), (3, 0, 2, 0.0), (4, 0, 2, 0.0), (5, 0, 2, 0.0), (6, 0, 1, 0.0),
        (7, 1, 1, 1.0), (8, 0, 1, 0.0), (9, 0, 1, 0.0), (10, 0, 1, 0.0), (11, 0, 1, 0.0), (12, 0, 1, 0.0),
        (None, 4, 16, 0.25),
    ]
    assert acne["seasonal_index"].iloc[1] == pytest.approx(1.5 / 0.25)
    assert acne["seasonal_index"].iloc[6] == pytest.approx(1.0 / 0.25)
    assert rows(where(frame, concern=ALL, month_of_year=ALL), "first_month", "last_month", "count_bookings") == [
        ("2024-02-01", "2025-05-01", 4)]
    assert where(frame, concern="wrinkles").empty  # its one booking is in the incomplete first month


def test_seasonality_counts_a_patient_once_in_each_total(export):
    """P1 books acne scars in February and July and wrinkles in February: one patient in the acne total,
    in February's total and in the grand total. The export starts on 2024-01-01 (P9's booking)."""
    con = export(bookings=[
        booking("B0", "P9", "2024-01-01", concern="fine_lines"),
        booking("B1", "P1", "2024-02-10", concern="acne_scars"),
        booking("B2", "P1", "2024-07-10", concern="acne_scars"),
        booking("B3", "P1", "2024-02-12", concern="wrinkles"),
        booking("B4", "P2", "2024-02-14", concern="acne_scars"),
    ])
    frame = run(con, "demand_seasonality", as_of=d("2025-06-29"))
    counts = {(c, m): (b, p) for c, m, b, p in rows(frame, "concern", "month_of_year", "count_bookings",
                                                      "count_patients")}
    assert counts[("acne_scars", 2)] == (2, 2)
    assert counts[("acne_scars", 7)] == (1, 1)
    assert counts[("acne_scars", None)] == (3, 2)
    assert counts[(None, 2)] == (3, 2)
    assert counts[(None, None)] == (5, 3)


@pytest.mark.parametrize("filters, as_of, is_precomputed", [
    pytest.param(Filters(), None, True, id="the default view, as of the export's date with no filter: read"),
    pytest.param(Filters(start=d("2024-03-01"), end=d("2024-05-31")), None, True,
                 id="another period: the period does not enter it"),
    pytest.param(Filters(locations=("North",)), None, False, id="a location filter: computed"),
    pytest.param(Filters(concerns=("acne_scars",)), None, False, id="a concern filter: computed"),
    pytest.param(Filters(), d("2025-03-31"), False, id="another as-of date: computed"),
])
def test_seasonality_for_the_default_view_is_worked_out_at_load(export, filters, as_of, is_precomputed):
    """queries.api.PRECOMPUTED: the default view's result, built at load, is read only when a call binds
    exactly the values it was built with; either way the figures are the query's."""
    con = export(bookings=[
        booking("B0", "P0", "2024-01-01", concern="fine_lines", location="South"),
        booking("B1", "P1", "2024-02-10", concern="acne_scars", location="North"),
        booking("B2", "P2", "2024-07-10", concern="acne_scars", location="South"),
        booking("B3", "P1", "2025-04-12", concern="wrinkles", location="North"),
    ])
    assert default_as_of(con) == d("2025-04-12")
    name = "demand_seasonality"
    defined = as_text(con.execute(query_sql(name), bound_values(con, name, filters, as_of)).df())
    assert len(defined)
    pd.testing.assert_frame_equal(run_query(con, name, filters, as_of=as_of), defined)
    # Which one was read: the table built at load, shifted, shows through only where it is read.
    con.execute(f"update {PRECOMPUTED_TABLE.format(name=name)} set count_bookings = count_bookings + 1000")
    shifted = run_query(con, name, filters, as_of=as_of)
    expected = defined.assign(count_bookings=defined["count_bookings"] + 1000) if is_precomputed else defined
    pd.testing.assert_frame_equal(shifted, expected)

