"""The staff explorer: rows of one entity (sessions, bookings, complaints, consumables, patients) with
column filters, a sort and a page, counted, paged and exported in DuckDB.

    query = Query("sessions", filters=(contains("treatment", "peel"), between("price", 50, None)),
                  sort="performed_at", descending=True)
    sql, params = rows_sql(query, Filters(start=..., end=...), as_of, limit=100, offset=0)

Datasette's rules: every function that builds SQL returns `(sql, params)`; values only ever reach SQL as
bind parameters; identifiers (columns, the sort column, its direction) come from the per-entity allowlist
ENTITIES, and a name not in it raises UnknownColumn. The rows of each entity are a named base query
(queries/sql/explore/explore_<entity>.sql) over the marts, applying the period, the as-of date and the
sidebar filters as the marts' macros do for every page. Those files are not metric queries (run_query
would materialise whole tables), so they live beside queries/sql/metrics rather than in it.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path

import duckdb
import pandas as pd
import xlsxwriter

from queries.api import Filters, as_text, parameters
from queries.export import defuse, number_formats, starts_like_formula

SQL_DIR = Path(__file__).parent / "sql" / "explore"
PAGE_SIZE = 100
# An Excel sheet holds 1,048,576 rows; the first is the header.
EXCEL_MAX_ROWS = 1_048_575
EXPORT_BATCH_ROWS = 50_000
MAX_TEXT = 200  # longest "contains" text
MAX_VALUES = 500  # most values offered (and accepted) for a "value in list" filter

# How a column is filtered, by its kind.
FILTER_KINDS = {"text": "contains", "list": "contains", "codes": "contains", "code": "in", "bool": "in", "number": "range",
                "date": "range", "datetime": "range"}


class UnknownColumn(KeyError):
    """A column, sort or entity name not in the allowlist."""

    def __str__(self) -> str:
        return str(self.args[0])


class InvalidFilter(ValueError):
    """A filter value that does not fit its column (not a number, not a date, too long ...)."""


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text, list (names, comma-separated), codes (contract codes, comma-separated), code, bool, number,
    #            date, datetime
    unit: str | None = None  # how a number reads: count, money, mm, rate, minutes, amount, days
    late: bool = False  # from the entity's details query: joined for the page shown only, when it can be

    @property
    def filter_kind(self) -> str:
        return FILTER_KINDS[self.kind]


@dataclass(frozen=True)
class Entity:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # unique per row: it ends every sort, so pages never overlap
    default_columns: tuple[str, ...]
    default_sort: str
    default_descending: bool = True
    patient_column: str | None = "patient_id"
    # queries/sql/explore/<details>.sql: the late columns, for the rows of a CTE named `patients`
    details: str | None = None

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise UnknownColumn(f"{self.name} have no column {name!r}; known: {', '.join(self.names)}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def late(self) -> frozenset[str]:
        return frozenset(c.name for c in self.columns if c.late)


def _columns(*specs: tuple) -> tuple[Column, ...]:
    return tuple(Column(*spec) for spec in specs)


ENTITIES: dict[str, Entity] = {
    "sessions": Entity(
        "sessions",
        _columns(("session_id", "text"), ("performed_at", "datetime"), ("patient_id", "text"), ("treatment", "text"),
                 ("body_area", "code"), ("needle_depth_mm", "number", "mm"), ("duration_min", "number", "minutes"),
                 ("practitioner", "code"), ("location", "code"), ("price", "number", "money"), ("concern", "code"),
                 ("patient_type", "code"), ("count_consumable_lines", "number", "count"),
                 ("consumable_cost", "number", "money"), ("has_needle_tip", "bool"),
                 ("count_complaints", "number", "count"), ("booking_id", "text")),
        key=("session_id",),
        default_columns=("performed_at", "patient_id", "treatment", "body_area", "needle_depth_mm", "practitioner",
                         "location", "price", "count_complaints"),
        default_sort="performed_at",
    ),
    "bookings": Entity(
        "bookings",
        _columns(("booking_id", "text"), ("appointment_at", "datetime"), ("booked_at", "datetime"),
                 ("patient_id", "text"), ("treatment", "text"), ("status", "code"), ("location", "code"),
                 ("practitioner", "code"), ("channel", "code"), ("concern", "code")),
        key=("booking_id",),
        default_columns=("appointment_at", "patient_id", "treatment", "status", "location", "practitioner",
                         "channel", "concern"),
        default_sort="appointment_at",
    ),
    "complaints": Entity(
        "complaints",
        _columns(("complaint_id", "text"), ("reported_at", "datetime"), ("patient_id", "text"), ("session_id", "text"),
                 ("session_date", "date"), ("days_after_session", "number", "days"), ("category", "code"),
                 ("severity", "code"), ("resolved_at", "datetime"), ("days_to_resolve", "number", "days"),
                 ("treatment", "text"), ("body_area", "code"), ("needle_depth_mm", "number", "mm"),
                 ("location", "code"), ("practitioner", "code")),
        key=("complaint_id",),
        default_columns=("reported_at", "patient_id", "category", "severity", "session_date", "treatment",
                         "body_area", "needle_depth_mm", "resolved_at"),
        default_sort="reported_at",
    ),
    "consumables": Entity(
        "consumables",
        _columns(("line", "number", "count"), ("session_id", "text"), ("session_date", "date"), ("patient_id", "text"),
                 ("item", "text"), ("category", "code"), ("lot", "text"), ("quantity", "number", "amount"),
                 ("unit", "code"), ("unit_cost", "number", "money"), ("cost", "number", "money"),
                 ("treatment", "text"), ("body_area", "code"), ("location", "code"), ("practitioner", "code")),
        key=("line",),
        default_columns=("session_date", "patient_id", "item", "category", "lot", "quantity", "unit", "cost",
                         "treatment", "location"),
        default_sort="session_date",
    ),
    "patients": Entity(
        "patients",
        _columns(("patient_id", "text"), ("first_visit_date", "date"), ("last_visit_date", "date"),
                 ("days_since_last_visit", "number", "days"), ("count_sessions", "number", "count"),
                 ("spend", "number", "money"), ("count_sessions_to_date", "number", "count"),
                 ("spend_to_date", "number", "money"), ("treatments", "list", None, True),
                 ("body_areas", "codes", None, True), ("concerns", "codes", None, True), ("channel", "code", None, True),
                 ("next_booking_date", "date", None, True), ("count_no_shows", "number", "count", True),
                 ("no_show_rate", "number", "rate", True), ("count_complaints", "number", "count", True)),
        key=("patient_id",),
        default_columns=("patient_id", "first_visit_date", "last_visit_date", "count_sessions", "spend",
                         "body_areas", "concerns", "next_booking_date", "no_show_rate"),
        default_sort="last_visit_date",
        details="explore_patients_details",
    ),
}


# --- what the explorer is asked for ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ColumnFilter:
    """One column filter. contains: values = (text,); in: the values (None: not recorded); range: (low, high),
    either may be None (open)."""

    column: str
    kind: str
    values: tuple


def contains(column: str, text: str) -> ColumnFilter:
    return ColumnFilter(column, "contains", (text,))


def one_of(column: str, values: Iterable) -> ColumnFilter:
    return ColumnFilter(column, "in", tuple(values))


def between(column: str, low=None, high=None) -> ColumnFilter:
    return ColumnFilter(column, "range", (low, high))


@dataclass(frozen=True)
class Query:
    """What the explorer shows: an entity, its column filters, the columns shown and the sort."""

    entity: str
    filters: tuple[ColumnFilter, ...] = ()
    columns: tuple[str, ...] | None = None  # None: the entity's default columns
    sort: str | None = None  # None: the entity's default sort
    descending: bool | None = None  # None: the entity's default direction

    @property
    def spec(self) -> Entity:
        return entity(self.entity)

    @property
    def shown(self) -> tuple[str, ...]:
        return self.columns or self.spec.default_columns

    @property
    def sort_column(self) -> str:
        return self.sort or self.spec.default_sort

    @property
    def is_descending(self) -> bool:
        return self.spec.default_descending if self.descending is None else self.descending


def entity(name: str) -> Entity:
    if name not in ENTITIES:
        raise UnknownColumn(f"nothing to explore named {name!r}; known: {', '.join(ENTITIES)}")
    return ENTITIES[name]


def _check_value(column: Column, kind: str, value):
    """The value, if it fits the filter and column; else InvalidFilter saying why."""
    if kind == "contains":
        if not isinstance(value, str) or not value:
            raise InvalidFilter(f"{column.name}: the text to look for is empty")
        if len(value) > MAX_TEXT:
            raise InvalidFilter(f"{column.name}: look for at most {MAX_TEXT} characters")
        return value
    if value is None:
        return None
    if column.kind == "bool":
        if not isinstance(value, bool):
            raise InvalidFilter(f"{column.name}: {value!r} is not yes or no")
        return value
    if column.kind in ("code", "text", "list", "codes"):
        if not isinstance(value, str):
            raise InvalidFilter(f"{column.name}: {value!r} is not text")
        return value
    if column.kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidFilter(f"{column.name}: {value!r} is not a number")
        return value
    # date and datetime columns are filtered by day
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidFilter(f"{column.name}: {value!r} is not a date")
    return value


def validate(query: Query) -> Query:
    """The query, if every name is in the allowlist and every value fits its column; raises otherwise."""
    spec = query.spec
    for name in (*query.shown, query.sort_column):
        spec.column(name)
    if query.columns is not None and not query.columns:
        raise UnknownColumn("choose at least one column")
    if query.descending not in (None, True, False):
        raise UnknownColumn(f"sort direction must be ascending or descending, not {query.descending!r}")
    for f in query.filters:
        column = spec.column(f.column)
        if f.kind != column.filter_kind:
            raise InvalidFilter(f"{f.column}: filtered by {column.filter_kind}, not {f.kind!r}")
        if f.kind == "contains" and len(f.values) != 1:
            raise InvalidFilter(f"{f.column}: one text to look for")
        if f.kind == "in" and not 1 <= len(f.values) <= MAX_VALUES:
            raise InvalidFilter(f"{f.column}: choose between 1 and {MAX_VALUES} values")
        if f.kind == "range":
            if len(f.values) != 2 or f.values == (None, None):
                raise InvalidFilter(f"{f.column}: give a lowest value, a highest value or both")
            low, high = f.values
            if low is not None and high is not None and _check_value(column, "range", low) > \
                    _check_value(column, "range", high):
                raise InvalidFilter(f"{f.column}: the lowest value ({low}) is above the highest ({high})")
        for value in f.values:
            _check_value(column, f.kind, value)
    return query


# --- SQL ---------------------------------------------------------------------------------------------------------------

_PARAMETER = re.compile(r"\$([a-z_]+)\b")


@cache
def named_sql(name: str) -> str:
    """The text of queries/sql/explore/<name>.sql; only the names listed there exist."""
    files = {path.stem: path for path in SQL_DIR.glob("*.sql")}
    if name not in files:
        raise UnknownColumn(f"no explorer query named {name!r}; known: {', '.join(sorted(files))}")
    return files[name].read_text(encoding="utf-8")


def _used(sql: str, everything: dict) -> dict:
    return {name: everything[name] for name in set(_PARAMETER.findall(sql))}


def _base(query: Query, filters: Filters, as_of: date, *, details: bool = False) -> tuple[str, dict]:
    """The entity's rows for the period, as_of and sidebar filters; with `details`, its late columns joined
    for every row (needed when they are sorted, filtered or exported)."""
    sql = named_sql(f"explore_{query.entity}")
    everything = parameters(filters, as_of)
    if details and query.spec.details:
        more = named_sql(query.spec.details)
        return (f"with keys as (\n{sql}\n),\npatients as (select patient_id from keys),\ndetails as (\n{more}\n)\n"
                "select keys.*, details.* exclude (patient_id) from keys left join details using (patient_id)",
                _used(sql + more, everything))
    return sql, _used(sql, everything)


def _identifier(spec: Entity, name: str) -> str:
    """A column name as SQL: only ever one from the allowlist."""
    return '"' + spec.column(name).name + '"'


def escape_like(text: str) -> str:
    """`text` matched literally by LIKE/ILIKE ... ESCAPE '\\': its wildcards and the escape itself escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def where_sql(query: Query) -> tuple[str, dict]:
    """The column filters as one condition (`true` when there are none) and their parameters."""
    spec = query.spec
    conditions, params = [], {}
    for i, f in enumerate(query.filters):
        column = spec.column(f.column)
        name = _identifier(spec, f.column)
        if f.kind == "contains":
            text = f.values[0]
            target = f"cast({name} as varchar)"
            if column.kind == "codes":
                # Codes read as words (`acne_scars` is shown "Acne scars"): "acne scars" and "acne_scars" both match.
                target, text = f"replace({target}, '_', ' ')", text.replace("_", " ")
            conditions.append(f"{target} ilike $f{i} escape '\\'")
            params[f"f{i}"] = f"%{escape_like(text)}%"
        elif f.kind == "in":
            present = [v for v in f.values if v is not None]
            condition = f"list_contains($f{i}, {name})"
            params[f"f{i}"] = present
            if None in f.values:
                condition = f"({condition} or {name} is null)"
            conditions.append(condition)
        else:
            target = f"cast({name} as date)" if column.kind == "datetime" else name
            low, high = f.values
            if low is not None:
                conditions.append(f"{target} >= $f{i}_low")
                params[f"f{i}_low"] = low
            if high is not None:
                conditions.append(f"{target} <= $f{i}_high")
                params[f"f{i}_high"] = high
    return " and ".join(conditions) or "true", params


