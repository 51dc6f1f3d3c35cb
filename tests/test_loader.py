"""The loader against SPEC §1: what a messy export loads as, what it rejects and why,
and what happens when an export cannot be loaded at all.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

import queries.load as load_module
from queries.contract import ENTITIES
from queries.load import LoadError, load, open_database
from tests.conftest import ROOT, booking, complaint, consumable, session, write_export

# A clinic export written byte for byte: BOM, CRLF, header and enum spellings,
# every timestamp format SPEC §1 lists, quoted commas and newlines, white space,
# extra columns, and one row for each way a row can be bad. The comments give
# the physical line each record starts on (the header is line 1).
MESSY_EXPORT = {
    "bookings.csv": (
        b"\xef\xbb\xbfBooking ID,patient-id,BOOKED_AT, Appointment At ,Treatment,Status,"
        b"Location,Practitioner,Channel,Concern,Referral Note\r\n"                                    # 1
        b"B001,P001,2025-03-04 14:30:00,2025-03-10 09:00,Micro-needling,Completed,"
        b"Main St,Dr Zo\xc3\xab,Website,Acne Scars,Friend\r\n"                                        # 2
        b"B002,P002,2025-03-04T14:30,2025-03-11T10:15:30,Chemical peel,No-Show,"
        b"Main St,Dr Ames,Instagram, fine lines ,\r\n"                                                # 3
        b'B003,P003,2025-03-04,03/04/2025 2:30 PM,"Peel, light\r\n(glycolic)", no show,'
        b"Main St,Dr Ames,Phone,WRINKLES,\r\n"                                                        # 4-5
        b"  B004  ,  P004  ,03/04/2025 14:30,03/04/2025,Consultation,NO_SHOW,"
        b" Main St ,Dr Ames,Google Ads,Hair loss,\r\n"                                                # 6
        b"B005,P005,next tuesday,2025-03-12 09:00,Consultation,Scheduled,,,,,\r\n"                    # 7
        b"B006,,2025-03-05,2025-03-12 09:00,Consultation,Scheduled,,,,,\r\n"                          # 8
        b"B001,P009,2025-03-05,2025-03-12 09:00,Consultation,Scheduled,,,,,\r\n"                      # 9
        b"B007,P007,2025-03-05,2025-03-12 09:00,Consultation,Pending,,,,,\r\n"                        # 10
        b"B008,P008,2025-03-05,2025-03-12 09:00,Consultation,Scheduled,,,,,,oops\r\n"                 # 11
        b"B009,P009,2025-03-05 08:00,2025-03-12 09:00,Consultation,Scheduled,,,,,,,\r\n"              # 12
        b"\r\n"                                                                                       # 13
        b"B010,P010,2025-03-05,2025-02-30,Consultation,Cancelled,,,,,\r\n"                            # 14
        b"B011,P011,2025-03-06 09:00,2025-03-13 09:00,Consultation,cancelled,"
        b' "Harbour Rd, Unit 2",Dr Ames,Referral,Other,"said ""call me"""'                            # 15
    ),
    "sessions.csv": (
        b"Session ID,Booking Id,Patient ID,Performed At,Treatment,Body Area,Needle Depth (mm),"
        b"Duration (min),Practitioner,Location,Price,Room\r\n"                                        # 1
        b"S001,B001,P001,2025-03-10 09:00,Micro-needling,Face,1.5,60,Dr Ames,Main St,150.00,Room 1\r\n"  # 2
        b"S002,B001,P001,2025-03-10 09:00,Micro-needling, NECK ,0.5,30,Dr Ames,Main St,80,"
        b'"Room 2\r\n(upstairs)"\r\n'                                                                 # 3-4
        b"S003,,P002,2025-03-11 10:00,Micro-needling,Face,0.05,45,Dr Ames,Main St,120,\r\n"           # 5
        b"S004,,P002,2025-03-11 10:00,Micro-needling,Face,3.5,45,Dr Ames,Main St,120,\r\n"            # 6
        b"S005,,P002,2025-03-11 10:00,Micro-needling,Face,1.0,45,Dr Ames,Main St,-20,\r\n"            # 7
        b"S006,,P002,2025-03-11 10:00,Micro-needling,Face,1.0,forty,Dr Ames,Main St,120,\r\n"         # 8
        b"S007,,P002,2025-03-11 10:00,Micro-needling,Face,1.0,45,Dr Ames,Main St,twelve,\r\n"         # 9
        b"S008,,P002,2025-03-11 10:00,Micro-needling,Forehead,1.0,45,Dr Ames,Main St,120,\r\n"        # 10
        b"S001,,P002,2025-03-11 10:00,Micro-needling,Face,1.0,45,Dr Ames,Main St,120,\r\n"            # 11
        b"S009,,P003, ,Chemical peel,Face,,,Dr Ames,Main St,95,\r\n"                                  # 12
        b"S010,B404,P003,2025-03-12,Chemical peel,Hands,,,,,,\r\n"                                    # 13
    ),
    "consumables.csv": (
        b"Session ID,Item,Category,Lot,Quantity,Unit,Unit Cost\n"                                     # 1
        b'S001,"MicroPen sterile tip (12-needle)",Needle Tip,LOT-1,1,each,4.50\n'                     # 2
        b"S001,Topical numbing gel,NUMBING,LOT-2,2.5,ML,1.20\n"                                       # 3
        b"S001,Gauze pad,Dressing,,3,each,0.10\n"                                                     # 4
        b"S002,MicroPen sterile tip (12-needle),needle_tip,LOT-1,0,each,4.50\n"                       # 5
        b"S002,Hyaluronic serum,serum,,two,ml,3.00\n"                                                 # 6
        b"S002,,serum,,1,ml,3.00\n"                                                                   # 7
        b"S999,Topical numbing gel,numbing,,1,g,-1\n"                                                 # 8
        b"S999,Face mask,PPE,,1,each,0.50\n"                                                          # 9
    ),
    "complaints.csv": (
        b"Complaint ID,Session ID,Patient ID,Reported At,Category,Severity,Resolved At\r\n"           # 1
        b"C001,S001,P001,03/12/2025 9:05 AM,Prolonged Redness,Mild,2025-03-15\r\n"                    # 2
        b"C002,S001,P001,2025-03-13,Itching,mild,\r\n"                                                # 3
        b"C001,S002,P001,2025-03-13,Swelling,,\r\n"                                                   # 4
        b"C003,,P002,2025-03-14 12:00,swelling,SEVERE,soon\r\n"                                       # 5
        b"C004,,P002,2025-03-14 12:00,Allergic Reaction,Moderate,\r\n"                                # 6
    ),
}

EXPECTED_REJECTS = [
    # file, line, column, reason
    ("bookings.csv", 7, "booked_at", "not a date/time: 'next tuesday'"),
    ("bookings.csv", 8, "patient_id", "missing required value"),
    ("bookings.csv", 9, "booking_id", "duplicate booking_id, first on line 2"),
    ("bookings.csv", 10, "status", "unknown value 'Pending'"),
    ("bookings.csv", 11, None, "record has 12 fields, the header has 11"),
    ("bookings.csv", 14, "appointment_at", "not a date/time: '2025-02-30'"),
    ("complaints.csv", 3, "category", "unknown value 'Itching'"),
    ("complaints.csv", 4, "complaint_id", "duplicate complaint_id, first on line 2"),
    ("complaints.csv", 5, "resolved_at", "not a date/time: 'soon'"),
    ("consumables.csv", 5, "quantity", "out of range, must be above 0: '0'"),
    ("consumables.csv", 6, "quantity", "not a number: 'two'"),
    ("consumables.csv", 7, "item", "missing required value"),
    ("consumables.csv", 8, "unit_cost", "below the minimum 0: '-1'"),
    ("sessions.csv", 5, "needle_depth_mm", "below the minimum 0.1: '0.05'"),
    ("sessions.csv", 6, "needle_depth_mm", "above the maximum 3.0: '3.5'"),
    ("sessions.csv", 7, "price", "below the minimum 0: '-20'"),
    ("sessions.csv", 8, "duration_min", "not a whole number: 'forty'"),
    ("sessions.csv", 9, "price", "not a number: 'twelve'"),
    ("sessions.csv", 10, "body_area", "unknown value 'Forehead'"),
    ("sessions.csv", 11, "session_id", "duplicate session_id, first on line 2"),
    ("sessions.csv", 12, "performed_at", "missing required value"),
]


