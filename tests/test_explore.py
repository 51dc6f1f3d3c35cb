"""The staff explorer's SQL (queries/explore.py), as tables of tiny hand-made exports and the rows they must give.

Every builder returns (sql, params): values are bound, never formatted into the SQL; identifiers come only
from the per-entity allowlist.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from conftest import booking, complaint, consumable, session, write_export
from openpyxl import load_workbook

from queries import explore as x
from queries.api import Filters
from queries.load import load

AS_OF = date(2025, 6, 30)
ALL = Filters()
INJECTED = '=HYPERLINK("http://x","y")'

# ------------------------------------------------------------------------------------------------------------------
# A small clinic (as_of 2025-06-30):
#   bookings  B1 P1 appt 05-10 completed North acne_scars instagram    B2 P2 appt 05-20 completed South fine_lines
#             B3 P3 appt 06-05 no_show  North                            B4 P1 appt 06-10 cancelled South
#             B5 P1 appt 07-15 scheduled, booked 06-20 (ahead)           B6 P2 appt 06-25, booked 07-02 (after as_of)
#   sessions  S1 P1 05-10 face 200 depth 1.0 North   S2 P1 05-10 neck 100 North   S3 P2 05-20 "=HYPERLINK" 150 South
#             S4 P4 06-12 hands, no price, no location                          S5 P1 07-02 face (after as_of)
#   consumables  S1 tip (lot L1) 4.50, S1 numbing gel 2 ml x 1.25 (lot N1), S4 tip 4.50
#   complaints   C1 -> S1 05-12 redness, resolved 05-20   C2 -> S3 05-25 swelling, resolved 07-10 (after as_of)
#                C3 no session P5 06-15 pain               C4 -> S1 reported 07-01 (after as_of)
# ------------------------------------------------------------------------------------------------------------------

CLINIC = {
    "bookings": [
        booking("B1", "P1", "2025-05-10 10:00", booked_at="2025-04-01 09:00", location="North", practitioner="Ana",
                concern="acne_scars", channel="instagram"),
        booking("B2", "P2", "2025-05-20 11:00", booked_at="2025-05-01", treatment="Chemical peel", location="South",
                practitioner="Ben", concern="fine_lines"),
        booking("B3", "P3", "2025-06-05 09:00", booked_at="2025-05-15", status="no_show", location="North",
                practitioner="Cara"),
        booking("B4", "P1", "2025-06-10", booked_at="2025-06-01", treatment="Chemical peel", status="cancelled",
                location="South", practitioner="Ana", concern="fine_lines"),
        booking("B5", "P1", "2025-07-15", booked_at="2025-06-20", status="scheduled", location="North"),
        booking("B6", "P2", "2025-07-20", booked_at="2025-07-02", status="scheduled", location="North"),
    ],
    "sessions": [
        session("S1", "P1", "2025-05-10 10:30", booking_id="B1", location="North", practitioner="Ana", price="200",
                needle_depth_mm="1.0"),
        session("S2", "P1", "2025-05-10 10:30", booking_id="B1", body_area="neck", location="North",
                practitioner="Ana", price="100"),
        session("S3", "P2", "2025-05-20 11:15", booking_id="B2", treatment=INJECTED, location="South",
                practitioner="Ben", price="150"),
        session("S4", "P4", "2025-06-12 14:00", body_area="hands", practitioner="Ana"),
        session("S5", "P1", "2025-07-02 10:00", location="North", price="200"),
    ],
    "consumables": [
        consumable("S1", unit_cost="4.50", lot="L1"),
        consumable("S1", "Topical numbing gel", category="numbing", quantity="2", unit="ml", unit_cost="1.25", lot="N1"),
        consumable("S4", unit_cost="4.50", lot="L2"),
    ],
    "complaints": [
        complaint("C1", "P1", "2025-05-12", session_id="S1", resolved_at="2025-05-20"),
        complaint("C2", "P2", "2025-05-25", session_id="S3", category="swelling", resolved_at="2025-07-10"),
        complaint("C3", "P5", "2025-06-15", category="pain"),
        complaint("C4", "P1", "2025-07-01", session_id="S1", category="bruising"),
    ],
}


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    con = load(write_export(tmp_path_factory.mktemp("explore"), **CLINIC)).connection
    yield con
    con.close()


def every_row(con, query: x.Query, filters: Filters = ALL, as_of: date = AS_OF) -> list[tuple]:
    sql, params = x.rows_sql(query, filters, as_of)
    return con.execute(sql, params).fetchall()


def keys(con, query: x.Query, filters: Filters = ALL, as_of: date = AS_OF) -> list:
    """The entity key of every matching row, in the query's order."""
    key = query.spec.key[0]
    return [row[0] for row in every_row(con, x.Query(query.entity, query.filters, (key,), query.sort,
                                                         query.descending), filters, as_of)]