def order_sql(query: Query) -> str:
    """The sort column, its direction, then the entity's unique key: a total order, so LIMIT/OFFSET pages
    hold every row exactly once. Missing values go last either way."""
    spec = query.spec
    direction = "desc" if query.is_descending else "asc"
    keys = [f"{_identifier(spec, query.sort_column)} {direction} nulls last"]
    keys += [f"{_identifier(spec, k)} asc" for k in spec.key if k != query.sort_column]
    return ", ".join(keys)


def _filtered(query: Query, filters: Filters, as_of: date, *, details: bool) -> tuple[str, dict]:
    validate(query)
    base, params = _base(query, filters, as_of, details=details)
    where, where_params = where_sql(query)
    return f"with base as (\n{base}\n)\nselect * from base where {where}", params | where_params


def _late_in_order(query: Query) -> bool:
    """Do the column filters or the sort need the late columns of every row?"""
    return bool(({f.column for f in query.filters} | {query.sort_column}) & query.spec.late)


def count_sql(query: Query, filters: Filters, as_of: date) -> tuple[str, dict]:
    details = bool({f.column for f in query.filters} & query.spec.late)
    sql, params = _filtered(query, filters, as_of, details=details)
    return f"with filtered as (\n{sql}\n)\nselect count(*) as count_rows from filtered", params