def write_csv(folder: Path, name: str, text: str) -> Path:
    """A file with exactly the header and rows given (write_export always writes every contract column)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")
    return folder


def write_bytes(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def rows(con, sql: str, params=None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def contents(con) -> dict[str, list[tuple]]:
    """Every raw, staging, fact and load table or view, rows in a fixed order.

    The fast path's `raw_*` are views over its `raw_*_records`, the file's cells as DuckDB read them.
    """
    tables = [name for (name,) in rows(con, "select table_name from duckdb_tables() union "
                                            "select view_name from duckdb_views() where not internal order by 1")
              if name.startswith(("raw_", "stg_", "fct_", "load_files", "load_rejects", "load_warnings", "data_quality"))
              and not name.endswith("_records")]
    return {name: rows(con, f"select * from {name} order by all") for name in tables}


class FakeClock:
    """Time that moves on by `step` seconds every time it is read."""

    def __init__(self, step: float):
        self.now, self.step = 0.0, step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    result = load(write_bytes(tmp_path_factory.mktemp("messy"), MESSY_EXPORT), keep_layers=True)
    yield result
    result.connection.close()


@pytest.fixture
def simple_export(tmp_path):
    return write_export(
        tmp_path / "export",
        bookings=[booking("B1", "P1", "2025-01-10"), booking("B2", "P1", "2025-03-01", status="scheduled")],
        sessions=[session("S1", "P1", "2025-01-10")],
        consumables=[consumable("S1")],
        complaints=[complaint("C1", "P1", "2025-01-12", session_id="S1")],
    )


# --- A messy export -----------------------------------------------------------

def test_messy_export_rejects_exactly_the_bad_rows(messy):
    assert rows(messy.connection, "select file_name, line, column_name, reason from load_rejects "
                                  "order by file_name, line") == EXPECTED_REJECTS


def test_messy_export_loads_the_same_with_its_layers_dropped(messy, tmp_path):
    # `messy` keeps the layers to look at them; a real load drops them, and its fast path then
    # stages the records as DuckDB parses them.
    built = ("fct_", "load_files", "load_rejects", "load_warnings", "data_quality")
    con = load(write_bytes(tmp_path, MESSY_EXPORT)).connection
    dropped = contents(con)
    con.close()
    assert dropped == {name: table for name, table in contents(messy.connection).items() if name.startswith(built)}


@pytest.mark.parametrize("entity, read, loaded, rejected", [
    ("bookings", 12, 6, 6),     # the blank line 13 is not a record
    ("sessions", 11, 3, 8),
    ("consumables", 8, 4, 4),
    ("complaints", 5, 2, 3),
], ids=["bookings", "sessions", "consumables", "complaints"])
def test_messy_export_counts_every_record_read(messy, entity, read, loaded, rejected):
    counts = messy.files[entity]
    assert (counts["read"], counts["loaded"], counts["rejected"]) == (read, loaded, rejected)
    assert counts["read"] == counts["loaded"] + counts["rejected"]
    file_name = f"{entity}.csv"
    assert rows(messy.connection, "select count(*) from load_rejects where file_name = ?", [file_name]) == [(rejected,)]
    assert rows(messy.connection, f"select count(*) from raw_{entity}") == [(read,)]
    assert rows(messy.connection, f"select count(*) from stg_{entity}") == [(loaded,)]


@pytest.mark.parametrize("entity, line, column, raw, expected", [
    # every timestamp format SPEC §1 lists
    ("bookings", 2, "booked_at", "2025-03-04 14:30:00", datetime(2025, 3, 4, 14, 30)),
    ("bookings", 2, "appointment_at", "2025-03-10 09:00", datetime(2025, 3, 10, 9, 0)),
    ("bookings", 3, "booked_at", "2025-03-04T14:30", datetime(2025, 3, 4, 14, 30)),
    ("bookings", 3, "appointment_at", "2025-03-11T10:15:30", datetime(2025, 3, 11, 10, 15, 30)),
    ("bookings", 4, "booked_at", "2025-03-04", datetime(2025, 3, 4, 0, 0)),
    ("bookings", 4, "appointment_at", "03/04/2025 2:30 PM", datetime(2025, 3, 4, 14, 30)),
    ("bookings", 6, "booked_at", "03/04/2025 14:30", datetime(2025, 3, 4, 14, 30)),
    ("bookings", 6, "appointment_at", "03/04/2025", datetime(2025, 3, 4, 0, 0)),
    ("complaints", 2, "reported_at", "03/12/2025 9:05 AM", datetime(2025, 3, 12, 9, 5)),
    ("complaints", 2, "resolved_at", "2025-03-15", datetime(2025, 3, 15, 0, 0)),
    # enums normalised
    ("bookings", 2, "status", "Completed", "completed"),
    ("bookings", 3, "status", "No-Show", "no_show"),
    ("bookings", 4, "status", " no show", "no_show"),
    ("bookings", 6, "status", "NO_SHOW", "no_show"),
    ("bookings", 15, "status", "cancelled", "cancelled"),
    ("bookings", 2, "concern", "Acne Scars", "acne_scars"),
    ("bookings", 3, "concern", " fine lines ", "fine_lines"),
    ("bookings", 4, "concern", "WRINKLES", "wrinkles"),
    ("bookings", 6, "concern", "Hair loss", "other"),          # with a warning
    ("bookings", 15, "concern", "Other", "other"),             # without one
    ("sessions", 2, "body_area", "Face", "face"),
    ("sessions", 3, "body_area", " NECK ", "neck"),
    ("consumables", 2, "category", "Needle Tip", "needle_tip"),
    ("consumables", 4, "category", "Dressing", "other"),       # with a warning
    ("consumables", 3, "unit", "ML", "ml"),
    ("complaints", 2, "category", "Prolonged Redness", "prolonged_redness"),
    ("complaints", 6, "category", "Allergic Reaction", "allergic_reaction"),
    ("complaints", 6, "severity", "Moderate", "moderate"),
    # text: white space trimmed, quoted commas, newlines and quotes kept, UTF-8 read as such
    ("bookings", 6, "booking_id", "  B004  ", "B004"),
    ("bookings", 6, "location", " Main St ", "Main St"),
    ("bookings", 4, "treatment", "Peel, light\r\n(glycolic)", "Peel, light\r\n(glycolic)"),
    ("bookings", 15, "location", "Harbour Rd, Unit 2", "Harbour Rd, Unit 2"),
    ("bookings", 2, "practitioner", "Dr Zoë", "Dr Zoë"),
    ("consumables", 2, "item", "MicroPen sterile tip (12-needle)", "MicroPen sterile tip (12-needle)"),
    # numbers
    ("sessions", 2, "needle_depth_mm", "1.5", 1.5),
    ("sessions", 2, "duration_min", "60", 60),
    ("sessions", 2, "price", "150.00", 150.0),
    ("consumables", 3, "quantity", "2.5", 2.5),
    ("consumables", 2, "unit_cost", "4.50", 4.5),
])
def test_messy_export_good_rows_are_typed(messy, entity, line, column, raw, expected):
    con = messy.connection
    # The CSV reader drops blanks after a separator (so ` "a, b"` is quoted); staging trims the rest.
    assert rows(con, f"select trim({column}) from raw_{entity} where _line = ?", [line]) == [(raw.strip(),)]
    assert rows(con, f"select {column} from stg_{entity} where source_line = ?", [line]) == [(expected,)]


def test_messy_export_unknown_concern_and_category_load_as_other_with_a_warning(messy):
    assert rows(messy.connection, "select file_name, line, column_name, reason from load_warnings") == [
        ("bookings.csv", 6, "concern", "unknown value 'Hair loss' read as other"),
        ("consumables.csv", 4, "category", "unknown value 'Dressing' read as other"),
    ]


def test_messy_export_line_numbers_count_physical_lines(messy):
    # A quoted newline makes a record two lines long; a blank line is skipped but counted.
    assert [line for (line,) in rows(messy.connection, "select _line from raw_bookings order by _line")] == [
        2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 14, 15]
    assert [line for (line,) in rows(messy.connection, "select _line from raw_sessions order by _line")] == [
        2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13]


def test_messy_export_trailing_empty_cells_are_not_extra_fields(messy):
    # Line 12 has two empty cells beyond the header's eleven; line 11 has one with data.
    assert rows(messy.connection, "select _line, _parse_error from raw_bookings where _line in (11, 12) order by 1") == [
        (11, "record has 12 fields, the header has 11"), (12, None)]


def test_messy_export_extra_columns_stay_in_the_raw_layer(messy):
    con = messy.connection
    assert rows(con, "select referral_note from raw_bookings where _line = 15") == [('said "call me"',)]
    assert rows(con, "select room from raw_sessions where _line = 3") == [("Room 2\r\n(upstairs)",)]
    for table in ("stg_bookings", "stg_sessions", "fct_bookings", "fct_sessions"):
        columns = {c for (c,) in rows(con, "select column_name from duckdb_columns() where table_name = ?", [table])}
        assert columns and not columns & {"referral_note", "room"}, table


def test_messy_export_orphans_load_and_are_counted(messy):
    assert rows(messy.connection, "select file_name, check_name, count_rows from data_quality") == [
        ("sessions.csv", "Sessions whose booking is not in bookings.csv", 1),        # S010 -> B404
        ("consumables.csv", "Consumables whose session is not in sessions.csv", 1),  # S999
        ("complaints.csv", "Complaints whose session is not in sessions.csv", 0),
        ("complaints.csv", "Complaints with no session given", 1),                    # C004
    ]


# --- One value at a time ------------------------------------------------------

@pytest.mark.parametrize("column, value, expected", [
    ("needle_depth_mm", "0.1", 0.1),
    ("needle_depth_mm", "3.0", 3.0),
    ("needle_depth_mm", " 2 ", 2.0),
    ("needle_depth_mm", "NaN", "not a number: 'NaN'"),
    ("needle_depth_mm", "1,5", "not a number: '1,5'"),
    ("price", "0", 0.0),
    ("price", "inf", "not a number: 'inf'"),
    ("price", "$120", "not a number: '$120'"),
    ("duration_min", "60.0", 60),
    ("duration_min", "60.5", "not a whole number: '60.5'"),
    ("duration_min", "-5", "below the minimum 0: '-5'"),
    ("performed_at", "2025-03-04 14:30:00.250", datetime(2025, 3, 4, 14, 30, 0, 250000)),
    ("performed_at", "3/4/2025", datetime(2025, 3, 4)),
    ("performed_at", "03/04/2025 2:30 pm", datetime(2025, 3, 4, 14, 30)),
    ("performed_at", "04.03.2025", "not a date/time: '04.03.2025'"),
    ("performed_at", "03/04/25", "not a date/time: '03/04/25'"),        # not the year 25
    ("performed_at", "25-03-04", "not a date/time: '25-03-04'"),
    ("performed_at", "13/04/2025", "not a date/time: '13/04/2025'"),    # month first: no month 13
    ("performed_at", "2025-03-04T14:30:00Z", "not a date/time: '2025-03-04T14:30:00Z'"),
    ("body_area", "Other", "other"),
], ids=lambda v: repr(v) if isinstance(v, str) else None)
def test_session_value(tmp_path, column, value, expected):
    row = session("S1", "P1", "2025-03-04") | {column: value}
    con = load(write_export(tmp_path, bookings=[], sessions=[row]), keep_layers=True).connection
    loaded = rows(con, f"select {column} from stg_sessions")
    rejected = rows(con, "select column_name, reason from load_rejects")
    if isinstance(expected, str) and ": '" in expected:
        assert (loaded, rejected) == ([], [(column, expected)])
    else:
        assert (loaded, rejected) == ([(expected,)], [])


@pytest.mark.parametrize("row, expected", [
    (consumable("S1", quantity="0.5"), None),
    (consumable("S1", quantity="-1"), ("quantity", "below the minimum 0: '-1'")),
    (consumable("S1", quantity=""), ("quantity", "missing required value")),
    (consumable("S1", unit="box"), ("unit", "unknown value 'box'")),
    (consumable("S1", category=""), None),
    (consumable("", category=""), ("session_id", "missing required value")),
], ids=["fraction", "negative quantity", "no quantity", "unknown unit", "no category", "no session"])
def test_consumable_row(tmp_path, row, expected):
    con = load(write_export(tmp_path, bookings=[], sessions=[], consumables=[row]), keep_layers=True).connection
    assert rows(con, "select column_name, reason from load_rejects") == ([expected] if expected else [])


def test_duplicate_id_keeps_the_first_loadable_row(tmp_path):
    # The first B1 is itself bad, so the second B1 is the one loaded.
    con = load(write_export(tmp_path, bookings=[
        booking("B1", "P1", "someday"), booking("B1", "P2", "2025-01-02"), booking("B1", "P3", "2025-01-03"),
    ], sessions=[]), keep_layers=True).connection
    assert rows(con, "select patient_id from stg_bookings") == [("P2",)]
    assert rows(con, "select line, column_name, reason from load_rejects") == [
        (2, "booked_at", "not a date/time: 'someday'"),
        (4, "booking_id", "duplicate booking_id, first on line 3"),
    ]


def test_windows_1252_file_is_read_as_such(tmp_path):
    folder = write_export(tmp_path, bookings=[], sessions=[])
    (folder / "sessions.csv").write_bytes(
        "session_id,patient_id,performed_at,treatment,body_area,practitioner,location\r\n"
        "S1,P1,2025-03-04,Micro-needling,Face,Zoë Müller,Café Street\r\n".encode("cp1252"))
    con = load(folder, keep_layers=True).connection
    assert rows(con, "select practitioner, location from stg_sessions") == [("Zoë Müller", "Café Street")]


# The probe reads bytes in blocks (four here) and only checks an ASCII block for being ASCII, unless a
# character is still open from the block before.
@pytest.mark.parametrize("data, encoding", [
    pytest.param(b"abcdefgh", "utf-8-sig", id="ascii"),
    pytest.param(b"abc\xc3\xa9fgh", "utf-8-sig", id="a-character-across-blocks"),
    pytest.param(b"abc\xc3efgh", "cp1252", id="a-character-cut-before-an-ascii-block"),
    pytest.param(b"abc\xc3efgh\xa9xyz", "cp1252", id="a-character-split-by-an-ascii-block"),
    pytest.param(b"abcdefg\xc3", "cp1252", id="a-character-cut-at-the-end"),
    pytest.param(b"\xef\xbb\xbfabcdefgh", "utf-8-sig", id="bom"),
    pytest.param(b"abc\x81efgh", None, id="no-encoding-reads-it"),
    pytest.param("abcdefgh".encode("utf-16"), "utf-16", id="utf-16"),
    pytest.param("abcdefgh".encode("utf-16")[:-1], None, id="utf-16-cut-at-an-odd-byte"),
])
def test_the_encoding_probe_reads_the_whole_file_in_blocks(tmp_path, monkeypatch, data, encoding):
    import queries.load as loader

    monkeypatch.setattr(loader, "FAST_SCAN_BYTES", 4)
    (tmp_path / "x.csv").write_bytes(data)
    if encoding is None:
        with pytest.raises(LoadError, match="not a text file in UTF-8, UTF-16 or Windows-1252"):
            loader._encoding(tmp_path / "x.csv")
    else:
        assert loader._encoding(tmp_path / "x.csv") == encoding


@pytest.mark.parametrize("data, encoding", [
    pytest.param(b"a,b\n1,\xeb\n", None, id="ascii-header: left to staging"),
    pytest.param(b"\xef\xbb\xbfa,b\n1,2\n", None, id="bom-and-ascii-header: left to staging"),
    pytest.param(b"caf\xc3\xa9,b\n1,2\n", "utf-8-sig", id="utf-8-header"),
    pytest.param(b"caf\xe9,b\n1,2\n", "cp1252", id="windows-1252-header"),
    pytest.param("a,b\n1,2\n".encode("utf-16"), "utf-16", id="utf-16"),
])
def test_inspect_probes_the_encoding_only_when_the_header_needs_it(tmp_path, data, encoding):
    import queries.load as loader

    (tmp_path / "x.csv").write_bytes(data)
    assert loader._header_encoding(tmp_path / "x.csv") == encoding


def test_unclosed_quote_stops_the_load_instead_of_swallowing_rows(tmp_path):
    folder = write_export(tmp_path, bookings=[], sessions=[])
    (folder / "sessions.csv").write_text(
        "session_id,patient_id,performed_at,treatment,body_area,practitioner\n"
        "S1,P1,2025-03-04,Peel,face,Dr Ames\n"
        'S2,P1,2025-03-05,Peel,face,"Dr Ames\n'
        "S3,P1,2025-03-06,Peel,face,Dr Ames\n")
    with pytest.raises(LoadError, match=r"^sessions\.csv: line 3: a quote .* never closed"):
        load(folder)


# --- Exports that cannot be loaded --------------------------------------------

@pytest.mark.parametrize("file_name, text, message", [
    ("bookings.csv", None, r"^bookings\.csv: required file not found in "),
    ("sessions.csv", None, r"^sessions\.csv: required file not found in "),
    ("bookings.csv", "Booking ID,Treatment\nB1,Peel\n",
     r"^bookings\.csv: missing required column 'patient_id' \(and booked_at, appointment_at, status\)$"),
    ("sessions.csv", "session_id,patient_id,performed_at,treatment\nS1,P1,2025-01-01,Peel\n",
     r"^sessions\.csv: missing required column 'body_area'$"),
    ("consumables.csv", "session_id,item,unit\nS1,Tip,each\n", r"^consumables\.csv: missing required column 'quantity'$"),
    ("complaints.csv", "complaint_id,patient_id,category\nC1,P1,pain\n",
     r"^complaints\.csv: missing required column 'reported_at'$"),
], ids=["no bookings.csv", "no sessions.csv", "bookings without patient_id", "sessions without body_area",
        "consumables without quantity", "complaints without reported_at"])
def test_missing_file_or_column_stops_the_load_naming_both(tmp_path, file_name, text, message):
    folder = write_export(tmp_path, bookings=[booking("B1", "P1", "2025-01-01")], sessions=[session("S1", "P1", "2025-01-01")])
    if text is None:
        (folder / file_name).unlink()
    else:
        write_csv(folder, file_name, text)
    with pytest.raises(LoadError, match=message):
        load(folder)


@pytest.mark.parametrize("header, message", [
    (b"", r"^bookings\.csv: the file is empty; expected a header row$"),
    (b"Booking ID,booking_id,patient_id\r\n", r"^bookings\.csv: two columns both mean 'booking_id' \(column 2"),
], ids=["empty file", "two columns mean booking_id"])
def test_unusable_header(tmp_path, header, message):
    folder = write_export(tmp_path, bookings=[], sessions=[])
    (folder / "bookings.csv").write_bytes(header)
    with pytest.raises(LoadError, match=message):
        load(folder)


def test_optional_files_may_be_absent(tmp_path):
    folder = write_export(tmp_path, bookings=[booking("B1", "P1", "2025-01-01")],
                          sessions=[session("S1", "P1", "2025-01-01")])
    result = load(folder)
    assert {name: (f["is_present"], f["read"]) for name, f in result.files.items()} == {
        "bookings": (True, 1), "sessions": (True, 1), "consumables": (False, 0), "complaints": (False, 0)}
    assert rows(result.connection, "select count(*) from fct_consumables") == [(0,)]
    assert rows(result.connection, "select count(*) from fct_complaints") == [(0,)]


# The raw layer is DuckDB's temporary tables, the staging layer a database file of its own.
TEMPORARY_LAYERS = ("select table_name from duckdb_tables() where temporary or database_name = 'staging_layer' "
                    "union all select view_name from duckdb_views() "
                    "where (temporary or database_name = 'staging_layer') and not internal order by 1")


def test_the_raw_and_staging_layers_are_dropped_once_the_marts_are_built(simple_export):
    # They are most of the memory a load takes; the marts and load_* tables are what stays.
    con = load(simple_export).connection
    assert rows(con, TEMPORARY_LAYERS) == []
    assert rows(con, "select count(*) from duckdb_databases() where database_name = 'staging_layer'") == [(0,)]
    assert rows(con, "select count(*) from fct_sessions") == [(1,)]


def test_joins_kept_as_written_only_while_their_mart_is_built(simple_export):
    # JOINS_AS_WRITTEN names marts (a renamed mart would silently lose it), and the connection a load
    # returns plans the page queries with every optimizer.
    from queries.load import JOINS_AS_WRITTEN, MART_MODELS
    assert JOINS_AS_WRITTEN and set(MART_MODELS) >= JOINS_AS_WRITTEN
    con = load(simple_export).connection
    assert rows(con, "select current_setting('disabled_optimizers')") == [("",)]


def test_a_database_file_build_leaves_no_staging_file_behind(tmp_path, simple_export):
    load(simple_export, tmp_path / "clinic.duckdb").connection.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clinic.duckdb", "export"]


def test_keep_layers_keeps_them_for_a_look(simple_export):
    kept = [name for (name,) in rows(load(simple_export, keep_layers=True).connection, TEMPORARY_LAYERS)]
    # Per export: staging's table (_rows), every record numbered by line with why it was not loaded
    # (_all), and the loadable rows.
    assert [name for name in kept if name.startswith("stg_")] == sorted(
        f"stg_{e}{part}" for e in ENTITIES for part in ("", "_all", "_rows"))
    assert {"raw_bookings", "raw_bookings_records", "raw_sessions", "raw_sessions_records"} <= set(kept)


# --- Reloading, and a load that fails -----------------------------------------

def test_loading_the_same_export_twice_leaves_the_same_data(tmp_path):
    folder = write_bytes(tmp_path / "export", MESSY_EXPORT)
    db = tmp_path / "clinic.duckdb"
    first = load(folder, db)
    before = contents(first.connection)
    first.connection.close()
    second = load(folder, db)
    assert contents(second.connection) == before
    assert second.files == first.files
    second.connection.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clinic.duckdb", "export"]


def test_reload_with_changed_data_replaces_it(tmp_path, simple_export):
    db = tmp_path / "clinic.duckdb"
    load(simple_export, db).connection.close()
    write_export(simple_export, bookings=[booking("B9", "P9", "2025-02-01")])
    result = load(simple_export, db)
    assert rows(result.connection, "select booking_id from fct_bookings") == [("B9",)]
    result.connection.close()


def test_reopening_a_rebuilt_database_sees_the_new_data_while_an_old_connection_is_open(tmp_path, simple_export):
    db = tmp_path / "clinic.duckdb"
    load(simple_export, db).connection.close()
    old = open_database(db)                 # e.g. the dashboard's cached dataset
    write_export(simple_export, bookings=[booking("B9", "P9", "2025-02-01")])
    load(simple_export, db).connection.close()
    new = open_database(db)
    try:
        assert rows(new, "select booking_id from fct_bookings") == [("B9",)]
    finally:
        new.close()
        old.close()


@pytest.mark.parametrize("breakage", [
    lambda folder: (folder / "sessions.csv").unlink(),
    lambda folder: (folder / "bookings.csv").write_text("booking_id,patient_id\nB1,P1\n"),
    lambda folder: (folder / "column_map.toml").write_text("[tables]\n"),
    lambda folder: (folder / "bookings.csv").write_text(
        "booking_id,patient_id,booked_at,appointment_at,treatment,status\n"
        'B1,P1,2025-01-01,2025-01-01,"Peel,completed\n'),
], ids=["file missing", "column missing", "bad column map", "quote never closed (fails mid-build)"])
def test_failed_load_leaves_the_previous_database_intact(tmp_path, simple_export, breakage):
    db = tmp_path / "db" / "clinic.duckdb"
    db.parent.mkdir()
    first = load(simple_export, db)
    before = contents(first.connection)
    first.connection.close()
    export_files = sorted(p.name for p in simple_export.iterdir())

    breakage(simple_export)
    with pytest.raises(LoadError):
        load(simple_export, db)

    assert sorted(p.name for p in db.parent.iterdir()) == ["clinic.duckdb"]
    assert not set(p.name for p in simple_export.iterdir()) - set(export_files) - {"column_map.toml"}
    con = open_database(db)
    assert contents(con) == before
    con.close()


@pytest.mark.parametrize("content, message", [
    (None, r"no such database file"),
    (b"this is a CSV, not a database\n", r"^clinic\.duckdb: not a database built by `python -m queries\.load`"),
    ("empty duckdb", r"^clinic\.duckdb: not a database built by `python -m queries\.load`"),
], ids=["absent", "not a database", "a database without our tables"])
def test_open_database_refuses_what_it_cannot_read(tmp_path, content, message):
    path = tmp_path / "clinic.duckdb"
    if content == "empty duckdb":
        duckdb.connect(str(path)).close()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(LoadError, match=message):
        open_database(path)


# --- Progress -----------------------------------------------------------------

def test_a_quick_load_reports_no_progress(simple_export):
    calls = []
    load(simple_export, progress=lambda fraction, message: calls.append(fraction), clock=FakeClock(0.01)).connection.close()
    assert calls == []


def test_a_slow_load_reports_progress_up_to_one(simple_export):
    calls = []
    load(simple_export, progress=lambda fraction, message: calls.append((fraction, message)),
         clock=FakeClock(0.5)).connection.close()
    fractions = [fraction for fraction, _ in calls]
    assert len(fractions) > 3
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0
    assert all(0.0 <= f <= 1.0 for f in fractions)
    assert all(isinstance(message, str) and message for _, message in calls)


def test_progress_is_reported_from_the_thread_that_called_load(simple_export):
    # A Streamlit page draws its progress bar from its own thread only; staging runs in others.
    threads = set()
    load(simple_export, progress=lambda fraction, message: threads.add(threading.current_thread()),
         clock=FakeClock(0.5)).connection.close()
    assert threads == {threading.current_thread()}


# --- Exports staged side by side ------------------------------------------------

def test_exports_are_staged_two_at_a_time(monkeypatch, simple_export):
    # Each staging task waits for another to be running beside it: one after another, they would time out.
    both_running = threading.Barrier(2, timeout=10)
    threads = set()
    stage = load_module._stage

    def stage_beside_another(con, source, keep_layers, report):
        threads.add(threading.current_thread())
        if source.entity.name in ("bookings", "sessions"):
            both_running.wait()
        stage(con, source, keep_layers, report)

    monkeypatch.setattr(load_module, "_stage", stage_beside_another)
    con = load(simple_export).connection
    assert len(threads) == 2 and threading.current_thread() not in threads
    assert con.execute("select count(*) from fct_sessions").fetchone()[0] > 0


def test_a_failing_export_stops_the_statement_staging_another():
    con = duckdb.connect()
    con.execute(f"attach ':memory:' as {load_module.STAGING_DATABASE}")
    started = threading.Event()

    def long_statement(cursor):
        started.set()
        cursor.execute("select sum(hash(i)) from range(2e10::bigint) as t(i)").fetchall()  # a minute or more

    def failing(cursor):
        started.wait(10)
        time.sleep(0.2)  # the other statement is under way
        raise LoadError("sessions.csv: cannot be read")

    began = time.monotonic()
    with pytest.raises(LoadError, match="sessions.csv"):
        load_module._run_tasks(con, [long_statement, failing], 2, lambda: None)
    assert time.monotonic() - began < 20  # interrupted, not run to its end


def test_a_failed_load_leaves_the_previous_database_as_it_was(tmp_path, simple_export, monkeypatch):
    (tmp_path / "db").mkdir()
    db = tmp_path / "db" / "clinic.duckdb"
    load(simple_export, db).connection.close()
    before = db.read_bytes()
    stage = load_module._stage

    def failing_for_sessions(con, source, keep_layers, report):
        if source.entity.name == "sessions":
            raise duckdb.IOException("disk full")
        stage(con, source, keep_layers, report)

    monkeypatch.setattr(load_module, "_stage", failing_for_sessions)
    with pytest.raises(LoadError, match="disk full"):
        load(simple_export, db)
    assert db.read_bytes() == before
    assert [p.name for p in db.parent.iterdir()] == ["clinic.duckdb"]  # nothing half-built or spilled left


# --- Column map ---------------------------------------------------------------

THEIR_EXPORT = {
    "Appointments.csv": (
        b"Appt Ref,Client No,Created,Appt Date,Service,Outcome,Clinic\r\n"
        b"A-1,C-7,2025-01-05,2025-01-10 09:00,Micro-needling,Attended,North\r\n"
        b"A-2,C-7,2025-01-11,2025-03-01 09:00,Micro-needling,Booked,North\r\n"
    ),
    "Treatments.csv": (
        b"Treatment Ref,Appt Ref,Client No,Date Done,Service,Area,Depth\r\n"
        b"T-1,A-1,C-7,2025-01-10 09:05,Micro-needling,Face,1.0\r\n"
    ),
}

THEIR_MAP = """\
[files]
bookings = "Appointments.csv"
sessions = "Treatments.csv"

