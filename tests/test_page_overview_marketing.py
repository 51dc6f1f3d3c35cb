"""The Overview signed in as marketing (SPEC 2.14, issue 9): every figure counting fewer than k patients reads
`<k` on the cards, in the tables, the chart and every download, and so does a figure that would give it away;
no patient count and no identifier leaves the page. The owner sees the same export exactly.

Two sites (queries: tests/test_privacy.py builds the same rows): Main, 30 patients with one session each at
$100; Annex, 3 patients with two sessions each at $123.45, one of whom missed an appointment."""

from __future__ import annotations

import base64
import io
import json
import threading

import numpy as np
import openpyxl
import pandas as pd
import pytest
from conftest import write_export
from pages import APP, fresh_caches, metrics  # noqa: F401
from streamlit.testing.v1 import AppTest
from test_privacy import OVERVIEW_BOOKINGS, OVERVIEW_SESSIONS

from dashboard import auth, source, users
from queries import export, privacy
from queries.api import run_query

PEOPLE = {"olive": ("owner", "olive's passphrase"), "mia": ("marketing", "mia's passphrase")}
BY_ROLE = {role: name for name, (role, _) in PEOPLE.items()}
ANNEX_REVENUE = "740.7"  # 6 × 123.45: Annex's revenue must not be seen by marketing, in any form


@pytest.fixture(autouse=True)
def two_sites(tmp_path, monkeypatch):
    """The app started on the two-site export, with one user per role."""
    from argon2 import PasswordHasher

    monkeypatch.setenv("PRACTICE_DATA", str(write_export(tmp_path / "export", bookings=OVERVIEW_BOOKINGS,
                                                          sessions=OVERVIEW_SESSIONS)))
    monkeypatch.setattr(users, "HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    monkeypatch.setattr(auth, "monotonic", lambda: 1000.0)
    path = tmp_path / "users.toml"
    for name, (role, password) in PEOPLE.items():
        users.add_user(path, name, role, password)
    monkeypatch.setenv("PRACTICE_USERS", str(path))




def overview_as(role: str, **query_params) -> AppTest:
    """The Overview for `role`, signed in, with the sidebar as in a link (`period=all`, `location=Annex`)."""
    at = AppTest.from_file(APP, default_timeout=60)
    for key, value in query_params.items():
        at.query_params[key] = value
    at.run()
    name = BY_ROLE[role]
    at.text_input(key="auth_username").input(name)
    at.text_input(key="auth_password").input(PEOPLE[name][1])
    next(b for b in at.button if b.label == "Sign in").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.title[0].value == "Overview"
    return at


def tables(at: AppTest) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe]


def chart_values(at: AppTest) -> list:
    """Every y value of the Overview's chart (plotly may pack arrays as base64)."""
    found = []
    for chart in at.get("plotly_chart"):
        for trace in json.loads(chart.proto.spec)["data"]:
            y = trace.get("y")
            if isinstance(y, dict) and "bdata" in y:
                y = np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]).tolist()
            found += list(y or [])
    return found


def files(downloads) -> dict[str, list[pd.DataFrame]]:
    """Each download as tables: a CSV's, a workbook's sheets but the Summary (the period and k)."""
    out = {}
    for name, data in downloads.items():
        data = data() if callable(data) else data
        if name.endswith(".xlsx"):
            book = openpyxl.load_workbook(io.BytesIO(data))
            out[name] = [pd.DataFrame(list(sheet.iter_rows(min_row=2, values_only=True)),
                                      columns=[c.value for c in sheet[1]])
                         for sheet in book if sheet.title != export.SUMMARY]
        else:
            out[name] = [pd.read_csv(io.BytesIO(data), dtype=object, keep_default_na=False)]
    return out


def figures_in(frame: pd.DataFrame, skip: tuple[str, ...] = ()) -> list:
    """The figures of a table: every cell but its first column (the row's name) and the `skip` columns."""
    return [v for column in frame.columns[1:] if column not in skip for v in frame[column].tolist()]


def assert_only_hidden_or_zero(values, where: str) -> None:
    """Under Annex alone everything counts 3 patients: a figure may read <11 or 0 (counting nobody), or be empty."""
    for value in values:
        if value is None or value == "" or value == "—" or (isinstance(value, float) and np.isnan(value)):
            continue
        if isinstance(value, str) and (privacy.is_hidden(value) or value.startswith("$0") or value == "0"):
            continue
        assert isinstance(value, int | float) and value == 0, f"{where}: {value!r} is shown"


# --- marketing: a filter narrowed to 3 patients ----------------------------------------------------------------------

