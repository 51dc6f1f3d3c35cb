"""The sidebar filters every page shares, kept in the URL so a link reproduces a view.

URL parameters: period (a preset below), from/to (ISO dates, with period=custom),
and location, practitioner, treatment, body_area, concern (repeatable). Values
the URL carries that do not fit are dropped with a notice, never an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
import streamlit as st

from dashboard import plain_text, source
from queries import kpis, labels
from queries.api import Filters
from queries.contract import BODY_AREAS

PRESETS = {
    "last_30_days": "Last 30 days",
    "last_90_days": "Last 90 days",
    "this_year": "This year",
    "last_12_months": "Last 12 months",
    "all": "All dates",
    "custom": "Custom range",
}
DEFAULT_PRESET = "last_12_months"
# filter option name (filter_options.sql) -> URL parameter, sidebar label
LISTS = {
    "locations": ("location", "Locations"),
    "practitioners": ("practitioner", "Practitioners"),
    "treatments": ("treatment", "Treatments"),
    "body_areas": ("body_area", "Body areas"),
    "concerns": ("concern", "Concerns"),
}
SIDEBAR_PARAMS = ("period", "from", "to", "as_of", *(param for param, _ in LISTS.values()))
STATE = "active_filters"
NOTICES = "filter_notices"
# URL parameters a page owns (ui.url_value reads and writes them); the sidebar keeps them in the link.
# Every name PARSERS accepts is one of these or SIDEBAR_PARAMS.
PAGE_PARAMS = ("recall_min", "recall_max", "lot", "curve_by", "curve_groups",
               # Explore (queries.explore): entity, columns, sort, page, column filters, the patient shown
               "x_entity", "x_cols", "x_sort", "x_dir", "x_page", "x_contains", "x_in", "x_min", "x_max", "x_patient")


# --- what a link may carry ----------------------------------------------------------------------------------------
# A link is typed, pasted and forwarded: every parameter is screened before anything reads it. Known names only,
# short values, no control characters, and each value through its parameter's parser (a syntax check; values
# that must be in the data, a location or a lot, are checked against it where they are used). Values only ever
# reach SQL as bound parameters (queries.api, queries.explore); this keeps what cannot be meant out of them.
MAX_LENGTH = 200  # characters in one value; longer names get their own limit in LIMITS
MAX_REPEATS = 100  # values of one repeatable parameter (`location=A&location=B…`)
RECALL_MAX_DAYS = 3650  # the recall list's bounds (the Rebooking page's inputs)
_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")  # a contract code, a column or a choice on a page
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _text(value: str) -> str:
    return value


def _code(value: str) -> str:
    if not _CODE.fullmatch(value):
        raise ValueError("not a name the app uses")
    return value


def _one_of(*options: str) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in options:
            raise ValueError(f"not one of {' or '.join(options)}" if len(options) <= 3 else "not a choice the app offers")
        return value
    return parse


def _iso_date(value: str) -> date:
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise ValueError("not a date (YYYY-MM-DD)")


def _whole(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        if not re.fullmatch(r"\d{1,10}", value) or not low <= int(value) <= high:
            raise ValueError(f"not a whole number from {low} to {high:,}")
        return int(value)
    return parse


def _codes(value: str) -> str:
    for part in value.split(","):
        if part:
            _code(part)
    return value


def _column_value(value: str) -> str:
    """Explore's column filters, `column:value`; queries.explore checks the column and the value."""
    column, sep, _ = value.partition(":")
    if not sep or not _CODE.fullmatch(column):
        raise ValueError("not column:value")
    return value


PARSERS: dict[str, Callable[[str], object]] = {
    "period": _one_of(*PRESETS), "from": _iso_date, "to": _iso_date, "as_of": _iso_date,
    "location": _text, "practitioner": _text, "treatment": _text,  # as the export spells them: the data decides
    "body_area": _one_of(*BODY_AREAS), "concern": _code,
    "recall_min": _whole(0, RECALL_MAX_DAYS), "recall_max": _whole(0, RECALL_MAX_DAYS),
    "lot": _text, "curve_by": _code, "curve_groups": _text,
    "x_entity": _code, "x_cols": _codes, "x_sort": _code, "x_dir": _one_of("asc", "desc"),
    "x_page": _whole(1, 10**9), "x_contains": _column_value, "x_in": _column_value, "x_min": _column_value,
    "x_max": _column_value, "x_patient": _text,
}
LIMITS = {"x_cols": 2000, **dict.fromkeys(("x_contains", "x_in", "x_min", "x_max"), 65 + MAX_LENGTH)}


@dataclass(frozen=True)
class Screened:
    """A link's parameters split into what may be read and what was dropped: (name, reason) pairs, each named
    once per reason."""

    kept: dict[str, list[str]]
    dropped: list[tuple[str, str]]