def rows_sql(query: Query, filters: Filters, as_of: date, *, limit: int | None = None, offset: int = 0,
             with_patient: bool = False) -> tuple[str, dict]:
    """The shown columns of the matching rows in the query's order; `limit` rows from `offset`, or all.
    with_patient adds the entity's patient column at the end when it is not shown (a row's patient).
    Late columns shown but neither sorted nor filtered on are joined for the page's rows only."""
    spec = query.spec
    names = list(query.shown)
    if with_patient and spec.patient_column and spec.patient_column not in names:
        names.append(spec.patient_column)
    if limit is not None and (limit < 0 or offset < 0):
        raise ValueError("limit and offset must be zero or more")
    late_shown, late_in_order = bool(set(names) & spec.late), _late_in_order(query)
    paged_details = late_shown and limit is not None and not late_in_order
    sql, params = _filtered(query, filters, as_of, details=late_in_order or (late_shown and not paged_details))
    columns = ", ".join(_identifier(spec, n) for n in names)
    order = order_sql(query)
    page = ""
    if limit is not None:
        page = " limit $limit offset $offset"
        params |= {"limit": int(limit), "offset": int(offset)}
    if not paged_details:
        return f"with filtered as (\n{sql}\n)\nselect {columns} from filtered order by {order}{page}", params
    details = named_sql(spec.details)
    return (f"with filtered as (\n{sql}\n),\npage as (select * from filtered order by {order}{page}),\n"
            f"patients as (select patient_id from page),\ndetails as (\n{details}\n)\n"
            f"select {columns} from page left join details using (patient_id) order by {order}",
            params | _used(details, parameters(filters, as_of)))