# --- the rows of each entity -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("entity, expected", [
    pytest.param("sessions", ["S1", "S2", "S3", "S4"], id="sessions on or before as_of"),
    pytest.param("bookings", ["B1", "B2", "B3", "B4"], id="appointments on or before as_of"),
    pytest.param("complaints", ["C1", "C2", "C3"], id="complaints reported on or before as_of"),
    pytest.param("consumables", [2, 3, 4], id="consumable lines of those sessions (by line in the file)"),
    pytest.param("patients", ["P1", "P2", "P4"], id="patients with a session"),
])
def test_each_entity_has_its_rows(clinic, entity, expected):
    spec = x.entity(entity)
    assert sorted(keys(clinic, x.Query(entity, sort=spec.key[0]))) == expected
    assert x.count_rows(clinic, x.Query(entity), ALL, AS_OF) == len(expected)


def test_the_period_and_sidebar_filters_apply_as_on_every_page(clinic):
    may = Filters(start=date(2025, 5, 1), end=date(2025, 5, 31))
    sessions, bookings = x.Query("sessions", sort="session_id", descending=False), \
        x.Query("bookings", sort="booking_id", descending=False)
    assert keys(clinic, sessions, may) == ["S1", "S2", "S3"]
    assert keys(clinic, sessions, Filters(locations=("North",))) == ["S1", "S2"]
    assert keys(clinic, bookings, Filters(concerns=("fine_lines",))) == ["B2", "B4"]
    # The body-area filter does not apply to bookings (they have none).
    assert keys(clinic, bookings, Filters(body_areas=("neck",))) == ["B1", "B2", "B3", "B4"]
    assert keys(clinic, x.Query("patients", sort="patient_id", descending=False), Filters(body_areas=("hands",))) == ["P4"]
    # A later as_of shows what was known by then.
    assert keys(clinic, sessions, as_of=date(2025, 7, 31)) == ["S1", "S2", "S3", "S4", "S5"]


def _row(con, query: x.Query, key_value):
    names = query.shown
    for row in every_row(con, query):
        record = dict(zip(names, row, strict=True))
        if record[query.spec.key[0]] == key_value:
            return record
    raise AssertionError(f"no row {key_value}")


def test_a_patient_row(clinic):
    query = x.Query("patients", columns=x.entity("patients").names)
    p1 = _row(clinic, query, "P1")
    assert p1 == {
        "patient_id": "P1", "first_visit_date": date(2025, 5, 10), "last_visit_date": date(2025, 5, 10),
        "days_since_last_visit": 51, "count_sessions": 2, "spend": 300.0, "count_sessions_to_date": 2,
        "spend_to_date": 300.0, "treatments": "Micro-needling", "body_areas": "face, neck",
        "concerns": "acne_scars, fine_lines", "channel": "instagram", "next_booking_date": date(2025, 7, 15),
        "count_no_shows": 0, "no_show_rate": 0.0, "count_complaints": 1,  # C4 is reported after as_of
    }
    p4 = _row(clinic, query, "P4")
    assert (p4["spend"], p4["concerns"], p4["next_booking_date"], p4["no_show_rate"]) == (None, None, None, None)