[columns.bookings]
booking_id = "Appt Ref"
patient_id = "client no"      # compared after the header rule: Client No, CLIENT_NO, client-no
booked_at = "Created"
appointment_at = "Appt Date"
treatment = "Service"
status = "Outcome"
location = "Clinic"

[columns.sessions]
session_id = "Treatment Ref"
booking_id = "Appt Ref"
patient_id = "Client No"
performed_at = "Date Done"
treatment = "Service"
body_area = "Area"
needle_depth_mm = "Depth"
"""


@pytest.mark.parametrize("where", ["in the export folder", "passed as column_map="])
def test_column_map_loads_an_export_with_other_names(tmp_path, where):
    folder = write_bytes(tmp_path / "export", THEIR_EXPORT)
    map_path = (folder if where == "in the export folder" else tmp_path) / "column_map.toml"
    map_path.write_text(THEIR_MAP)
    result = load(folder, column_map=None if where == "in the export folder" else map_path, keep_layers=True)
    assert {name: f["file"] for name, f in result.files.items() if f["is_present"]} == {
        "bookings": "Appointments.csv", "sessions": "Treatments.csv"}
    # Outcome values are still checked against the contract: `Attended` is not a status.
    assert rows(result.connection, "select file_name, line, column_name from load_rejects") == [
        ("Appointments.csv", 2, "status"), ("Appointments.csv", 3, "status")]
    assert rows(result.connection, "select session_id, booking_id, patient_id, performed_at, body_area, "
                                   "needle_depth_mm from stg_sessions") == [
        ("T-1", "A-1", "C-7", datetime(2025, 1, 10, 9, 5), "face", 1.0)]


def test_column_map_maps_names_onto_the_contract_then_loads_as_usual(tmp_path):
    folder = write_bytes(tmp_path, {
        "Appointments.csv": THEIR_EXPORT["Appointments.csv"].replace(b"Attended", b"completed").replace(
            b"Booked", b"scheduled"),
        "Treatments.csv": THEIR_EXPORT["Treatments.csv"],
        "column_map.toml": THEIR_MAP.encode(),
    })
    con = load(folder, keep_layers=True).connection
    assert rows(con, "select booking_id, patient_id, booked_at, appointment_at, status, location from stg_bookings "
                     "order by booking_id") == [
        ("A-1", "C-7", datetime(2025, 1, 5), datetime(2025, 1, 10, 9), "completed", "North"),
        ("A-2", "C-7", datetime(2025, 1, 11), datetime(2025, 3, 1, 9), "scheduled", "North")]


@pytest.mark.parametrize("map_text, message", [
    ("[tables]\nbookings = 'x.csv'\n",
     r"^column_map\.toml: unknown section \[tables\]; expected \[files\] or \[columns\.<file>\]$"),
    ("[files]\nappointments = 'Appointments.csv'\n", r"^column_map\.toml: \[files\] appointments names no export"),
    ("[files]\nbookings = 3\n", r"^column_map\.toml: \[files\] bookings must be a file name in quotes"),
    ("[files]\nbookings = '../bookings.csv'\n",
     r"^column_map\.toml: \[files\] bookings must name a file in the export folder, not a path: '\.\./bookings\.csv'$"),
    ("[files]\nbookings = '/etc/hostname'\n", r"^column_map\.toml: \[files\] bookings must name a file in the export folder"),
    ("[files]\nbookings = 'Appts.csv'\n",
     r"^Appts\.csv: required file not found in .* \(the column map names it as bookings\.csv\)$"),
    ("[columns.appointments]\nbooking_id = 'Appt Ref'\n", r"^column_map\.toml: \[columns\.appointments\] names no export"),
    ("[columns.bookings]\nbooking_ref = 'Appt Ref'\n",
     r"^column_map\.toml: \[columns\.bookings\] booking_ref is not a column of bookings\.csv$"),
    ("[columns.bookings]\nbooking_id = 7\n",
     r"^column_map\.toml: \[columns\.bookings\] booking_id must be the export's column name in quotes$"),
    ("files = 'Appointments.csv'\n", r"^column_map\.toml: files must be a section"),
    ("[files\n", r"^column_map\.toml: not a valid column map: "),
    ("[columns.bookings]\npatient_id = 'Booking ID'\n", r"^bookings\.csv: two columns both mean 'patient_id'"),
], ids=["unknown section", "unknown file", "file not text", "file outside the folder", "absolute path",
        "mapped file absent", "unknown export",
        "unknown column", "column not text", "files not a section", "not TOML", "mapped onto a column already there"])
def test_bad_column_map_is_a_clear_error(tmp_path, map_text, message):
    folder = write_export(tmp_path, bookings=[], sessions=[session("S1", "P1", "2025-01-01")])
    write_csv(folder, "bookings.csv", "Booking ID,Patient ID,Booked At,Appointment At,Treatment,Status\n")
    (folder / "column_map.toml").write_text(map_text)
    with pytest.raises(LoadError, match=message):
        load(folder)


def test_a_mapped_column_the_file_lacks_is_named_both_ways(tmp_path):
    folder = write_export(tmp_path, bookings=[], sessions=[session("S1", "P1", "2025-01-01")])
    write_csv(folder, "bookings.csv", "Ref,Patient ID,Booked At,Appointment At,Treatment,Status\n")
    (folder / "column_map.toml").write_text("[columns.bookings]\nbooking_id = 'Appt Ref'\n")
    with pytest.raises(LoadError, match=r"^bookings\.csv: missing required column 'booking_id' "
                                        r"\(the column map calls it 'Appt Ref'\)$"):
        load(folder)


def test_a_column_map_that_is_not_there_is_an_error(tmp_path, simple_export):
    with pytest.raises(LoadError, match=r"nope\.toml: column map not found$"):
        load(simple_export, column_map=tmp_path / "nope.toml")


# --- Command line -------------------------------------------------------------

def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_cli_load_prints_what_it_read(tmp_path):
    folder = write_bytes(tmp_path / "export", MESSY_EXPORT)
    db = tmp_path / "clinic.duckdb"
    done = run("-m", "queries.load", str(folder), "--db", str(db))
    assert done.returncode == 0, done.stderr
    table = [line.split() for line in done.stdout.splitlines()[:5]]
    assert table == [
        ["file", "read", "loaded", "rejected"],
        ["bookings.csv", "12", "6", "6"],
        ["sessions.csv", "11", "3", "8"],
        ["consumables.csv", "8", "4", "4"],
        ["complaints.csv", "5", "2", "3"],
    ]
    assert "21 rejected rows: see table load_rejects" in done.stdout
    open_database(db).close()


def test_cli_load_exits_2_on_a_missing_column(tmp_path):
    folder = write_export(tmp_path / "export", bookings=[], sessions=[])
    write_csv(folder, "bookings.csv", "booking_id,patient_id\nB1,P1\n")
    db = tmp_path / "clinic.duckdb"
    done = run("-m", "queries.load", str(folder), "--db", str(db))
    assert done.returncode == 2
    assert done.stderr.strip() == "error: bookings.csv: missing required column 'booked_at' " \
                                  "(and appointment_at, treatment, status)"
    assert not db.exists()


def test_cli_report_exits_2_on_a_missing_folder(tmp_path):
    done = run("-m", "queries.report", "--data", str(tmp_path / "nowhere"), "--format", "json")
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines() == [f"error: {tmp_path / 'nowhere'}: not a folder of CSV exports"]


# --- Files that are not what they claim, and odd headers ------------------------

BOOKINGS_HEADER = "booking_id,patient_id,booked_at,appointment_at,treatment,status"
SESSIONS_CSV = b"session_id,patient_id,performed_at,treatment,body_area\nS1,P1,2025-01-10,Micro-needling,face\n"


@pytest.mark.parametrize("bookings, message", [
    pytest.param(b"PK\x03\x04 a zip", "bookings.csv: this is a spreadsheet workbook (.xlsx), not a CSV",
                 id="an-xlsx-renamed"),
    pytest.param(BOOKINGS_HEADER.encode() + b"\nB1,P\x81,2025-01-01,2025-01-02,Peel,completed\n",
                 "bookings.csv: not a text file in UTF-8, UTF-16 or Windows-1252", id="undecodable-bytes"),
    pytest.param(BOOKINGS_HEADER.replace(",", ";").encode() + b"\n",
                 "bookings.csv: the columns are separated by semicolons, not commas", id="semicolons"),
    pytest.param(BOOKINGS_HEADER.replace(",", "\t").encode() + b"\n",
                 "bookings.csv: the columns are separated by tabs, not commas", id="tabs"),
])
def test_a_file_that_is_not_a_comma_separated_text_is_a_clear_error(tmp_path, bookings, message):
    folder = write_bytes(tmp_path / "export", {"bookings.csv": bookings, "sessions.csv": SESSIONS_CSV})
    with pytest.raises(LoadError) as caught:
        load(folder)
    assert str(caught.value).startswith(message)


def test_a_utf16_export_from_excel_loads(tmp_path):
    text = BOOKINGS_HEADER + "\r\nB1,P1,2025-01-01,2025-01-02,Peel – Zoë,completed\r\n"
    folder = write_bytes(tmp_path / "export", {"bookings.csv": text.encode("utf-16"), "sessions.csv": SESSIONS_CSV})
    con = load(folder, keep_layers=True).connection
    assert rows(con, "select booking_id, treatment from stg_bookings") == [("B1", "Peel – Zoë")]


def test_excel_text_formulas_around_ids_are_unwrapped(tmp_path):
    folder = write_bytes(tmp_path / "export", {
        "bookings.csv": (BOOKINGS_HEADER + '\n="B001",="P01",2025-01-01,2025-01-10,Peel,completed\n').encode(),
        "sessions.csv": b'session_id,booking_id,patient_id,performed_at,treatment,body_area\n'
                        b'"=""S001""",="B001",P01,2025-01-10,Peel,face\n',
    })
    con = load(folder, keep_layers=True).connection
    assert rows(con, "select session_id, booking_id, patient_id, has_known_booking from fct_sessions") == [
        ("S001", "B001", "P01", True)]


