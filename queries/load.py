"""Load a folder of clinic exports (SPEC §1) into DuckDB: raw -> staging -> marts.

    python -m queries.load DIR --db FILE [--parquet OUT/] [--column-map FILE] [--memory-limit 2GB]

The raw layer is read with Python's csv module rather than DuckDB's sniffer so
that every record keeps its line number and a malformed record becomes a
reject with a reason instead of a widened column or a silent skip. A plain
file (UTF-8, no quote character, one record per line, no blank lines), which
the csv module would read as lines split on commas, is read by DuckDB's
parallel reader instead, with the same result (see "Fast path" below).
"""

from __future__ import annotations

import argparse
import atexit
import codecs
import concurrent.futures
import contextlib
import csv
import itertools
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import tomllib
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from queries import api
from queries.contract import ENTITIES, Entity, normalise_name

SQL_DIR = Path(__file__).parent / "sql"
SCHEMA_VERSION = "14"  # 3: dim_filter_options, no raw or staging layers; 4: is_first_booking_of_patient;
# 5: is_first_session_of_patient, patient_count_sessions; 6: fct_last_visits; 7: patient_key;
# 8: dim_patients, its patient_key in fct_bookings too, load_meta.patient_key_max; 9: load_meta.count_lots;
# 10: fct_consumables' ENUM columns; 11: precomputed_* tables (queries.api.PRECOMPUTED);
# 12: fct_consumable_cells, load_meta.last_complaint_on; 13: fct_consumables.performed_at;
# 14: fct_complaints.session_lots
COLUMN_MAP_NAME = "column_map.toml"
# How `04/03/2025` reads: month first (US, the default) or day first (`date_order = "day_first"` in the map).
DATE_ORDERS = ("month_first", "day_first")
CHUNK_ROWS = 100_000
PROGRESS_AFTER_SECONDS = 1.0

# Each export's staging model is sql/staging/stg_<entity>.sql; the marts are built in this
# order, and each file's name is the table it becomes.
# The load_* tables come before fct_consumables so that, once it is built, nothing reads the
# staging layer any more and its memory goes back before the rest (see _drop_unread).
MART_MODELS = (
    "dim_patients",  # its key goes into fct_sessions and fct_bookings
    "fct_sessions",
    "fct_bookings",
    "fct_complaints",  # before load_meta, which gives the last day one was reported
    # Early, while little else is held. Built last, it raised the peak of an in-memory build (the report
    # at 1M) to 1,446 MiB in 2 of 9 runs; here 9 runs peaked at 1,396-1,415 MiB (1,377-1,409 without it).
    "load_meta",
    "fct_last_visits",  # as of load_meta's export date
    "load_files",
    "load_rejects",
    "load_warnings",
    "fct_consumables",
    "dim_filter_options",
    "data_quality",
)

# Marts whose joins DuckDB must build on the side the SQL puts on the right. It builds a hash table
# on the side it estimates smaller, and `failed_check is null` under stg_* is estimated to keep a fifth
# of the rows as soon as one row fails (the fast path's header always does): fct_consumables' lines
# then looked fewer than its sessions, and at 10M sessions the table was built on 37M lines instead
# of 10M sessions, spilling (fct_consumables 41.6 s -> 56.5 s).
JOINS_AS_WRITTEN = {"fct_consumables"}
# Statements (sql/marts/<file>.sql) run just before a mart: the ENUM types its columns are cast to.
BEFORE_MART = {"fct_consumables": "fct_consumables_types"}
# Marts built from the table macros over the others (sql/marts/macros.sql), once those exist; then
# MACRO_FILES' last, the macros over these marts.
MARTS_OVER_MACROS = ("fct_consumable_cells",)
# Created in this order wherever marts are opened: scalar macros, table macros over MART_MODELS' marts, table
# macros over MARTS_OVER_MACROS'.
MACRO_FILES = ("functions", "macros", "consumable_cells_macros")

Progress = Callable[[float, str], None]


class LoadError(Exception):
    """The export cannot be loaded at all; the message names the file and column."""


@dataclass
class SourceFile:
    entity: Entity
    path: Path | None
    columns: list[str] = field(default_factory=list)  # contract names, in file order
    extra_columns: list[str] = field(default_factory=list)
    # Found once, reading the whole file: by inspect() when the header is not plain ASCII, else (None,
    # "UTF-8 unless the file says otherwise") by the task that stages it, and only if DuckDB's reader,
    # which refuses invalid UTF-8, did not read it first (see _stage).
    encoding: str | None = "utf-8-sig"
    date_order: str = "month_first"  # the column map's, the same for every file of an export


@dataclass
class LoadResult:
    connection: duckdb.DuckDBPyConnection
    version: str  # changes on every load: caches key on it
    files: dict[str, dict]  # entity -> {file, read, loaded, rejected, is_present}
    seconds: float

    @property
    def rejected_total(self) -> int:
        return sum(f["rejected"] for f in self.files.values())


class _Reporter:
    """Calls `progress` only once a load has taken long enough to be worth watching."""

    def __init__(self, progress: Progress | None, clock: Callable[[], float] = time.monotonic):
        self.progress = progress
        self.clock = clock
        self.started = clock()

    def __call__(self, fraction: float, message: str) -> None:
        if self.progress and self.clock() - self.started >= PROGRESS_AFTER_SECONDS:
            self.progress(min(max(fraction, 0.0), 1.0), message)


def read_column_map(path: Path | None) -> dict:
    """Parse a column map (docs/column_map.md); {} when there is none."""
    if path is None or not path.exists():
        return {}
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:  # OSError: e.g. a folder by that name
        raise LoadError(f"{path.name}: not a valid column map: {exc}") from exc
    for section, value in raw.items():
        if section == "date_order":
            if value not in DATE_ORDERS:
                raise LoadError(f"{path.name}: date_order must be one of {', '.join(repr(o) for o in DATE_ORDERS)}, "
                                f"not {value!r}")
            continue
        if section not in ("files", "columns"):
            raise LoadError(f"{path.name}: unknown section [{section}]; expected [files] or [columns.<file>]")
        if not isinstance(value, dict):
            raise LoadError(f"{path.name}: {section} must be a section, [{section}]")
    for entity_name, theirs in raw.get("files", {}).items():
        if entity_name not in ENTITIES:
            raise LoadError(f"{path.name}: [files] {entity_name} names no export; expected one of {', '.join(ENTITIES)}")
        if not isinstance(theirs, str):
            raise LoadError(f'{path.name}: [files] {entity_name} must be a file name in quotes, e.g. "{entity_name}.csv"')
        if Path(theirs).name != theirs:  # an uploaded map must not reach files outside the export
            raise LoadError(f"{path.name}: [files] {entity_name} must name a file in the export folder, not a path: '{theirs}'")
    for entity_name, mapping in raw.get("columns", {}).items():
        entity = ENTITIES.get(entity_name)
        if entity is None or not isinstance(mapping, dict):
            raise LoadError(f"{path.name}: [columns.{entity_name}] names no export; expected one of {', '.join(ENTITIES)}")
        for ours, theirs in mapping.items():
            if ours not in entity.column_names:
                raise LoadError(f"{path.name}: [columns.{entity_name}] {ours} is not a column of {entity.file_name}")
            if not isinstance(theirs, str):
                raise LoadError(f"{path.name}: [columns.{entity_name}] {ours} must be the export's column name in quotes")
    return raw