def test_marketing_sees_a_small_site_only_as_hidden_figures(downloads):
    at = overview_as("marketing", period="all", location="Annex")
    cards = metrics(at)
    assert cards["Sessions"] == "<11" and cards["New patients"] == "<11"
    for label in ("Revenue", "Avg price", "No-shows", "Cancellations"):
        assert cards[label] in ("—", "0.0%"), (label, cards[label])  # hidden, or a 0 counting nobody
    assert cards["Revenue"] == "—" and cards["No-shows"] == "—"
    notes = " ".join(c.value for c in at.caption)
    assert "<11 patients" in notes and "<11 still pending" in notes
    assert [m.delta for m in at.metric if m.delta] == [], "no change from a hidden figure"

    for frame in tables(at):
        assert_only_hidden_or_zero(figures_in(frame), f"table {list(frame.columns)}")
    drawn = [v for v in chart_values(at) if v is not None and not np.isnan(v)]
    assert chart_values(at) and not drawn, "the chart draws nothing small"
    assert ANNEX_REVENUE not in json.dumps([json.loads(c.proto.spec) for c in at.get("plotly_chart")])

    made = files(downloads)
    assert "top_locations.csv" in made and any(name.endswith(".xlsx") for name in made)
    for name, frames in made.items():
        for frame in frames:
            assert not {"patient_id", "booking_id", "session_id", "Patient", "Patients"} & set(map(str, frame.columns))
            assert not [c for c in map(str, frame.columns) if "patients" in c.lower() and c != "New patients"], name
            assert_only_hidden_or_zero(figures_in(frame, skip=("Period start",)), name)
            assert ANNEX_REVENUE not in frame.to_csv(), name


def test_marketing_sees_the_practice_with_the_small_site_and_its_companion_hidden(downloads):
    at = overview_as("marketing", period="all")
    cards = metrics(at)
    assert cards["Sessions"] == "36"  # 33 patients: shown
    assert cards["No-shows"] == "—"  # one patient's no-show, and the rate that gives it away
    locations = next(f for f in tables(at) if "Location" in f.columns)
    assert dict(zip(locations["Location"], locations["Sessions"], strict=True)) == {"Main": "<11", "Annex": "<11"}
    workbook = next(frames for name, frames in files(downloads).items() if name.endswith(".xlsx"))
    sheet = next(f for f in workbook if "Location" in f.columns)
    assert dict(zip(sheet["Location"], sheet["Sessions"], strict=True)) == {"Main": "<11", "Annex": "<11"}
    cards_sheet = workbook[0]
    assert cards_sheet.loc[0, "Sessions"] == 36 and cards_sheet.loc[0, "No-shows"] == "<11"


# --- the owner: the same view, exact ---------------------------------------------------------------------------------

def test_the_owner_sees_the_exact_numbers(downloads):
    at = overview_as("owner", period="all", location="Annex")
    cards = metrics(at)
    assert cards["Sessions"] == "6" and cards["New patients"] == "3" and cards["Revenue"] == "$740.70"
    assert cards["No-shows"] == "25.0%"
    locations = next(f for f in tables(at) if "Location" in f.columns)
    assert locations.to_dict("list") == {"Location": ["Annex"], "Sessions": [6], "Revenue ($)": [740.7]}
    assert 6 in chart_values(at)
    workbook = next(frames for name, frames in files(downloads).items() if name.endswith(".xlsx"))
    assert [list(f.columns) for f in workbook][1] == ["Treatment", "Sessions", "Revenue ($)"], "no patient column"


@pytest.mark.parametrize("k, sessions", [
    pytest.param(5, "36", id="k=5: the practice's 33 patients shown"),
    pytest.param(34, "<34", id="k=34: hidden, and labelled with the practice's k"),
])
def test_k_comes_from_the_practice_settings(tmp_path, downloads, k, sessions):
    (tmp_path / "export" / "practice.toml").write_text(f"[privacy]\nmin_patients_per_cell = {k}\n")
    at = overview_as("marketing", period="all")
    assert metrics(at)["Sessions"] == sessions
    locations = next(f for f in tables(at) if "Location" in f.columns)
    assert set(locations["Sessions"]) == {f"<{k}"}
    workbook = next(frames for name, frames in files(downloads).items() if name.endswith(".xlsx"))
    assert workbook[0].loc[0, "Sessions"] == (36 if k == 5 else f"<{k}")


# --- how the page fetches ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["marketing", "owner"])
def test_each_role_fetches_its_overview_queries_together_once(monkeypatch, role):
    """Every query the Overview shows (the period's and the comparison period's) runs on run_queries' threads
    before the page draws, none twice, and a rerun finds them all cached."""
    ran = []

    def recorded(con, name, filters=None, *, as_of=None, **extra):
        ran.append((name, filters, tuple(sorted(extra.items())), threading.current_thread().name))
        return run_query(con, name, filters, as_of=as_of, **extra)

    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    monkeypatch.setattr(source, "run_query", recorded)
    name = BY_ROLE[role]
    at.text_input(key="auth_username").input(name)
    at.text_input(key="auth_password").input(PEOPLE[name][1])
    next(b for b in at.button if b.label == "Sign in").click().run()
    assert not at.exception and at.title[0].value == "Overview"
    overview_queries = [r for r in ran if r[0] not in ("load_summary", "load_meta", "filter_options")]
    periods = {r[1] for r in overview_queries}
    assert len(periods) == (2 if role == "marketing" else 1)  # marketing's comparison period is a query of its own
    assert len(overview_queries) == (13 if role == "marketing" else 8)
    assert len({r[:3] for r in overview_queries}) == len(overview_queries), "a query ran twice"
    assert {r[3].split("_")[0] for r in overview_queries} == {"queries"}, "ran on the page's thread"
    ran.clear()
    at.run()
    assert not at.exception and ran == []
