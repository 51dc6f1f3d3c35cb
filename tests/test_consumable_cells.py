"""fct_consumable_cells: the consumable lines summed at load per month and cell, which the Consumables
page's charts and lot trace read for the whole months of a period (marts/consumable_cells_macros.sql).

consumable_cells_in_period must give exactly the rows consumable_line_cells gives from the lines: for
periods of whole months, of parts of months, cut by as_of, filtered, and with complaints reported after
as_of. The last test changes the cells to show which months are read from them and which from the lines.
"""

from __future__ import annotations

from datetime import date

import pytest
from conftest import complaint, consumable, session, write_export

from queries.api import Filters, parameters
from queries.load import load

AS_OF = date(2025, 6, 30)
TIP, GEL, SERUM = "MicroPen sterile tip (12-needle)", "Topical numbing gel", "Hyaluronic serum"
COMPLAINT_COLUMNS = ("count_item_complaints", "count_lot_complaints")
# The call the queries make; $last_complaint_on null for those that read no complaints.
CELLS_IN_PERIOD = ("select * from consumable_cells_in_period($start, $end, $as_of, $locations, $practitioners, "
                   "$treatments, $body_areas, $concerns, $last_complaint_on)")
# The same cells summed from the lines alone: the definition the cells are checked against.
LINE_CELLS = ("select * from consumable_line_cells($start, $end, $as_of, $locations, $practitioners, $treatments, "
              "$body_areas, $concerns, false)")
LAST_COMPLAINT_ON = date(2025, 6, 12)


def d(text: str) -> date:
    return date.fromisoformat(text)


@pytest.fixture(scope="module")
def clinic(tmp_path_factory):
    """Sessions from January to June 2025 in two locations (one a day on the 1st, 10th, 15th, 20th and
    last of each month), each with a tip, numbing gel and on even days a serum; lots change monthly, and a
    few lines have none. Complaints follow every fifth session a week later; the last is reported on
    12 June, after the sessions of 1 and 10 June."""
    sessions, lines, complaints = [], [], []
    days = [(month, day) for month in range(1, 7)
            for day in (1, 10, 15, 20, {1: 31, 2: 28, 3: 31, 4: 30, 5: 31, 6: 30}[month])]
    for n, (month, day) in enumerate(days):
        sid, pid = f"S{n:03}", f"P{n % 7}"
        performed = f"2025-{month:02}-{day:02}"
        sessions.append(session(sid, pid, f"{performed} 10:00", location="North" if n % 3 else "South",
                                practitioner="Ana" if n % 2 else "Ben"))
        lines.append(consumable(sid, TIP, lot=f"T-{month}" if n % 4 else "", unit_cost="2"))
        lines.append(consumable(sid, GEL, category="numbing", unit="g", quantity="0.5", lot=f"G-{month}",
                                unit_cost="" if n % 5 == 0 else "0.25"))
        if day % 2 == 0:
            lines.append(consumable(sid, SERUM, category="serum", unit="ml", quantity="2", lot=f"H-{month}",
                                    unit_cost="8"))
            lines.append(consumable(sid, SERUM, category="serum", unit="ml", quantity="1", lot=f"H-{month}",
                                    unit_cost="8"))  # a second line of the item and lot: one session
        if n % 5 == 0 and (month, day) < (6, 10):
            reported = f"2025-{month:02}-{min(day + 7, 28):02}" if month < 6 else "2025-06-12"
            complaints.append(complaint(f"K{n:03}", pid, reported, session_id=sid))
    lines.append(consumable("NOT-LOADED", TIP, lot="T-1", unit_cost="2"))  # an orphan line: in no period
    folder = write_export(tmp_path_factory.mktemp("cells"), bookings=[], sessions=sessions, consumables=lines,
                          complaints=complaints)
    con = load(folder).connection
    yield con
    con.close()


def cells(con, sql: str, filters: Filters, as_of: date, last_complaint_on: date | None,
          without: tuple[str, ...] = ()) -> list[tuple]:
    values = {**parameters(filters, as_of), "last_complaint_on": last_complaint_on}
    frame = con.execute(sql, {k: v for k, v in values.items() if f"${k}" in sql}).df()
    frame = frame.drop(columns=list(without)).astype(object).where(frame.notna(), None)
    return sorted((tuple(row) for row in frame.itertuples(index=False)), key=repr)


def test_the_export_has_what_the_cases_need(clinic):
    assert clinic.execute("select last_complaint_on from load_meta").fetchone() == (LAST_COMPLAINT_ON,)
    assert clinic.execute("select count(*) from fct_consumable_cells").fetchone()[0] > 0