def _find_file(folder: Path, entity: Entity, column_map: dict) -> Path | None:
    wanted = column_map.get("files", {}).get(entity.name)
    if wanted:
        path = folder / wanted
        return path if path.is_file() else None
    # `Bookings.CSV` and `bookings.csv` are the same export.
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() == ".csv" and normalise_name(path.stem) == entity.name:
            return path
    return None


def _first_line(path: Path) -> bytes:
    with path.open("rb") as raw:
        line = raw.readline(CSV_FIELD_LIMIT)
    if line.startswith(b"PK\x03\x04"):
        raise LoadError(f"{path.name}: this is a spreadsheet workbook (.xlsx), not a CSV; "
                        "save it as CSV (comma delimited) and load that")
    return line


def _header_encoding(path: Path) -> str | None:
    """The file's encoding (see _encoding), or None when its first line is plain ASCII (a UTF-8 BOM
    allowed): that line then reads the same whichever encoding the rest turns out to be in, and
    finding that out means reading the whole file, which DuckDB's reader does anyway (at 1M sessions
    the probe was 0.2 s of the load before any file was staged, 1.5 s when the files were not cached)."""
    line = _first_line(path)
    if line.removeprefix(b"\xef\xbb\xbf").isascii():
        return None
    return _encoding(path)


def _encoding(path: Path) -> str:
    """UTF-16 when it says so (Excel's "Unicode text"), else UTF-8 (BOM or not), else Windows-1252.
    (A workbook was refused by inspect(), through _first_line.)"""
    with path.open("rb") as raw:
        start = raw.read(4)  # the BOM: not the whole first line again, which may be megabytes
    # A UTF-16 BOM is probed too: a file cut short at an odd byte would otherwise fail mid-build.
    utf16 = start.startswith((b"\xff\xfe", b"\xfe\xff"))
    for encoding in ("utf-16",) if utf16 else ("utf-8-sig", "cp1252"):
        if _decodes(path, encoding):
            return encoding
    raise LoadError(f"{path.name}: not a text file in UTF-8, UTF-16 or Windows-1252; export it again as CSV")


def _decodes(path: Path, encoding: str) -> bool:
    """Whether the whole file decodes. Read as bytes: a block of ASCII, which UTF-8 and Windows-1252 read
    as it is, is only checked for being ASCII (a tenth of the time decoding it takes)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    ascii_is_text = encoding != "utf-16"
    try:
        with path.open("rb") as raw:
            for chunk in iter(lambda: raw.read(FAST_SCAN_BYTES), b""):
                if ascii_is_text and chunk.isascii() and not decoder.getstate()[0]:
                    continue  # nothing pending from the chunk before: these bytes decode as they are
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _header_names(entity: Entity, header: list[str], renames: dict[str, str], file_name: str) -> list[str]:
    """Map the file's header onto contract names (SPEC §1 header rule, then the column map)."""
    theirs_to_ours = {normalise_name(theirs): ours for ours, theirs in renames.items()}
    names: list[str] = []
    for position, text in enumerate(header, start=1):
        name = normalise_name(text)
        name = theirs_to_ours.get(name, name) or f"column_{position}"
        if name in names:
            if name in entity.column_names:
                raise LoadError(f"{file_name}: two columns both mean '{name}' (column {position}: '{text.strip()}')")
            name = f"{name}_{position}"  # a repeated extra column is kept, under another name
            while name in names:  # ... that may be taken too: `notes_3,notes,notes`
                name = f"{name}_{position}"
        names.append(name)
    return names


def inspect(folder: Path, column_map_path: Path | None = None) -> dict[str, SourceFile]:
    """Check that the required files and columns are there, before anything is built."""
    if not folder.is_dir():
        raise LoadError(f"{folder}: not a folder of CSV exports")
    if column_map_path is not None and not column_map_path.is_file():
        raise LoadError(f"{column_map_path}: column map not found")
    column_map = read_column_map(column_map_path or folder / COLUMN_MAP_NAME)
    sources: dict[str, SourceFile] = {}
    for entity in ENTITIES.values():
        path = _find_file(folder, entity, column_map)
        source = SourceFile(entity, path, date_order=column_map.get("date_order", DATE_ORDERS[0]))
        sources[entity.name] = source
        if path is None:
            if entity.required:
                mapped = column_map.get("files", {}).get(entity.name)
                raise LoadError(f"{mapped}: required file not found in {folder} (the column map names it as {entity.file_name})"
                                if mapped else f"{entity.file_name}: required file not found in {folder}")
            continue
        source.encoding = _header_encoding(path)
        try:
            # Not probed yet (an ASCII first line): what follows the header may be in another encoding.
            with path.open(encoding=source.encoding or "utf-8-sig", errors="strict" if source.encoding else "replace",
                           newline="") as handle:
                header = next(_csv_reader(handle), None)
        except csv.Error as exc:
            raise LoadError(f"{path.name}: cannot read the header: {exc}") from exc
        if not header or not any(h.strip() for h in header):
            raise LoadError(f"{path.name}: the file is empty; expected a header row")
        if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
            separator = "semicolons" if ";" in header[0] else "tabs"
            raise LoadError(f"{path.name}: the columns are separated by {separator}, not commas; "
                            "export it again as CSV (comma delimited)")
        renames = column_map.get("columns", {}).get(entity.name, {})
        names = _header_names(entity, header, renames, path.name)
        missing = [c for c in entity.required_columns if c not in names]
        if missing:
            raise LoadError(f"{path.name}: missing required column '{missing[0]}'"
                            + (f" (the column map calls it '{renames[missing[0]]}')" if missing[0] in renames else "")
                            + (f" (and {', '.join(missing[1:])})" if missing[1:] else ""))
        source.columns = names
        source.extra_columns = [n for n in names if n not in entity.column_names]
    return sources


# A clinic's notes can be long; the csv module's default cap (128 KiB per field) would stop the load.
CSV_FIELD_LIMIT = 16 * 1024 * 1024
csv.field_size_limit(CSV_FIELD_LIMIT)


def _csv_reader(lines: Iterable[str]):
    # skipinitialspace: in `a, "b, c"` the quotes still quote, as a person reading it would expect.
    return csv.reader(lines, skipinitialspace=True)


# Fed to the reader after the last line: it comes back as a record of its own,
# unless a quote was never closed, when it ends up inside that record's last field.
# The file may hold this very text too (NULs are allowed): only the record read once the
# file's lines are used up is taken for the end, so such a line is data like any other.
_END_OF_FILE = "\0end of file\0\n"