def test_extra_columns_may_repeat_or_share_a_name_with_internal_columns(tmp_path):
    folder = write_bytes(tmp_path / "export", {
        "bookings.csv": (BOOKINGS_HEADER + ",Notes,notes,Failed check,rejected\n"
                         "B1,P1,2025-01-01,2025-01-10,Peel,completed,a,b,c,d\n").encode(),
        "sessions.csv": SESSIONS_CSV,
    })
    con = load(folder, keep_layers=True).connection
    assert rows(con, "select notes, notes_8, failed_check, rejected from raw_bookings") == [("a", "b", "c", "d")]
    assert rows(con, "select count(*) from stg_bookings") == [(1,)]


def test_a_very_long_field_loads(tmp_path):
    notes = "x" * 300_000
    folder = write_bytes(tmp_path / "export", {
        "bookings.csv": (BOOKINGS_HEADER + f",notes\nB1,P1,2025-01-01,2025-01-10,Peel,completed,{notes}\n").encode(),
        "sessions.csv": SESSIONS_CSV,
    })
    con = load(folder, keep_layers=True).connection
    assert rows(con, "select length(notes) from raw_bookings") == [(300_000,)]


def test_staging_reads_exactly_the_contract_columns():
    for entity in ENTITIES.values():
        sql = (ROOT / "queries" / "sql" / "staging" / f"stg_{entity.name}.sql").read_text()
        source = sql[sql.index("source as ("):sql.index(f"from raw_{entity.name}")]
        listed = [c.strip() for c in source.split("select", 1)[1].split(",")]
        assert listed == ["_line", "_is_blank", "_parse_error", *entity.column_names], entity.name