def test_a_complaint_resolved_after_as_of_is_still_open(clinic):
    query = x.Query("complaints", columns=("complaint_id", "resolved_at", "days_to_resolve", "days_after_session"))
    assert _row(clinic, query, "C2")["resolved_at"] is None
    c1 = _row(clinic, query, "C1")
    assert (c1["days_to_resolve"], c1["days_after_session"]) == (8, 2)


def test_session_complaints_count_those_known_on_as_of(clinic):
    query = x.Query("sessions", columns=("session_id", "count_complaints", "consumable_cost", "has_needle_tip"))
    assert _row(clinic, query, "S1") == {"session_id": "S1", "count_complaints": 1, "consumable_cost": 7.0,
                                         "has_needle_tip": True}


# --- column filters ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("entity, column_filter, expected", [
    pytest.param("sessions", x.contains("treatment", "NEEDL"), ["S1", "S2", "S4"], id="contains, any case"),
    pytest.param("sessions", x.contains("patient_id", "4"), ["S4"], id="contains on an id"),
    pytest.param("sessions", x.one_of("body_area", ["neck", "hands"]), ["S2", "S4"], id="value in list"),
    pytest.param("sessions", x.one_of("location", [None]), ["S4"], id="in list: not recorded"),
    pytest.param("sessions", x.one_of("location", ["South", None]), ["S3", "S4"], id="in list: a value or not recorded"),
    pytest.param("sessions", x.one_of("has_needle_tip", [True]), ["S1", "S4"], id="yes/no column"),
    pytest.param("sessions", x.between("price", 100, 150), ["S2", "S3"], id="number range, both ends included"),
    pytest.param("sessions", x.between("price", 150, None), ["S1", "S3"], id="number range, open above"),
    pytest.param("sessions", x.between("needle_depth_mm", None, 1.0), ["S1"], id="number range, open below"),
    pytest.param("sessions", x.between("performed_at", date(2025, 5, 10), date(2025, 5, 10)), ["S1", "S2"],
                 id="date range on a timestamp: by day, both ends included"),
    pytest.param("bookings", x.between("appointment_at", date(2025, 5, 11), None), ["B2", "B3", "B4"],
                 id="date range, open above"),
    pytest.param("bookings", x.one_of("status", ["no_show", "cancelled"]), ["B3", "B4"], id="status in list"),
    pytest.param("complaints", x.between("session_date", date(2025, 5, 1), date(2025, 5, 31)), ["C1", "C2"],
                 id="date range on a date"),
    pytest.param("consumables", x.contains("lot", "l"), [2, 4], id="contains on a lot"),
    pytest.param("patients", x.contains("concerns", "acne scars"), ["P1"], id="codes read as words"),
    pytest.param("patients", x.contains("body_areas", "neck"), ["P1"], id="a late column filtered for every patient"),
    pytest.param("patients", x.between("no_show_rate", 0, 0.5), ["P1", "P2"], id="rate range"),
])
def test_column_filters(clinic, entity, column_filter, expected):
    spec = x.entity(entity)
    query = x.Query(entity, filters=(column_filter,), sort=spec.key[0], descending=False)
    assert keys(clinic, query) == expected
    assert x.count_rows(clinic, query, ALL, AS_OF) == len(expected)


def test_filters_combine_with_and(clinic):
    query = x.Query("sessions", filters=(x.contains("treatment", "needling"), x.between("price", 150, None)))
    assert keys(clinic, query) == ["S1"]