def _records(lines: Iterable[str], file_name: str) -> Iterator[tuple[int, list[str]]]:
    """(line the record starts on, fields), skipping blank lines; the header is line 1."""
    ended = False

    def lines_then_end() -> Iterator[str]:
        nonlocal ended
        yield from lines
        ended = True
        yield _END_OF_FILE

    reader = _csv_reader(lines_then_end())
    last_line = 0
    for number in itertools.count():
        start_line = last_line + 1
        try:
            fields = next(reader)
        except csv.Error as exc:  # e.g. a field larger than the csv module's limit
            raise LoadError(f"{file_name}: cannot read the record starting on line {start_line}: {exc}") from exc
        last_line = reader.line_num
        if ended:  # this record took in the end marker: alone, or swallowed by an open quote
            if fields[-1:] and fields[-1].endswith(_END_OF_FILE):
                raise LoadError(f"{file_name}: line {start_line}: a quote (\") is opened and never closed, "
                                "so the rest of the file would be read as one value")
            return
        if number and any(f.strip() for f in fields):  # record 0 is the header
            yield start_line, fields


def _raw_columns(source: SourceFile) -> list[str]:
    """Every contract column (absent optional ones as null), then the file's extras."""
    return [*source.entity.column_names, *source.extra_columns]


def _quote(identifier: str) -> str:
    # Identifiers are contract names, normalised headers or our own tables' names: [a-z0-9_] only.
    if not (identifier.replace("_", "").isalnum() and identifier.isascii()):
        raise ValueError(f"not a plain identifier: {identifier!r}")
    return f'"{identifier}"'


_RAW_CHUNK_TYPES = {"_line": pa.int64(), "_is_blank": pa.bool_()}


def _load_raw_csv(con, source: SourceFile, report: Callable[[int], None]) -> None:
    """The raw layer `raw_<entity>`, read with the csv module: a temporary table of `_line`, `_is_blank`
    (always false: blank records are skipped here), `_parse_error`, then _raw_columns."""
    # Temporary: staging reads the raw layer once, and the database file keeps only what pages read.
    columns = _raw_columns(source)
    table = f"raw_{source.entity.name}"
    column_sql = ", ".join(f"{_quote(c)} varchar" for c in columns)
    con.execute(f"create temp table {table} (_line bigint, _is_blank boolean, _parse_error varchar, {column_sql})")
    if source.path is None:
        return
    width = len(source.columns)
    position = {name: i for i, name in enumerate(source.columns)}
    file_name = source.path.name

    def flush(batch: list[tuple[int, list[str]]]) -> None:
        data = {"_line": [], "_is_blank": [False] * len(batch), "_parse_error": []}
        for line, fields in batch:
            data["_line"].append(line)
            # Trailing empty cells beyond the header are a common export quirk, not data.
            extra = fields[width:]
            data["_parse_error"].append(
                f"record has {len(fields)} fields, the header has {width}" if any(x.strip() for x in extra) else None
            )
        for name in columns:
            i = position.get(name)
            data[name] = [None] * len(batch) if i is None else [f[i] if i < len(f) else None for _, f in batch]
        chunk = pa.table({k: pa.array(v, type=_RAW_CHUNK_TYPES.get(k, pa.string())) for k, v in data.items()})
        con.register("raw_chunk", chunk)
        con.execute(f"insert into {table} select * from raw_chunk")
        con.unregister("raw_chunk")

    with source.path.open(encoding=source.encoding, newline="") as handle:
        counted = _CountingLines(handle)
        batch: list[tuple[int, list[str]]] = []
        for record in _records(counted, file_name):
            batch.append(record)
            if len(batch) >= CHUNK_ROWS:
                flush(batch)
                batch = []
                report(counted.chars)
        if batch:
            flush(batch)
        report(counted.chars)


# --- Fast path ----------------------------------------------------------------
# Most exports are UTF-8 with one record per line. DuckDB's parallel CSV reader
# reads such a file into columns several times faster than the csv module and,
# with the dialect pinned, to the same values: quoted fields and doubled quotes
# alike, an empty cell as '' (the null string is a byte the scan rules out) and
# a missing trailing cell as null. What it would do differently is ruled out
# before or after the read, and the file then takes the csv module path:
# - record numbers: DuckDB skips blank lines and a quoted field may span lines,
#   so the record index is the physical line minus one only when it reads as
#   many records as the file has lines (both make the count smaller, and the
#   scan rules out a lone CR, the one thing that could make it larger);
# - skipinitialspace: in `a,  "b, c"` the quote quotes for the csv module but
#   is text to DuckDB, so a quote after the spaces that start a field sends the
#   file back;
# - whatever DuckDB refuses (a stray quote, more fields than it has columns for,
#   invalid UTF-8) is an error, and the csv module reads the file instead.
# One difference is left: spaces after a closing quote (`"a" ,`) are kept by the
# csv module and dropped by DuckDB. Staging trims every value, so no loaded,
# rejected or warned row can differ; only the raw layer shows it.
#
# A file whose every cell is tidy (no space or other character DuckDB's trim()
# removes at either end, no Excel `="..."`) is staged with clean_text reduced
# to "an empty cell is missing": the scan finds that out for 0.3 s of a
# 200 MB file, and the cleaning it spares took 0.65 s of the consumables
# read at 1M sessions (sessions 0.35 s, bookings 0.3 s). See _tidy.
#
# The read is not kept: staging reads DuckDB's records as they are parsed and
# writes its table in the file's order, one row per record, header and blank
# lines included, so that the table's rowid + 1 is the physical line (see
# _number_lines). Materialising the raw layer first, for no other use, cost a
# 1M-session load about 1 s and 3.5 CPU-s (18.3-18.6 s against 17.4 s, runs
# interleaved) and 50 MiB of its peak. With keep_layers the raw layer is kept
# to look at: a temporary table of the records and a view over it.

FAST_SCAN_BYTES = 16 << 20
FAST_EXTRA_FIELDS = 16  # trailing cells beyond the header DuckDB makes room for; more falls back
_FAST_NULL = "\x01"  # DuckDB's null string: a byte the scan rules out, so every cell read is text
_FAST_UNSAFE_BYTES = (b"\x00", _FAST_NULL.encode())
# A quote opening a field after spaces: the csv module's skipinitialspace skips them, DuckDB does not.
_SPACED_QUOTE = re.compile(rb'(?:^|,) +"', re.MULTILINE)
# What str.strip() removes (str.isspace), for RE2: a field of only these is blank.
_NOT_WHITESPACE = (r"[^\t\n\x0b\x0c\r\x1c-\x1f \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}"
                   r"\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]")


# What DuckDB's trim() removes beyond the ASCII space (its list, checked against every code point), in UTF-8.
_TRIMMED_UNICODE = re.compile(b"|".join(re.escape(chr(c).encode()) for c in (
    0xA0, 0x1680, *range(0x2000, 0x200B), 0x202F, 0x205F, 0x3000)))
# Bytes that end a cell on either side of it, quotes included (a space inside `" a"` is trimmed too).
_CELL_EDGES = np.zeros(256, dtype=bool)
_CELL_EDGES[list(b',\n\r"')] = True


def _tidy(data: bytearray, end: int) -> bool:
    """True when no cell in `data[:end]` (whole lines) is one clean_text would change but by making it null:
    no space at either end of a cell, no other character trim() removes anywhere, no `="`."""
    # One-byte searches first: a two-byte one runs at a tenth of memchr's speed.
    if data.find(b"=", 0, end) >= 0 and data.find(b'="', 0, end) >= 0:
        return False
    codes = np.frombuffer(data, dtype=np.uint8, count=end)
    if codes.max(initial=0) >= 0x80 and _TRIMMED_UNICODE.search(data, 0, end):
        return False
    spaces = np.flatnonzero(codes == 32)  # a space is common inside cells; only its neighbours matter
    if not spaces.size:
        return True
    if spaces[0] == 0 or spaces[-1] == end - 1:  # a block starts a line and ends one
        return False
    return not (_CELL_EDGES[codes[spaces - 1]].any() or _CELL_EDGES[codes[spaces + 1]].any())