@pytest.mark.parametrize("target, message", [
    pytest.param("missing_folder/clinic.duckdb", "does not exist", id="no-such-folder"),
    pytest.param(".", "is a folder", id="a-folder"),
    pytest.param("notes.csv", "exists and is not a database built by python -m queries.load; not replacing it",
                 id="someone-elses-file"),
])
def test_cli_load_refuses_a_db_path_it_cannot_or_must_not_write(tmp_path, simple_export, target, message):
    (tmp_path / "notes.csv").write_text("precious")
    done = run("-m", "queries.load", str(simple_export), "--db", str(tmp_path / target))
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and message in done.stderr
    assert (tmp_path / "notes.csv").read_text() == "precious"


# --- The fast path (DuckDB's reader) and the csv module fallback ----------------

FAST_BOOKINGS = (
    b"\xef\xbb\xbf" + BOOKINGS_HEADER.encode() + b",Location, Notes\r\n"
    b"B1,P1,2025-01-01,2025-01-10,Peel,completed,Main St,Dr Zo\xc3\xab\r\n"        # 2
    b"  B2 ,  P2,2025-01-01, 2025-01-10 ,Peel,  Completed , Main St ,\t x \r\n"     # 3: spaces, a tab
    b"B3,P3,2025-01-01,2025-01-10,Peel,completed\r\n"                             # 4: short record
    b"B4,P4,2025-01-01,2025-01-10,Peel,completed,,,,,\r\n"                        # 5: trailing empty cells
    b"B5,P5,2025-01-01,2025-01-10,Peel,completed,,,, \t,\xc2\xa0\r\n"             # 6: blank extras
    b"B6,P6,2025-01-01,2025-01-10,Peel,completed,,,,oops\r\n"                     # 7: too many fields
    b"B7,P7,next week,2025-01-10,Peel,completed,,x\r\n"                           # 8
    b"B1,P8,2025-01-01,2025-01-10,Peel,completed,x,y"                             # 9: no line break at the end
)