def test_contains_matches_percent_underscore_and_quote_literally_and_binds_them(build_db):
    literal = "50% off_peel 'special'"
    con = build_db(sessions=[
        session("S1", "P1", "2025-05-01", treatment=literal),
        session("S2", "P2", "2025-05-02", treatment="500 off peel 'special'"),  # matches if % and _ were wildcards
        session("S3", "P3", "2025-05-03", treatment="50% offXpeel 'special'"),  # matches if _ were a wildcard
        session("S4", "P4", "2025-05-04", treatment="50% off_peel special"),  # no quotes
    ])
    query = x.Query("sessions", filters=(x.contains("treatment", literal),))
    sql, params = x.rows_sql(query, ALL, date(2025, 6, 30))
    assert literal not in sql and "special" not in sql and "50%" not in sql
    assert params["f0"] == "%50\\% off\\_peel 'special'%"  # bound, its wildcards escaped
    assert keys(con, query, as_of=date(2025, 6, 30)) == ["S1"]
    # A backslash (the LIKE escape) is a literal too.
    con2 = build_db(sessions=[session("S1", "P1", "2025-05-01", treatment="a\\%b"),
                              session("S2", "P2", "2025-05-01", treatment="a\\xb")])
    assert keys(con2, x.Query("sessions", filters=(x.contains("treatment", "a\\%"),)), as_of=date(2025, 6, 30)) == ["S1"]


@pytest.mark.parametrize("query", [
    pytest.param(x.Query("sessions", columns=("nope",)), id="unknown column shown"),
    pytest.param(x.Query("sessions", columns=('price" from fct_sessions; --',)), id="SQL as a column"),
    pytest.param(x.Query("sessions", sort="nope"), id="unknown sort column"),
    pytest.param(x.Query("sessions", sort="performed_at desc; drop table fct_sessions"), id="SQL as a sort"),
    pytest.param(x.Query("sessions", sort="status"), id="a column of another entity"),
    pytest.param(x.Query("sessions", filters=(x.contains("nope", "a"),)), id="unknown filter column"),
    pytest.param(x.Query("sessions", descending="desc; drop table x"), id="a direction that is not a bool"),
    pytest.param(x.Query("visits"), id="unknown entity"),
])
def test_names_outside_the_allowlist_are_refused(clinic, query):
    with pytest.raises(x.UnknownColumn):
        x.rows_sql(query, ALL, AS_OF)
    with pytest.raises(x.UnknownColumn):
        x.count_sql(query, ALL, AS_OF)


@pytest.mark.parametrize("column_filter, message", [
    (x.contains("treatment", ""), "empty"),
    (x.contains("treatment", "a" * (x.MAX_TEXT + 1)), "at most"),
    (x.between("price", "ten", None), "not a number"),
    (x.between("price", 200, 100), "above the highest"),
    (x.between("price", None, None), "lowest value, a highest value or both"),
    (x.between("performed_at", "2025-13-01", None), "not a date"),
    (x.one_of("body_area", []), "between 1 and"),
    (x.one_of("has_needle_tip", ["yes"]), "not yes or no"),
    (x.one_of("price", [100]), "filtered by range"),
    (x.contains("price", "1"), "filtered by range"),
])
def test_invalid_filter_values_are_refused_with_a_reason(column_filter, message):
    with pytest.raises(x.InvalidFilter, match=message):
        x.rows_sql(x.Query("sessions", filters=(column_filter,)), ALL, AS_OF)


def test_a_column_filter_value_is_never_in_the_sql(clinic):
    query = x.Query("sessions", filters=(x.one_of("location", ["Nor'th"]), x.between("price", 123.5, None),
                                         x.between("performed_at", date(2025, 5, 10), None)))
    sql, params = x.rows_sql(query, ALL, AS_OF, limit=10, offset=0)
    assert "Nor'th" not in sql and "123.5" not in sql and "2025-05-10" not in sql
    assert {"f0", "f1_low", "f2_low", "limit", "offset"} <= params.keys()


