"""The pages through AppTest on input nobody checked: uploads that are not CSV files, an export that loads
nothing, export text that looks like markup, and links carrying parameters the app does not know."""

from __future__ import annotations

import re
import tomllib

import pytest
from conftest import HOSTILE, ROOT, SAMPLE_DATA, write_hostile_export
from pages import (  # noqa: F401
    assert_plain_markdown,
    chart_specs,
    drawn_text,
    fresh_caches,
    open_page,
    segmented,
    unescaped,
)

from dashboard import auth
from dashboard.charts import plain
from dashboard.filters import PARSERS
from dashboard.ui import md_plain
from dashboard.uploads import SAVE_AS_CSV

PAGES = ["overview", "body_areas", "rebooking", "aftercare", "consumables", "demand", "explore", "data"]


def upload(at, files: dict[str, bytes]):
    at.file_uploader[0].set_value([(name, data, "text/csv") for name, data in files.items()]).run()
    next(b for b in at.button if b.label == "Load these files").click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


# --- uploads -----------------------------------------------------------------------------------------------------

def test_the_upload_size_limit_is_set_and_stated_beside_the_uploader():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == 500
    at = open_page("data")
    assert any("Up to 500 MB per file" in c.value for c in at.caption)


def test_a_workbook_and_a_binary_file_are_named_with_what_to_do_and_nothing_is_loaded():
    at = open_page("data")
    before = at.dataframe[0].value
    workbook = b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml" + b"\x00" * 200
    at = upload(at, {"bookings.xlsx": workbook, "sessions.csv": bytes(range(256)) * 400,
                     "../complaints.csv": (SAMPLE_DATA / "complaints.csv").read_bytes()})
    error = unescaped(at.error[0].value)
    assert error.startswith("Nothing was changed. These files cannot be loaded:")
    assert f"bookings.xlsx is an Excel workbook, not a CSV file: {SAVE_AS_CSV}" in error
    assert "sessions.csv is not a text file" in error
    assert "../complaints.csv: a file name may not climb out of its folder" in error
    assert len(at.error) == 1  # one message, not a flood
    assert at.dataframe[0].value.equals(before)  # the data shown before stays


# --- an export with nothing loaded ---------------------------------------------------------------------------------

@pytest.fixture
def header_only(tmp_path, monkeypatch):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "bookings.csv").write_text("booking_id,patient_id,booked_at,appointment_at,treatment,status\n")
    (folder / "sessions.csv").write_text("Session ID,Patient ID,Performed At,Treatment,Body Area\n"
                                         "S1,P1,not a date,Peel,face\n")
    monkeypatch.setenv("PRACTICE_DATA", str(folder))
    return folder


@pytest.mark.parametrize("page", [p for p in PAGES if p != "data"])
def test_a_page_on_an_export_with_nothing_loaded_shows_an_empty_state(header_only, page):
    at = open_page(page)
    assert at.title[0].value == page.replace("_", " ").capitalize()
    assert "no booking or session in this export could be loaded" in at.info[0].value
    assert not at.metric and not at.get("plotly_chart") and not at.dataframe
    assert not at.sidebar.date_input  # no as-of date to pick: there is none


def test_the_data_page_on_an_export_with_nothing_loaded_says_so(header_only):
    at = open_page("data")
    warning = unescaped(at.warning[0].value)
    assert warning.startswith("Nothing to report: no booking or session could be loaded")
    assert "bookings.csv: no rows after the header" in warning and "sessions.csv: its one row rejected" in warning
    assert not any("figures as of" in m.value for m in at.markdown)
    assert at.dataframe[1].value["Reason"].tolist() == ["not a date/time: 'not a date'"]
    assert not [b for b in at.get("download_button") if b.proto.label == "Export this view"]


# --- links carrying what the app does not know -----------------------------------------------------------------------

MARK = "zz_hostile"  # in every planted value, so it can be looked for in every query
SQL = f"{MARK}' OR '1'='1'; DROP TABLE fct_sessions; --"
# Free text a person may search for or pick: kept, and bound as a value (never part of the SQL text).
FREE_TEXT = {"x_contains": f"treatment:{SQL}", "x_patient": SQL}


class RecordingCursor:
    """A DuckDB cursor that notes every statement and its bound values before running it."""

    def __init__(self, cursor, log: list):
        self._cursor, self._log = cursor, log

    def execute(self, sql, parameters=None):
        self._log.append((sql, parameters))
        return self._cursor.execute(sql, parameters) if parameters is not None else self._cursor.execute(sql)

    def sql(self, sql, params=None, **kwargs):
        self._log.append((sql, params))
        return self._cursor.sql(sql, params=params, **kwargs)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._cursor.close()

    def __getattr__(self, name):
        return getattr(self._cursor, name)


class RecordingConnection(RecordingCursor):
    def cursor(self):
        return RecordingCursor(self._cursor.cursor(), self._log)


@pytest.fixture
def statements(monkeypatch) -> list:
    """Every statement the app runs on its data, with its bound values (the data: the sample)."""
    import dataclasses

    from dashboard import source

    log: list = []
    real_load = source.load

    def recording_load(*args, **kwargs):
        result = real_load(*args, **kwargs)
        return dataclasses.replace(result, connection=RecordingConnection(result.connection, log))

    monkeypatch.setattr(source, "load", recording_load)
    return log


def hostile_link() -> dict[str, list[str]]:
    """Every parameter the app reads, each with SQL in quotes and with a value far too long, plus names it does
    not know."""
    link = {name: [SQL, MARK + "x" * 5000] for name in PARSERS}
    link |= {name: [value] for name, value in FREE_TEXT.items()}
    link |= {"utm_source": [SQL], SQL: ["1"], "<img src=x onerror=alert(1)>": ["[click](http://x)"]}
    return link