def load_both_ways(folder: Path, monkeypatch) -> tuple[dict, dict, list[bool]]:
    """The tables a load builds with the fast path allowed, and with the csv module only.

    Each way loads twice. Keeping the layers, the fast path's raw layer is a table of DuckDB's records,
    numbered by its rowid. Dropping them (as every real load does), staging reads the records as they are
    parsed and its own table's rowid numbers them: that load's built tables are under "dropped <name>".
    `taken` says, per load and file (in the contract's order), whether the fast path took it.
    """
    import queries.load as loader

    taken: list[bool] = []
    this_load: dict[str, bool] = {}  # files are staged side by side, in no set order
    fast = loader._stage_fast

    def spy(con, source, *args, **kwargs):
        this_load[source.entity.name] = fast(con, source, *args, **kwargs)
        return this_load[source.entity.name]

    def built(**kwargs) -> dict:
        con = load(folder, **kwargs).connection
        taken.extend(this_load.pop(name) for name in ENTITIES if name in this_load)
        built = contents(con)
        con.close()
        return built

    def tables() -> dict:
        kept = built(keep_layers=True)
        dropped = built()
        assert not any(name.startswith(("raw_", "stg_")) for name in dropped)
        return kept | {f"dropped {name}": table for name, table in dropped.items()}

    with monkeypatch.context() as patched:
        patched.setattr(loader, "_stage_fast", spy)
        with_fast = tables()
    with monkeypatch.context() as patched:
        patched.setattr(loader, "_stage_fast", lambda *args, **kwargs: False)
        csv_only = tables()
    return with_fast, csv_only, taken


