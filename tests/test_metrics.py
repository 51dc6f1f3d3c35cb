"""SPEC §2 metric definitions, as tables of tiny hand-made exports and the figures they must give.

One test (or a few) per query file in queries/sql/metrics. Each row is a named
case; `run_query` is called exactly as the dashboard and the report call it.
"""

from __future__ import annotations

import math
import random
from datetime import date, timedelta

import pandas as pd
import pytest
from conftest import booking, complaint, consumable, session, write_export

from queries.api import Filters, default_as_of, query_names, run_query
from queries.load import load

NAN = math.nan
AS_OF = date(2025, 6, 30)

# Queries that describe the load rather than compute a SPEC §2 figure.
LOAD_QUERIES = {"data_quality", "load_meta", "load_rejects", "load_summary", "load_warnings"}
# Extra parameters a query needs besides the filters and as_of (a $dimension, the $lot traced).
EXTRA = {
    "sessions_by_dimension": {"dimension": "location"},
    "sessions_by_area_and_dimension": {"dimension": "location"},
    "rebooking_by_dimension": {"dimension": "body_area"},
    "rebooking_curve": {"dimension": "all"},
    "complaint_rate_by_dimension": {"dimension": "body_area"},  # depth bands count micro-needling only
    "consumable_cost_by_dimension": {"dimension": "body_area"},
    "tip_compliance_by_dimension": {"dimension": "location"},
    "lot_sessions": {"lot": "L1"},
    "lot_complaints": {"lot": "L1"},
}


def d(text: str) -> date:
    return date.fromisoformat(text)


def run(con, name: str, filters: Filters | None = None, *, as_of: date | None = AS_OF, **extra) -> pd.DataFrame:
    return run_query(con, name, filters, as_of=as_of, **{**EXTRA.get(name, {}), **extra})


def one_row(con, name: str, filters: Filters | None = None, *, as_of: date | None = AS_OF, **extra) -> dict:
    frame = run(con, name, filters, as_of=as_of, **extra)
    assert len(frame) == 1, frame
    return frame.iloc[0].to_dict()


def pick(row: dict, *columns: str) -> tuple:
    return tuple(row[c] for c in columns)


def counted(frame: pd.DataFrame, key: str, value: str) -> dict:
    return {str(k): v for k, v in zip(frame[key], frame[value], strict=True)}


def month_rows(frame: pd.DataFrame, *columns: str, key: str = "month") -> list[tuple]:
    return [(row[key].strftime("%Y-%m"), *(row[c] for c in columns)) for _, row in frame.iterrows()]


# --------------------------------------------------------------------------------------------
# A small clinic shared by the filter tables (read-only, built once). as_of = 2025-06-30.
#
#   bookings  B1 P1 appt 05-10 completed  North Ana  Micro-needling acne_scars  (booked 04-01)
#             B2 P2 appt 05-20 completed  South Ben  Chemical peel  fine_lines  (booked 05-01)
#             B3 P3 appt 06-05 no_show    North Cara Micro-needling (no concern) (booked 05-15)
#             B4 P1 appt 06-10 cancelled  South Ana  Chemical peel  fine_lines  (booked 06-01)
#             B5 P2 appt 07-15 scheduled  North (no practitioner) acne_scars   (booked 06-20: future appointment)
#   sessions  S1 P1 05-10 face  North Ana Micro-needling 200   (B1)
#             S2 P1 05-10 neck  North Ana Micro-needling 100   (B1: same visit)
#             S3 P2 05-20 face  South Ben Chemical peel  150   (B2)
#             S4 P4 06-12 hands South Ana Micro-needling  --   (walk-in: no booking, concern unknown)
#   consumables  S1 tip 1 x 4.50, S1 numbing gel 2 ml x 1.25, S4 tip 1 x 4.50  (S2: no tip)
#   complaints   C1 -> S1 (redness), C2 -> S3 (swelling), C3 no session (pain, 06-15)
# --------------------------------------------------------------------------------------------

CLINIC = {
    "bookings": [
        booking("B1", "P1", "2025-05-10 10:00", booked_at="2025-04-01 09:00", location="North", practitioner="Ana",
                concern="acne_scars"),
        booking("B2", "P2", "2025-05-20 11:00", booked_at="2025-05-01", treatment="Chemical peel", location="South",
                practitioner="Ben", concern="fine_lines"),
        booking("B3", "P3", "2025-06-05 09:00", booked_at="2025-05-15", status="no_show", location="North",
                practitioner="Cara"),
        booking("B4", "P1", "2025-06-10", booked_at="2025-06-01", treatment="Chemical peel", status="cancelled",
                location="South", practitioner="Ana", concern="fine_lines"),
        booking("B5", "P2", "2025-07-15", booked_at="2025-06-20", status="scheduled", location="North",
                concern="acne_scars"),
    ],
    "sessions": [
        session("S1", "P1", "2025-05-10 10:30", booking_id="B1", location="North", practitioner="Ana", price="200"),
        session("S2", "P1", "2025-05-10 10:30", booking_id="B1", body_area="neck", location="North", practitioner="Ana",
                price="100"),
        session("S3", "P2", "2025-05-20 11:15", booking_id="B2", treatment="Chemical peel", location="South",
                practitioner="Ben", price="150"),
        session("S4", "P4", "2025-06-12 14:00", body_area="hands", location="South", practitioner="Ana"),
    ],
    "consumables": [
        consumable("S1", unit_cost="4.50", lot="L1"),
        consumable("S1", "Topical numbing gel", category="numbing", quantity="2", unit="ml", unit_cost="1.25", lot="N1"),
        consumable("S4", unit_cost="4.50", lot="L2"),
    ],
    "complaints": [
        complaint("C1", "P1", "2025-05-12", session_id="S1"),
        complaint("C2", "P2", "2025-05-25", session_id="S3", category="swelling"),
        complaint("C3", "P5", "2025-06-15", category="pain"),
    ],
}

# Rows dated after as_of: adding them must change no figure computed for AS_OF.
AFTER_AS_OF = {
    "bookings": [
        booking("B6", "P1", "2025-07-02", booked_at="2025-07-01", location="North", practitioner="Ana", concern="acne_scars"),
        booking("B7", "P6", "2025-07-03", booked_at="2025-07-01", status="no_show", location="South"),
        booking("B8", "P2", "2025-07-05", booked_at="2025-07-02", status="cancelled", concern="wrinkles"),
    ],
    "sessions": [
        session("S5", "P1", "2025-07-02", booking_id="B6", location="North", practitioner="Ana", price="200"),
        session("S6", "P7", "2025-07-01 00:00", treatment="Chemical peel", body_area="neck", location="South", price="90"),
    ],
    "consumables": [
        consumable("S5", unit_cost="4.50"),
        consumable("S6", "Topical numbing gel", category="numbing", unit="ml", unit_cost="1.25"),
    ],
    "complaints": [
        complaint("C4", "P1", "2025-07-03", session_id="S5", category="bruising"),
        complaint("C5", "P1", "2025-07-01", session_id="S1", category="swelling"),  # an earlier session, reported later
        complaint("C6", "P8", "2025-07-04", category="pain"),
    ],
}


def _load_export(folder, tables: dict):
    return load(write_export(folder, **tables)).connection


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    con = _load_export(tmp_path_factory.mktemp("clinic"), CLINIC)
    yield con
    con.close()


@pytest.fixture(scope="module")
def clinic_later(tmp_path_factory):
    """The clinic, with rows dated after AS_OF added."""
    con = _load_export(tmp_path_factory.mktemp("clinic_later"),
                       {name: rows + AFTER_AS_OF[name] for name, rows in CLINIC.items()})
    yield con
    con.close()


METRIC_QUERIES = [name for name in query_names() if name not in LOAD_QUERIES]
DATED_QUERIES = [name for name in METRIC_QUERIES if name != "filter_options"]


def test_the_metric_queries_are_the_ones_tested_here():
    assert DATED_QUERIES == [
        "booking_rates", "complaint_rate", "complaint_rate_by_dimension", "complaint_resolution", "complaint_timing",
        "complaints_by_category", "complaints_by_reported_month", "complaints_by_severity", "complaints_control",
        "consultation_conversion", "consumable_cost_by_dimension", "consumables_by_item", "consumables_by_item_month",
        "consumables_summary", "demand_by_concern", "demand_by_concern_month_channel", "demand_seasonality",
        "lot_complaints", "lot_sessions", "lot_trace", "needle_depth_by_area", "new_patients_by_concern_channel",
        "numbing_by_area", "rebooking_6m", "rebooking_by_cohort_month", "rebooking_by_dimension", "rebooking_curve",
        "recall_list", "session_kpis", "sessions_by_area_and_dimension", "sessions_by_area_month",
        "sessions_by_body_area", "sessions_by_concern_and_body_area", "sessions_by_dimension", "sessions_missing_tip",
        "sessions_over_time", "tip_compliance_by_dimension",
    ]


