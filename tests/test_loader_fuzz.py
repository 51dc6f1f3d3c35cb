"""The loader against hostile bytes (issue 9): a valid export, mutated at random, either
loads with every record accounted for or stops with one LoadError, and never leaves a
half-built database behind.

Properties checked for every mutated export, loaded in memory and into a db file:
- nothing but queries.load.LoadError escapes `load`, and its message names what failed;
- on error the previous db file is unchanged byte for byte and no `.building` file is left;
- on success the db opens with open_database and its load_files table agrees with LoadResult;
- per file, read = loaded + rejected, and read is the number of non-blank records a plain
  csv.reader finds in the file (an oracle that shares none of the loader's shortcuts).

How many examples: the profile named by $HYPOTHESIS_PROFILE (default "ci"):
- ci:   60 examples (4 for huge fields), derandomized, so every run, in CI or not, tries the
        same inputs and a failure reproduces; no example database is written.
- deep: 1000 examples (20 huge), random each run (some 10 minutes on 2 cores); failures are
        kept in .hypothesis/ and replayed first next time. Run it after touching the loader:
            HYPOTHESIS_PROFILE=deep .venv/bin/python -m pytest tests/test_loader_fuzz.py -q
Every distinct failure found this way gets a row in REGRESSIONS below (an xfail test when
the fix belongs to the fast path or the SQL, which this file's author did not change).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from queries.load import LoadError, load, open_database

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
PROFILES = {
    "ci": settings(max_examples=60, derandomize=True, database=None, deadline=None, print_blob=True,
                   suppress_health_check=_SLOW_OK),
    "deep": settings(max_examples=1000, deadline=None, print_blob=True, suppress_health_check=_SLOW_OK),
}
PROFILE = PROFILES[os.environ.get("HYPOTHESIS_PROFILE", "ci")]
HUGE_EXAMPLES = max(4, PROFILE.max_examples // 50)

# --- A small valid export -------------------------------------------------------
# Two flavours: PLAIN can take the loader's fast path (DuckDB's reader); QUOTED (BOM, CRLF,
# quoted commas and newlines, spaces) takes the csv module path. Both load without a reject.

PLAIN = {
    "bookings.csv": (
        "booking_id,patient_id,booked_at,appointment_at,treatment,status,location,practitioner,channel,concern\n"
        "B1,P1,2025-01-02 10:00,2025-01-10 09:00,Micro-needling,completed,Main St,Dr Zoë,website,acne_scars\n"
        "B2,P2,2025-01-03,2025-02-01,Chemical peel,no_show,Main St,Dr Ames,phone,\n"
        "B3,P1,01/20/2025 2:30 PM,2025-03-01T09:00,Consultation,scheduled,,,,\n"
    ),
    "sessions.csv": (
        "session_id,booking_id,patient_id,performed_at,treatment,body_area,needle_depth_mm,duration_min,"
        "practitioner,location,price\n"
        "S1,B1,P1,2025-01-10 09:00,Micro-needling,face,1.5,60,Dr Zoë,Main St,150.00\n"
        "S2,B1,P1,2025-01-10 09:00,Micro-needling,neck,0.5,30,Dr Zoë,Main St,80\n"
        "S3,,P2,2025-01-11,Chemical peel,hands,,,,,\n"
    ),
    "consumables.csv": (
        "session_id,item,category,lot,quantity,unit,unit_cost\n"
        "S1,MicroPen sterile tip (12-needle),needle_tip,LOT-1,1,each,4.50\n"
        "S1,Topical numbing gel,numbing,LOT-2,2.5,ml,1.20\n"
    ),
    "complaints.csv": (
        "complaint_id,session_id,patient_id,reported_at,category,severity,resolved_at\n"
        "C1,S1,P1,2025-01-12,prolonged_redness,mild,2025-01-15\n"
        "C2,,P2,2025-01-13 12:00,swelling,,\n"
    ),
}
QUOTED = {
    "bookings.csv": (
        "\ufeffBooking ID,Patient ID,Booked At,Appointment At,Treatment,Status,Location,Notes\r\n"
        'B1,P1,2025-01-02,2025-01-10 09:00,"Peel, light\r\n(glycolic)",Completed, "Main St, Unit 2",x\r\n'
        "  B2 , P2 ,2025-01-03,2025-02-01,Micro-needling, No-Show ,Main St,\r\n"
    ),
    "sessions.csv": (
        "Session ID,Patient ID,Performed At,Treatment,Body Area,Price\r\n"
        'S1,P1,2025-01-10 09:00,Micro-needling,Face,"150.00"\r\n'
        "S2,P2,2025-01-11,Chemical peel, NECK ,80\r\n"
    ),
    "consumables.csv": (
        "Session ID,Item,Quantity,Unit\r\n"
        'S1,"Tip ""12-needle""",1,each\r\n'
    ),
    "complaints.csv": (
        "Complaint ID,Patient ID,Reported At,Category\r\n"
        "C1,P1,2025-01-12,Swelling\r\n"
    ),
}
BASES = {"plain": {k: v.encode() for k, v in PLAIN.items()}, "quoted": {k: v.encode() for k, v in QUOTED.items()}}
FILES = tuple(PLAIN)
CSV_FIELD_LIMIT = csv.field_size_limit()  # the loader's (it sets it on import); the oracle reads with it too
COLUMN_MAP = "column_map.toml"