# --- sorting and paging -----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ties(tmp_path_factory):
    """23 sessions: prices in three tied groups, times in two tied groups, some without a price."""
    # Written in reverse: a sort that fell back on the file's order would not be by the key.
    sessions = [session(f"S{i:02d}", f"P{i % 5}", f"2025-05-{1 + i % 2:02d} 10:00",
                        price="" if i % 7 == 0 else str(100 * (i % 3))) for i in reversed(range(23))]
    con = load(write_export(tmp_path_factory.mktemp("ties"), bookings=[], sessions=sessions)).connection
    yield con
    con.close()


def expected_order(con, sort: str, descending: bool) -> list[str]:
    """Session ids by `sort` (missing values last), ties by session id: computed here, not by the explorer."""
    rows = con.execute(f"select session_id, {sort} from fct_sessions").fetchall()
    known = sorted((r for r in rows if r[1] is not None), key=lambda r: r[0])
    known = sorted(known, key=lambda r: r[1], reverse=descending)  # stable: ties keep the id order
    return [r[0] for r in known] + sorted(r[0] for r in rows if r[1] is None)


@pytest.mark.parametrize("sort, descending", [("price", False), ("price", True), ("performed_at", True),
                                              ("patient_id", False), ("session_id", True)])
@pytest.mark.parametrize("page_size", [1, 4, 10, 23, 50])
def test_pages_hold_every_row_exactly_once(ties, sort, descending, page_size):
    query = x.Query("sessions", columns=("session_id", sort), sort=sort, descending=descending)
    total = x.count_rows(ties, query, ALL, AS_OF)
    assert total == 23
    pages = x.page_count(total, page_size)
    seen = []
    for page in range(1, pages + 1):
        frame = x.fetch_page(ties, query, ALL, AS_OF, page, page_size)
        assert len(frame) == min(page_size, total - (page - 1) * page_size)
        seen += frame["session_id"].tolist()
    assert sorted(seen) == sorted(set(seen)) and len(seen) == total
    assert seen == expected_order(ties, sort, descending)  # the pages, end to end, are the sorted rows
    assert x.fetch_page(ties, query, ALL, AS_OF, pages + 1, page_size).empty


def test_sorting_puts_missing_values_last_either_way(ties):
    for descending in (False, True):
        prices = [row[1] for row in every_row(ties, x.Query("sessions", columns=("session_id", "price"), sort="price",
                                                            descending=descending))]
        known = [p for p in prices if p is not None]
        assert prices == known + [None] * (len(prices) - len(known))
        assert known == sorted(known, reverse=descending)


def test_ties_are_broken_by_the_unique_key(ties):
    rows = every_row(ties, x.Query("sessions", columns=("session_id", "price"), sort="price", descending=True))
    assert rows == sorted(rows, key=lambda r: (r[1] is None, -(r[1] or 0), r[0]))


def test_page_count():
    assert [x.page_count(n, 100) for n in (0, 1, 100, 101, 1000)] == [1, 1, 1, 2, 10]


@pytest.mark.parametrize("sort", ["last_visit_date", "body_areas", "next_booking_date"])
def test_patients_page_joins_late_columns_like_the_whole_query(clinic, sort):
    """Late columns are joined for the page's rows only unless sorted or filtered on: same rows either way."""
    query = x.Query("patients", columns=x.entity("patients").names, sort=sort)
    whole = every_row(clinic, query)
    paged = []
    for page in (1, 2, 3):
        sql, params = x.rows_sql(query, ALL, AS_OF, limit=1, offset=page - 1)
        paged += clinic.execute(sql, params).fetchall()
    assert paged == whole


def test_values_offered_for_a_list_filter(clinic):
    assert x.distinct_values(clinic, x.Query("sessions"), "location", ALL, AS_OF) == ["North", "South", None]
    assert x.distinct_values(clinic, x.Query("sessions"), "location", Filters(body_areas=("hands",)), AS_OF) == [None]
    with pytest.raises(x.UnknownColumn):
        x.values_sql(x.Query("sessions"), "nope", ALL, AS_OF)