# ---------------------------------------------------------------- as_of: later rows never count (SPEC §2)

@pytest.mark.parametrize("name", DATED_QUERIES)
def test_rows_after_as_of_change_no_metric(clinic, clinic_later, name):
    """Sessions, bookings, consumables and complaints dated after as_of leave every figure unchanged."""
    pd.testing.assert_frame_equal(run(clinic_later, name), run(clinic, name))


@pytest.mark.parametrize("bookings, sessions, expected", [
    pytest.param([booking("B1", "P1", "2025-03-01")], [session("S1", "P1", "2025-03-05 18:00")],
                 "2025-03-05", id="latest session performed (time of day ignored)"),
    pytest.param([booking("B1", "P1", "2025-04-01", booked_at="2025-03-10", status="scheduled")],
                 [session("S1", "P1", "2025-03-05")], "2025-03-10", id="latest booking made"),
    pytest.param([booking("B1", "P1", "2025-09-01", booked_at="2025-03-01", status="scheduled")],
                 [session("S1", "P1", "2025-03-05")], "2025-03-05", id="a future appointment does not move it"),
    pytest.param([booking("B1", "P1", "2025-09-01", booked_at="2025-03-01", status="scheduled")], [],
                 "2025-03-01", id="bookings only"),
])
def test_default_as_of_is_the_export_date(build_db, bookings, sessions, expected):
    con = build_db(bookings=bookings, sessions=sessions)
    assert default_as_of(con) == d(expected)
    assert run_query(con, "load_meta")["default_as_of"][0].date() == d(expected)


def test_run_query_without_as_of_uses_the_export_date(build_db):
    con = build_db(
        bookings=[booking("B1", "P1", "2025-03-01"),
                  booking("B2", "P1", "2025-09-01", booked_at="2025-03-01", status="scheduled")],
        sessions=[session("S1", "P1", "2025-03-01"), session("S2", "P2", "2025-03-05", body_area="neck")],
    )
    rates = run_query(con, "booking_rates").iloc[0]
    assert (rates["count_bookings"], rates["count_completed"]) == (1, 1)  # the September appointment is not past yet
    assert counted(run_query(con, "sessions_by_body_area"), "body_area", "count_sessions") == {"face": 1, "neck": 1}


# ---------------------------------------------------------------- 2.1 treatment volume by body area

@pytest.mark.parametrize("sessions, as_of, expected", [
    pytest.param([session("S1", "P1", "2025-06-01", body_area="face"), session("S2", "P1", "2025-06-01", body_area="neck"),
                  session("S3", "P2", "2025-06-02", body_area="face")],
                 AS_OF, {"face": 2, "neck": 1}, id="a face-and-neck visit is two sessions"),
    pytest.param([session("S1", "P1", "2025-06-30 23:59")], AS_OF, {"face": 1}, id="performed on as_of counts"),
    pytest.param([session("S1", "P1", "2025-07-01 00:00")], AS_OF, {}, id="performed the day after as_of does not"),
    pytest.param([session("S1", "P1", "2025-06-01"), session("S2", "P1", "2025-06-20", body_area="neck")],
                 d("2025-06-10"), {"face": 1}, id="an earlier as_of cuts later sessions"),
    pytest.param([], AS_OF, {}, id="no sessions"),
])
def test_sessions_by_body_area(build_db, sessions, as_of, expected):
    con = build_db(sessions=sessions)
    assert counted(run(con, "sessions_by_body_area", as_of=as_of), "body_area", "count_sessions") == expected


ALL_AREAS = {"face": 2, "neck": 1, "hands": 1}


@pytest.mark.parametrize("filters, expected", [
    pytest.param(Filters(), ALL_AREAS, id="None means all"),
    pytest.param(Filters(locations=("North",)), {"face": 1, "neck": 1}, id="location"),
    pytest.param(Filters(locations=("North", "South")), ALL_AREAS, id="two locations"),
    pytest.param(Filters(practitioners=("Ben",)), {"face": 1}, id="practitioner"),
    pytest.param(Filters(practitioners=("Cara",)), {}, id="practitioner with bookings only"),
    pytest.param(Filters(treatments=("Chemical peel",)), {"face": 1}, id="treatment"),
    pytest.param(Filters(body_areas=("neck", "hands")), {"neck": 1, "hands": 1}, id="body area"),
    pytest.param(Filters(concerns=("acne_scars",)), {"face": 1, "neck": 1}, id="concern of the session's booking"),
    pytest.param(Filters(concerns=("unknown",)), {"hands": 1}, id="concern unknown: session without a booking"),
    pytest.param(Filters(locations=("South",), practitioners=("Ana",)), {"hands": 1}, id="filters combine with and"),
    pytest.param(Filters(locations=("Nowhere",)), {}, id="a value not in the data"),
    pytest.param(Filters(locations=()), {}, id="empty locations match nothing"),
    pytest.param(Filters(practitioners=()), {}, id="empty practitioners match nothing"),
    pytest.param(Filters(treatments=()), {}, id="empty treatments match nothing"),
    pytest.param(Filters(body_areas=()), {}, id="empty body areas match nothing"),
    pytest.param(Filters(concerns=()), {}, id="empty concerns match nothing"),
    pytest.param(Filters(start=d("2025-05-20")), {"face": 1, "hands": 1}, id="start is inclusive"),
    pytest.param(Filters(end=d("2025-05-10")), {"face": 1, "neck": 1}, id="end is inclusive"),
    pytest.param(Filters(start=d("2025-05-20"), end=d("2025-05-20")), {"face": 1}, id="a one-day period"),
    pytest.param(Filters(start=d("2025-07-01")), {}, id="a period after as_of"),
])
def test_sessions_by_body_area_filters(clinic, filters, expected):
    assert counted(run(clinic, "sessions_by_body_area", filters), "body_area", "count_sessions") == expected


def test_period_end_after_as_of_stops_at_as_of(clinic):
    frame = run(clinic, "sessions_by_body_area", Filters(end=d("2025-12-31")), as_of=d("2025-06-11"))
    assert counted(frame, "body_area", "count_sessions") == {"face": 2, "neck": 1}


@pytest.mark.parametrize("sessions, filters, expected", [
    pytest.param([session("S1", "P1", "2025-05-31 23:30"), session("S2", "P1", "2025-06-01 00:10"),
                  session("S3", "P2", "2025-06-15", body_area="neck"), session("S4", "P2", "2025-06-20", body_area="neck")],
                 Filters(), [("2025-05", "face", 1), ("2025-06", "face", 1), ("2025-06", "neck", 2)],
                 id="calendar month of performed_at"),
    pytest.param([session("S1", "P1", "2025-06-30"), session("S2", "P1", "2025-07-01")],
                 Filters(), [("2025-06", "face", 1)], id="no month after as_of"),
    pytest.param([session("S1", "P1", "2025-05-31"), session("S2", "P1", "2025-06-01", body_area="neck")],
                 Filters(body_areas=("neck",)), [("2025-06", "neck", 1)], id="filtered"),
    pytest.param([], Filters(), [], id="no sessions"),
])
def test_sessions_by_area_month(build_db, sessions, filters, expected):
    frame = run(build_db(sessions=sessions), "sessions_by_area_month", filters)
    assert month_rows(frame, "body_area", "count_sessions", key="period_start") == expected


KPI_COLUMNS = ("count_sessions", "revenue", "average_price", "count_priced_sessions", "count_patients",
               "count_new_patients")