def screen_params(params: dict[str, list[str]]) -> Screened:
    """The link's parameters that pages may read (PARSERS: the sidebar's and the pages'), and the rest with why."""
    kept: dict[str, list[str]] = {}
    dropped: list[tuple[str, str]] = []

    def drop(name: str, reason: str) -> None:
        if (name, reason) not in dropped:
            dropped.append((name, reason))

    for name, values in params.items():
        if name not in PARSERS:
            drop(name, "not a setting of this app")
            continue
        if len(values) > MAX_REPEATS:
            drop(name, f"given more than {MAX_REPEATS} times")
            continue
        limit = LIMITS.get(name, MAX_LENGTH)
        for value in values:
            if len(value) > limit:
                drop(name, f"longer than {limit:,} characters")
            elif _CONTROL.search(value):
                drop(name, "holds a control character")
            else:
                try:
                    PARSERS[name](value)
                except ValueError as exc:
                    drop(name, f"{value!r} is {exc}")
                else:
                    kept.setdefault(name, []).append(value)
    return Screened(kept, dropped)


def dropped_notice(dropped: list[tuple[str, str]]) -> str:
    """One sentence naming every parameter dropped from the link (plain text: shown through ui.md_plain)."""
    def name(text: str) -> str:
        return repr(text if len(text) <= 40 else text[:40] + "…")
    return ("Not used from the link: " + "; ".join(f"{name(n)} ({reason if len(reason) <= 80 else reason[:80] + '…'})"
                                                   for n, reason in dropped) + ".")


@dataclass(frozen=True)
class View:
    """What the pages need: the filters, the export's date and how to describe the period."""

    filters: Filters
    as_of: date
    preset: str
    start: date
    end: date  # never after as_of
    is_partial: bool  # the preset's period runs past the export's date
    previous: tuple[date, date] | None  # what the Overview compares with; None for all dates

    @property
    def period_label(self) -> str:
        return f"{self.start:%d %b %Y} – {self.end:%d %b %Y}"


def preset_period(preset: str, as_of: date, first: date) -> tuple[date, date, bool]:
    """(start, end, is_partial) of a preset; periods end at the export's date, not today."""
    if preset == "last_30_days":
        return as_of - timedelta(days=29), as_of, False
    if preset == "last_90_days":
        return as_of - timedelta(days=89), as_of, False
    if preset == "this_year":
        return date(as_of.year, 1, 1), as_of, as_of != date(as_of.year, 12, 31)
    if preset == "last_12_months":
        return as_of - timedelta(days=364), as_of, False
    return first, as_of, False


def comparison_period(preset: str, start: date, end: date) -> tuple[date, date] | None:
    """What the Overview and Body areas compare [start, end] with: the same number of days just before;
    this year with the same dates a year earlier (seasons matter in a clinic); all dates with nothing."""
    if preset == "all":
        return None
    if preset == "this_year":
        return kpis.same_dates_last_year(start, end)
    return kpis.previous_period(start, end)


def _options() -> dict[str, list[str]]:
    frame = source.query("filter_options")
    return {name: frame.loc[frame["filter_name"] == name, "value"].tolist() for name in LISTS}


def _parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _from_url(options: dict[str, list[str]], first: date, export_date: date) -> list[str]:
    """Put the URL's values into the widgets' state; returns notices for what was dropped."""
    params = st.query_params
    notices = []
    as_of = export_date
    if "as_of" in params:
        wanted = _parse_date(params.get("as_of"))
        if wanted is not None and first <= wanted <= export_date:
            as_of = wanted
        else:
            notices.append(f"as_of={params.get('as_of')!r} is not a date between {first:%d %b %Y} and "
                           f"{export_date:%d %b %Y}; showing figures as of the export's date.")
    st.session_state["filter_as_of"] = as_of
    preset = params.get("period", DEFAULT_PRESET)
    if preset not in PRESETS:
        notices.append(f"period={preset!r} is not a known period; showing {PRESETS[DEFAULT_PRESET]}.")
        preset = DEFAULT_PRESET
    start, end = _parse_date(params.get("from")), _parse_date(params.get("to"))
    if preset == "custom":
        problem = None
        if start is None or end is None:
            problem = "are not dates (YYYY-MM-DD)"
        elif start > end:
            problem = "are in reverse order"
        else:
            start, end = max(start, first), min(end, as_of)
            if start > end:
                problem = f"fall outside the data ({first:%d %b %Y} – {as_of:%d %b %Y})"
        if problem:
            notices.append(f"The custom dates in the link {problem}; showing all dates.")
            preset = "all"
        else:
            st.session_state["filter_dates"] = (start, end)
    st.session_state["filter_period"] = preset
    for name, (param, label) in LISTS.items():
        wanted = params.get_all(param)
        kept = [v for v in wanted if v in options[name]]
        dropped = [v for v in wanted if v not in options[name]]
        if dropped:
            notices.append(f"{label}: {', '.join(map(repr, dropped))} not in the data; ignored.")
        st.session_state[f"filter_{name}"] = kept
    return notices


