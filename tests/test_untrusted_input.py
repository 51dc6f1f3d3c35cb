"""Input nobody checked: the rules, as pure functions, for what the app does with an export that loads
nothing, uploaded file names and contents, and parameters in a link."""

from __future__ import annotations

import pytest

from dashboard.filters import PAGE_PARAMS, PARSERS, SIDEBAR_PARAMS, dropped_notice, screen_params
from dashboard.uploads import UploadRejected, check, content_problem, safe_name
from queries.api import nothing_to_report

# --- an export with nothing to report ----------------------------------------------------------------------------


def _files(bookings: tuple[int, int], sessions: tuple[int, int]) -> dict:
    return {name: {"file": f"{name}.csv", "read": read, "loaded": loaded, "rejected": read - loaded}
            for name, (read, loaded) in (("bookings", bookings), ("sessions", sessions))}


@pytest.mark.parametrize("bookings, sessions, reason", [
    ((0, 0), (0, 0), ["bookings.csv: no rows after the header", "sessions.csv: no rows after the header"]),
    ((3, 0), (0, 0), ["bookings.csv: all 3 rows rejected", "sessions.csv: no rows after the header"]),
    ((1, 0), (2, 0), ["bookings.csv: its one row rejected", "sessions.csv: all 2 rows rejected"]),
    ((3, 1), (0, 0), None),  # one booking: its date is the export's date
    ((0, 0), (2, 1), None),
])
def test_nothing_to_report_when_no_booking_or_session_loaded(bookings, sessions, reason):
    problem = nothing_to_report(_files(bookings, sessions))
    if reason is None:
        assert problem is None
    else:
        assert problem.startswith("nothing to report: no booking or session could be loaded")
        for part in reason:
            assert part in problem


# --- uploaded file names -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, saved_as", [
    ("bookings.csv", "bookings.csv"),
    ("exports/2025/bookings.csv", "bookings.csv"),  # a folder upload's relative path: its last part
    ("exports\\bookings.csv", "bookings.csv"),  # the same from Windows
    ("  sessions.csv ", "sessions.csv"),
    ("..bookings.csv", "..bookings.csv"),  # dots inside a name climb nowhere
    ("[click](javascript:alert(1)).csv", "[click](javascript:alert(1)).csv"),  # markup: the page escapes it
])
def test_an_upload_is_saved_under_its_last_name_part(name, saved_as):
    assert safe_name(name) == saved_as


@pytest.mark.parametrize("name, reason", [
    ("../bookings.csv", "climb out"),
    ("exports/../../etc/cron.d/x.csv", "climb out"),
    ("..\\..\\bookings.csv", "climb out"),
    ("..", "climb out"),
    ("/etc/passwd", "not a path from the root"),
    ("\\\\server\\share\\bookings.csv", "not a path from the root"),
    ("C:\\Users\\me\\bookings.csv", "not a path from the root"),
    ("c:bookings.csv", "not a path from the root"),
    ("bookings.csv\x00.toml", "control character"),
    ("book\nings.csv", "control character"),
    ("exports/", "not a file name"),
    ("", "not a file name"),
    (".", "not a file name"),
    ("x" * 300 + ".csv", "longer than 255"),
])
def test_an_upload_name_leaving_the_folder_is_refused(name, reason):
    with pytest.raises(UploadRejected, match=reason):
        safe_name(name)


XLSX = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml"
ZIP = b"PK\x03\x04\x14\x00\x00\x00\x08\x00bookings.csv"
XLS = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100
CSV = b"booking_id,patient_id\r\nB1,P1\r\n"