@dataclass
class _Scan:
    lines: int  # physical lines
    is_tidy: bool  # see _tidy


def _fast_scan(path: Path) -> _Scan | None:
    """The file's lines and whether it is tidy when no byte rules the fast path out, else None.

    Byte searches over whole lines (memchr speed); the rest is checked against what DuckDB read.
    """
    lines = 0
    is_tidy = True
    # One buffer read into again and again, searched in place: a fresh bytes object per chunk (and
    # per slice of it) cost a page fault per 4 KB each time, a third of the scan's time.
    buffer = bytearray(min(FAST_SCAN_BYTES, path.stat().st_size + 1))
    held = 0  # the partial last line of the read before, moved to the buffer's start
    with path.open("rb") as raw:
        while True:
            if held == len(buffer):  # a line longer than the buffer
                buffer.extend(bytes(len(buffer)))
            with memoryview(buffer) as view:
                read = raw.readinto(view[held:])
            end = held + read
            cut = buffer.rfind(b"\n", 0, end) + 1 if read else end  # whole lines, or at the end what is left
            if read and not cut:
                held = end
                continue
            if any(buffer.find(b, 0, cut) >= 0 for b in _FAST_UNSAFE_BYTES):
                return None
            if buffer.find(b"\r", 0, cut) >= 0 and buffer.count(b"\r", 0, cut) != buffer.count(b"\r\n", 0, cut):
                return None  # a CR that ends no line
            # A one-byte search first: finding ' "' is slow where spaces are common.
            if (buffer.find(b'"', 0, cut) >= 0 and buffer.find(b' "', 0, cut) >= 0
                    and _SPACED_QUOTE.search(buffer, 0, cut)):
                return None
            lines += buffer.count(b"\n", 0, cut)
            is_tidy = is_tidy and _tidy(buffer, cut)
            if not read:  # what was left is a last line without a line break, if anything
                return _Scan(lines + (1 if cut else 0), is_tidy)
            held = end - cut
            buffer[:held] = buffer[cut:end]


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _fast_records(source: SourceFile) -> tuple[str, list, _Scan] | None:
    """DuckDB's read of `source` as text slots f1, f2, ... (a SELECT and its parameters), and what the
    scan found; None when the file cannot take the fast path."""
    if source.encoding not in (None, "utf-8-sig") or not source.columns:
        return None
    scan = _fast_scan(source.path)
    if scan is None:
        return None
    slots = ", ".join(f"'f{i}': 'varchar'" for i in range(1, len(source.columns) + FAST_EXTRA_FIELDS + 1))
    select = (f"select * from read_csv(?, header=false, columns={{{slots}}}, delim=',', quote='\"', escape='\"', "
              "nullstr=?, null_padding=true, strict_mode=true, auto_detect=false, max_line_size=?)")
    # A line over the csv module's field limit goes to it, so a huge field is refused the same way
    # whether it is quoted or not (a line that long with no field over it, the csv path reads).
    return select, [str(source.path), _FAST_NULL, CSV_FIELD_LIMIT], scan


def _fast_raw_select(source: SourceFile, records: str, *, numbered: bool, is_tidy: bool = False) -> str:
    """The raw layer over DuckDB's records (`records`: a table, or a subquery), in the csv path's columns.

    numbered: `records` is a table whose rowid + 1 is the physical line; the header and blank
    records are left out, as the csv path leaves them. Otherwise `_line` is null and every record
    is kept, flagged `_is_blank`, so that staging writes one row per physical line.
    """
    width = len(source.columns)
    slots = [f"f{i}" for i in range(1, width + FAST_EXTRA_FIELDS + 1)]
    not_blank = _sql_text(_NOT_WHITESPACE)
    extras = slots[width:]
    position = {name: i for i, name in enumerate(source.columns)}
    def cell(slot: str) -> str:
        # Only a cell that starts with a space is copied (skipinitialspace); the rest pass as read. A tidy
        # file has no such cell (_tidy).
        return slot if is_tidy else f"case when starts_with({slot}, ' ') then ltrim({slot}, ' ') else {slot} end"

    values = ", ".join(
        f"{cell(slots[position[name]])} as {_quote(name)}" if name in position else f"null::varchar as {_quote(name)}"
        for name in _raw_columns(source)
    )
    # Cells beyond the header: blank ones are an export quirk, anything else makes the record a reject.
    # Some cell has text when their concatenation has: one call, not a chain of `or`s, which for a
    # file of a thousand columns went past DuckDB's expression depth limit (the hypothesis test found it).
    too_many = f"regexp_matches(concat_ws('', {', '.join(extras)}), {not_blank})"
    field_count = f"list_count([{', '.join(slots)}])"  # the cells that are not null: the record's fields
    # The csv path skips a record whose every field is blank; a printable first character settles it cheaply.
    any_text = f"regexp_matches(concat_ws('', {', '.join(slots)}), {not_blank})"
    has_text = f"case when ascii(f1) between 33 and 126 then true else {any_text} end"
    parse_error = (f"case when {extras[0]} is null then null when {too_many} "
                   f"then 'record has ' || ({field_count}) || ' fields, the header has {width}' end")
    if numbered:
        return (f"select rowid + 1 as _line, false as _is_blank, {parse_error} as _parse_error, {values} "
                f"from {records} where rowid > 0 and {has_text}")
    return (f"select null::bigint as _line, not ({has_text}) as _is_blank, {parse_error} as _parse_error, {values} "
            f"from {records}")


def _stage_fast(con, source: SourceFile, rows: str, staging_sql: str, report: Callable[[int], None],
                keep_layers: bool) -> bool:
    """Build `rows` (staging's table) from DuckDB's read of `source`; False, with nothing built, when the
    file does not read exactly as the csv module would read it (see "Fast path" above)."""
    if not con.execute("select current_setting('preserve_insertion_order')").fetchall()[0][0]:
        return False  # rowid would not follow the file's order
    read = _fast_records(source)
    if read is None:
        return False
    select, params, scan = read
    table = f"raw_{source.entity.name}"
    records = f"{table}_records"
    try:
        if keep_layers:  # cleaned in full whatever the scan found: load_both_ways compares the two
            con.execute(f"create temp table {records} as {select}", params)
            built = records
        else:
            # clean_text reads it when the statement is bound (a constant then): this cursor's alone.
            con.execute(f"set variable is_tidy = {'true' if scan.is_tidy else 'false'}")
            try:
                con.execute(f"create table {rows} as with {table} as not materialized "
                            f"({_fast_raw_select(source, f'({select})', numbered=False, is_tidy=scan.is_tidy)}) "
                            f"select * from ({staging_sql})",
                            params)
            finally:
                con.execute("reset variable is_tidy")
            built = rows
    except duckdb.InterruptException:
        raise
    except duckdb.Error:  # whatever DuckDB's reader refuses, the csv module may read
        return False
    if con.execute(f"select count(*) from {built}").fetchone()[0] != scan.lines:
        con.execute(f"drop table {built}")
        return False  # a blank line skipped or a record over several lines: line numbers would be wrong
    if keep_layers:
        con.execute(f"create temp view {table} as {_fast_raw_select(source, records, numbered=True)}")
        con.execute(f"create table {rows} as {staging_sql}")
    report(source.path.stat().st_size)  # bytes, not characters: the whole file is read
    return True