# --- a patient's history -----------------------------------------------------------------------------------------

def test_patient_history_has_everything_known_on_as_of_in_order(clinic):
    events = x.patient_history(clinic, "P1", AS_OF)
    assert list(zip(events["kind"], events["record_id"], strict=True)) == [
        ("booking", "B1"), ("session", "S1"), ("session", "S2"),
        ("consumable", "S1"), ("consumable", "S1"),
        ("complaint", "C1"), ("booking", "B4"), ("booking", "B5"),
    ]
    detail = dict(zip(events["record_id"] + events["kind"], events["detail"], strict=True))
    assert detail["B5booking"] == "upcoming" and detail["B4booking"] == "cancelled"
    assert detail["C1complaint"] == "prolonged_redness · resolved 2025-05-20" or detail["C1complaint"].endswith(
        "resolved 2025-05-20")
    assert set(events.loc[events["kind"] == "consumable", "what"]) == {"MicroPen sterile tip (12-needle)",
                                                                       "Topical numbing gel"}


def test_patient_history_binds_the_patient(clinic):
    sql, params = x.history_sql("P1' or '1'='1", AS_OF)
    assert "P1" not in sql and params["patient_id"] == "P1' or '1'='1"
    assert x.patient_history(clinic, "P1' or '1'='1", AS_OF).empty
    # A later as_of adds what happened after.
    later = x.patient_history(clinic, "P1", date(2025, 7, 31))
    assert {"S5", "C4"} <= set(later["record_id"])


# --- downloads ----------------------------------------------------------------------------------------------------

def test_rows_are_streamed_in_batches(clinic):
    query = x.Query("sessions", columns=("session_id",), sort="session_id", descending=False)
    batches = list(x.iter_rows(clinic, query, ALL, AS_OF, batch_rows=3))
    assert [len(b) for b in batches] == [3, 1]
    assert [row[0] for batch in batches for row in batch] == ["S1", "S2", "S3", "S4"]


EXPORT = x.Query("sessions", columns=("session_id", "performed_at", "treatment", "price", "has_needle_tip"),
                 sort="session_id", descending=False)


def test_csv_export_has_every_row_and_formulas_as_text(clinic):
    data = x.export_csv(clinic, EXPORT, ALL, AS_OF, x.export_columns(EXPORT))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["session_id", "performed_at", "treatment", "price", "has_needle_tip"]
    assert [r[0] for r in rows[1:]] == ["S1", "S2", "S3", "S4"]
    assert rows[3] == ["S3", "2025-05-20 11:15", "'" + INJECTED, "150", "no"]
    assert rows[4][3] == ""  # no price


def test_csv_defuses_every_formula_start_and_keeps_numbers():
    out = io.StringIO()
    x.write_csv([[("=1+1", -5.0), ("+1", 3), ("-x", None), ("@SUM(A1)", 1.5), ("\tx", 0), ("\rx", 0), ("ok", 0)]],
                out, [x.ExportColumn("=h"), x.ExportColumn("n")])
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == ["'=h", "n"]
    assert [r[0] for r in rows[1:]] == ["'=1+1", "'+1", "'-x", "'@SUM(A1)", "'\tx", "'\rx", "ok"]
    assert rows[1][1] == "-5"  # a negative number is a number, not a formula


def test_xlsx_export_has_every_row_typed_and_formulas_as_text(clinic, tmp_path):
    data = x.export_xlsx(clinic, EXPORT, ALL, AS_OF, x.export_columns(EXPORT, str.upper), currency="€")
    path = tmp_path / "explore.xlsx"
    path.write_bytes(data)
    sheet = load_workbook(path).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("SESSION_ID", "PERFORMED_AT", "TREATMENT", "PRICE", "HAS_NEEDLE_TIP")
    assert [r[0] for r in rows[1:]] == ["S1", "S2", "S3", "S4"]
    cell = sheet.cell(row=4, column=3)
    assert (cell.value, cell.data_type) == (INJECTED, "s")
    assert sheet.cell(row=4, column=2).is_date and sheet.cell(row=4, column=4).value == 150
    assert "€" in sheet.cell(row=4, column=4).number_format
    assert sheet.cell(row=2, column=5).value is True
    assert sheet.cell(row=5, column=4).value is None  # no price
    assert sheet.freeze_panes == "A2"