# --- The oracle -----------------------------------------------------------------

def decode(data: bytes) -> str | None:
    """The text SPEC's readers would see: UTF-16 if it says so, else UTF-8, else Windows-1252."""
    codecs = ("utf-16",) if data.startswith((b"\xff\xfe", b"\xfe\xff")) else ("utf-8-sig", "cp1252")
    for codec in codecs:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    return None


def non_blank_records(data: bytes) -> int | None:
    """Records after the header with at least one non-blank field, as a plain csv.reader reads them."""
    text = decode(data)
    if text is None:
        return None
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), skipinitialspace=True))
    except csv.Error:
        return None
    return sum(1 for fields in records[1:] if any(f.strip() for f in fields))


# --- Mutations --------------------------------------------------------------------
# Each takes (draw, bytes) and returns the new bytes, or None for "no such file".

INTERESTING = [b'"', b",", b"\r", b"\n", b"\r\n", b"\0", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b";", b"\t",
               b" ", b"\xc3", b"\x81", b"\x01", b"\xa0", b"\xe2\x80\xa8", b'""', b"\x1c", b"\x0b", b"\x85"]
chunk = st.lists(st.sampled_from(INTERESTING) | st.binary(min_size=1, max_size=4), min_size=1, max_size=4).map(b"".join)


def _lines(data: bytes) -> list[bytes]:
    return data.splitlines(keepends=True)


def insert_bytes(draw, data):
    at = draw(st.integers(0, len(data)))
    return data[:at] + draw(chunk) + data[at:]


def replace_bytes(draw, data):
    at = draw(st.integers(0, len(data)))
    length = draw(st.integers(1, 16))
    return data[:at] + draw(chunk) + data[at + length:]


def truncate(draw, data):
    return data[:draw(st.integers(0, len(data)))]


def reencode(draw, data):
    codec = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-16-be", "cp1252", "latin-1", "utf-32"]))
    return data.decode("utf-8", errors="replace").encode(codec, errors="replace")


