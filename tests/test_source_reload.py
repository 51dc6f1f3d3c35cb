"""The startup data rewritten while people use the app (issue 9), without a browser: a run reads one
dataset from start to end, a reload builds the new database before anyone sees it, and files caught half
written are not loaded. tests/test_concurrency.py does the same with ten browser tabs."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from conftest import booking, session
from pages import fresh_caches, unescaped  # noqa: F401
from streamlit.testing.v1 import AppTest

from dashboard import source
from queries.contract import ENTITIES

APP = str(Path(__file__).resolve().parent.parent / "dashboard" / "app.py")


def export_rows(sessions: int, day: str) -> dict[str, list[dict]]:
    """`sessions` sessions (with their bookings) on `day`: two versions differ in count and export date."""
    return {"bookings": [booking(f"B{i}", f"P{i % 7}", day) for i in range(sessions)],
            "sessions": [session(f"S{i}", f"P{i % 7}", day, booking_id=f"B{i}") for i in range(sessions)]}


def csv_text(name: str, rows: list[dict]) -> str:
    columns = list(ENTITIES[name].column_names)
    columns += [k for row in rows for k in row if k not in columns]
    lines = [",".join(columns)] + [",".join(str(row.get(c, "")) for c in columns) for row in rows]
    return "\n".join(lines) + "\n"


def write_atomically(folder: Path, tables: dict[str, list[dict]], pause: float = 0.0) -> None:
    """As an export job that writes each file beside its target and renames it over: one file at a time."""
    for name, rows in tables.items():
        temporary = folder / f".{name}.csv.part"
        temporary.write_text(csv_text(name, rows), encoding="utf-8")
        os.replace(temporary, folder / f"{name}.csv")
        time.sleep(pause)


def write_in_place(folder: Path, tables: dict[str, list[dict]], pause: float = 0.0) -> None:
    """As an export job that truncates each file and writes it in two halves: a reader can catch it half done."""
    for name, rows in tables.items():
        text = csv_text(name, rows)
        with (folder / f"{name}.csv").open("w", encoding="utf-8") as handle:
            handle.write(text[:len(text) // 2])
            handle.flush()
            time.sleep(pause)
            handle.write(text[len(text) // 2:])


def loaded(dataset: source.Dataset) -> tuple[int, int, int]:
    """(sessions loaded, bookings loaded, rows rejected) of a dataset."""
    with dataset.connection.cursor() as cursor:
        counts = dict(cursor.execute("select entity, count_loaded from load_files").fetchall())
        rejected = cursor.execute("select sum(count_rejected) from load_files").fetchone()[0]
    return counts["sessions"], counts["bookings"], int(rejected)


def test_a_run_reads_one_dataset_even_when_the_files_are_replaced_during_it(tmp_path, monkeypatch):
    folder = tmp_path / "export"
    folder.mkdir()
    write_atomically(folder, export_rows(3, "2025-01-10"))
    monkeypatch.setenv("PRACTICE_DATA", str(folder))
    monkeypatch.setattr(source, "SETTLE_SECONDS", 0)  # pick the new files up at once
    used: list = []  # (run, connection) of every query the page runs
    run_number = [1]
    original = source.run_query

    def recording_run_query(con, name, *args, **kwargs):
        if not used:  # the run's first query: the export job replaces the files now
            write_atomically(folder, export_rows(5, "2025-02-20"))
        used.append((run_number[0], con))
        return original(con, name, *args, **kwargs)

    monkeypatch.setattr(source, "run_query", recording_run_query)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["period"] = "all"
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    first_run = {id(con) for run, con in used if run == 1}
    assert len(first_run) == 1, f"one run read {len(first_run)} datasets"
    assert {m.label: m.value for m in at.metric}["Sessions"] == "3"

    run_number[0] = 2
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    second_run = {id(con) for run, con in used if run == 2}
    assert len(second_run) == 1 and second_run != first_run
    assert {m.label: m.value for m in at.metric}["Sessions"] == "5"


def test_files_that_cannot_be_loaded_again_leave_the_previous_data_shown_with_a_warning(tmp_path, monkeypatch):
    folder = tmp_path / "export"
    folder.mkdir()
    write_atomically(folder, export_rows(3, "2025-01-10"))
    monkeypatch.setenv("PRACTICE_DATA", str(folder))
    monkeypatch.setattr(source, "SETTLE_SECONDS", 0)
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["period"] = "all"
    at.run()
    (folder / "sessions.csv").write_text("session_id,patient_id\nS1,P1\n", encoding="utf-8")
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert {m.label: m.value for m in at.metric}["Sessions"] == "3"
    warning = unescaped(at.warning[0].value)  # the loader's message is shown as typed (escaped Markdown)
    assert "could not be loaded" in warning and "missing required column 'performed_at'" in warning
    write_atomically(folder, export_rows(4, "2025-01-11"))
    at.run()
    assert {m.label: m.value for m in at.metric}["Sessions"] == "4"
    assert not [w for w in at.warning if "could not be loaded" in w.value]


def test_sessions_reading_while_the_export_is_rewritten_only_ever_get_a_complete_version(tmp_path, monkeypatch):
    """Eight threads (sessions) ask for the data while an export job rewrites the folder twice: first each
    file atomically, then in place, pausing between files or halfway through each for longer than a load
    takes. Every dataset handed out must hold exactly one version: no rejects from a cut-off line, no
    sessions of one version with bookings of the other. (With SETTLE_SECONDS = 0 it fails.)"""
    monkeypatch.setattr(source, "SETTLE_SECONDS", 1.4)
    folder = tmp_path / "export"
    folder.mkdir()
    versions = [export_rows(300, "2025-01-10"), export_rows(450, "2025-02-20")]
    expected = [(300, 300, 0), (450, 450, 0)]
    write_atomically(folder, versions[0])
    source._shared_dataset(folder)  # the app is up on the first version before the export job runs
    seen: dict[int, source.Dataset] = {}
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                dataset = source._shared_dataset(folder)
                seen.setdefault(id(dataset), dataset)
                time.sleep(0.01)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def wait_until_shown(version: int) -> None:
        deadline = time.monotonic() + 15
        while loaded(source._shared_dataset(folder)) != expected[version]:
            assert time.monotonic() < deadline, f"version {version} was not loaded once quiet"
            time.sleep(0.1)

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for thread in threads:
        thread.start()
    try:
        write_atomically(folder, versions[1], pause=1.0)
        wait_until_shown(1)
        write_in_place(folder, versions[0], pause=1.0)
        wait_until_shown(0)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    assert not errors, errors
    contents = {loaded(d) for d in seen.values()}
    print(f"\nreaders were handed {len(seen)} datasets: {sorted(contents)}")
    assert contents <= set(expected), f"a half-written or mixed export was loaded: {sorted(contents - set(expected))}"