def _number_lines(con, entity: Entity) -> None:
    """Over staging's stg_<entity>_rows, the views the marts read: stg_<entity>_all, each record with its
    physical line and why it was not loaded (rejected), the second and later loadable rows of an id
    included (SPEC §1); and stg_<entity>, the loadable rows."""
    stem = f"{STAGING_DATABASE}.stg_{entity.name}"
    # The fast path's rows are every physical line in order, the header first (row 0), with
    # source_line null: there rowid + 1 is the line. The csv path's rows carry theirs.
    columns = ("coalesce(source_line, rowid + 1) as source_line, "
               "* exclude (source_line, _is_blank, failed_check, warning)")
    con.execute(f"create view {stem}_all as select {columns}, failed_check as rejected, warning "
                f"from {stem}_rows where not _is_blank and (source_line is not null or rowid > 0)")
    # The fast path's header and blank lines are marked as failing too, so that `failed_check is null`
    # alone selects the loadable rows, one condition under every mart instead of three. (It does not
    # settle fct_consumables' join order: the header fails its checks anyway, so DuckDB guesses the
    # condition keeps a fifth of the rows; JOINS_AS_WRITTEN does.)
    con.execute(f"update {stem}_rows set failed_check = failed(null, 'not a record') "
                "where source_line is null and (rowid = 0 or _is_blank)")
    if entity.id_column is not None:
        # Written into the rows rather than joined in the views: the few repeated ids become a few
        # updated rows, and a join under them kept DuckDB from turning fct_sessions' per-patient windows
        # into aggregates (+1.6 s of the 1M-session build). The first loadable line of an id is kept.
        key = _quote(entity.id_column)
        con.execute(
            f"update {stem}_rows as r set failed_check = check_duplicate(d.source_line, d.first_line_of_id, "
            f"{_sql_text(entity.id_column)}) "
            f"from (select source_line, {key}, min(source_line) over (partition by {key}) as first_line_of_id "
            f"      from {stem}_all where rejected is null and {key} in ("
            f"          select {key} from {stem}_all where rejected is null group by {key} having count(*) > 1)) as d "
            "where coalesce(r.source_line, r.rowid + 1) = d.source_line and d.source_line > d.first_line_of_id")
    con.execute(f"create view {stem} as select {columns} from {stem}_rows where failed_check is null")


class _CountingLines:
    """Iterates a text file's lines, counting characters read, for progress."""

    def __init__(self, handle):
        self.handle = handle
        self.chars = 0

    def __iter__(self):
        for line in self.handle:
            self.chars += len(line)
            yield line


def _sql(layer: str, name: str) -> str:
    return (SQL_DIR / layer / f"{name}.sql").read_text(encoding="utf-8")


def _create_mart_macros(con, files: tuple[str, ...] = MACRO_FILES) -> None:
    """The macros the metric queries use (MACRO_FILES): DuckDB binds a table macro's tables when it is
    created, so each file comes once the marts it reads exist."""
    for name in files:
        con.execute(_sql("marts", name))


def _staging_macros(date_order: str) -> str:
    """staging/macros.sql, its slashed date formats turned day first when the export says so."""
    sql = _sql("staging", "macros")
    if date_order == "day_first":
        sql = sql.replace("'%m/%d/%Y", "'%d/%m/%Y")
    elif date_order != "month_first":
        raise ValueError(f"unknown date order {date_order!r}")
    return sql


def _temporary_layers(con) -> list[tuple[str, str]]:
    """The raw and staging layers still in `con`: (qualified name, 'view' or 'table'), views first."""
    return con.execute(
        "select database_name || '.' || view_name, 'view' from duckdb_views() "
        "where (temporary or database_name = ?) and not internal "
        "and (view_name like 'raw\\_%' escape '\\' or view_name like 'stg\\_%' escape '\\') "
        "union all select database_name || '.' || table_name, 'table' from duckdb_tables() "
        "where (temporary or database_name = ?) "
        "and (table_name like 'raw\\_%' escape '\\' or table_name like 'stg\\_%' escape '\\') order by 2 desc",
        [STAGING_DATABASE, STAGING_DATABASE],
    ).fetchall()


def _drop_unread(con, later_sql: list[str]) -> None:
    """Drops each raw or staging table or view that none of `later_sql` names, as soon as that is so.

    An export's layers go together: raw_x, raw_x_records, stg_x, stg_x_all, stg_x_rows ... share
    the stem raw_x or stg_x, so a table stays while a view over it is read. At 1M sessions the
    layers are about a gigabyte; under the memory limit, holding them made the marts after them
    spill (benchmarks/README.md).
    """
    def stem(name: str) -> str:
        return next((f"{layer}_{e}" for layer in ("raw", "stg") for e in ENTITIES
                     if name == f"{layer}_{e}" or name.startswith(f"{layer}_{e}_")), name)

    read = {stem(word) for word in re.findall(r"\b(?:raw|stg)_[a-z0-9_]+", "\n".join(later_sql))}
    for qualified, kind in _temporary_layers(con):
        database, name = qualified.split(".")
        if stem(name) not in read:
            con.execute(f"drop {kind} {_quote(database)}.{_quote(name)}")


def _stage(con, source: SourceFile, keep_layers: bool, report: Callable[[float, str], None]) -> None:
    """One export read and checked into staging's stg_<entity>_rows, its lines numbered (_number_lines).

    `report(fraction of the file done, verb)`: reading is the first half, checking the second.
    """
    size = max(source.path.stat().st_size, 1) if source.path else 1
    staging = f"stg_{source.entity.name}"
    rows, staging_sql = f"{STAGING_DATABASE}.{staging}_rows", _sql("staging", staging)
    report(0.0, "Reading")
    if source.path is None or not _stage_fast(con, source, rows, staging_sql,
                                               lambda chars: report(chars / size, "Read"), keep_layers):
        if source.path is not None and source.encoding is None:
            source.encoding = _encoding(source.path)
        _load_raw_csv(con, source, lambda chars: report(0.5 * chars / size, "Reading"))
        report(0.5, "Checking")
        con.execute(f"create table {rows} as {staging_sql}")
        if not keep_layers:
            con.execute(f"drop table raw_{source.entity.name}")  # temporary, but its memory is wanted now
    _number_lines(con, source.entity)
    report(1.0, "Read")


# Exports are staged two at a time, each on a cursor of its own: one statement leaves a core idle for
# part of its time (DuckDB's ordered insert, the csv module and the byte scans in Python), and the
# other fills it. At 1M sessions the load took 0.7-1.9 s less (16.2-16.5 s against 17.2-18.2 s, three
# runs interleaved with the code before, 2026-11-29). Building the marts the same way, each once the
# marts it reads were built, gained nothing measurable, so they are built one after another. Two
# statements share the memory limit: beyond it they spill, as one does.
STAGING_WORKERS = 2
PROGRESS_POLL_SECONDS = 0.2