def values_sql(query: Query, column: str, filters: Filters, as_of: date, limit: int = MAX_VALUES) -> tuple[str, dict]:
    """The values of `column` among the entity's rows for the period and sidebar filters (not the column
    filters: the list offers what could be picked), most frequent first; null as None."""
    spec = query.spec
    name = _identifier(spec, column)
    base, params = _base(query, filters, as_of, details=column in spec.late)
    sql = (f"with base as (\n{base}\n)\nselect {name} as value, count(*) as count_rows from base "
           f"group by all order by count_rows desc, value nulls last limit $limit")
    return sql, params | {"limit": limit}


def history_sql(patient_id: str, as_of: date) -> tuple[str, dict]:
    """Every booking, session, consumable line and complaint of one patient known on as_of."""
    return named_sql("patient_history"), {"patient_id": str(patient_id), "as_of": as_of}


# --- running it (a cursor per call: a DuckDB connection must not be shared across threads) -------------------------

def count_rows(con: duckdb.DuckDBPyConnection, query: Query, filters: Filters, as_of: date) -> int:
    sql, params = count_sql(query, filters, as_of)
    with con.cursor() as cursor:
        return int(cursor.execute(sql, params).fetchone()[0])


def page_count(total: int, page_size: int = PAGE_SIZE) -> int:
    return max(1, math.ceil(total / page_size))


