"""Helpers the per-page AppTest modules share: open a page on the sample data, read its widgets, tables and
charts, click a chart.

Import the fixtures by name so pytest finds them in the test module:

    from pages import fresh_caches, sample_fixture  # noqa: F401

(`sample_fixture` is the fixture `sample`: under another Python name, so the tests' `sample` argument does
not shadow an import.)
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import streamlit as st
from conftest import SAMPLE_DATA
from streamlit.testing.v1 import AppTest

from dashboard.ui import md_plain
from queries.load import load

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")


@pytest.fixture(autouse=True)
def fresh_caches(monkeypatch):
    """Each test starts on the sample data with nothing cached from another test."""
    for name in ("PRACTICE_DATA", "PRACTICE_TARGETS", "PRACTICE_SETTINGS"):
        monkeypatch.delenv(name, raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture(scope="module", name="sample")
def sample_fixture():
    """The sample data loaded directly, for expected figures computed outside the app."""
    result = load(SAMPLE_DATA)
    yield result.connection
    result.connection.close()


def open_page(page: str, **query_params) -> AppTest:
    """`page` is the file name in dashboard/views without .py; query parameters as in a link."""
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query_params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def unescaped(markdown: str) -> str:
    """Markdown as a person reads it when it came through ui.md_plain: backslash escapes and the invisible
    word joiners that stop autolinks removed."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown).replace("\u2060", "")


# Markup Streamlit would render in Markdown: a link `](`, an HTML tag, LaTeX `$…$`, a colour `:red[`, an autolink.
RAW_MARKUP = re.compile(r"(?<!\\)\]\(|(?<!\\)<[A-Za-z/]|(?<!\\)\$[^$\s][^$]*(?<!\\)\$|(?<!\\):[a-z]+(?<!\\)\[|"
                        r"https?(?<!\\):(?!\u2060)//")


def assert_plain_markdown(markdown: str, *texts: str) -> None:
    """Each of `texts` is in this Markdown escaped as ui.md_plain escapes it, and no markup is left unescaped."""
    for text in texts:
        assert md_plain(text) in markdown, (text, markdown)
    assert not RAW_MARKUP.search(markdown), markdown


def multiselect(at: AppTest, label: str):
    """The (sidebar) multiselect with this label."""
    return next(w for w in at.multiselect if w.label == label)


def segmented(at: AppTest, key: str, value: str) -> AppTest:
    """Pick `value` in the segmented control with this key, and rerun."""
    next(b for b in at.get("button_group") if b.key == key).set_value(value).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    """The metric cards' values by label."""
    return {m.label: m.value for m in at.metric}


def table(at: AppTest, *columns: str):
    """The first table on the page with these (readable) columns."""
    return next(d.value for d in at.dataframe if set(columns) <= set(d.value.columns))


def _title(spec: dict) -> str:
    return spec["layout"].get("title", {}).get("text", "")


def chart_specs(at: AppTest) -> list[dict]:
    """Every plotly chart's spec, in page order."""
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def charts(at: AppTest) -> dict[str, dict]:
    """Plotly specs by title."""
    return {_title(spec): spec for spec in chart_specs(at)}


def chart_element(at: AppTest, title_part: str):
    """The first plotly chart element whose title contains `title_part`."""
    return next(c for c in at.get("plotly_chart") if title_part in _title(json.loads(c.proto.spec)))


def chart_spec(at: AppTest, title_part: str) -> dict:
    """The spec of the first plotly chart whose title contains `title_part`."""
    return json.loads(chart_element(at, title_part).proto.spec)


def drawn_text(specs: dict | list[dict]) -> str:
    """Every string plotly may draw (titles, labels, text, hovers, legends) in one chart's spec or a list of
    them: all but `customdata`, which carries the raw value for a click and is never drawn (unless a
    hovertemplate names it: see assert_hovers_name_no_text_customdata)."""
    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key != "customdata":
                    yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)
        elif isinstance(node, str):
            yield node
    return "\n".join(walk(specs))


def assert_hovers_name_no_text_customdata(specs: list[dict]) -> None:
    """customdata holds the raw values a click maps back to; plotly draws them only where a hovertemplate
    names them (`%{customdata[i]}`), as markup: none may name a column holding text."""
    for spec in specs:
        for trace in spec["data"]:
            rows = trace.get("customdata") or []
            text_columns = {i for row in rows if isinstance(row, list) for i, v in enumerate(row) if isinstance(v, str)}
            for i in text_columns:
                assert f"customdata[{i}]" not in trace.get("hovertemplate", ""), trace


def click_bar(at: AppTest, title_part: str, value: str) -> AppTest:
    """A click on a bar, sent as the browser sends it: the chart's selection in the run's widget states.
    (Setting at.session_state[chart key] does not reach the on_select callback: Streamlit calls it only
    when the widget value arrives from the frontend, which is what this does.)"""
    chart = chart_element(at, title_part)
    states = at._tree.get_widget_states()
    state = states.widgets.add()
    state.id = chart.proto.id
    state.string_value = json.dumps({"selection": {"points": [{"customdata": [value], "point_index": 0}],
                                                   "point_indices": [0], "box": [], "lasso": []}})
    at._run(states)
    assert not at.exception, [e.message for e in at.exception]
    return at


def sidebar_pair_matching_nothing(con) -> tuple[str, str]:
    """A location and a practitioner who never worked there: together they select nothing."""
    pair = con.execute("""
        select l.location, p.practitioner
        from (select distinct location from fct_sessions) l, (select distinct practitioner from fct_sessions) p
        where not exists (select 1 from fct_bookings b where b.location = l.location and b.practitioner = p.practitioner)
          and not exists (select 1 from fct_sessions s where s.location = l.location and s.practitioner = p.practitioner)
        limit 1
    """).fetchone()
    assert pair, "the sample data should have a practitioner who never works at some location"
    return pair


def start_on_required_exports_only(tmp_path, monkeypatch) -> None:
    """The app's data becomes the sample's bookings.csv and sessions.csv alone (no optional exports)."""
    import shutil

    from conftest import SAMPLE_DATA

    for name in ("bookings.csv", "sessions.csv"):
        shutil.copy(SAMPLE_DATA / name, tmp_path / name)
    monkeypatch.setenv("PRACTICE_DATA", str(tmp_path))