@pytest.mark.parametrize("sessions, filters, expected", [
    pytest.param([session("S1", "P1", "2025-06-01", price="100"), session("S2", "P1", "2025-06-01", body_area="neck",
                                                                           price="50"),
                  session("S3", "P2", "2025-06-02")],
                 Filters(), (3, 150.0, 75.0, 2, 2, 2), id="average over priced sessions only"),
    pytest.param([session("S1", "P1", "2025-01-10", price="80"), session("S2", "P1", "2025-06-05", price="90"),
                  session("S3", "P2", "2025-06-10", price="100")],
                 Filters(start=d("2025-06-01")), (2, 190.0, 95.0, 2, 2, 1), id="new patient: first session ever in the period"),
    pytest.param([session("S1", "P1", "2025-06-05", price="90"), session("S2", "P3", "2025-07-02", price="100")],
                 Filters(), (1, 90.0, 90.0, 1, 1, 1), id="sessions after as_of do not count"),
    pytest.param([], Filters(), (0, 0.0, NAN, 0, 0, 0), id="no sessions: zeros, average NaN"),
    pytest.param([session("S1", "P1", "2025-06-01 10:00", price="100"),
                  session("S2", "P1", "2025-06-01 10:00", body_area="neck", price="50")],
                 Filters(), (2, 150.0, 75.0, 2, 1, 1), id="two sessions in one first visit: one new patient"),
    pytest.param([session("S1", "P1", "2025-06-01", location="North", price="100"),
                  session("S2", "P1", "2025-06-10", location="South", price="50")],
                 Filters(locations=("South",)), (1, 50.0, 50.0, 1, 1, 1),
                 id="a list filter: new through a later session of the period"),
    pytest.param([session("S1", "P1", "2025-05-01", location="North", price="100"),
                  session("S2", "P1", "2025-06-10", location="South", price="50")],
                 Filters(start=d("2025-06-01"), locations=("South",)), (1, 50.0, 50.0, 1, 1, 0),
                 id="a list filter: first session before the period, not new"),
    pytest.param([session("S1", "P1", "2025-06-01", location="North", price="100"),
                  session("S2", "P2", "2025-06-02", location="North", price="50"),
                  session("S3", "P1", "2025-06-03", location="North", price="10"),
                  session("S4", "P3", "2025-06-04", location="South", price="20")],
                 Filters(locations=("North",)), (3, 160.0, 160 / 3, 3, 2, 2),
                 id="a list filter: two new patients, their sessions interleaved"),
])
def test_session_kpis(build_db, sessions, filters, expected):
    row = one_row(build_db(sessions=sessions), "session_kpis", filters)
    assert pick(row, *KPI_COLUMNS) == pytest.approx(expected, nan_ok=True)



@pytest.mark.parametrize("name", ["session_kpis", "rebooking_6m", "booking_rates", "complaint_rate",
                                  "consumables_summary"])
@pytest.mark.parametrize("patients", [True, False], ids=["patients", "no patients"])
@pytest.mark.parametrize("filters, previous", [
    pytest.param(Filters(start=d("2025-06-01"), end=d("2025-06-30")), (d("2025-05-01"), d("2025-05-31")),
                 id="June against May"),
    pytest.param(Filters(start=d("2025-06-01"), end=d("2025-06-30"), locations=("South",)),
                 (d("2025-05-01"), d("2025-05-31")), id="a list filter"),
    pytest.param(Filters(start=d("2025-05-01"), end=d("2025-06-30")), (d("2025-01-01"), d("2025-04-30")),
                 id="nothing in the previous period"),
    pytest.param(Filters(start=d("2025-05-15"), end=d("2025-06-30")), (d("2025-05-01"), d("2025-05-31")),
                 id="periods that overlap"),
    pytest.param(Filters(start=d("2025-05-01"), end=d("2025-06-30"), treatments=()),
                 (d("2025-03-01"), d("2025-04-30")), id="nothing selected"),
])
def test_a_kpi_query_gives_the_comparison_period_in_the_same_call(clinic, name, patients, filters, previous):
    """The Overview asks each KPI query for both periods at once ($previous_start, $previous_end): a row
    each, the period's first, each what the query gives for that period alone."""
    both = run(clinic, name, filters, patients=patients, previous_start=previous[0], previous_end=previous[1])
    alone = run(clinic, name, filters, patients=patients)
    before = run(clinic, name, filters.with_period(*previous), patients=patients)
    assert list(both["period"]) == ["current", "previous"]
    assert list(alone["period"]) == list(before["period"]) == ["current"]
    pd.testing.assert_frame_equal(both.iloc[[0]].reset_index(drop=True), alone, check_dtype=False)
    pd.testing.assert_frame_equal(both.iloc[[1]].drop(columns="period").reset_index(drop=True),
                                  before.drop(columns="period"), check_dtype=False)

def test_patient_key_stands_for_one_patient(build_db):
    """The queries count patients by patient_key, dim_patients' integer per patient, which fct_sessions,
    fct_bookings and (from the session) fct_consumables carry: one key per patient and one patient per
    key across them, 1 to load_meta.patient_key_max, whatever the order of the files; a patient with
    bookings only or sessions only has one too, and a line's key is its session's."""
    con = build_db(
        bookings=[booking("B1", "P4", "2025-05-20"), booking("B2", "P1", "2025-05-30"),
                  booking("B3", "P2", "2025-05-31")],
        sessions=[session("S1", "P2", "2025-06-03"), session("S2", "P1", "2025-06-01"),
                  session("S3", "P2", "2025-06-01"), session("S4", "P3", "2025-06-03"),
                  session("S5", "P1", "2025-06-02")],
        consumables=[consumable("S3"), consumable("S5"), consumable("S1"), consumable("S4")],
    )
    keys = con.execute("select patient_id, patient_key from dim_patients order by patient_key").fetchall()
    assert keys == [("P1", 1), ("P2", 2), ("P3", 3), ("P4", 4)]
    assert con.execute("select patient_key_max from load_meta").fetchone() == (4,)
    for table in ("fct_sessions", "fct_bookings", "fct_consumables"):
        pairs = con.execute(f"select distinct patient_id, patient_key from {table}").fetchall()
        assert pairs and set(pairs) <= set(keys), table  # dim_patients' pairs: its key for each patient
    assert con.execute("select count(*) from fct_consumables c join fct_sessions s using (session_id) "
                       "where c.patient_key is distinct from s.patient_key").fetchone() == (0,)


@pytest.mark.parametrize("keys, expected", [
    pytest.param([1, 2, 2, 3], 3, id="a key seen twice counts once"),
    pytest.param([None, 2, None], 1, id="null is nobody"),
    pytest.param([None], 0, id="only nulls"),
    pytest.param([], 0, id="no rows"),
    pytest.param([5, 1], 2, id="both bounds"),
])
def test_distinct_patients_counts_as_count_distinct_does(build_db, keys, expected):
    con = build_db(sessions=[session("S1", "P1", "2025-06-01")])
    values = ", ".join(f"({'null' if k is None else k})" for k in keys) or "(null)"
    where = "" if keys else " where false"
    sql = f"select distinct_patients(k::integer, $key_max) from (values {values}) t(k){where}"
    assert con.execute(sql, {"key_max": 5}).fetchone() == (expected,)
    assert con.execute(f"select count(distinct k) from (values {values}) t(k){where}").fetchone() == (expected,)


def test_distinct_patients_refuses_a_key_beyond_its_bound(build_db):
    # A wrong bound is an error, never a miscount.
    con = build_db(sessions=[session("S1", "P1", "2025-06-01")])
    with pytest.raises(Exception, match="outside of provided min and max range"):
        con.execute("select distinct_patients(k, $key_max) from (values (6)) t(k)", {"key_max": 5}).fetchall()


def test_fct_sessions_is_stored_by_day(build_db):
    """Whatever the file's order, fct_sessions is stored by day (then session_id), so that a period's
    queries skip the row groups of other days."""
    con = build_db(sessions=[session("S3", "P1", "2025-06-03"), session("S1", "P2", "2025-06-05"),
                             session("S2", "P1", "2025-05-01"), session("S0", "P3", "2025-06-03")])
    stored = con.execute("select session_id from fct_sessions order by rowid").fetchall()
    assert [s for (s,) in stored] == ["S2", "S0", "S3", "S1"]


def test_fct_sessions_is_stored_by_day_when_both_threads_write_it(build_db):
    # Enough rows that DuckDB splits the work (chunks of 2,048): the sorted rows go through a materialized
    # CTE, written from it by both threads, and must still land in order.
    days = [date(2024, 1, 1) + timedelta(days=n % 400) for n in range(30_000)]
    order = random.Random(8).sample(range(30_000), 30_000)
    con = build_db(sessions=[session(f"S{n:05d}", f"P{n % 5_000}", days[n].isoformat()) for n in order])
    stored = [s for (s,) in con.execute("select session_id from fct_sessions order by rowid").fetchall()]
    assert stored == sorted(stored, key=lambda s: (days[int(s[1:])], s))


@pytest.mark.parametrize("dimension, filters, expected", [
    pytest.param("treatment", Filters(), {"Micro-needling": (3, 300.0), "Chemical peel": (1, 150.0)}, id="treatment"),
    pytest.param("location", Filters(), {"North": (2, 300.0), "South": (2, 150.0)}, id="location"),
    pytest.param("practitioner", Filters(), {"Ana": (3, 300.0), "Ben": (1, 150.0)}, id="practitioner"),
    pytest.param("body_area", Filters(), {"face": (2, 350.0), "neck": (1, 100.0), "hands": (1, 0.0)}, id="body area"),
    pytest.param("concern", Filters(), {"acne_scars": (2, 300.0), "fine_lines": (1, 150.0), "unknown": (1, 0.0)},
                 id="concern"),
    pytest.param("location", Filters(treatments=("Micro-needling",)), {"North": (2, 300.0), "South": (1, 0.0)},
                 id="filtered"),
    pytest.param("location", Filters(locations=()), {}, id="nothing matches"),
])
def test_sessions_by_dimension(clinic, dimension, filters, expected):
    frame = run(clinic, "sessions_by_dimension", filters, dimension=dimension)
    assert {row.dimension_value: (row.count_sessions, row.revenue) for row in frame.itertuples()} == expected