def test_a_plain_file_takes_the_fast_path_and_reads_as_the_csv_module_does(tmp_path, monkeypatch):
    folder = write_bytes(tmp_path / "export", {"bookings.csv": FAST_BOOKINGS, "sessions.csv": SESSIONS_CSV})
    with_fast, csv_only, taken = load_both_ways(folder, monkeypatch)
    assert taken == [True, True] * 2
    assert with_fast == csv_only
    assert [(row[0], row[2]) for row in with_fast["raw_bookings"]] == [  # _line, _parse_error
        (line, "record has 10 fields, the header has 8" if line == 7 else None)
        for line in range(2, 10)]


@pytest.mark.parametrize("bookings", [
    pytest.param(FAST_BOOKINGS.replace(b"Peel,completed\r\n", b"Peel,completed\r\n , ,,\r\n", 1),
                 id="line-of-blank-fields"),
    pytest.param(FAST_BOOKINGS.replace(b",Main St,", b',"Main, St",'), id="quoted-comma"),
    pytest.param(FAST_BOOKINGS.replace(b",Main St,", b',"Main ""St""",'), id="doubled-quotes"),
    pytest.param(FAST_BOOKINGS.replace(b",Main St,", b',"",'), id="quoted-empty"),
    pytest.param(FAST_BOOKINGS.replace(b",Main St,", b',Ma"in St,'), id="quote-inside-text"),
    pytest.param(FAST_BOOKINGS.replace(b"completed,,,,oops", b"completed" + b",x" * 12), id="many-fields"),
])
def test_the_fast_path_reads_quoted_and_odd_records_as_the_csv_module_does(tmp_path, monkeypatch, bookings):
    folder = write_bytes(tmp_path / "export", {"bookings.csv": bookings, "sessions.csv": SESSIONS_CSV})
    with_fast, csv_only, taken = load_both_ways(folder, monkeypatch)
    assert taken == [True, True] * 2
    assert with_fast == csv_only


def test_a_thousand_columns_read_the_same_either_way(tmp_path, monkeypatch):
    # The fast path's checks over every cell once went past DuckDB's expression depth limit here.
    extra = b"".join(b",x%d" % i for i in range(990))
    bookings = FAST_BOOKINGS.replace(b",Location, Notes\r\n", b",Location, Notes" + extra + b"\r\n", 1)
    folder = write_bytes(tmp_path / "export", {"bookings.csv": bookings, "sessions.csv": SESSIONS_CSV})
    with_fast, csv_only, taken = load_both_ways(folder, monkeypatch)
    assert taken == [True, True] * 2
    assert with_fast == csv_only
    assert len(with_fast["dropped load_rejects"]) == 2  # line 8's date, line 9's repeated B1 (line 7 now fits)


def test_spaces_after_a_closing_quote_differ_in_the_raw_layer_only(tmp_path, monkeypatch):
    # The csv module keeps them ("Main St " + " "), DuckDB drops them; staging trims every value.
    bookings = FAST_BOOKINGS.replace(b",Main St,", b',"Main St"  ,')
    folder = write_bytes(tmp_path / "export", {"bookings.csv": bookings, "sessions.csv": SESSIONS_CSV})
    with_fast, csv_only, taken = load_both_ways(folder, monkeypatch)
    assert taken == [True, True] * 2
    assert with_fast.pop("raw_bookings") != csv_only.pop("raw_bookings")
    assert with_fast == csv_only