class _Shares:
    """How much of each file's staging is done, written by the tasks' threads and read by the one that
    waits for them."""

    def __init__(self, sizes: dict[str, int]):
        self.sizes = {name: max(size, 1) for name, size in sizes.items()}
        self.fractions = dict.fromkeys(sizes, 0.0)
        self.message = "Reading"
        self.lock = threading.Lock()

    def update(self, name: str, fraction: float, message: str) -> None:
        with self.lock:
            self.fractions[name] = max(self.fractions[name], min(fraction, 1.0))
            self.message = message

    def done(self) -> float:
        with self.lock:
            return sum(self.fractions[n] * s for n, s in self.sizes.items()) / max(sum(self.sizes.values()), 1)


def _cursor(con) -> duckdb.DuckDBPyConnection:
    """A cursor of `con` (a connection of its own to the same database) that finds staging's tables."""
    cursor = con.cursor()
    cursor.execute(f"set search_path = 'main,{STAGING_DATABASE}.main'")
    return cursor


def _run_tasks(con, tasks: list[Callable[[duckdb.DuckDBPyConnection], None]], workers: int,
               waiting: Callable[[], None]) -> None:
    """Run each task: with one worker on `con` itself, one after another; else on cursors of their own
    in `workers` threads. `waiting` is called from this thread every so often: it reports progress,
    and a Streamlit page's progress bar must be drawn from the page's thread.

    The first task to fail stops the others' statements and its error is raised. (A file being read
    by the csv module runs on to its end: only DuckDB's statements can be interrupted.)
    """
    if workers == 1:
        for task in tasks:
            task(con)
            waiting()
        return
    cursors = [_cursor(con) for _ in tasks]
    try:
        with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="staging") as pool:
            pending = {pool.submit(task, cursor) for task, cursor in zip(tasks, cursors, strict=True)}
            try:
                while pending:
                    finished, pending = concurrent.futures.wait(
                        pending, timeout=PROGRESS_POLL_SECONDS, return_when=concurrent.futures.FIRST_EXCEPTION)
                    for future in finished:
                        future.result()
                    waiting()
            except BaseException:
                for future in pending:
                    future.cancel()
                for cursor in cursors:
                    cursor.interrupt()
                raise
    finally:
        for cursor in cursors:
            cursor.close()


def _build(con, sources: dict[str, SourceFile], reporter: _Reporter, source_label: str,
           keep_layers: bool = False) -> None:
    con.execute("create table ref_enums (entity varchar, column_name varchar, value varchar)")
    con.executemany(
        "insert into ref_enums values (?, ?, ?)",
        [(e.name, col, v) for e in ENTITIES.values() for col, values in e.enums.items() for v in values],
    )
    con.execute(_staging_macros(next(iter(sources.values())).date_order if sources else DATE_ORDERS[0]))

    con.execute(
        "create table load_sources as select * from (values "
        + ", ".join("(?, ?, ?, ?)" for _ in sources)
        + ") t(file_order, entity, file_name, is_present)",
        [v for order, s in enumerate(sources.values(), start=1) for v in
         (order, s.entity.name, s.path.name if s.path else s.entity.file_name, s.path is not None)],
    )
    con.execute(
        "create table load_info as select ?::varchar as schema_version, ?::varchar as source, ?::timestamp as loaded_at",
        [SCHEMA_VERSION, source_label, datetime.now().replace(microsecond=0)],
    )
    marts = [(name, _sql("marts", name)) for name in MART_MODELS]

    # Staging: each export read and checked into one table of the staging database (see
    # _staging_database), two exports at a time (see STAGING_WORKERS). The marts and the load_*
    # tables are built from those tables, and the database file keeps only the marts.
    sizes = {name: (s.path.stat().st_size if s.path else 0) for name, s in sources.items()}
    shares = _Shares(sizes)

    def stage(name: str, source: SourceFile) -> Callable[[duckdb.DuckDBPyConnection], None]:
        label = source.path.name if source.path else source.entity.file_name
        return lambda connection: _stage(connection, source, keep_layers, lambda fraction, verb: shares.update(
            name, fraction, f"{verb} {label}"))

    # The largest first: the small ones then fill in beside it rather than leave it running alone.
    tasks = [stage(name, source) for name, source in sorted(sources.items(), key=lambda item: -sizes[item[0]])]
    # Every staging table is read by a mart; a csv-path raw table went with its task (see _stage).
    _run_tasks(con, tasks, 1 if keep_layers else STAGING_WORKERS, lambda: reporter(0.7 * shares.done(), shares.message))

    con.execute(_sql("marts", "functions"))  # fct_last_visits uses joined_distinct
    for step, (name, sql) in enumerate(marts):
        reporter(0.7 + 0.3 * step / len(marts), f"Building {name}")
        if name in BEFORE_MART:
            con.execute(_sql("marts", BEFORE_MART[name]))
        if name in JOINS_AS_WRITTEN:
            con.execute("set disabled_optimizers = 'build_side_probe_side'")
        try:
            con.execute(f"create table {name} as {sql}")
        finally:
            if name in JOINS_AS_WRITTEN:
                con.execute("reset disabled_optimizers")
        if not keep_layers:
            _drop_unread(con, [later for _, later in marts[step + 1:]])
    _create_mart_macros(con, MACRO_FILES[:-1])
    for name in MARTS_OVER_MACROS:
        reporter(0.99, f"Building {name}")
        con.execute(f"create table {name} as {_sql('marts', name)}")
    _create_mart_macros(con, MACRO_FILES[-1:])
    api.precompute(con)
    reporter(1.0, "Loaded")


def file_counts(con) -> dict[str, dict]:
    rows = con.execute(
        "select entity, file_name, is_present, count_read, count_loaded, count_rejected from load_files"
    ).fetchall()
    counts = {
        entity: {"file": file_name, "is_present": present, "read": read, "loaded": loaded, "rejected": rejected}
        for entity, file_name, present, read, loaded, rejected in rows
    }
    return {name: counts[name] for name in ENTITIES if name in counts}  # the contract's order, not the join's