def test_sessions_by_dimension_missing_value_and_as_of(build_db):
    con = build_db(sessions=[session("S1", "P1", "2025-06-01", location="North", price="10"),
                             session("S2", "P2", "2025-06-02", price="20"),
                             session("S3", "P3", "2025-07-01", location="North", price="30")])
    frame = run(con, "sessions_by_dimension", dimension="location")
    assert {row.dimension_value: (row.count_sessions, row.revenue) for row in frame.itertuples()} == {
        "North": (1, 10.0), "(not recorded)": (1, 20.0)}


# ---------------------------------------------------------------- 2.2 no-show and cancellation rates

BOOKING_RATE_COLUMNS = ("count_bookings", "count_completed", "count_no_show", "count_cancelled", "no_show_rate",
                        "cancellation_rate")


@pytest.mark.parametrize("appointments, as_of, expected", [
    pytest.param([("2025-06-01", "completed"), ("2025-06-02", "completed"), ("2025-06-03", "no_show")],
                 AS_OF, (3, 2, 1, 0, 1 / 3, 0.0), id="no-shows over attended + no-shows"),
    pytest.param([("2025-06-01", "completed"), ("2025-06-02", "no_show"), ("2025-06-03", "cancelled"),
                  ("2025-06-04", "cancelled")],
                 AS_OF, (4, 1, 1, 2, 0.5, 0.5), id="cancelled: out of the no-show denominator, in the cancellation one"),
    pytest.param([("2025-06-01", "completed"), ("2025-06-02", "no_show"), ("2025-06-03", "scheduled")],
                 AS_OF, (3, 1, 1, 0, 0.5, 0.0), id="a past appointment still scheduled is neither, but is a booking"),
    pytest.param([("2025-06-30 17:00", "no_show"), ("2025-06-30 09:00", "cancelled")],
                 AS_OF, (2, 0, 1, 1, 1.0, 0.5), id="appointment on as_of counts"),
    pytest.param([("2025-06-01", "completed"), ("2025-07-01", "scheduled"), ("2025-07-01 09:00", "cancelled")],
                 AS_OF, (1, 1, 0, 0, 0.0, 0.0), id="appointment after as_of does not count"),
    pytest.param([("2025-06-01", "completed"), ("2025-06-15", "no_show"), ("2025-06-20", "cancelled")],
                 d("2025-06-10"), (1, 1, 0, 0, 0.0, 0.0), id="an earlier as_of cuts later appointments"),
    pytest.param([("2025-06-01", "cancelled")], AS_OF, (1, 0, 0, 1, NAN, 1.0), id="only cancellations: no-show rate NaN"),
    pytest.param([], AS_OF, (0, 0, 0, 0, NAN, NAN), id="no bookings: rates NaN"),
])
def test_booking_rates(build_db, appointments, as_of, expected):
    con = build_db(bookings=[booking(f"B{i}", f"P{i}", appointment_at, booked_at="2025-01-02", status=status)
                             for i, (appointment_at, status) in enumerate(appointments)])
    row = one_row(con, "booking_rates", as_of=as_of)
    assert pick(row, *BOOKING_RATE_COLUMNS) == pytest.approx(expected, nan_ok=True)


CLINIC_RATES = (4, 2, 1, 1, 1 / 3, 1 / 4)  # B1..B4; B5's appointment is after as_of


@pytest.mark.parametrize("filters, expected", [
    pytest.param(Filters(), CLINIC_RATES, id="None means all"),
    pytest.param(Filters(body_areas=("hands",)), CLINIC_RATES, id="the body-area filter does not apply to bookings"),
    pytest.param(Filters(body_areas=()), CLINIC_RATES, id="not even an empty one"),
    pytest.param(Filters(locations=("North",)), (2, 1, 1, 0, 0.5, 0.0), id="location"),
    pytest.param(Filters(practitioners=("Ana",)), (2, 1, 0, 1, 0.0, 0.5), id="practitioner"),
    pytest.param(Filters(practitioners=("Cara",)), (1, 0, 1, 0, 1.0, 0.0), id="practitioner with bookings only"),
    pytest.param(Filters(treatments=("Chemical peel",)), (2, 1, 0, 1, 0.0, 0.5), id="treatment"),
    pytest.param(Filters(concerns=("unknown",)), (1, 0, 1, 0, 1.0, 0.0), id="concern unknown: booking without one"),
    pytest.param(Filters(locations=()), (0, 0, 0, 0, NAN, NAN), id="empty list matches nothing"),
    pytest.param(Filters(start=d("2025-06-05")), (2, 0, 1, 1, 1.0, 0.5), id="start is inclusive (appointment day)"),
    pytest.param(Filters(end=d("2025-05-20")), (2, 2, 0, 0, 0.0, 0.0), id="end is inclusive (appointment day)"),
])
def test_booking_rates_filters(clinic, filters, expected):
    row = one_row(clinic, "booking_rates", filters)
    assert pick(row, *BOOKING_RATE_COLUMNS) == pytest.approx(expected, nan_ok=True)


# ---------------------------------------------------------------- 2.3 six-month rebooking

OUTCOME = {  # -> (eligible, rebooked, pending)
    "rebooked": (1, 1, 0),
    "not_rebooked": (1, 0, 0),
    "pending": (0, 0, 1),
    "not_counted": (0, 0, 0),
}


@pytest.mark.parametrize("session_on, next_booking_on, status, as_of, expected", [
    pytest.param("2025-08-31", "2026-02-28", "completed", "2026-06-30", "rebooked", id="31 Aug + 6 months is 28 Feb"),
    pytest.param("2025-08-31", "2026-03-01", "completed", "2026-06-30", "not_rebooked", id="1 Mar is past 31 Aug + 6 months"),
    pytest.param("2023-08-31", "2024-02-29", "completed", "2024-06-30", "rebooked", id="leap year: 29 Feb"),
    pytest.param("2023-08-31", "2024-03-01", "completed", "2024-06-30", "not_rebooked", id="leap year: 1 Mar too late"),
    pytest.param("2025-03-15", "2025-09-15", "completed", "2026-06-30", "rebooked", id="exactly 6 months"),
    pytest.param("2025-03-15", "2025-09-16", "completed", "2026-06-30", "not_rebooked", id="6 months and a day"),
    pytest.param("2025-03-15", "2025-03-16", "completed", "2026-06-30", "rebooked", id="the next day"),
    pytest.param("2025-05-02", "2025-05-02 16:00", "completed", "2026-06-30", "not_rebooked", id="same day: same visit"),
    pytest.param("2025-03-15", "2025-03-14", "completed", "2026-06-30", "not_rebooked", id="a booking before the session"),
    pytest.param("2025-03-15", "2025-04-15", "cancelled", "2026-06-30", "not_rebooked", id="cancelled is not a rebooking"),
    pytest.param("2025-03-16", "2025-04-16", "no_show", "2026-06-30", "rebooked", id="no-show: a booking was made"),
    pytest.param("2025-01-10", "2025-07-01", "scheduled", "2025-07-10", "rebooked", id="scheduled booking counts"),
    pytest.param("2025-03-15", None, None, "2026-06-30", "not_rebooked", id="no booking after the session"),
    pytest.param("2026-01-10", None, None, "2026-06-30", "pending", id="pending: window open, not yet rebooked"),
    pytest.param("2026-01-10", "2026-02-01", "completed", "2026-06-30", "pending", id="pending even when already rebooked"),
    pytest.param("2026-01-10", "2026-07-01", "scheduled", "2026-06-30", "pending", id="pending with a future booking"),
    pytest.param("2026-06-30", None, None, "2026-06-30", "pending", id="pending from the session day"),
    pytest.param("2025-12-31", None, None, "2026-06-30", "not_rebooked", id="eligible when d + 6 months == as_of"),
    pytest.param("2025-12-31", None, None, "2026-06-29", "pending", id="pending the day before"),
    pytest.param("2025-08-31", None, None, "2026-02-28", "not_rebooked", id="eligible on 28 Feb for 31 Aug"),
    pytest.param("2025-08-31", None, None, "2026-02-27", "pending", id="pending on 27 Feb for 31 Aug"),
    pytest.param("2026-07-01", None, None, "2026-06-30", "not_counted", id="session after as_of"),
])
def test_six_month_rebooking(build_db, session_on, next_booking_on, status, as_of, expected):
    bookings = [booking("B0", "P1", session_on)]  # the session's own booking
    if next_booking_on:
        bookings.append(booking("B1", "P1", next_booking_on, booked_at=session_on, status=status))
    con = build_db(bookings=bookings, sessions=[session("S1", "P1", session_on, booking_id="B0")])
    row = one_row(con, "rebooking_6m", as_of=d(as_of))
    assert pick(row, "count_eligible", "count_rebooked", "count_pending") == OUTCOME[expected]