def test_xlsx_refuses_more_rows_than_its_limit(clinic):
    with pytest.raises(x.TooManyRows, match="more than 3 rows"):
        x.export_xlsx(clinic, EXPORT, ALL, AS_OF, x.export_columns(EXPORT), max_rows=3)
    assert x.export_xlsx(clinic, EXPORT, ALL, AS_OF, x.export_columns(EXPORT), max_rows=4)
    assert x.EXCEL_MAX_ROWS == 1_048_576 - 1  # a sheet's rows, less the header


def test_exports_follow_the_filters_and_the_words(clinic):
    query = x.Query("sessions", filters=(x.one_of("body_area", ["neck"]),), columns=("session_id", "body_area"))
    columns = x.export_columns(query, words=lambda name: str.upper if name == "body_area" else None)
    rows = list(csv.reader(io.StringIO(x.export_csv(clinic, query, ALL, AS_OF, columns).decode("utf-8-sig"))))
    assert rows == [["session_id", "body_area"], ["S2", "NECK"]]


# --- the link ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("state", [
    x.LinkState(x.Query("sessions")),
    x.LinkState(x.Query("bookings", filters=(x.one_of("status", ["no_show", "completed"]),
                                             x.contains("treatment", "a:b, c%_'"),
                                             x.between("appointment_at", date(2025, 1, 1), None)),
                        columns=("booking_id", "status"), sort="booked_at", descending=False), page=3, patient="P 1"),
    x.LinkState(x.Query("sessions", filters=(x.one_of("location", [None, "North"]), x.between("price", 10.5, 200),
                                             x.one_of("has_needle_tip", [False])))),
    x.LinkState(x.Query("patients", filters=(x.between("no_show_rate", None, 0.25),), sort="spend")),
])
def test_link_round_trip(state):
    params = x.to_params(state)
    assert all(name in x.URL_PARAMS for name in params)
    listed = {name: [value] if isinstance(value, str) else value for name, value in params.items()}
    back, problems = x.from_params(listed)
    assert problems == []
    assert x.to_params(back) == params
    assert (set(back.query.filters), back.page, back.patient) == (set(state.query.filters), state.page, state.patient)


def test_defaults_keep_the_link_short():
    assert x.to_params(x.LinkState(x.Query("sessions"))) == {"x_entity": "sessions"}


@pytest.mark.parametrize("params, problem", [
    ({"x_entity": ["visits"]}, "nothing to explore"),
    ({"x_sort": ["nope"]}, "not a column of sessions"),
    ({"x_dir": ["sideways"]}, "asc or desc"),
    ({"x_cols": ["session_id,nope"]}, "'nope' not a column"),
    ({"x_min": ["price:ten"]}, "'ten' is not a number"),
    ({"x_max": ["performed_at:2025-02-30"]}, "not a date"),
    ({"x_in": ["has_needle_tip:maybe"]}, "not yes or no"),
    ({"x_in": ["price:100"]}, "filtered by range"),
    ({"x_contains": ["nope:x"]}, "no column 'nope'"),
    ({"x_contains": ["treatment"]}, "not column:value"),
    ({"x_min": ["price:200"], "x_max": ["price:100"]}, "above the highest"),
    ({"x_page": ["0"]}, "not a page number"),
])
def test_a_link_value_that_does_not_fit_is_dropped_with_a_reason(params, problem):
    state, problems = x.from_params(params)
    assert len(problems) == 1 and problem in problems[0], problems
    assert x.validate(state.query) == state.query  # what is left is usable