def load(
    folder: str | os.PathLike,
    db_path: str | os.PathLike | None = None,
    *,
    column_map: str | os.PathLike | None = None,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
    parquet: str | os.PathLike | None = None,
    memory_limit: str | None = None,
    keep_layers: bool = False,
) -> LoadResult:
    """Load `folder` into a new database: in memory, or built beside `db_path` and swapped in.

    The raw and staging layers are temporary and dropped as soon as the marts no longer need them;
    `keep_layers` keeps them in an in-memory database, for tests that look at them.

    With `parquet`, the database's tables are also written there as Parquet (see write_parquet).
    On any error the previous `db_path` and `parquet` folder (if any) are left exactly as they were.
    """
    started = clock()
    folder = Path(folder)
    sources = inspect(folder, Path(column_map) if column_map else None)
    reporter = _Reporter(progress, clock)
    label = str(folder)
    parquet_out = Path(parquet) if parquet is not None else None
    if parquet_out is not None:
        _check_parquet_target(parquet_out)

    if db_path is None:
        con = duckdb.connect(":memory:")
        try:
            # The data stays in this connection, which may spill while it lives: a folder kept until the
            # process ends (not DuckDB's default, `.tmp` in whatever folder the process started in).
            _configure(con, memory_limit or os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT,
                       _process_spill_folder())
            with _staging_database(con, _process_spill_folder(), keep=keep_layers):
                _build(con, sources, reporter, label, keep_layers)
            if parquet_out is not None:
                write_parquet(con, parquet_out)
        except BaseException as exc:
            con.close()
            if isinstance(exc, duckdb.Error | OSError):
                raise LoadError(f"{folder.name}: could not be loaded: {exc}") from exc
            raise
        return LoadResult(con, uuid.uuid4().hex, file_counts(con), clock() - started)

    target = Path(db_path)
    _check_target(target)
    building = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.building")
    try:
        with _spill_folder(target.parent) as spill:
            con = duckdb.connect(str(building))
            try:
                _configure(con, memory_limit or os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT, spill)
                with _staging_database(con, spill, keep=False):
                    _build(con, sources, reporter, label)
                counts = file_counts(con)
                if parquet_out is not None:
                    write_parquet(con, parquet_out)
            finally:
                con.close()
        os.replace(building, target)
    except (duckdb.Error, OSError) as exc:
        raise LoadError(f"{target.name}: could not build the database: {exc}") from exc
    finally:
        _remove_database_file(building)
    con = open_database(target)
    return LoadResult(con, f"{target}:{target.stat().st_mtime_ns}", counts, clock() - started)


# --- Memory --------------------------------------------------------------------
# DuckDB's own default is 80% of the machine's memory, and a build that needs
# more fails. A database file is built with a limit and a spill folder beside
# it, so sorts, joins and the temporary raw and staging layers go to disk
# instead and a 10M-session export builds on a small server. Set it with
# --memory-limit, PRACTICE_MEMORY_LIMIT (DuckDB's syntax: '2GB', '500MB') or
# load(memory_limit=...). docs/scaling.md has the figures.
MEMORY_LIMIT_ENV = "PRACTICE_MEMORY_LIMIT"
# At 1M sessions the report from a CSV folder (an in-memory load) then peaks at 1,352-1,376 MiB, under
# issue 8's 1.5 GB (1,430 MiB). 1200MB peaked at 1,377-1,409 MiB before fct_last_visits and at
# 1,396-1,424 after it: too close. 1150MB took about 35 MiB off for about 3% more time; 1500MB took
# the report to 1,654 MiB (benchmarks/README.md). A build into a file with 2500MB took about 0.7 s less
# at 1M (fct_sessions' sort no longer held its threads back), but peaked at up to 1,433 MiB (2026-11-29).
DEFAULT_MEMORY_LIMIT = "1150MB"
_process_spill: Path | None = None


def _process_spill_folder() -> Path:
    """One spill folder for this process's in-memory databases, removed when the process ends."""
    global _process_spill
    if _process_spill is None:
        _process_spill = Path(tempfile.mkdtemp(prefix="practice-spill-"))
        atexit.register(shutil.rmtree, _process_spill, True)
    return _process_spill


@contextlib.contextmanager
def _spill_folder(beside: Path | None) -> Iterator[Path]:
    """A fresh folder for DuckDB to spill to (beside the database being built), removed afterwards."""
    spill = Path(tempfile.mkdtemp(prefix=".practice-spill-", dir=beside))
    try:
        yield spill
    finally:
        shutil.rmtree(spill, ignore_errors=True)


def _remove_database_file(path: Path) -> None:
    """A DuckDB file and its write-ahead log, if they are there."""
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)


# The staging layer is checked copies of whole exports: at 1M sessions about 800 MB as DuckDB's
# temporary tables, which are kept in memory uncompressed and, beyond the limit, spilled as they
# are. In a database file of its own (in the spill folder) it is stored compressed, a few times
# smaller, and read back from there when memory is short: at 1M the build's peak went from
# 1.5 GB to 1.1 GB, its time the same within the noise (interleaved runs). The raw layer stays
# temporary: each export's is dropped as soon as it is checked.
STAGING_DATABASE = "staging_layer"


@contextlib.contextmanager
def _staging_database(con, folder: Path, keep: bool) -> Iterator[None]:
    """Attaches a fresh staging database in `folder`, found after the main one by unqualified names.

    Detached and deleted afterwards, unless `keep` (then it goes when the process's spill folder does).
    """
    path = folder / f"staging-{uuid.uuid4().hex[:8]}.duckdb"
    con.execute(f"attach {_sql_text(str(path))} as {STAGING_DATABASE}")
    con.execute(f"set search_path = 'main,{STAGING_DATABASE}.main'")
    failed = True
    try:
        yield
        failed = False
    finally:
        if failed or not keep:
            try:
                con.execute(f"detach {STAGING_DATABASE}")
                con.execute("reset search_path")
            finally:
                _remove_database_file(path)


def _configure(con, limit: str, spill: Path | None) -> None:
    try:
        con.execute(f"set memory_limit = {_sql_text(limit)}")
    except duckdb.Error as exc:
        raise LoadError(f"memory limit {limit!r} not understood: use DuckDB's form, e.g. '2GB' or '500MB'") from exc
    if spill is not None:
        con.execute(f"set temp_directory = {_sql_text(str(spill))}")


# --- Parquet -------------------------------------------------------------------
# `--parquet OUT/` writes what the pages read as Parquet: each fact table
# Hive-partitioned by the year and month of the date pages select it by
# (OUT/fct_sessions/year=2025/month=3/…), the load tables one file each, and a
# manifest. The dashboard and the report open OUT/ with the same SQL, through
# views over read_parquet, so the marts can live on shared or object storage
# and be read by any engine that reads Parquet.
PARQUET_MANIFEST = "practice_marts.json"
PARTITION_DATES = {
    "fct_sessions": "session_date",
    "fct_bookings": "booked_date",
    "fct_complaints": "reported_date",
    "fct_consumables": "session_date",
    "fct_consumable_cells": "session_month",
}


def is_parquet_folder(path: Path) -> bool:
    return path.is_dir() and (path / PARQUET_MANIFEST).is_file()


def _check_parquet_target(out: Path) -> None:
    if out.exists() and not is_parquet_folder(out) and (not out.is_dir() or any(out.iterdir())):
        raise LoadError(f"{out}: exists and is not a folder written by --parquet; not replacing it")
    if not out.parent.is_dir():
        raise LoadError(f"{out}: the folder {out.parent} does not exist")