@pytest.mark.parametrize("sessions, bookings, filters, expected", [
    pytest.param([session("S1", "P1", "2025-01-10", body_area="face"), session("S2", "P1", "2025-01-10", body_area="neck")],
                 [booking("B1", "P1", "2025-01-10")], Filters(),
                 (2, 0, 0, 0.0), id="face and neck the same day: two sessions, not a rebooking"),
    pytest.param([session("S1", "P1", "2025-01-10", body_area="face"), session("S2", "P1", "2025-01-10", body_area="neck")],
                 [booking("B1", "P1", "2025-01-10"), booking("B2", "P1", "2025-03-10")], Filters(),
                 (2, 2, 0, 1.0), id="face and neck, then a later visit: both rebooked"),
    pytest.param([session("S1", "P1", "2025-01-10")], [booking("B2", "P2", "2025-03-10")], Filters(),
                 (1, 0, 0, 0.0), id="another patient's booking does not count"),
    pytest.param([session("S1", "P1", "2025-01-10")], [booking("B2", "P1", "2025-03-10", treatment="Consultation")],
                 Filters(), (1, 1, 0, 1.0), id="any treatment counts"),
    pytest.param([session("S1", "P1", "2025-01-10"), session("S2", "P2", "2025-01-11"), session("S3", "P3", "2026-06-01")],
                 [booking("B2", "P1", "2025-03-10")], Filters(),
                 (2, 1, 1, 0.5), id="rate over eligible only, pending apart"),
    pytest.param([session("S1", "P1", "2025-01-10", location="North"), session("S2", "P2", "2025-01-11", location="South")],
                 [booking("B2", "P1", "2025-03-10", location="South")], Filters(locations=("North",)),
                 (1, 1, 0, 1.0), id="filters pick sessions; the rebooking may be anywhere"),
    pytest.param([session("S1", "P1", "2025-01-10"), session("S2", "P2", "2025-02-11")],
                 [booking("B2", "P1", "2025-03-10")], Filters(start=d("2025-02-01")),
                 (1, 0, 0, 0.0), id="period picks sessions by performed day"),
    pytest.param([], [], Filters(), (0, 0, 0, NAN), id="no sessions: rate NaN"),
    pytest.param([session("S1", "P1", "2026-06-01")], [], Filters(), (0, 0, 1, NAN), id="all pending: rate NaN"),
])
def test_rebooking_6m_counts(build_db, sessions, bookings, filters, expected):
    row = one_row(build_db(bookings=bookings, sessions=sessions), "rebooking_6m", filters, as_of=d("2026-06-30"))
    columns = ("count_eligible", "count_rebooked", "count_pending", "rebooking_rate")
    assert pick(row, *columns) == pytest.approx(expected, nan_ok=True)


# ---------------------------------------------------------------- 2.4 complaints

COMPLAINT_SESSIONS = [  # as_of 2025-06-30
    session("S1", "P1", "2025-06-01", location="North"),
    session("S2", "P2", "2025-06-10", location="South"),
    session("S3", "P3", "2025-07-05", location="North"),  # after as_of
]


@pytest.mark.parametrize("complaints, as_of, expected", [
    pytest.param([complaint("C1", "P1", "2025-06-03", session_id="S1")], AS_OF, (2, 1, 50.0),
                 id="per 100 sessions"),
    pytest.param([complaint("C1", "P1", "2025-06-03", session_id="S1"), complaint("C2", "P1", "2025-06-04", session_id="S1")],
                 AS_OF, (2, 2, 100.0), id="two complaints about one session"),
    pytest.param([complaint("C1", "P1", "2025-06-03", session_id="")], AS_OF, (2, 0, 0.0),
                 id="blank session_id: not in the rate"),
    pytest.param([complaint("C1", "P1", "2025-06-03", session_id="S9")], AS_OF, (2, 0, 0.0),
                 id="session_id not in sessions: not in the rate"),
    pytest.param([complaint("C1", "P3", "2025-07-06", session_id="S3")], AS_OF, (2, 0, 0.0),
                 id="complaint about a session after as_of"),
    pytest.param([complaint("C1", "P1", "2025-07-02", session_id="S1")], AS_OF, (2, 0, 0.0),
                 id="complaint reported after as_of"),
    pytest.param([complaint("C1", "P1", "2025-06-30 18:00", session_id="S1")], AS_OF, (2, 1, 50.0),
                 id="complaint reported on as_of"),
    pytest.param([complaint("C1", "P2", "2025-06-12", session_id="S2")], d("2025-06-05"), (1, 0, 0.0),
                 id="an earlier as_of cuts the later session and its complaint"),
    pytest.param([complaint("C1", "P1", "2025-06-03", session_id="S1")], d("2025-05-31"), (0, 0, NAN),
                 id="no sessions: rate NaN"),
    pytest.param(None, AS_OF, (2, 0, 0.0), id="no complaints file"),
])
def test_complaint_rate(build_db, complaints, as_of, expected):
    con = build_db(sessions=COMPLAINT_SESSIONS, complaints=complaints)
    row = one_row(con, "complaint_rate", as_of=as_of)
    columns = ("count_sessions", "count_complaints", "complaints_per_100_sessions")
    assert pick(row, *columns) == pytest.approx(expected, nan_ok=True)



def test_complaint_rate_counts_the_patients_of_the_sessions(build_db):
    """count_patients_complained counts the patient of the session complained about, whatever patient_id the
    complaint's own row carries (an export can disagree with itself)."""
    con = build_db(sessions=COMPLAINT_SESSIONS, complaints=[
        complaint("C1", "P9", "2025-06-03", session_id="S1"), complaint("C2", "P1", "2025-06-04", session_id="S1")])
    row = one_row(con, "complaint_rate")
    assert pick(row, "count_sessions", "count_complaints", "count_patients", "count_patients_complained") \
        == (2, 2, 2, 1)

@pytest.mark.parametrize("complaints, filters, expected", [
    pytest.param([complaint("C1", "P1", "2025-06-03", session_id="S1"),
                  complaint("C2", "P1", "2025-06-04", session_id="", category="swelling"),
                  complaint("C3", "P1", "2025-06-05", session_id="S9", category="swelling")],
                 Filters(), {"prolonged_redness": (1, 1, 0), "swelling": (2, 0, 2)},
                 id="complaints with no known session count in category totals"),
    pytest.param([complaint("C1", "P1", "2025-07-02", session_id="S1"), complaint("C2", "P1", "2025-07-02", session_id="")],
                 Filters(), {}, id="reported after as_of"),
    pytest.param([complaint("C1", "P3", "2025-07-06", session_id="S3")], Filters(), {},
                 id="about a session after as_of"),
    pytest.param([complaint("C1", "P1", "2025-06-07", session_id="S1")], Filters(end=d("2025-06-05")),
                 {"prolonged_redness": (1, 1, 0)}, id="period: a linked complaint is dated by its session"),
    pytest.param([complaint("C1", "P1", "2025-06-07", session_id="")], Filters(end=d("2025-06-05")), {},
                 id="period: an unlinked complaint is dated by its report"),
    pytest.param([complaint("C1", "P1", "2025-06-03", session_id="S1"), complaint("C2", "P2", "2025-06-12", session_id="S2"),
                  complaint("C3", "P1", "2025-06-04", session_id="")],
                 Filters(locations=("North",)), {"prolonged_redness": (1, 1, 0)},
                 id="a location filter keeps complaints on its sessions only"),
    pytest.param([complaint("C1", "P1", "2025-06-03", session_id="S1")], Filters(body_areas=()), {},
                 id="empty list matches nothing"),
    pytest.param([], Filters(), {}, id="no complaints"),
])
def test_complaints_by_category(build_db, complaints, filters, expected):
    frame = run(build_db(sessions=COMPLAINT_SESSIONS, complaints=complaints), "complaints_by_category", filters)
    assert {row.category: (row.count_complaints, row.count_with_session, row.count_without_session)
            for row in frame.itertuples()} == expected