# A tidy file: no cell that clean_text would trim or unwrap. `cell` is the Location of line 3.
def tidy_bookings(cell: bytes, last: bytes = b"completed") -> bytes:
    return (BOOKINGS_HEADER.encode() + b",Location,Notes\n"
            b"B1,P1,2025-01-01,2025-01-10,Peel,completed,Main St,Dr Zo\xc3\xab\n"
            b"B2,P2,2025-01-01,2025-01-10,Peel,completed," + cell + b",\n"
            b"B3,P3,2025-01-01,2025-01-10,Peel," + last)  # no line break at the end


@pytest.mark.parametrize("bookings, is_tidy", [
    pytest.param(tidy_bookings(b"Main St"), True, id="space-inside"),
    pytest.param(tidy_bookings(b""), True, id="empty"),
    pytest.param(tidy_bookings(b"\tMain St"), True, id="tab"),  # trim() keeps tabs
    pytest.param(tidy_bookings(b"Zo\xc3\xab \xe2\x80\x93 Main"), True, id="accent-and-dash"),
    pytest.param(tidy_bookings(b'"Main St"'), True, id="quoted"),
    pytest.param(tidy_bookings(b'"Main, St"'), False, id="comma-space-inside-quotes"),  # the scan does not parse quotes
    pytest.param(tidy_bookings(b" Main St"), False, id="leading-space"),
    pytest.param(tidy_bookings(b"Main St "), False, id="trailing-space"),
    pytest.param(tidy_bookings(b'" Main St"'), False, id="space-inside-opening-quote"),
    pytest.param(tidy_bookings(b'"Main St "'), False, id="space-inside-closing-quote"),
    pytest.param(tidy_bookings(b"Main St\xc2\xa0"), False, id="no-break-space"),
    pytest.param(tidy_bookings(b"Main\xe3\x80\x80St"), False, id="ideographic-space-anywhere"),
    pytest.param(tidy_bookings(b'="00123"'), False, id="excel-text"),
    pytest.param(tidy_bookings(b"x,\n B9"), False, id="line-starting-with-space"),
    pytest.param(tidy_bookings(b"x,y \nB9"), False, id="line-ending-with-space"),
    pytest.param(tidy_bookings(b"x", last=b"completed "), False, id="file-ending-with-space"),
])
def test_a_tidy_file_is_cleaned_only_of_empty_cells_and_reads_the_same(tmp_path, monkeypatch, bookings, is_tidy):
    import queries.load as loader

    folder = write_bytes(tmp_path / "export", {"bookings.csv": bookings, "sessions.csv": SESSIONS_CSV})
    assert loader._fast_scan(folder / "bookings.csv").is_tidy is is_tidy
    with_fast, csv_only, taken = load_both_ways(folder, monkeypatch)
    assert taken == [True, True] * 2
    if b'," ' in bookings:  # the fast path's raw layer drops spaces inside an opening quote (staging trims)
        assert with_fast.pop("raw_bookings") != csv_only.pop("raw_bookings")
    assert with_fast == csv_only


def test_a_file_found_tidy_is_not_trimmed(tmp_path, monkeypatch):
    # The scan's verdict reaches staging: were an untidy file let through, its spaces would stay, leading
    # ones too (no cell of a tidy file starts with one, so the fast path does not look for them).
    import queries.load as loader

    monkeypatch.setattr(loader, "_tidy", lambda data, end: True)
    folder = write_bytes(tmp_path / "export", {"bookings.csv": FAST_BOOKINGS, "sessions.csv": SESSIONS_CSV})
    con = load(folder).connection
    assert ("bookings.csv", 3, "appointment_at", "not a date/time: ' 2025-01-10 '") in rows(
        con, "select * from load_rejects")


@pytest.mark.parametrize("bookings", [
    pytest.param(FAST_BOOKINGS.replace(b"Main St,Dr", b'"Main\r\nSt",Dr'), id="quoted-newline"),
    pytest.param(FAST_BOOKINGS.replace(b"Peel,completed\r\n", b"Peel,completed\r\n\r\n", 1), id="blank-line"),
    pytest.param(FAST_BOOKINGS.replace(b",Main St,", b', "Main, St",'), id="skipinitialspace-quote"),
    pytest.param(FAST_BOOKINGS.replace(b",Main St,", b',"Main" St,'), id="text-after-closing-quote"),
    pytest.param(FAST_BOOKINGS.replace(b"completed,,,,oops", b"completed" + b",x" * 40), id="more-fields-than-room"),
    pytest.param(FAST_BOOKINGS.replace(b"Peel,completed\r\n", b"Peel,completed\rB9,P9,,,,\r\n", 1), id="lone-cr"),
    pytest.param(FAST_BOOKINGS.replace(b"\xc3\xab", b"\xeb").replace(b"\xc2\xa0", b"\xa0"), id="windows-1252"),
    # Bytes Python's UTF-8 decoder refuses, so Windows-1252 text: DuckDB's reader must refuse them too (the
    # encoding of a file with a plain ASCII header is only probed when the fast path did not read it).
    pytest.param(FAST_BOOKINGS.replace(b"\xc3\xab", b"\xed\xa0\x80"), id="utf-8-of-a-surrogate"),
    pytest.param(FAST_BOOKINGS.replace(b"\xc3\xab", b"\xc0\xaf"), id="overlong-utf-8"),
    pytest.param(FAST_BOOKINGS.replace(b"\xc3\xab", b"\xf5\x80\x80\x80"), id="beyond-unicode"),
])
def test_a_file_the_fast_path_cannot_read_exactly_falls_back(tmp_path, monkeypatch, bookings):
    folder = write_bytes(tmp_path / "export", {"bookings.csv": bookings, "sessions.csv": SESSIONS_CSV})
    with_fast, csv_only, taken = load_both_ways(folder, monkeypatch)
    assert taken == [False, True] * 2
    assert with_fast == csv_only


# Issue 9: `04/03/2025` is 4 March to a US clinic and 3 April elsewhere. The column map says which.
@pytest.mark.parametrize("date_order, written, expected", [
    (None, "04/03/2025", datetime(2025, 4, 3)),                       # month first unless told
    ("month_first", "04/03/2025", datetime(2025, 4, 3)),
    ("day_first", "04/03/2025", datetime(2025, 3, 4)),
    ("day_first", "13/03/2025", datetime(2025, 3, 13)),
    ("month_first", "13/03/2025", "not a date/time: '13/03/2025'"),   # no month 13
    ("day_first", "03/13/2025", "not a date/time: '03/13/2025'"),     # nor day first
    ("day_first", "04/03/2025 2:30 PM", datetime(2025, 3, 4, 14, 30)),
    ("day_first", "4/3/2025 14:30", datetime(2025, 3, 4, 14, 30)),
    ("day_first", "2025-03-04 09:00:00", datetime(2025, 3, 4, 9, 0)),  # ISO dates are not affected
    ("day_first", "04/03/25", "not a date/time: '04/03/25'"),         # still four-digit years only
])
def test_the_column_map_says_whether_slashed_dates_are_day_first(tmp_path, date_order, written, expected):
    folder = write_export(tmp_path, bookings=[], sessions=[session("S1", "P1", "2025-03-04") | {"performed_at": written}])
    if date_order:
        (folder / "column_map.toml").write_text(f'date_order = "{date_order}"\n')
    con = load(folder, keep_layers=True).connection
    loaded = rows(con, "select performed_at from stg_sessions")
    rejected = rows(con, "select column_name, reason from load_rejects")
    if isinstance(expected, str):
        assert (loaded, rejected) == ([], [("performed_at", expected)])
    else:
        assert (loaded, rejected) == ([(expected,)], [])


@pytest.mark.parametrize("map_text", ['date_order = "dmy"\n', "date_order = 1\n", "date_order = 'Day First'\n"])
def test_an_unknown_date_order_is_a_clear_error(tmp_path, map_text):
    folder = write_export(tmp_path, bookings=[], sessions=[session("S1", "P1", "2025-01-01")])
    (folder / "column_map.toml").write_text(map_text)
    with pytest.raises(LoadError, match=r"^column_map\.toml: date_order must be one of 'month_first', 'day_first'"):
        load(folder)