def write_parquet(con, out: Path) -> None:
    """Write the built database's tables under `out`, built beside it and swapped in whole."""
    tables = [name for (name,) in con.execute(
        "select table_name from duckdb_tables() where database_name = current_database() and not temporary "
        "order by table_name").fetchall()]
    building = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.building")
    manifest = {"schema_version": SCHEMA_VERSION, "tables": {}}
    try:
        building.mkdir()
        for name in tables:
            date = PARTITION_DATES.get(name)
            table = _quote(name)
            if date and con.execute(f"select count(*) from {table}").fetchone()[0]:
                target = building / name
                con.execute(f"copy (select *, year({_quote(date)}) as year, month({_quote(date)}) as month "
                            f"from {table}) to {_sql_text(str(target))} "
                            "(format parquet, partition_by (year, month), compression zstd)")
                manifest["tables"][name] = {"partitioned_by": date}
            else:  # small, or empty: a partitioned copy of no rows would write no file to read back
                con.execute(f"copy {table} to {_sql_text(str(building / (name + '.parquet')))} "
                            "(format parquet, compression zstd)")
                manifest["tables"][name] = {"partitioned_by": None}
        (building / PARQUET_MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        old = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.old")
        if out.exists():
            out.rename(old)
        building.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(building, ignore_errors=True)


def open_parquet(folder: str | os.PathLike) -> duckdb.DuckDBPyConnection:
    """Open a folder written by write_parquet: one view per table, read through DuckDB."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / PARQUET_MANIFEST).read_text(encoding="utf-8"))
        tables = manifest["tables"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LoadError(f"{folder.name}: not a folder written by `python -m queries.load --parquet` ({exc})") from exc
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise LoadError(f"{folder.name}: written by another version of this project; "
                        "write it again with python -m queries.load --parquet")
    con = duckdb.connect(":memory:")
    try:
        for name, info in tables.items():
            if info.get("partitioned_by"):
                files = _sql_text(str(folder / name / "**" / "*.parquet"))
                source = f"select * exclude (year, month) from read_parquet({files}, hive_partitioning = true)"
            else:
                source = f"select * from read_parquet({_sql_text(str(folder / (name + '.parquet')))})"
            con.execute(f"create view {_quote(name)} as {source}")
        _create_mart_macros(con)
        con.execute("select schema_version from load_info").fetchone()
    except (duckdb.Error, ValueError) as exc:
        con.close()
        raise LoadError(f"{folder.name}: cannot read its Parquet files ({exc})") from exc
    return con


def _check_target(target: Path) -> None:
    """Refuse a --db that would fail late or replace something that is not ours."""
    if target.is_dir():
        raise LoadError(f"{target}: is a folder; name a database file such as clinic.duckdb")
    if not target.parent.is_dir():
        raise LoadError(f"{target}: the folder {target.parent} does not exist")
    if target.exists() and not _is_built_by_us(target):
        raise LoadError(f"{target}: exists and is not a database built by python -m queries.load; "
                        "not replacing it")


def _is_built_by_us(path: Path) -> bool:
    """A DuckDB file with our load_info table (any schema version: an old build may be replaced)."""
    con = duckdb.connect(":memory:")
    try:
        con.execute("attach ? as candidate (read_only)", [str(path)])
        return con.execute("select count(*) from duckdb_tables() where database_name = 'candidate' "
                           "and table_name = 'load_info'").fetchone()[0] == 1
    except duckdb.Error:
        return False
    finally:
        con.close()


def open_database(db_path: str | os.PathLike) -> duckdb.DuckDBPyConnection:
    """Open a database built by `load`, read-only, checking it is one we can read."""
    path = Path(db_path)
    if not path.is_file():
        raise LoadError(f"{path}: no such database file")
    # ATTACH into a fresh in-memory connection rather than connect(path): DuckDB caches one
    # instance per path and process, so connect() would return the old data after a rebuild
    # while any connection to the replaced file is still open (duckdb/duckdb#15912).
    # Views (not USE) so that every cursor of the connection sees the tables.
    con = duckdb.connect(":memory:")
    try:
        con.execute("attach ? as clinic (read_only)", [str(path)])
        tables = con.execute(
            "select table_name from duckdb_tables() where database_name = 'clinic' order by table_name"
        ).fetchall()
        for (table,) in tables:
            con.execute(f"create view {_quote(table)} as select * from clinic.main.{_quote(table)}")
        _create_mart_macros(con)
        version = con.execute("select schema_version from load_info").fetchone()[0]
    except (duckdb.Error, ValueError) as exc:
        con.close()
        raise LoadError(f"{path.name}: not a database built by `python -m queries.load` ({exc})") from exc
    if version != SCHEMA_VERSION:
        con.close()
        raise LoadError(f"{path.name}: built by another version of this project; rebuild it with python -m queries.load")
    return con


def open_built(path: str | os.PathLike) -> duckdb.DuckDBPyConnection | None:
    """A database file or a --parquet folder, opened read-only; None for anything else (a folder of CSVs)."""
    path = Path(path)
    if path.is_file():
        return open_database(path)
    if is_parquet_folder(path):
        return open_parquet(path)
    return None


def _print_progress(fraction: float, message: str) -> None:
    print(f"\r{fraction:6.1%}  {message:<40}", end="", file=sys.stderr, flush=True)


def _format_counts(files: dict[str, dict]) -> Iterable[str]:
    yield f"{'file':<20} {'read':>10} {'loaded':>10} {'rejected':>10}"
    for info in files.values():
        if info["is_present"]:
            yield f"{info['file']:<20} {info['read']:>10,} {info['loaded']:>10,} {info['rejected']:>10,}"
        else:
            yield f"{info['file']:<20} {'(absent)':>10}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m queries.load", description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="folder holding bookings.csv, sessions.csv, [consumables.csv, complaints.csv]")
    parser.add_argument("--db", help="database file to build (replaced atomically)")
    parser.add_argument("--parquet", metavar="OUT",
                        help="also write the marts as Hive-partitioned Parquet under OUT/ (replaced whole); "
                             "open it with --data OUT/")
    parser.add_argument("--column-map", help=f"TOML column map (default: {COLUMN_MAP_NAME} in the folder, if any)")
    parser.add_argument("--memory-limit", help=f"DuckDB memory limit for the build, e.g. 4GB "
                                               f"(default: ${MEMORY_LIMIT_ENV} or {DEFAULT_MEMORY_LIMIT}); "
                                               "beyond it, DuckDB spills to disk beside the database")
    args = parser.parse_args(argv)
    if not args.db and not args.parquet:
        parser.error("give --db FILE, --parquet OUT, or both")
    # Parquet only: built in a scratch database beside OUT (on disk, so a large export can spill), then dropped.
    scratch = None if args.db else Path(args.parquet).resolve().with_name(f".{Path(args.parquet).name}.scratch.duckdb")
    try:
        try:
            result = load(args.folder, args.db or scratch, column_map=args.column_map, progress=_print_progress,
                          parquet=args.parquet, memory_limit=args.memory_limit)
        except LoadError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print("", file=sys.stderr)
        for line in _format_counts(result.files):
            print(line)
        built = " and ".join(x for x in (args.db, args.parquet and f"{args.parquet} (Parquet)") if x)
        print(f"built {built} in {result.seconds:.1f} s")
        warned = result.connection.execute("select count(*) from load_warnings").fetchone()[0]
        if warned:
            print(f"{warned:,} rows loaded with a value read as 'other': see table load_warnings")
        if result.rejected_total:
            where = args.db or args.parquet
            print(f"{result.rejected_total:,} rejected rows: see table load_rejects in {where}"
                  + (f" (duckdb -readonly {args.db} \"from load_rejects\")" if args.db else ""))
        result.connection.close()
        return 0
    finally:
        if scratch is not None:
            scratch.unlink(missing_ok=True)


if __name__ == "__main__":
    sys.exit(main())