@pytest.mark.parametrize("complaints, filters, expected", [
    pytest.param([complaint("C1", "P1", "2025-06-02", session_id="S0")], Filters(),
                 [("2025-06", "prolonged_redness", 1)], id="the month reported, not the session's month"),
    pytest.param([complaint("C1", "P1", "2025-05-31", session_id=""), complaint("C2", "P1", "2025-06-01", category="pain")],
                 Filters(), [("2025-05", "prolonged_redness", 1), ("2025-06", "pain", 1)], id="complaints with no session count"),
    pytest.param([complaint("C1", "P1", "2025-06-30 23:00", session_id="S0"), complaint("C2", "P1", "2025-07-01")],
                 Filters(), [("2025-06", "prolonged_redness", 1)], id="reported after as_of"),
    pytest.param([complaint("C1", "P1", "2025-06-02", session_id="S0"), complaint("C2", "P1", "2025-05-31", session_id="S0")],
                 Filters(start=d("2025-06-01")), [("2025-06", "prolonged_redness", 1)], id="period: the day reported"),
    pytest.param([], Filters(), [], id="no complaints"),
])
def test_complaints_by_reported_month(build_db, complaints, filters, expected):
    con = build_db(sessions=[session("S0", "P1", "2025-05-30")], complaints=complaints)
    assert month_rows(run(con, "complaints_by_reported_month", filters), "category", "count_complaints") == expected


MONTHLY_SESSIONS = [
    session("S1", "P1", "2025-05-30", price="100"),
    session("S2", "P2", "2025-06-02", price="50"),
    session("S3", "P1", "2025-06-03"),
    session("S4", "P3", "2025-07-01", price="70"),  # after as_of
]


@pytest.mark.parametrize("complaints, expected", [
    pytest.param([complaint("C1", "P1", "2025-06-02", session_id="S1")],
                 [("2025-05", 1, 100.0, 1, 1, 100.0), ("2025-06", 2, 50.0, 2, 0, 0.0)],
                 id="complaint counted in its session's month"),
    pytest.param([complaint("C1", "P1", "2025-07-02", session_id="S1")],
                 [("2025-05", 1, 100.0, 1, 0, 0.0), ("2025-06", 2, 50.0, 2, 0, 0.0)],
                 id="complaint reported after as_of"),
    pytest.param([complaint("C1", "P1", "2025-06-02", session_id=""), complaint("C2", "P3", "2025-07-02", session_id="S4")],
                 [("2025-05", 1, 100.0, 1, 0, 0.0), ("2025-06", 2, 50.0, 2, 0, 0.0)],
                 id="no session, or a session after as_of"),
    pytest.param(None, [("2025-05", 1, 100.0, 1, 0, 0.0), ("2025-06", 2, 50.0, 2, 0, 0.0)], id="no complaints file"),
])
def test_sessions_over_time_by_month(build_db, complaints, expected):
    frame = run(build_db(sessions=MONTHLY_SESSIONS, complaints=complaints), "sessions_over_time")
    frame = frame.rename(columns={"period_start": "month"})
    columns = ("count_sessions", "revenue", "count_patients", "count_complaints", "complaints_per_100_sessions")
    assert month_rows(frame, *columns) == expected


def test_sessions_over_time_without_sessions(build_db):
    assert run(build_db(), "sessions_over_time").empty


def test_sessions_over_time_by_iso_week(build_db):
    con = build_db(sessions=[session("S1", "P1", "2025-06-01"), session("S2", "P2", "2025-06-02"),
                             session("S3", "P3", "2025-06-08")])
    frame = run_query(con, "sessions_over_time", as_of=d("2025-06-30"), grain="week")
    assert [(r.period_start.strftime("%Y-%m-%d"), r.count_sessions) for r in frame.itertuples()] == [
        ("2025-05-26", 1), ("2025-06-02", 2)]  # weeks start on Monday


def test_sessions_over_time_refuses_another_grain(build_db):
    with pytest.raises(ValueError, match="grain must be one of"):
        run_query(build_db(), "sessions_over_time", as_of=d("2025-06-30"), grain="day; drop table x")


# ---------------------------------------------------------------- 2.5 consumables

SUMMARY_COLUMNS = ("count_sessions", "cost_total", "cost_per_session", "count_uncosted_lines",
                   "count_micro_needling_sessions", "count_with_needle_tip", "tip_compliance")
TIP = {"item": "MicroPen sterile tip (12-needle)", "category": "needle_tip"}
GEL = {"item": "Topical numbing gel", "category": "numbing", "unit": "ml"}


@pytest.mark.parametrize("sessions, consumables, expected", [
    pytest.param([session("S1", "P1", "2025-06-01"), session("S2", "P2", "2025-06-02", treatment="Chemical peel")],
                 [consumable("S1", unit_cost="4.50"), consumable("S1", **GEL, quantity="2", unit_cost="1.25")],
                 (2, 7.0, 3.5, 0, 1, 1, 1.0), id="quantity x unit cost, per session over all sessions"),
    pytest.param([session("S1", "P1", "2025-06-01")],
                 [consumable("S1"), consumable("S1", **GEL, quantity="2", unit_cost="1.25")],
                 (1, 2.5, 2.5, 1, 1, 1, 1.0), id="missing unit cost: uncosted, not zero-cost"),
    pytest.param([session("S1", "P1", "2025-06-01"), session("S2", "P2", "2025-06-02")],
                 [consumable("S1", unit_cost="4.50"), consumable("S2", **GEL, unit_cost="1.00")],
                 (2, 5.5, 2.75, 0, 2, 1, 0.5), id="a micro-needling session without a tip"),
    pytest.param([session("S1", "P1", "2025-06-01", treatment="Micro-needling"),
                  session("S2", "P2", "2025-06-01", treatment="microneedling"),
                  session("S3", "P3", "2025-06-01", treatment="MICRO-NEEDLING facial"),
                  session("S4", "P4", "2025-06-01", treatment="Chemical peel")],
                 [consumable(s, unit_cost="1") for s in ("S1", "S2", "S3")],
                 (4, 3.0, 0.75, 0, 3, 3, 1.0), id="micro-needling spellings; a peel is not"),
    pytest.param([session("S1", "P1", "2025-06-01", treatment="microneedling"),
                  session("S2", "P2", "2025-06-01", treatment="MICRO-NEEDLING facial"),
                  session("S3", "P3", "2025-06-01", treatment="Chemical peel")],
                 [consumable("S1", unit_cost="1")],
                 (3, 1.0, 1 / 3, 0, 2, 1, 0.5), id="every spelling is in the denominator"),
    pytest.param([session("S1", "P1", "2025-06-01", treatment="Chemical peel")], [consumable("S1", **GEL, unit_cost="2")],
                 (1, 2.0, 2.0, 0, 0, 0, NAN), id="no micro-needling sessions: compliance NaN"),
    pytest.param([session("S1", "P1", "2025-06-01"), session("S2", "P2", "2025-07-01")],
                 [consumable("S1", unit_cost="4.50"), consumable("S2", unit_cost="10")],
                 (1, 4.5, 4.5, 0, 1, 1, 1.0), id="sessions after as_of and their consumables"),
    pytest.param([session("S1", "P1", "2025-06-01")], [consumable("S9", unit_cost="9")],
                 (1, 0.0, 0.0, 0, 1, 0, 0.0), id="a consumable of an unknown session"),
    pytest.param([session("S1", "P1", "2025-06-01")], None, (1, 0.0, 0.0, 0, 1, 0, 0.0), id="no consumables file"),
    pytest.param([], [], (0, 0.0, NAN, 0, 0, 0, NAN), id="no sessions: rates NaN"),
])
def test_consumables_summary(build_db, sessions, consumables, expected):
    row = one_row(build_db(sessions=sessions, consumables=consumables), "consumables_summary")
    assert pick(row, *SUMMARY_COLUMNS) == pytest.approx(expected, nan_ok=True)


@pytest.mark.parametrize("filters, expected", [
    pytest.param(Filters(), (4, 11.5, 11.5 / 4, 0, 3, 2, 2 / 3), id="None means all"),
    pytest.param(Filters(locations=("North",)), (2, 7.0, 3.5, 0, 2, 1, 0.5), id="location"),
    pytest.param(Filters(treatments=("Chemical peel",)), (1, 0.0, 0.0, 0, 0, 0, NAN), id="treatment"),
    pytest.param(Filters(locations=()), (0, 0.0, NAN, 0, 0, 0, NAN), id="empty list matches nothing"),
])
def test_consumables_summary_filters(clinic, filters, expected):
    assert pick(one_row(clinic, "consumables_summary", filters), *SUMMARY_COLUMNS) == pytest.approx(expected, nan_ok=True)