def _to_url(preset: str, start: date, end: date, selected: dict[str, list[str]], as_of: date | None) -> None:
    params = {"period": preset}
    if as_of is not None:
        params["as_of"] = as_of.isoformat()
    if preset == "custom":
        params |= {"from": start.isoformat(), "to": end.isoformat()}
    for name, values in selected.items():
        if values:
            params[LISTS[name][0]] = values
    for name in PAGE_PARAMS:
        if name in st.query_params:
            params[name] = st.query_params.get_all(name)
    if params != {"period": DEFAULT_PRESET} or st.query_params.to_dict():
        st.query_params.from_dict(params)


def clear_notices() -> None:
    """Once someone changes a filter, notices about the link they opened are history."""
    st.session_state[NOTICES] = []


def sidebar() -> View:
    """Draw the shared filters in the sidebar and return the view they select."""
    export_date = source.export_date()
    meta = source.query("load_meta").iloc[0]
    # An export with no loadable dated rows still gets a (one-day) range rather than an error.
    first = meta["data_starts_on"].date() if pd.notna(meta["data_starts_on"]) else export_date
    options = _options()
    if st.session_state.get("filters_from_url") != source.current().version:
        screened = screen_params({name: st.query_params.get_all(name) for name in st.query_params})
        for name in list(st.query_params):  # what is dropped here no page ever reads
            if name not in screened.kept:
                del st.query_params[name]
            elif screened.kept[name] != st.query_params.get_all(name):
                st.query_params[name] = screened.kept[name]
        st.session_state[NOTICES] = ([dropped_notice(screened.dropped)] if screened.dropped else []) \
            + _from_url(options, first, export_date)
        st.session_state["filters_from_url"] = source.current().version
    # The as-of widget is drawn last but decides every period above it; keep it inside the data.
    st.session_state["filter_as_of"] = min(max(st.session_state.get("filter_as_of") or export_date, first),
                                           export_date)
    as_of = st.session_state["filter_as_of"]

    with st.sidebar:
        st.header("Filters")
        preset = st.selectbox("Period", list(PRESETS), format_func=PRESETS.get, key="filter_period",
                              help=f"Periods end on the as-of date, {as_of:%d %b %Y}, not today.",
                              on_change=clear_notices)
        if preset == "custom":
            # Keep the picked range inside the data (it may come from an earlier upload).
            picked = st.session_state.get("filter_dates") or (as_of - timedelta(days=89), as_of)
            st.session_state["filter_dates"] = tuple(min(max(d, first), as_of) for d in picked)
            picked = st.date_input("From – to", key="filter_dates", min_value=first, max_value=as_of,
                                   format="YYYY-MM-DD", on_change=clear_notices)
            # While the second date is being picked the widget holds one date.
            start, end = (picked[0], picked[-1]) if picked else (first, as_of)
            is_partial = False
        else:
            start, end, is_partial = preset_period(preset, as_of, first)
        selected = {}
        for name, (_, label) in LISTS.items():
            # A selection the data no longer offers (after an upload) would make the widget raise.
            key = f"filter_{name}"
            st.session_state[key] = [v for v in st.session_state.get(key, []) if v in options[name]]
            selected[name] = st.multiselect(label, options[name], key=key, placeholder="All",
                                            format_func=labels.value, on_change=clear_notices)
        st.date_input("Figures as of", key="filter_as_of", min_value=first, max_value=export_date,
                      format="YYYY-MM-DD", on_change=clear_notices,
                      help="Compute every figure as it stood on this day: later sessions, bookings and complaints "
                           "are left out, and six-month windows still open on it are pending.")
        if as_of == export_date:
            st.caption(f"Figures as of **{as_of:%d %b %Y}**, the export's date (its latest booking or session).")
        else:
            st.caption(f"Figures as of **{as_of:%d %b %Y}**; the export runs to {export_date:%d %b %Y}.")
        # Which data this is, on every page: a re-export with the same latest day still reads differently.
        loaded = source.query("load_summary").set_index("entity")["count_loaded"]
        st.caption(f"Loaded: {loaded['sessions']:,} sessions and {loaded['bookings']:,} bookings in all.")
        for notice in st.session_state.get(NOTICES, []):  # they quote the link: shown as typed
            st.warning(plain_text.for_markdown(notice), icon=":material/link_off:")

    _to_url(preset, start, end, selected, as_of if as_of != export_date else None)
    filters = Filters(start=start, end=end,
                      **{name: tuple(values) or None for name, values in selected.items()})
    end = min(end, as_of)
    view = View(filters, as_of, preset, start, end, is_partial, comparison_period(preset, start, end))
    st.session_state[STATE] = view
    return view


def current_view() -> View:
    """The view the sidebar selected on this run (app.py draws the sidebar before the page)."""
    return st.session_state[STATE]