@pytest.mark.parametrize("name, head, message", [
    ("bookings.csv", CSV, None),
    ("bookings.csv", b"\xef\xbb\xbf" + CSV, None),  # UTF-8 with a byte-order mark
    ("bookings.csv", "booking_id,treatment\nB1,Peel\u00e9\n".encode("cp1252"), None),  # Windows-1252
    ("bookings.csv", b"\xff\xfe" + CSV.decode().encode("utf-16-le"), None),  # Excel's "Unicode text"
    ("practice.toml", b'currency = "\xe2\x82\xac"\n', None),
    ("bookings.csv", b"", None),  # empty: the loader says the header is missing
    ("bookings.xlsx", XLSX, "bookings.xlsx is an Excel workbook, not a CSV file: open it in Excel"),
    ("bookings.csv", XLSX, "bookings.csv is an Excel workbook"),  # renamed, still a workbook
    ("bookings.xls", XLS, "bookings.xls is an Excel 97-2003 workbook (.xls), not a CSV file"),
    ("exports.zip", ZIP, "exports.zip is a zip archive: unzip it"),
    ("bookings.xlsx", CSV, "bookings.xlsx is not a CSV file"),  # a CSV named .xlsx: rename it
    ("sessions.csv", b"\x7fELF\x02\x01\x01\x00\x00\x00", "sessions.csv is not a text file"),
    ("sessions.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "sessions.csv is not a text file"),
    ("sessions.csv", bytes(range(1, 9)) * 20, "sessions.csv is not a text file"),  # control bytes, no NUL
])
def test_an_upload_that_is_not_a_csv_is_named_with_what_to_do(name, head, message):
    problem = content_problem(name, head)
    if message is None:
        assert problem is None
    else:
        assert problem.startswith(message)
        assert "save it as CSV (comma delimited)" in problem or "unzip" in problem


class _Upload:
    def __init__(self, name: str, data: bytes):
        self.name, self._data = name, data

    def getvalue(self) -> bytes:
        return self._data


def test_uploads_are_sorted_into_those_to_load_and_each_refusal():
    checked = check([_Upload("exports/bookings.csv", CSV), _Upload("Bookings.csv", CSV),
                     _Upload("../sessions.csv", CSV), _Upload("sessions.xlsx", XLSX), _Upload("practice.toml", b"")])
    assert list(checked.accepted) == ["bookings.csv", "practice.toml"]
    assert [p.split(":")[0].split(" ")[0] for p in checked.problems] == ["Bookings.csv", "../sessions.csv",
                                                                         "sessions.xlsx"]


# --- parameters in a link ------------------------------------------------------------------------------------------

SQL = "x' OR '1'='1'; DROP TABLE fct_sessions; --"


@pytest.mark.parametrize("params, kept, dropped", [
    # what the app writes itself is kept as it is
    ({"period": ["custom"], "from": ["2025-01-01"], "to": ["2025-03-31"], "as_of": ["2025-06-30"]},
     {"period": ["custom"], "from": ["2025-01-01"], "to": ["2025-03-31"], "as_of": ["2025-06-30"]}, []),
    ({"location": ["Harbour St", "O'Brien Clinic"], "body_area": ["face"], "concern": ["acne_scars"]},
     {"location": ["Harbour St", "O'Brien Clinic"], "body_area": ["face"], "concern": ["acne_scars"]}, []),
    ({"recall_min": ["42"], "recall_max": ["3650"], "curve_by": ["treatment"], "lot": ["LOT-7 (B)"]},
     {"recall_min": ["42"], "recall_max": ["3650"], "curve_by": ["treatment"], "lot": ["LOT-7 (B)"]}, []),
    ({"x_entity": ["sessions"], "x_cols": ["session_id,price"], "x_sort": ["price"], "x_dir": ["desc"],
      "x_page": ["3"], "x_contains": ["treatment:peel, 50%"], "x_in": ["status:no_show"], "x_min": ["price:10"]},
     {"x_entity": ["sessions"], "x_cols": ["session_id,price"], "x_sort": ["price"], "x_dir": ["desc"],
      "x_page": ["3"], "x_contains": ["treatment:peel, 50%"], "x_in": ["status:no_show"], "x_min": ["price:10"]}, []),
    # unknown names
    ({"utm_source": ["newsletter"], SQL: ["1"]}, {},
     [("utm_source", "not a setting of this app"), (SQL, "not a setting of this app")]),
    # values each parameter's parser refuses
    ({"period": ["forever"]}, {}, [("period", "'forever' is not a choice the app offers")]),
    ({"period": [SQL]}, {}, [("period", f"{SQL!r} is not a choice the app offers")]),
    ({"from": ["2025-02-30"], "as_of": ["20250101"]}, {},
     [("from", "'2025-02-30' is not a date (YYYY-MM-DD)"), ("as_of", "'20250101' is not a date (YYYY-MM-DD)")]),
    ({"body_area": ["face", "elbow"]}, {"body_area": ["face"]}, [("body_area", "'elbow' is not a choice the app offers")]),
    ({"concern": ["Acne Scars"]}, {}, [("concern", "'Acne Scars' is not a name the app uses")]),
    ({"recall_min": ["-5"], "recall_max": ["99999"]}, {},
     [("recall_min", "'-5' is not a whole number from 0 to 3,650"),
      ("recall_max", "'99999' is not a whole number from 0 to 3,650")]),
    ({"x_sort": [SQL], "x_dir": ["sideways"], "x_page": ["0"]}, {},
     [("x_sort", f"{SQL!r} is not a name the app uses"), ("x_dir", "'sideways' is not one of asc or desc"),
      ("x_page", "'0' is not a whole number from 1 to 1,000,000,000")]),
    ({"x_cols": ["session_id,price;drop"], "x_in": [f"status) or (1=1:{SQL}"]}, {},
     [("x_cols", "'session_id,price;drop' is not a name the app uses"),
      ("x_in", f"{'status) or (1=1:' + SQL!r} is not column:value")]),
    # size and characters, whatever the name
    ({"location": ["x" * 201, "Harbour St"]}, {"location": ["Harbour St"]}, [("location", "longer than 200 characters")]),
    ({"treatment": ["Peel\x00"], "lot": ["A\nB"]}, {},
     [("treatment", "holds a control character"), ("lot", "holds a control character")]),
    ({"location": [f"L{i}" for i in range(101)]}, {}, [("location", "given more than 100 times")]),
    ({"x_contains": ["treatment:" + "y" * 256]}, {}, [("x_contains", "longer than 265 characters")]),
])
def test_a_link_keeps_only_known_parameters_with_values_their_parser_accepts(params, kept, dropped):
    screened = screen_params(params)
    assert screened.kept == kept
    assert screened.dropped == dropped


def test_every_parameter_the_app_reads_has_a_parser():
    assert set(PARSERS) == set(SIDEBAR_PARAMS) | set(PAGE_PARAMS)


def test_the_notice_names_each_dropped_parameter_briefly():
    notice = dropped_notice([("utm_source", "not a setting of this app"), ("z" * 300, "not a setting of this app")])
    assert notice == ("Not used from the link: 'utm_source' (not a setting of this app); "
                      f"'{'z' * 40}…' (not a setting of this app).")
