"""The benchmark (benchmarks/run.py) as a smoke test: at 20k sessions it completes, every phase and every page's
queries ran, and the headless report agrees with the pandas implementation. No timing is asserted: times on a
shared CI machine say nothing. Also: its table of what each page runs (PAGE_QUERIES) is what the pages run."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import streamlit as st
from conftest import SAMPLE_DATA
from pages import APP, fresh_caches, sample_fixture, segmented  # noqa: F401
from streamlit.testing.v1 import AppTest

from benchmarks import compare
from benchmarks import run as bench
from queries import explore
from queries.api import Filters, default_as_of, run_query
from queries.kpis import previous_period
from queries.load import load

ROOT = Path(__file__).resolve().parent.parent
SESSIONS = 20_000


def test_the_benchmark_runs_at_20k_sessions_and_the_report_agrees_with_pandas(tmp_path):
    out = tmp_path / "result.json"
    result = subprocess.run([sys.executable, "-m", "benchmarks.run", "--sessions", str(SESSIONS), "--quick",
                             "--workdir", str(tmp_path / "work"), "--json", str(out)],
                            cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    r = json.loads(out.read_text())
    assert r["failed"] == [] and r["stopped"] is None
    assert set(r["phases"]) == set(bench.PHASES)

    generated = r["phases"]["generate"]
    assert not generated["reused"] and generated["exit"] == 0
    assert abs(generated["rows"]["sessions"] - SESSIONS) < SESSIONS * 0.1
    load = r["phases"]["load"]
    assert load["runs"][0]["exit"] == 0 and load["rows_rejected"] == 0
    assert load["sessions_loaded"] == generated["rows"]["sessions"]
    assert load["peak_rss_mib"] > 0

    queries = r["phases"]["queries"]
    assert queries["exit"] == 0 and set(queries["views"]) == {"default", "narrow"}
    for label, view in queries["views"].items():
        assert view["errors"] == []
        assert set(view["pages"]) == set(bench.PAGE_QUERIES)
        for page, entry in view["pages"].items():
            ran = [(q["query"], q["rows"] is not None, len(q["warm_seconds"])) for q in entry["queries"]]
            assert ran == [(name, True, 1) for name, _, _ in bench.entries(page)], (label, page)
    # Something to show on every page: the default view has sessions, complaints and lots.
    default = {page: {q["query"]: q["rows"] for q in entry["queries"]}
               for page, entry in queries["views"]["default"]["pages"].items()}
    assert default["overview"]["sessions_by_dimension"] > 0 and default["aftercare"]["complaint_timing"] > 0
    assert default["consumables"]["lot_sessions"] > 0 and default["explore"]["explore.fetch_page"] > 0

    app = r["phases"]["apptest"]["runs"][0]
    assert app["exit"] == 0 and app["exceptions"] == [] and app["title"] == ["Overview"]
    assert app["metrics"] > 0

    report = r["phases"]["report"]
    assert report["disagreements"] == []
    assert [run["exit"] for run in report["runs"]["report"] + report["runs"]["pandas"]] == [0, 0]
    assert report["speedup"] > 0
    assert r["verdict"]["report_agrees"] is True
    assert not (tmp_path / "work" / bench.DB_NAME).exists()  # not --keep
    assert "report = pandas (compare)" in result.stdout

    # A second run reuses the generated folder (its stamp says it is complete).
    again = subprocess.run([sys.executable, "-m", "benchmarks.run", "--sessions", str(SESSIONS), "--quick",
                            "--workdir", str(tmp_path / "work"), "--json", str(out), "--phases", "generate"],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(out.read_text())["phases"]["generate"]["reused"] is True


def _recorded(monkeypatch) -> list[tuple]:
    """Every query the app runs from now on: (name, filters, as_of, params), as PAGE_QUERIES resolves them, and
    for a metric query the thread it ran on."""
    calls: list[tuple] = []
    import dashboard.source as source

    def query(con, name, filters=None, *, as_of=None, **extra):
        calls.append((name, filters, as_of, extra, threading.current_thread().name))
        return run_query(con, name, filters, as_of=as_of, **extra)

    def count_rows(con, q, filters, as_of):
        calls.append(("explore.count_rows", filters, as_of, {"entity": q.entity}, q))
        return original_count(con, q, filters, as_of)

    def fetch_page(con, q, filters, as_of, page, *args, **kwargs):
        calls.append(("explore.fetch_page", filters, as_of, {"entity": q.entity, "page": page}, q))
        return original_fetch(con, q, filters, as_of, page, *args, **kwargs)

    original_count, original_fetch = explore.count_rows, explore.fetch_page
    monkeypatch.setattr(source, "run_query", query)
    monkeypatch.setattr(explore, "count_rows", count_rows)
    monkeypatch.setattr(explore, "fetch_page", fetch_page)
    return calls


def test_page_queries_are_what_each_page_runs_on_its_defaults(monkeypatch, sample):
    """Each page opened on the sample data with nothing cached: the queries it runs, in order, with their
    filters and parameters, are PAGE_QUERIES's for the default view (the sidebar's: every page's first). Those
    a page fetches together (together(...)) run at once, in any order, and none of them runs again."""
    as_of = default_as_of(sample)
    start = as_of - timedelta(days=364)
    view = Filters(start=start, end=as_of)
    previous = previous_period(start, as_of)
    lots = run_query(sample, "lot_trace", view, as_of=as_of)
    context = {"previous_start": previous[0], "previous_end": previous[1], "grain": "month",
               "first_lot": lots["lot"].iloc[0]}

    def expected(page: str) -> list[tuple]:
        return [(name, *bench.call_arguments(which, params, view, as_of, context))
                for name, which, params in bench.entries(page)]

    def in_steps(page: str, calls: list[tuple]) -> list:
        """`calls` cut as the page's steps; a together() step's calls as a sorted list (they run at once)."""
        steps, rest = [], list(calls)
        for step in bench.PAGE_QUERIES[page]:
            if isinstance(step, bench.Together):
                steps.append(sorted(rest[:len(step)], key=repr))
                rest = rest[len(step):]
            elif rest:
                steps.append(rest.pop(0))
        return steps + rest

    calls = _recorded(monkeypatch)
    sidebar = len(bench.PAGE_QUERIES["sidebar"])
    at = AppTest.from_file(APP, default_timeout=60)
    for page in bench.PAGE_QUERIES:
        if page == "sidebar":
            continue
        st.cache_data.clear()  # the page's queries and the sidebar's run again, as on a fresh start
        calls.clear()
        if page == "overview":
            at.run()  # the default page
        else:
            at.switch_page(f"views/{page}.py").run()
        assert not at.exception, [e.message for e in at.exception]
        got = [call[:4] for call in calls]
        assert got[:sidebar] == expected("sidebar"), page
        assert in_steps(page, got[sidebar:]) == in_steps(page, expected(page)), page
        # A together() step's queries ran on queries.api.run_queries' threads, the others on the page's.
        together = [isinstance(step, bench.Together) for step in bench.PAGE_QUERIES[page]
                    for _ in (step if isinstance(step, bench.Together) else (step,))]
        threads = [call[4].startswith("queries") for call in calls[sidebar:] if not call[0].startswith("explore.")]
        assert threads == [t for t, (name, _, _) in zip(together, bench.entries(page), strict=True)
                           if not name.startswith("explore.")], page
        for call in calls:
            if call[0].startswith("explore."):  # the default table: the entity's default columns and sort
                spec = explore.entity(call[3]["entity"])
                assert (call[4].filters, call[4].shown, call[4].sort_column, call[4].is_descending) == \
                    ((), spec.default_columns, spec.default_sort, spec.default_descending)
        calls.clear()
        at.run()  # a rerun finds every query cached, those fetched together included: none runs again
        assert not at.exception and calls == [], page


@pytest.mark.parametrize("page, control, query, picked", [
    ("consumables", "tip_group", "tip_compliance_by_dimension", "location"),
    ("aftercare", "complaint_split", "complaint_rate_by_dimension", "practitioner"),
])
def test_the_grouping_fetched_ahead_is_the_one_its_control_then_shows(monkeypatch, sample, page, control, query,
                                                                      picked):
    # A page fetches its grouped query with its first queries, grouped as its control will read: with a
    # grouping picked and nothing cached, that grouping runs once, with the others on run_queries' threads.
    calls = _recorded(monkeypatch)
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(f"views/{page}.py").run()
    segmented(at, control, picked)
    st.cache_data.clear()
    calls.clear()
    at.run()
    assert not at.exception
    grouped = [(call[3], call[4].startswith("queries")) for call in calls if call[0] == query]
    assert grouped == [({"dimension": picked}, True)]


def test_compare_runs_each_tree_in_turn_and_gives_every_page(tmp_path, capsys):
    """benchmarks.compare (the interleaved A/B of two code trees) on this tree twice, on the sample data."""
    db = tmp_path / "sample.duckdb"
    load(SAMPLE_DATA, db).connection.close()
    out = tmp_path / "compare.json"
    pair = f"{ROOT}:{db}"
    assert compare.main([pair, pair, "--rounds", "2", "--runs", "1", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert len(result["rounds"]) == 2 and all(len(r) == 2 for r in result["rounds"])
    assert set(result["medians"]) == {"default", "narrow"}
    for view, pages in result["medians"].items():
        assert set(pages) == set(bench.PAGE_QUERIES), view
        assert all(len(times) == 2 and all(t > 0 for t in times) for times in pages.values())
    printed = capsys.readouterr().out
    assert "tree 2/1" in printed and "overview" in printed


def test_compare_refuses_what_it_cannot_run(tmp_path):
    with pytest.raises(SystemExit):
        compare.main([f"{tmp_path}:{tmp_path / 'x.duckdb'}"])  # no benchmarks/run.py there
    with pytest.raises(SystemExit):
        compare.main([f"{ROOT}:{tmp_path / 'missing.duckdb'}"])
    with pytest.raises(SystemExit):
        compare.main(["no-colon"])


def test_ab_times_each_tree_in_turn_and_gives_their_ratios(capsys):
    """benchmarks.ab (the interleaved A/B of the load and the report) on this tree twice, on the sample data."""
    from benchmarks import ab

    assert ab.main([str(SAMPLE_DATA), str(ROOT), str(ROOT), "--rounds", "2"]) == 0
    printed = capsys.readouterr().out
    runs = [line for line in printed.splitlines() if line.startswith("round ")]
    assert sum(": load " in line for line in runs) == 4 and sum(": report " in line for line in runs) == 4
    medians = [line for line in printed.splitlines() if line.startswith(f"  {ROOT}: ")]
    assert len(medians) == 2 and "load " in medians[0] and "(1.00)" in medians[0] and "report " in medians[0]


def test_ab_refuses_a_folder_without_the_loader(tmp_path):
    from benchmarks import ab

    with pytest.raises(SystemExit):
        ab.main([str(SAMPLE_DATA), str(tmp_path)])


def test_page_renders_times_every_page_first_and_cached(tmp_path, capsys, monkeypatch):
    """benchmarks.page_renders on the sample data: every page but the sidebar, a first render and a cached rerun."""
    from benchmarks import page_renders
    from dashboard.source import DATA_ENV

    monkeypatch.setenv(DATA_ENV, str(SAMPLE_DATA))  # page_renders sets it: monkeypatch puts back what was there
    out = tmp_path / "renders.json"
    assert page_renders.main(["--data", str(SAMPLE_DATA), "--runs", "1", "--json", str(out)]) == 0
    figures = json.loads(out.read_text())["pages"]
    assert list(figures) == [page for page in bench.PAGE_QUERIES if page != "sidebar"]
    for page, entry in figures.items():
        assert len(entry["first_seconds"]) == len(entry["rerun_seconds"]) == 1, page
        assert entry["first_seconds"][0] > 0 and entry["rerun_seconds"][0] > 0, page
    assert figures["consumables"]["rows_shown"] > 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("page") and len(printed) == 1 + len(figures)