PERIODS = [
    pytest.param(Filters(start=d("2025-02-01"), end=d("2025-04-30")), AS_OF, id="whole months"),
    pytest.param(Filters(start=d("2025-02-15"), end=d("2025-04-30")), AS_OF, id="from the middle of a month"),
    pytest.param(Filters(start=d("2025-02-01"), end=d("2025-04-20")), AS_OF, id="to the middle of a month"),
    pytest.param(Filters(start=d("2025-02-10"), end=d("2025-04-15")), AS_OF, id="parts of months at both ends"),
    pytest.param(Filters(), d("2025-05-20"), id="everything, as_of in the middle of a month"),
    pytest.param(Filters(), d("2025-06-10"), id="everything, as_of before the last complaint"),
    pytest.param(Filters(), AS_OF, id="everything"),
    pytest.param(Filters(start=d("2025-03-05"), end=d("2025-03-25")), AS_OF, id="inside one month"),
    pytest.param(Filters(start=d("2025-02-28"), end=d("2025-02-28")), AS_OF, id="one day, a month's last"),
    pytest.param(Filters(start=d("2025-02-01"), end=d("2025-02-28")), AS_OF, id="February, whole"),
    pytest.param(Filters(start=d("2025-01-31"), end=d("2025-03-01")), AS_OF, id="one whole month and a day each side"),
    pytest.param(Filters(start=d("2025-02-01"), end=d("2025-04-30"), locations=("North",)), AS_OF,
                 id="whole months, one location"),
    pytest.param(Filters(start=d("2025-02-10"), end=d("2025-04-30"), practitioners=("Ana",), locations=("South",)),
                 AS_OF, id="part months, two filters"),
    pytest.param(Filters(start=d("2025-02-01"), end=d("2025-04-30"), locations=()), AS_OF,
                 id="an empty list matches nothing"),
]


@pytest.mark.parametrize("filters, as_of", PERIODS)
def test_the_cells_of_a_period_are_those_of_its_lines(clinic, filters, as_of):
    expected = cells(clinic, LINE_CELLS, filters, as_of, None)
    assert cells(clinic, CELLS_IN_PERIOD, filters, as_of, LAST_COMPLAINT_ON) == expected
    if filters.locations != ():
        assert expected, "a case with no cells would check nothing"


@pytest.mark.parametrize("filters, as_of", PERIODS)
def test_without_complaints_the_cells_are_those_of_its_lines_whatever_as_of(clinic, filters, as_of):
    # A query that reads no complaints passes null: whole months come from the cells even when as_of is
    # before a complaint was reported; everything else must still be the lines'.
    assert (cells(clinic, CELLS_IN_PERIOD, filters, as_of, None, without=COMPLAINT_COLUMNS)
            == cells(clinic, LINE_CELLS, filters, as_of, None, without=COMPLAINT_COLUMNS))


def test_a_complaint_reported_after_as_of_is_not_counted(clinic):
    # 1 June's session: its complaint, reported on 12 June, counts as of 30 June and not as of 10 June.
    june = Filters(start=d("2025-06-01"), end=d("2025-06-01"))

    def complaints(as_of):
        return clinic.execute(f"select sum(count_lot_complaints) from ({CELLS_IN_PERIOD})", {
            **{k: v for k, v in parameters(june, as_of).items() if f"${k}" in CELLS_IN_PERIOD},
            "last_complaint_on": LAST_COMPLAINT_ON}).fetchone()[0]

    assert (complaints(AS_OF), complaints(d("2025-06-10"))) == (2, 0)  # the tip's and the gel's lot


@pytest.mark.parametrize("filters, as_of, last_complaint_on, from_cells", [
    pytest.param(Filters(start=d("2025-02-01"), end=d("2025-04-30")), AS_OF, LAST_COMPLAINT_ON,
                 ["2025-02-01", "2025-03-01", "2025-04-01"], id="whole months: every month from the cells"),
    pytest.param(Filters(start=d("2025-02-10"), end=d("2025-04-15")), AS_OF, LAST_COMPLAINT_ON,
                 ["2025-03-01"], id="parts of months: those from the lines"),
    pytest.param(Filters(start=d("2025-03-05"), end=d("2025-03-25")), AS_OF, LAST_COMPLAINT_ON, [],
                 id="inside one month: all from the lines"),
    pytest.param(Filters(start=d("2025-02-01"), end=d("2025-04-30")), d("2025-06-10"), LAST_COMPLAINT_ON, [],
                 id="complaints read, as_of before the last: all from the lines"),
    pytest.param(Filters(start=d("2025-02-01"), end=d("2025-04-30")), d("2025-06-10"), None,
                 ["2025-02-01", "2025-03-01", "2025-04-01"], id="complaints not read: from the cells"),
])
def test_which_months_come_from_the_cells(clinic, filters, as_of, last_complaint_on, from_cells):
    # Each cell's lines counted a thousand times over, inside a transaction rolled back: the months whose
    # count changed were read from the cells.
    clinic.execute("begin")
    try:
        clinic.execute("update fct_consumable_cells set count_lines = count_lines * 1000")
        values = {**parameters(filters, as_of), "last_complaint_on": last_complaint_on}
        months = clinic.execute(
            f"select distinct strftime(session_month, '%Y-%m-%d') from ({CELLS_IN_PERIOD}) "
            "where count_lines >= 1000 order by 1",
            {k: v for k, v in values.items() if f"${k}" in CELLS_IN_PERIOD}).fetchall()
    finally:
        clinic.execute("rollback")
    assert [month for (month,) in months] == from_cells