def open_with_link(page: str, link: dict[str, list[str]]):
    from pages import APP
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=60)
    for name, values in link.items():
        at.query_params[name] = values
    at.run()
    if page != "overview":
        at.switch_page(f"views/{page}.py").run()
    return at


@pytest.mark.parametrize("page", ["overview", "rebooking", "consumables", "explore"])
def test_a_hostile_link_is_dropped_with_one_notice_and_never_reaches_sql_text(statements, page):
    at = open_with_link(page, hostile_link())
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == page.capitalize()
    if page == "explore":  # the search text is kept, bound, and matches nothing
        assert any("No rows match these column filters" in i.value for i in at.info)
    else:  # the page draws its figures, on the defaults
        assert at.get("plotly_chart") and at.metric

    # One notice names every parameter dropped, as text (no link, no image).
    notice = next(w.value for w in at.sidebar.warning if unescaped(w.value).startswith("Not used from the link"))
    names = ("period", "as_of", "body_area", "recall_min", "x_sort", "utm_source", "<img src=x onerror=alert(1)>")
    assert_plain_markdown(notice, *(repr(name) for name in names))
    # What was dropped is gone from the link. Text a page checks against the data where it reads it (a lot) stays
    # in the link for that page, unread elsewhere; on its page it is dropped too.
    unread = {"lot", "curve_groups", *FREE_TEXT} - ({"lot"} if page == "consumables" else set())
    for name, values in at.query_params.items():
        assert name in PARSERS, name
        if MARK in str(values):
            assert name in unread, (name, values)

    # Every statement run: the planted text is never SQL, and is a bound value only where free text is searched.
    assert statements
    for sql, params in statements:
        assert MARK not in sql, sql
        for name, value in (params or {}).items():
            if MARK in str(value):
                assert page == "explore" and (name == "patient_id" or name.startswith("f")), (name, value)


# --- export text that looks like markup ------------------------------------------------------------------------------

FOLDER = f"export {HOSTILE[1]} {HOSTILE[2]} {HOSTILE[3]} {HOSTILE[4]}"  # a folder name is shown too
TREATMENT, LOCATION, PRACTITIONER = f"Micro-needling {HOSTILE[0]}", HOSTILE[0], HOSTILE[2]
ITEM, LOT, PATIENT = f"Numbing {HOSTILE[5]}", HOSTILE[1], f"P00 {HOSTILE[0]}"


@pytest.fixture
def hostile(tmp_path, monkeypatch):
    folder = write_hostile_export(tmp_path / FOLDER)
    monkeypatch.setenv("PRACTICE_DATA", str(folder))
    return folder


def markdown_shown(at) -> list[str]:
    """Everything on the page Streamlit renders as Markdown: text elements, alerts, headings, cards, expanders."""
    texts = [e.value for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning", "error",
                                  "success") for e in getattr(at, kind)]
    texts += [t for m in at.metric for t in (m.label, m.value, m.proto.help)]
    texts += [e.label for e in at.expander] + [t.label for t in at.tabs]
    # The app's own "not protected" notice (no export text in it) is styled Markdown on purpose.
    return [t for t in texts if auth.NOT_PROTECTED.split(":")[0] not in t]


# page, (segmented control key, value) to show export names, names drawn in its charts, names in its Markdown
PAGES_WITH_NAMES = [
    ("overview", None, [], []),
    ("body_areas", ("area_split", "location"), [LOCATION], []),
    ("body_areas", None, [TREATMENT], []),
    ("rebooking", ("rebooking_group", "practitioner"), [PRACTITIONER], []),
    ("aftercare", ("complaint_split", "treatment"), [TREATMENT], []),
    ("consumables", ("tip_group", "location"), [ITEM, LOT, LOCATION], [LOCATION]),
    ("demand", None, [], []),
    ("explore", None, [PATIENT], [PATIENT]),
    ("data", None, [], [FOLDER]),
]


@pytest.mark.parametrize("page, control, in_charts, in_markdown", PAGES_WITH_NAMES)
def test_export_text_is_shown_as_typed_on_every_page(hostile, page, control, in_charts, in_markdown):
    link = {"x_entity": "sessions", "x_patient": PATIENT} if page == "explore" else {}
    at = open_page(page, period="all", **link)
    if control:
        segmented(at, *control)
    assert not at.exception

    # Markdown: never a link, an image, bold, LaTeX or colour made of export text; the names it shows, escaped.
    shown = markdown_shown(at)
    for text in shown:
        assert_plain_markdown(text)
        for planted in HOSTILE:
            assert planted not in text, (planted, text)
    for name in in_markdown:
        assert any(md_plain(name) in text for text in shown), name

    # Plotly: <, >, & escaped in titles, ticks, legends, hovers and annotations; no name read as a placeholder.
    specs = chart_specs(at)
    drawn = drawn_text(specs)
    for planted in HOSTILE:
        if any(mark in planted for mark in "<>&%"):  # Markdown means nothing to plotly: `[click](…)` is drawn as typed
            assert planted not in drawn, planted
    assert not [line for line in drawn.splitlines() if re.fullmatch(r"\$.*\$", line)]  # LaTeX to plotly
    assert "<img" not in drawn and "<a href" not in drawn and "<b>" not in drawn
    for name in in_charts:
        assert plain(name) in drawn, name
    if ITEM in in_charts:
        assert "%\u2060{x}" in drawn  # the item's `%{x}` drawn as typed, not the hovered x value
    if page not in ("demand", "data", "overview"):
        assert specs, page
