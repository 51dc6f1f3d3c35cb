"""Helpers the per-page AppTest modules share: open a page on the sample data, read its tables."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

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


def open_page(page: str, **query_params) -> AppTest:
    """`page` is the file name in dashboard/views without .py; query parameters as in a link."""
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query_params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def table(at: AppTest, first_column: str):
    """The first table on the page whose first column is titled `first_column`."""
    return next(df.value for df in at.dataframe if df.value.columns[0] == first_column)


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