def break_utf8(draw, data):
    # A lone lead byte, a lone continuation byte or a surrogate: invalid UTF-8 at a random place.
    at = draw(st.integers(0, len(data)))
    return data[:at] + draw(st.sampled_from([b"\xc3", b"\x80", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"])) + data[at:]


def change_delimiter(draw, data):
    new = draw(st.sampled_from([b";", b"\t", b"|"]))
    lines = _lines(data)
    where = draw(st.sampled_from(["all", "header", "body"]))
    return b"".join(
        line.replace(b",", new) if where == "all" or (where == "header") == (i == 0) else line
        for i, line in enumerate(lines))


def duplicate_header(draw, data):
    lines = _lines(data) or [b""]
    header = lines[0]
    how = draw(st.sampled_from(["repeat-line", "repeat-column", "respell-column"]))
    if how == "repeat-line":  # the header again as a record, e.g. two exports concatenated
        at = draw(st.integers(1, len(lines)))
        if not lines[at - 1].endswith((b"\n", b"\r")):
            lines[at - 1] += b"\n"
        lines.insert(at, header if header.endswith((b"\n", b"\r")) else header + b"\n")
        return b"".join(lines)
    names = header.rstrip(b"\r\n").split(b",")
    name = draw(st.sampled_from(names))
    if how == "respell-column":
        name = name.upper().replace(b"_", b" ")
    lines[0] = header.rstrip(b"\r\n") + b"," + name + header[len(header.rstrip(b"\r\n")):]
    return b"".join(lines)


def line_breaks(draw, data):
    how = draw(st.sampled_from(["lone-cr", "all-cr", "blank-lines"]))
    if how == "all-cr":
        return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r")
    lines = _lines(data)
    if not lines:
        return data
    at = draw(st.integers(0, len(lines) - 1))
    if how == "lone-cr":
        lines[at] = lines[at].rstrip(b"\r\n") + b"\r"
    else:
        lines.insert(at + 1, draw(st.sampled_from([b"\n", b"\r\n", b" , ,\n", b",,,\n", b"\t\n", b"\xc2\xa0\n"])))
    return b"".join(lines)


def unclosed_quote(draw, data):
    starts = [0] + [i + 1 for i, b in enumerate(data) if b in b",\n"]
    at = draw(st.sampled_from(starts))
    return data[:at] + b'"' + data[at:]


def header_only(draw, data):
    lines = _lines(data)
    return lines[0].rstrip(b"\r\n") + draw(st.sampled_from([b"", b"\n", b"\r\n"])) if lines else data


def empty(draw, data):
    return draw(st.sampled_from([b"", b"\n", b"\xef\xbb\xbf", b"\xff\xfe", b" \r\n", b"\0"]))


def many_columns(draw, data):
    count = draw(st.integers(1, 3000))
    lines = _lines(data)
    if not lines:
        return data
    header, ending = lines[0].rstrip(b"\r\n"), lines[0][len(lines[0].rstrip(b"\r\n")):]
    names = draw(st.sampled_from(["numbered", "blank", "same"]))
    extra = {"numbered": [b"x%d" % i for i in range(count)], "blank": [b""] * count, "same": [b"note"] * count}[names]
    lines[0] = header + b"," + b",".join(extra) + ending
    if draw(st.booleans()):  # and values for them on every record
        lines[1:] = [line.rstrip(b"\r\n") + b",v" * count + line[len(line.rstrip(b"\r\n")):] for line in lines[1:]]
    return b"".join(lines)


def field_text(draw, data):
    # Any text, even lone surrogates (written as invalid UTF-8), in place of one field.
    fields = [i for i, b in enumerate(data) if b in b",\n"]
    if not fields:
        return data
    at = draw(st.sampled_from(fields))
    value = draw(st.text(max_size=20)).encode("utf-8", errors="surrogatepass")
    return data[:at + 1] + value + data[at + 1:]


def remove(draw, data):
    return None


# A column map beside the export: garbage, or renames drawn from names that exist and names that do not.
_MAP_NAMES = ["booking_id", "patient_id", "status", "Booking ID", "body_area", "notes", "x", "", "bookings", "[", '"']
column_maps = st.one_of(
    st.binary(max_size=40),
    st.text(max_size=40).map(lambda t: t.encode("utf-8", errors="surrogatepass")),
    st.builds(
        lambda entity, pairs: (f"[columns.{entity}]\n" + "".join(
            f"{ours} = {json.dumps(theirs)}\n" for ours, theirs in pairs)).encode(),
        st.sampled_from([*(n.removesuffix(".csv") for n in PLAIN), "appointments"]),
        st.lists(st.tuples(st.sampled_from([n for n in _MAP_NAMES if n.isidentifier()]), st.sampled_from(_MAP_NAMES)),
                 max_size=3, unique_by=lambda pair: pair[0])),
)


MUTATIONS = [insert_bytes, replace_bytes, truncate, reencode, break_utf8, change_delimiter, duplicate_header,
             line_breaks, unclosed_quote, header_only, empty, many_columns, field_text, remove]


@st.composite
def mutated_exports(draw) -> dict[str, bytes | None]:
    files: dict[str, bytes | None] = dict(BASES[draw(st.sampled_from(sorted(BASES)))])
    for _ in range(draw(st.integers(1, 3))):
        name = draw(st.sampled_from(FILES))
        if files[name] is not None:
            files[name] = draw(st.sampled_from(MUTATIONS))(draw, files[name])
    if draw(st.integers(0, 9)) == 0:
        files[COLUMN_MAP] = draw(column_maps)
    return files


@st.composite
def huge_field_exports(draw) -> dict[str, bytes | None]:
    """One field of 1 to 20 MB, quoted or not, in a record or in the header."""
    base = draw(st.sampled_from(sorted(BASES)))
    files: dict[str, bytes | None] = dict(BASES[base])
    name = draw(st.sampled_from(FILES))
    size = draw(st.integers(1 << 20, 20 << 20))
    quoted = draw(st.booleans())
    value = b'"' + b"x" * size + b'"' if quoted else b"x" * size
    lines = _lines(files[name])
    line = draw(st.integers(0, len(lines) - 1))
    lines[line] = lines[line].replace(b",", b"," + value + b",", 1) if line else value + b"," + lines[line]
    files[name] = b"".join(lines)
    return files


# --- Checking one export ------------------------------------------------------------

FOLDER = b"<a folder by this name>"


def write(folder: Path, files: dict[str, bytes | None]) -> Path:
    folder.mkdir(parents=True)
    for name, data in files.items():
        if data == FOLDER:
            (folder / name).mkdir()
        elif data is not None:
            (folder / name).write_bytes(data)
    return folder


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_counts(result, folder: Path, *, in_memory: bool) -> None:
    """read = loaded + rejected, and each count is what the tables hold. The raw and staging layers are
    temporary, so a database file is checked by its marts instead (a fact row per loaded row)."""
    for name, info in result.files.items():
        path = folder / f"{name}.csv"
        assert info["is_present"] == path.exists(), name
        assert info["read"] == info["loaded"] + info["rejected"], (name, info)
        expected = non_blank_records(path.read_bytes()) if path.exists() else 0
        assert info["read"] == expected, (name, info, expected)
        con = result.connection
        if in_memory:
            assert con.execute(f"select count(*) from raw_{name}").fetchone()[0] == info["read"], name
            assert con.execute(f"select count(*) from stg_{name}").fetchone()[0] == info["loaded"], name
        else:
            assert con.execute(f"select count(*) from fct_{name}").fetchone()[0] == info["loaded"], name
        assert con.execute("select count(distinct line) from load_rejects where file_name = ?",
                           [info["file"]]).fetchone()[0] == info["rejected"], name


def where_and_why(con) -> tuple[list, list]:
    return (con.execute("select * from load_rejects order by all").fetchall(),
            con.execute("select * from load_warnings order by all").fetchall())


def check_error(error: LoadError, folder: Path, db: Path | None) -> None:
    message = str(error)
    names = [*FILES, COLUMN_MAP, f"{folder.name}:", f"{folder}:"]
    if db is not None:
        names.append(f"{db.name}:")
    # One line that starts by naming the file (or folder, or db) it is about.
    assert message.startswith(tuple(names)), message
    assert "Traceback" not in message and "\n" not in message.strip(), message


def check_export(files: dict[str, bytes | None], base_db: Path, workdir: Path) -> str | dict[str, tuple]:
    """Load `files` in memory and over a copy of `base_db`, checking every property in the docstring.

    Returns the in-memory load's LoadError message, or {entity: (read, loaded, rejected)}.
    """
    folder = write(workdir / "export", files)
    outcomes: list[str | dict] = []

    try:
        result = load(folder, keep_layers=True)
    except LoadError as error:
        check_error(error, folder, None)
        outcomes.append(str(error))
    else:
        try:
            check_counts(result, folder, in_memory=True)
            outcomes.append(result.files)
            kept_layers_rows = where_and_why(result.connection)
        finally:
            result.connection.close()

    dbs = workdir / "db"
    dbs.mkdir(parents=True)
    db = dbs / "clinic.duckdb"
    shutil.copyfile(base_db, db)
    before = digest(db)
    try:
        result = load(folder, db)
    except LoadError as error:
        check_error(error, folder, db)
        assert digest(db) == before, "a failed load changed the previous database"
        outcomes.append(str(error))
    else:
        try:
            check_counts(result, folder, in_memory=False)
            outcomes.append(result.files)
            file_rows = where_and_why(result.connection)
        finally:
            result.connection.close()
        con = open_database(db)
        try:
            stored = con.execute("select entity, count_read, count_loaded, count_rejected from load_files").fetchall()
        finally:
            con.close()
        assert {e: (r, lo, rj) for e, r, lo, rj in stored} == {
            e: (f["read"], f["loaded"], f["rejected"]) for e, f in result.files.items()}
    assert sorted(p.name for p in dbs.iterdir()) == ["clinic.duckdb"], "a load left files beside the database"

    memory, on_disk = outcomes
    if isinstance(memory, str) or isinstance(on_disk, str):  # messages differ: each names what it was building
        assert isinstance(memory, str) and isinstance(on_disk, str), f"one load failed, the other did not: {outcomes}"
        return memory
    assert memory == on_disk, "in memory and into a file, the same export loaded differently"
    # The layers kept in memory (the fast path's raw layer a table) and dropped (staging reading DuckDB's
    # records as they are parsed): the same lines rejected or warned about, for the same reasons.
    assert kept_layers_rows == file_rows
    return {e: (f["read"], f["loaded"], f["rejected"]) for e, f in memory.items() if f["is_present"]}


@pytest.fixture(scope="module")
def base_db(tmp_path_factory) -> Path:
    """A database built from the plain base export: what a failed load must leave as it was."""
    folder = write(tmp_path_factory.mktemp("base") / "export", BASES["plain"])
    db = folder.parent / "clinic.duckdb"
    result = load(folder, db)
    assert result.rejected_total == 0
    result.connection.close()
    return db


@pytest.fixture(scope="module")
def workdirs(tmp_path_factory):
    """A fresh, empty folder per example, removed after it (a function-scoped tmp_path is one per test)."""
    root = tmp_path_factory.mktemp("fuzz")

    def fresh():
        return tempfile.TemporaryDirectory(dir=root)

    return fresh


def test_base_exports_load_without_rejects(tmp_path):
    for flavour, files in BASES.items():
        result = load(write(tmp_path / flavour, files))
        assert result.rejected_total == 0, flavour
        assert {n: f["read"] for n, f in result.files.items()} == {
            n: non_blank_records(files[f"{n}.csv"]) for n in result.files}
        result.connection.close()


@PROFILE
@given(files=mutated_exports())
def test_a_mutated_export_loads_fully_or_fails_cleanly(files, base_db, workdirs):
    with workdirs() as workdir:
        check_export(files, base_db, Path(workdir))


@settings(PROFILE, max_examples=HUGE_EXAMPLES)
@given(files=huge_field_exports())
def test_a_huge_field_loads_fully_or_fails_cleanly(files, base_db, workdirs):
    with workdirs() as workdir:
        check_export(files, base_db, Path(workdir))


# --- Every distinct failure found, kept ----------------------------------------------
# Files that replace the plain base's, and what must come of them: a LoadError message
# (a regex) or {entity: (read, loaded, rejected)} for the files named.

_HEADER_QUOTE = PLAIN["bookings.csv"].replace(",location,", ',"location,', 1).encode()
_END_MARKER_LINE = PLAIN["sessions.csv"].replace("\nS2,", "\n\0end of file\0\nS2,", 1).encode()

REGRESSIONS = [
    pytest.param({"bookings.csv": b"\xff\xfe" + "booking_id".encode("utf-16-le") + b"\x00"},
                 r"^bookings\.csv: not a text file in UTF-8, UTF-16 or Windows-1252", id="utf16-cut-at-an-odd-byte"),
    pytest.param({"bookings.csv": b"\xff\xfe\x00\xd8"},  # a lone surrogate
                 r"^bookings\.csv: not a text file in UTF-8, UTF-16 or Windows-1252", id="utf16-lone-surrogate"),
    pytest.param({"bookings.csv": _HEADER_QUOTE},
                 r"^bookings\.csv: line 1: a quote \(\"\) is opened and never closed", id="header-quote-never-closed"),
    pytest.param({"sessions.csv": _END_MARKER_LINE}, {"sessions": (4, 3, 1)}, id="a-line-reading-like-the-end-marker"),
    pytest.param({"consumables.csv": b"session_id,item,quantity,unit,notes_7,notes,notes\nS1,Tip,1,each,a,b,c\n"},
                 {"consumables": (1, 1, 0)}, id="repeated-column-renamed-onto-a-taken-name"),
    pytest.param({COLUMN_MAP: FOLDER}, r"^column_map\.toml: not a valid column map", id="column-map-is-a-folder"),
]


@pytest.mark.parametrize("files, expected", REGRESSIONS)
def test_regression(tmp_path, base_db, files, expected):
    outcome = check_export({**BASES["plain"], **files}, base_db, tmp_path)
    if isinstance(expected, str):
        assert isinstance(outcome, str) and re.search(expected, outcome), outcome
    else:
        assert not isinstance(outcome, str), outcome
        assert {e: outcome[e] for e in expected} == expected


def test_a_field_over_the_csv_limit_is_refused_on_the_fast_path_too(tmp_path, base_db):
    big = "x" * (CSV_FIELD_LIMIT + 1)
    plain = PLAIN["sessions.csv"].replace(",Main St,150.00", f",{big},150.00").encode()
    quoted = PLAIN["sessions.csv"].replace(",Main St,150.00", f',"{big}",150.00').encode()
    message = r"^sessions\.csv: cannot read the record starting on line 2: field larger than field limit"
    assert re.search(message, check_export({**BASES["plain"], "sessions.csv": quoted}, base_db, tmp_path / "quoted"))
    outcome = check_export({**BASES["plain"], "sessions.csv": plain}, base_db, tmp_path / "plain")
    assert isinstance(outcome, str) and re.search(message, outcome), outcome