@pytest.mark.parametrize("sessions, consumables, expected", [
    pytest.param([session("S1", "P1", "2025-06-01"), session("S2", "P2", "2025-06-02")],
                 [consumable("S1", unit_cost="4.50", lot="L1"), consumable("S2", unit_cost="4.50", lot="L2"),
                  consumable("S1", **GEL, quantity="2", unit_cost="1.25", lot="N1")],
                 {TIP["item"]: (2.0, 9.0, 2, 2, 0), GEL["item"]: (2.0, 2.5, 1, 1, 0)}, id="per item"),
    pytest.param([session("S1", "P1", "2025-06-01"), session("S2", "P2", "2025-06-02")],
                 [consumable("S1", unit_cost="4.50"), consumable("S2")],
                 {TIP["item"]: (2.0, 4.5, 2, 0, 1)}, id="an uncosted line is counted, not priced at zero"),
    pytest.param([session("S1", "P1", "2025-06-01"), session("S2", "P2", "2025-07-01")],
                 [consumable("S1", unit_cost="4.50"), consumable("S2", unit_cost="4.50"),
                  consumable("S2", **GEL, unit_cost="1")],
                 {TIP["item"]: (1.0, 4.5, 1, 0, 0)}, id="sessions after as_of"),
    pytest.param([session("S1", "P1", "2025-06-01")], [consumable("S9", unit_cost="4.50")], {},
                 id="a consumable of an unknown session"),
    pytest.param([], [], {}, id="no consumables"),
])
def test_consumables_by_item(build_db, sessions, consumables, expected):
    frame = run(build_db(sessions=sessions, consumables=consumables), "consumables_by_item")
    assert {row.item: (row.quantity, row.cost, row.count_sessions, row.count_lots, row.count_uncosted_lines)
            for row in frame.itertuples()} == expected


# ---------------------------------------------------------------- 2.6 demand by concern

@pytest.mark.parametrize("bookings, filters, expected", [
    pytest.param([booking("B1", "P1", "2025-06-01", concern="acne_scars"),
                  booking("B2", "P2", "2025-06-02", concern="Acne Scars"),
                  booking("B3", "P3", "2025-06-03", concern="")],
                 Filters(), {"acne_scars": 2, "unknown": 1}, id="missing concern counts as unknown"),
    pytest.param([booking(f"B{i}", "P1", "2025-06-01", status=status, concern="wrinkles")
                  for i, status in enumerate(("completed", "cancelled", "no_show", "scheduled"))],
                 Filters(), {"wrinkles": 4}, id="any status counts"),
    pytest.param([booking("B1", "P1", "2025-06-05", booked_at="2025-05-31", concern="acne_scars"),
                  booking("B2", "P2", "2025-08-15", booked_at="2025-06-02", status="scheduled", concern="wrinkles")],
                 Filters(start=d("2025-06-01")), {"wrinkles": 1}, id="the day booked decides the period, not the appointment"),
    pytest.param([booking("B1", "P1", "2025-06-05", booked_at="2025-05-31", concern="acne_scars"),
                  booking("B2", "P2", "2025-05-20", booked_at="2025-06-01", concern="wrinkles")],
                 Filters(end=d("2025-05-31")), {"acne_scars": 1}, id="end is inclusive"),
    pytest.param([booking("B1", "P1", "2025-07-10", booked_at="2025-06-30 16:00", status="scheduled", concern="acne_scars")],
                 Filters(), {"acne_scars": 1}, id="booked on as_of for later"),
    pytest.param([booking("B1", "P1", "2025-07-01", concern="acne_scars")], Filters(), {}, id="booked after as_of"),
    pytest.param([booking("B1", "P1", "2025-06-01", concern="acne_scars", location="North"),
                  booking("B2", "P2", "2025-06-01", concern="wrinkles", location="South")],
                 Filters(locations=("North",), body_areas=("hands",)), {"acne_scars": 1},
                 id="location narrows; the body-area filter does not apply"),
    pytest.param([booking("B1", "P1", "2025-06-01", concern="acne_scars")], Filters(concerns=()), {},
                 id="empty list matches nothing"),
    pytest.param([], Filters(), {}, id="no bookings"),
])
def test_demand_by_concern(build_db, bookings, filters, expected):
    frame = run(build_db(bookings=bookings), "demand_by_concern", filters)
    assert counted(frame, "concern", "count_bookings") == expected


# ---------------------------------------------------------------- filter options

@pytest.mark.parametrize("filter_name, expected", [
    pytest.param("locations", ["North", "South"], id="locations"),
    pytest.param("practitioners", ["Ana", "Ben", "Cara"], id="practitioners, from sessions and bookings"),
    pytest.param("treatments", ["Chemical peel", "Micro-needling"], id="treatments"),
    pytest.param("body_areas", ["face", "hands", "neck"], id="body areas"),
    pytest.param("concerns", ["acne_scars", "fine_lines", "unknown"], id="concerns, with unknown"),
])
def test_filter_options(clinic, filter_name, expected):
    frame = run(clinic, "filter_options")
    assert frame.loc[frame["filter_name"] == filter_name, "value"].tolist() == expected


# ---------------------------------------------------------------- every metric, every filter

# Queries that list rows to follow up (patients, sessions, complaints): the total is how many rows.
LIST_QUERIES = {"recall_list", "sessions_missing_tip", "lot_sessions", "lot_complaints"}
# Marketing queries return cells and totals (grouping sets): the total is the row with every dimension null.
GROUPED_TOTALS = {
    "demand_by_concern_month_channel": (("month", "concern", "channel"), ("count_bookings",)),
    "new_patients_by_concern_channel": (("concern", "channel"), ("count_new_patients",)),
    "consultation_conversion": (("concern", "channel"), ("count_eligible", "count_pending")),
    "sessions_by_concern_and_body_area": (("concern", "body_area"), ("count_sessions",)),
    "demand_seasonality": (("concern", "month_of_year"), ("count_bookings",)),
}


def _total(name: str, frame: pd.DataFrame) -> float:
    """The one number a filter must narrow, per query."""
    column = {
        "booking_rates": "count_bookings", "complaint_rate": "count_complaints",
        "complaints_by_category": "count_complaints", "complaints_by_reported_month": "count_complaints",
        "complaints_by_severity": "count_complaints", "complaint_timing": "count_complaints",
        "complaint_resolution": "count_complaints",
        "consumables_by_item": "quantity", "consumables_by_item_month": "quantity", "numbing_by_area": "quantity",
        "consumables_summary": "cost_total", "consumable_cost_by_dimension": "cost",
        "demand_by_concern": "count_bookings", "tip_compliance_by_dimension": "count_micro_needling_sessions",
    }.get(name, "count_sessions")
    if name in ("rebooking_6m", "rebooking_by_dimension"):
        return float((frame["count_eligible"] + frame["count_pending"]).sum())
    if name == "rebooking_curve":  # one row per group and day; count_sessions repeats on each
        return float(frame.groupby("group_value")["count_sessions"].first().sum())
    if name == "needle_depth_by_area":  # count_sessions: with a depth; the clinic records none
        return float((frame["count_sessions"] + frame["count_without_depth"]).sum())
    if name in LIST_QUERIES:
        return float(len(frame))
    if name in GROUPED_TOTALS:
        dimensions, columns = GROUPED_TOTALS[name]
        return float(frame.loc[frame[list(dimensions)].isna().all(axis=1), list(columns)].sum().sum())
    return float(frame[column].sum())