def fetch_page(con: duckdb.DuckDBPyConnection, query: Query, filters: Filters, as_of: date, page: int,
               page_size: int = PAGE_SIZE, *, with_patient: bool = True) -> pd.DataFrame:
    """Page `page` (1 = first) of the matching rows."""
    if page < 1:
        raise ValueError("pages count from 1")
    sql, params = rows_sql(query, filters, as_of, limit=page_size, offset=(page - 1) * page_size,
                           with_patient=with_patient)
    with con.cursor() as cursor:
        return as_text(cursor.execute(sql, params).df())


def distinct_values(con: duckdb.DuckDBPyConnection, query: Query, column: str, filters: Filters,
                    as_of: date) -> list:
    sql, params = values_sql(query, column, filters, as_of)
    with con.cursor() as cursor:
        return [row[0] for row in cursor.execute(sql, params).fetchall()]


def patient_history(con: duckdb.DuckDBPyConnection, patient_id: str, as_of: date) -> pd.DataFrame:
    sql, params = history_sql(patient_id, as_of)
    with con.cursor() as cursor:
        return as_text(cursor.execute(sql, params).df())


def iter_rows(con: duckdb.DuckDBPyConnection, query: Query, filters: Filters, as_of: date, *,
              batch_rows: int = EXPORT_BATCH_ROWS, max_rows: int | None = None) -> Iterator[list[tuple]]:
    """All matching rows (shown columns, in the query's order) as lists of tuples of Python values, one
    Arrow record batch at a time: a whole result is never held at once. With max_rows, at most one row
    more than that is read (enough to tell there were too many)."""
    sql, params = rows_sql(query, filters, as_of)
    if max_rows is not None:
        sql += " limit $export_limit"
        params["export_limit"] = max_rows + 1
    with con.cursor() as cursor:
        # A relation's reader streams; execute() would hold the whole result first (DuckDB 2.0).
        reader = cursor.sql(sql, params=params).to_arrow_reader(batch_rows)
        for batch in reader:
            columns = [column.to_pylist() for column in batch.columns]
            yield list(zip(*columns, strict=True))