FILTER_TOTALS = [  # query, total with: no filter | locations=("North",) | body_areas=("hands",) | locations=()
    pytest.param("sessions_by_body_area", 4, 2, 1, 0, id="sessions_by_body_area"),
    pytest.param("sessions_by_area_month", 4, 2, 1, 0, id="sessions_by_area_month"),
    pytest.param("session_kpis", 4, 2, 1, 0, id="session_kpis"),
    pytest.param("sessions_by_dimension", 4, 2, 1, 0, id="sessions_by_dimension"),
    pytest.param("sessions_over_time", 4, 2, 1, 0, id="sessions_over_time"),
    pytest.param("rebooking_6m", 4, 2, 1, 0, id="rebooking_6m"),
    pytest.param("complaint_rate", 2, 1, 0, 0, id="complaint_rate"),
    pytest.param("complaints_by_category", 3, 1, 0, 0, id="complaints_by_category: unlinked C3 only unfiltered"),
    pytest.param("complaints_by_reported_month", 3, 1, 0, 0, id="complaints_by_reported_month"),
    pytest.param("consumables_summary", 11.5, 7.0, 4.5, 0, id="consumables_summary"),
    pytest.param("consumables_by_item", 4, 3, 1, 0, id="consumables_by_item"),
    pytest.param("booking_rates", 4, 2, 4, 0, id="booking_rates: the body-area filter does not apply"),
    pytest.param("demand_by_concern", 5, 3, 5, 0, id="demand_by_concern: the body-area filter does not apply"),
    # clinic/ pages
    pytest.param("sessions_by_area_and_dimension", 4, 2, 1, 0, id="sessions_by_area_and_dimension"),
    pytest.param("needle_depth_by_area", 3, 2, 1, 0, id="needle_depth_by_area: micro-needling S1, S2, S4"),
    pytest.param("rebooking_by_cohort_month", 4, 2, 1, 0, id="rebooking_by_cohort_month"),
    pytest.param("rebooking_by_dimension", 4, 2, 1, 0, id="rebooking_by_dimension"),
    pytest.param("rebooking_curve", 4, 2, 1, 0, id="rebooking_curve"),
    pytest.param("recall_list", 1, 1, 0, 0, id="recall_list: P1 (51 days, last visit North face+neck)"),
    pytest.param("complaints_control", 4, 2, 1, 0, id="complaints_control"),
    pytest.param("complaints_by_severity", 3, 1, 0, 0, id="complaints_by_severity: unlinked C3 only unfiltered"),
    pytest.param("complaint_rate_by_dimension", 4, 2, 1, 0, id="complaint_rate_by_dimension"),
    pytest.param("complaint_timing", 2, 1, 0, 0, id="complaint_timing: linked complaints only"),
    pytest.param("complaint_resolution", 3, 1, 0, 0, id="complaint_resolution: unlinked C3 only unfiltered"),
    pytest.param("consumables_by_item_month", 4, 3, 1, 0, id="consumables_by_item_month"),
    pytest.param("consumable_cost_by_dimension", 11.5, 7.0, 4.5, 0, id="consumable_cost_by_dimension"),
    pytest.param("numbing_by_area", 2, 2, 0, 0, id="numbing_by_area: S1's gel"),
    pytest.param("tip_compliance_by_dimension", 3, 2, 1, 0, id="tip_compliance_by_dimension"),
    pytest.param("sessions_missing_tip", 1, 1, 0, 0, id="sessions_missing_tip: S2"),
    pytest.param("lot_trace", 3, 2, 1, 0, id="lot_trace: L1, N1 (S1) and L2 (S4)"),
    pytest.param("lot_sessions", 1, 1, 0, 0, id="lot_sessions: L1 on S1"),
    pytest.param("lot_complaints", 1, 1, 0, 0, id="lot_complaints: C1 on S1"),
    # marketing/ (the body-area filter applies to sessions only)
    pytest.param("demand_by_concern_month_channel", 5, 3, 5, 0, id="demand_by_concern_month_channel"),
    pytest.param("new_patients_by_concern_channel", 3, 2, 3, 0,
                 id="new_patients_by_concern_channel: P2's first booking is at South"),
    pytest.param("consultation_conversion", 0, 0, 0, 0,
                 id="consultation_conversion: no consultation here (test_marketing_metrics.py has them)"),
    pytest.param("sessions_by_concern_and_body_area", 4, 2, 1, 0, id="sessions_by_concern_and_body_area"),
    pytest.param("demand_seasonality", 5, 3, 5, 0, id="demand_seasonality: April-June 2025 are complete"),
]


@pytest.mark.parametrize("name, everything, north, hands, nothing", FILTER_TOTALS)
def test_filters_reach_every_metric(clinic, name, everything, north, hands, nothing):
    totals = [_total(name, run(clinic, name, filters)) for filters in
              (Filters(), Filters(locations=("North",)), Filters(body_areas=("hands",)), Filters(locations=()))]
    assert totals == pytest.approx([everything, north, hands, nothing])


def test_every_dated_query_has_a_filter_row():
    assert sorted(p.values[0] for p in FILTER_TOTALS) == DATED_QUERIES



# The queries that count the patients behind their figures for marketing's small-cell rule (SPEC 2.14) and can
# skip them: with patients=False (the owner's Overview, the report) every other figure is the same and the
# patient columns are null. count_new_patients is a figure of its own (a card), always counted.
SKIPPABLE_PATIENT_COUNTS = {
    "session_kpis": ("count_patients",),
    "rebooking_6m": ("count_patients_eligible", "count_patients_rebooked", "count_patients_not_rebooked",
                     "count_patients_pending"),
    "booking_rates": ("count_patients_booked", "count_patients_completed", "count_patients_no_show",
                      "count_patients_cancelled", "count_patients_scheduled"),
    "complaint_rate": ("count_patients", "count_patients_complained"),
    "consumables_summary": ("count_patients", "count_patients_uncosted", "count_patients_micro_needling",
                            "count_patients_with_needle_tip", "count_patients_without_needle_tip"),
    "sessions_over_time": ("count_patients", "count_patients_complained"),
    "sessions_by_dimension": ("count_patients",),
}


@pytest.mark.parametrize("filters", [
    pytest.param(Filters(), id="everything"),
    pytest.param(Filters(locations=("North",)), id="one location"),
    pytest.param(Filters(body_areas=("hands",)), id="one body area"),
    pytest.param(Filters(start=d("2025-05-15"), end=d("2025-06-15")), id="a period"),
    pytest.param(Filters(locations=()), id="nothing"),
])
@pytest.mark.parametrize("name", sorted(SKIPPABLE_PATIENT_COUNTS))
def test_without_patient_counts_every_other_figure_is_the_same(clinic, name, filters):
    counted, skipped = run(clinic, name, filters), run(clinic, name, filters, patients=False)
    columns = list(SKIPPABLE_PATIENT_COUNTS[name])
    assert set(columns) == {c for c in counted.columns if "patients" in c} - {"count_new_patients"}
    assert counted[columns].notna().all().all() and skipped[columns].isna().all().all()
    pd.testing.assert_frame_equal(skipped.drop(columns=columns), counted.drop(columns=columns), check_dtype=False)

# ---------------------------------------------------------------- empty data, unknown names

def _assert_nothing_counted(name: str, frame: pd.DataFrame) -> None:
    if name in LOAD_QUERIES or name == "filter_options":
        return
    for column in frame.columns:
        if column.startswith("count_") or column in ("revenue", "cost", "cost_total", "quantity"):
            assert (frame[column] == 0).all(), (name, column, frame)
        if column.endswith("_rate") or column in ("tip_compliance", "cost_per_session", "average_price",
                                                  "complaints_per_100_sessions", "complaints_per_100",
                                                  "share_of_sessions", "quantity_per_session"):
            assert frame[column].isna().all(), (name, column, frame)


@pytest.mark.parametrize("name", query_names())
def test_every_query_runs_when_nothing_matches(clinic, name):
    """Filtered to nothing: grouped queries give no rows, single-row ones zero counts and NaN rates."""
    frame = run(clinic, name, Filters(locations=()))
    assert isinstance(frame, pd.DataFrame)
    _assert_nothing_counted(name, frame)


@pytest.fixture(scope="module")
def empty_ish(tmp_path_factory):
    """One booking made on the export's date for later; no sessions; no optional files."""
    con = _load_export(tmp_path_factory.mktemp("empty_ish"), {
        "bookings": [booking("B1", "P1", "2025-09-01", booked_at="2025-06-30", status="scheduled")],
        "sessions": [], "consumables": None, "complaints": None})
    yield con
    con.close()


@pytest.mark.parametrize("name", query_names())
def test_every_query_runs_on_an_empty_ish_database(empty_ish, name):
    frame = run(empty_ish, name, as_of=None)
    assert isinstance(frame, pd.DataFrame)
    if name == "demand_by_concern":
        assert counted(frame, "concern", "count_bookings") == {"unknown": 1}
    elif name in ("demand_by_concern_month_channel", "new_patients_by_concern_channel"):
        assert _total(name, frame) == 1  # the booking made on the export's date, by a new patient
    else:
        _assert_nothing_counted(name, frame)


@pytest.fixture(scope="module")
def headers_only(tmp_path_factory):
    con = _load_export(tmp_path_factory.mktemp("headers_only"),
                       {"bookings": [], "sessions": [], "consumables": [], "complaints": []})
    yield con
    con.close()


@pytest.mark.parametrize("name", query_names())
def test_every_query_runs_on_headers_only_with_as_of(headers_only, name):
    frame = run(headers_only, name)
    assert isinstance(frame, pd.DataFrame)
    _assert_nothing_counted(name, frame)


def test_headers_only_without_as_of_is_computed_as_of_today(build_db):
    con = build_db()
    assert default_as_of(con) == date.today()
    assert run_query(con, "sessions_by_body_area").empty


@pytest.mark.parametrize("name", ["no_such_query", "../marts/fct_sessions", "fct_sessions", ""])
def test_run_query_refuses_an_unknown_name(clinic, name):
    with pytest.raises(KeyError, match="no query named"):
        run_query(clinic, name, as_of=AS_OF)