# --- exports -----------------------------------------------------------------------------------------------------------

class TooManyRows(ValueError):
    """More rows than the format holds."""


@dataclass(frozen=True)
class ExportColumn:
    """A column as written: its header, how its numbers read (Column.unit) or its kind, and an optional
    function turning a value into words (codes)."""

    header: str
    kind: str | None = None  # count, money, mm, rate, minutes, amount, days, date, datetime
    words: Callable | None = None


def export_columns(query: Query, headers: Callable[[str], str] = lambda name: name,
                   words: Callable[[str], Callable | None] = lambda name: None) -> list[ExportColumn]:
    spec = query.spec
    out = []
    for name in query.shown:
        column = spec.column(name)
        kind = column.unit if column.kind == "number" else column.kind if column.kind in ("date", "datetime") else None
        out.append(ExportColumn(headers(name), kind, words(name)))
    return out


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return "" if not math.isfinite(value) else format(value, ".15g")
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes" if not value.second else "seconds")
    if isinstance(value, date):
        return value.isoformat()
    return defuse(str(value))


def write_csv(batches: Iterable[Sequence[tuple]], out: io.TextIOBase, columns: Sequence[ExportColumn]) -> int:
    """Write the header and every batch of rows as CSV to `out`; returns the rows written. Text that starts
    like a formula (= + - @, tab, CR ...) gets a leading `'` (OWASP CSV injection), header included."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([defuse(c.header) for c in columns])
    transforms = [c.words for c in columns]
    rows = 0
    for batch in batches:
        writer.writerows([_csv_value(t(v) if t and v is not None else v) for t, v in zip(transforms, row, strict=True)]
                         for row in batch)
        rows += len(batch)
    return rows


@dataclass
class _XlsxFormats:
    workbook: xlsxwriter.Workbook
    currency: str
    cache: dict = field(default_factory=dict)

    def get(self, kind: str | None, **extra):
        key = (kind, tuple(sorted(extra.items())))
        if key not in self.cache:
            properties = dict(extra)
            formats = number_formats(self.currency) | {"minutes": "#,##0", "days": "#,##0"}
            if kind in formats:
                properties["num_format"] = formats[kind]
            self.cache[key] = self.workbook.add_format(properties)
        return self.cache[key]


def write_xlsx(batches: Iterable[Sequence[tuple]], out, columns: Sequence[ExportColumn], *, currency: str = "$",
               sheet_name: str = "Explore", max_rows: int = EXCEL_MAX_ROWS) -> int:
    """Write the header and every batch of rows to one sheet of an .xlsx at `out` (a path or a binary file),
    row by row (xlsxwriter's constant_memory mode: a row is flushed once written). Dates are dates, numbers
    numbers with their format, text always a string cell, never a formula. Raises TooManyRows past max_rows."""
    workbook = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_formulas": False,
                                         "strings_to_urls": False, "strings_to_numbers": False})
    formats = _XlsxFormats(workbook, currency)
    sheet = workbook.add_worksheet(sheet_name[:31])
    bold = formats.get(None, bold=True, bottom=1)
    widths = []
    for col, column in enumerate(columns):
        sheet.write_string(0, col, column.header, bold)
        widths.append(len(column.header))
    # Widths and frozen header must be set before rows are flushed; width from the header and kind.
    typical = {"date": 12, "datetime": 17, "money": 12}
    for col, column in enumerate(columns):
        sheet.set_column(col, col, min(40, max(widths[col], typical.get(column.kind, 10)) + 2))
    sheet.freeze_panes(1, 0)
    cell_formats = [formats.get(c.kind) for c in columns]
    text_format, quoted = formats.get(None), formats.get(None, quote_prefix=True)
    transforms = [c.words for c in columns]
    row = 0
    try:
        for batch in batches:
            for values in batch:
                row += 1
                if row > max_rows:
                    raise TooManyRows(f"more than {max_rows:,} rows: an Excel sheet holds no more")
                for col, value in enumerate(values):
                    if value is None:
                        continue
                    if transforms[col]:
                        value = transforms[col](value)
                    if isinstance(value, bool):
                        sheet.write_boolean(row, col, value)
                    elif isinstance(value, datetime):
                        sheet.write_datetime(row, col, value, cell_formats[col])
                    elif isinstance(value, date):
                        sheet.write_datetime(row, col, datetime(value.year, value.month, value.day), cell_formats[col])
                    elif isinstance(value, int | float):
                        if math.isfinite(value):
                            sheet.write_number(row, col, value, cell_formats[col])
                    else:
                        text = str(value)
                        # A string cell is never a formula; the quote prefix keeps it text when someone edits it.
                        sheet.write_string(row, col, text, quoted if starts_like_formula(text) else text_format)
        if row and columns:
            sheet.autofilter(0, 0, row, len(columns) - 1)
    finally:
        workbook.close()
    return row


def export_csv(con, query: Query, filters: Filters, as_of: date, columns: Sequence[ExportColumn]) -> bytes:
    """Every matching row as UTF-8 CSV (with a byte-order mark, so Excel reads the accents)."""
    buffer = io.BytesIO()
    text = io.TextIOWrapper(buffer, encoding="utf-8-sig", newline="")
    write_csv(iter_rows(con, query, filters, as_of), text, columns)
    text.flush()
    text.detach()
    return buffer.getvalue()


def export_xlsx(con, query: Query, filters: Filters, as_of: date, columns: Sequence[ExportColumn], *,
                currency: str = "$", max_rows: int = EXCEL_MAX_ROWS) -> bytes:
    """Every matching row as an .xlsx; TooManyRows past max_rows (nothing is cut silently)."""
    out = io.BytesIO()
    write_xlsx(iter_rows(con, query, filters, as_of, max_rows=max_rows), out, columns, currency=currency,
               max_rows=max_rows)
    return out.getvalue()


# --- the explorer's state in a link ------------------------------------------------------------------------------------

# x_entity, x_cols (comma-separated), x_sort, x_dir (asc/desc), x_page (from 1), x_patient (the history shown);
# one x_contains per text filter, one x_in per value picked, x_min / x_max per range bound: `column:value`.
URL_PARAMS = ("x_entity", "x_cols", "x_sort", "x_dir", "x_page", "x_contains", "x_in", "x_min", "x_max", "x_patient")
NOT_RECORDED = ""  # an x_in value: the column is empty


@dataclass(frozen=True)
class LinkState:
    query: Query
    page: int = 1
    patient: str | None = None


def _text_number(value) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _link_value(column: Column, value) -> str:
    if value is None:
        return NOT_RECORDED
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float):
        return _text_number(value)
    return str(value)


def to_params(state: LinkState) -> dict[str, str | list[str]]:
    """The link's parameters for `state`; defaults are left out, so a plain view keeps a short link."""
    query = state.query
    spec = query.spec
    params: dict[str, str | list[str]] = {"x_entity": query.entity}
    if query.columns and query.columns != spec.default_columns:
        params["x_cols"] = ",".join(query.columns)
    if query.sort and query.sort != spec.default_sort:
        params["x_sort"] = query.sort
    if query.is_descending != spec.default_descending:
        params["x_dir"] = "desc" if query.is_descending else "asc"
    lists: dict[str, list[str]] = {"x_contains": [], "x_in": [], "x_min": [], "x_max": []}
    for f in query.filters:
        column = spec.column(f.column)
        if f.kind == "contains":
            lists["x_contains"].append(f"{f.column}:{f.values[0]}")
        elif f.kind == "in":
            lists["x_in"] += [f"{f.column}:{_link_value(column, v)}" for v in f.values]
        else:
            for name, value in zip(("x_min", "x_max"), f.values, strict=True):
                if value is not None:
                    lists[name].append(f"{f.column}:{_link_value(column, value)}")
    params |= {name: values for name, values in lists.items() if values}
    if state.page > 1:
        params["x_page"] = str(state.page)
    if state.patient:
        params["x_patient"] = state.patient
    return params


def _parse_value(column: Column, text: str):
    """A link's value for `column`, typed; InvalidFilter when it does not read as one."""
    try:
        if column.kind == "number":
            number = float(text)
            if not math.isfinite(number):
                raise ValueError(text)
            return int(number) if number.is_integer() and "." not in text else number
        if column.kind in ("date", "datetime"):
            return date.fromisoformat(text)
    except ValueError:
        raise InvalidFilter(f"{column.name}: {text!r} is not a {'number' if column.kind == 'number' else 'date (YYYY-MM-DD)'}") \
            from None
    if column.kind == "bool":
        if text not in ("yes", "no"):
            raise InvalidFilter(f"{column.name}: {text!r} is not yes or no")
        return text == "yes"
    return None if text == NOT_RECORDED else text


def from_params(params: dict[str, list[str]], default_entity: str = "sessions") -> tuple[LinkState, list[str]]:
    """The explorer's state in a link (each parameter's values as a list), and what in it could not be used
    (each dropped with a reason; the rest applies)."""
    problems: list[str] = []

    def first(name: str) -> str | None:
        values = params.get(name) or []
        return values[-1] if values else None

    name = first("x_entity") or default_entity
    if name not in ENTITIES:
        problems.append(f"x_entity={name!r}: nothing to explore by that name; showing {default_entity}.")
        name = default_entity
    spec = ENTITIES[name]
    columns = None
    if first("x_cols"):
        wanted = [c for c in first("x_cols").split(",") if c]
        unknown = [c for c in wanted if c not in spec.names]
        if unknown:
            problems.append(f"x_cols: {', '.join(map(repr, unknown))} not a column of {name}; left out.")
        columns = tuple(dict.fromkeys(c for c in wanted if c in spec.names)) or None
    sort = first("x_sort")
    if sort is not None and sort not in spec.names:
        problems.append(f"x_sort={sort!r}: not a column of {name}; sorting by {spec.default_sort}.")
        sort = None
    direction = first("x_dir")
    descending = None
    if direction is not None:
        if direction in ("asc", "desc"):
            descending = direction == "desc"
        else:
            problems.append(f"x_dir={direction!r}: asc or desc; using the default order.")
    found: dict[tuple[str, str], list] = {}
    for param, kind in (("x_contains", "contains"), ("x_in", "in"), ("x_min", "range"), ("x_max", "range")):
        for item in params.get(param) or []:
            column_name, sep, text = item.partition(":")
            try:
                if not sep:
                    raise InvalidFilter(f"{item!r} is not column:value")
                column = spec.column(column_name)
                if column.filter_kind != kind:
                    raise InvalidFilter(f"{column_name} is filtered by {column.filter_kind}, not {kind}")
                if kind == "contains":
                    value = text
                    _check_value(column, kind, value)
                else:
                    value = _parse_value(column, text)
            except (InvalidFilter, UnknownColumn) as exc:
                problems.append(f"{param}={item!r}: {exc}; this filter is not applied.")
                continue
            entry = found.setdefault((column_name, kind), [None, None] if kind == "range" else [])
            if kind == "range":
                entry[0 if param == "x_min" else 1] = value
            elif value not in entry:
                entry.append(value)
    column_filters = []
    for (column_name, kind), values in found.items():
        f = ColumnFilter(column_name, kind, tuple(values)) if kind != "contains" else contains(column_name, values[-1])
        try:
            validate(Query(name, filters=(f,)))
        except (InvalidFilter, UnknownColumn) as exc:
            problems.append(f"{exc}; this filter is not applied.")
            continue
        column_filters.append(f)
    page = 1
    if first("x_page") is not None:
        try:
            page = int(first("x_page"))
            if page < 1:
                raise ValueError
        except ValueError:
            problems.append(f"x_page={first('x_page')!r}: not a page number; showing the first page.")
            page = 1
    query = Query(name, tuple(column_filters), columns, sort, descending)
    return LinkState(query, page, first("x_patient") or None), problems
