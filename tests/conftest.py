"""Shared fixtures: build a database from a few hand-written rows.

    def test_x(build_db):
        con = build_db(
            bookings=[booking("B1", "P1", appointment_at="2025-01-10")],
            sessions=[session("S1", "P1", performed_at="2025-01-10")],
        )
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager

from queries.contract import ENTITIES
from queries.load import load

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = ROOT / "sample_data" / "default"


def write_export(folder: Path, **tables: list[dict] | None) -> Path:
    """Write each given table as `<name>.csv` with the contract's columns (None: file absent)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in tables.items():
        if rows is None:
            continue
        columns = list(ENTITIES[name].column_names)
        for row in rows:
            columns += [k for k in row if k not in columns]
        with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
    return folder


def booking(booking_id, patient_id, appointment_at, *, booked_at=None, treatment="Micro-needling",
            status="completed", **extra) -> dict:
    return {"booking_id": booking_id, "patient_id": patient_id, "booked_at": booked_at or appointment_at,
            "appointment_at": appointment_at, "treatment": treatment, "status": status, **extra}


def session(session_id, patient_id, performed_at, *, treatment="Micro-needling", body_area="face",
            **extra) -> dict:
    return {"session_id": session_id, "patient_id": patient_id, "performed_at": performed_at,
            "treatment": treatment, "body_area": body_area, **extra}


def consumable(session_id, item="MicroPen sterile tip (12-needle)", *, category="needle_tip", quantity="1",
               unit="each", **extra) -> dict:
    return {"session_id": session_id, "item": item, "category": category, "quantity": quantity,
            "unit": unit, **extra}


def complaint(complaint_id, patient_id, reported_at, *, category="prolonged_redness", **extra) -> dict:
    return {"complaint_id": complaint_id, "patient_id": patient_id, "reported_at": reported_at,
            "category": category, **extra}


@pytest.fixture(autouse=True)
def open_app_with_its_own_audit_log(tmp_path, monkeypatch):
    """Every test starts with no users file (the app runs open) and writes any audit record under tmp_path,
    never into the working folder's .practice/."""
    for name in ("PRACTICE_USERS", "PRACTICE_IDLE_MINUTES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PRACTICE_AUDIT", str(tmp_path / "audit" / "audit.jsonl"))


@pytest.fixture
def build_db(tmp_path):
    """Load hand-written rows into an in-memory database; returns the connection."""
    connections = []

    def build(bookings=(), sessions=(), consumables=None, complaints=None):
        folder = write_export(tmp_path / f"export{len(connections)}", bookings=list(bookings),
                              sessions=list(sessions), consumables=consumables, complaints=complaints)
        result = load(folder)
        connections.append(result.connection)
        return result.connection

    yield build
    for con in connections:
        con.close()


# Export text that Markdown or plotly would render as markup: a link, an image with a script, bold, LaTeX, colour,
# a plotly hover placeholder. The app must show each as typed.
HOSTILE = ("[click](http://x)", "<img src=x onerror=alert(1)>", "**bold**", "$x$", ":red[x]",
           "<a href='http://x'>a</a> <b>b</b><br>%{x}")


def write_hostile_export(folder: Path) -> Path:
    """An export whose every text column (ids, treatments, locations, practitioners, items, lots; channels and
    concerns too, which the loader turns into codes) holds HOSTILE strings, with enough rows over 14 months for
    every page to draw its figures. (Units are a contract enum: a hostile one is rejected.)"""
    h = HOSTILE
    treatments = (f"Micro-needling {h[0]}", f"{h[1]} peel")
    bookings, sessions, consumables, complaints = [], [], [], []
    for p in range(60):
        patient = f"P{p:02d} {h[p % len(h)]}"
        for visit in range(3):
            month = 1 + (p % 6) + 4 * visit  # 2025-01 … 2026-02
            day = f"{2025 + (month - 1) // 12}-{(month - 1) % 12 + 1:02d}-{1 + p % 27:02d}"
            booking_id, session_id = f"B{p}-{visit} {h[2]}", f"S{p}-{visit} {h[3]}"
            where = dict(location=h[(p + visit) % 5], practitioner=h[(p + 2) % len(h)])
            bookings.append(booking(booking_id, patient, f"{day} 10:00", booked_at=f"{day} 09:00",
                                    treatment=treatments[visit % 2], channel=h[p % len(h)], concern=h[p % 5],
                                    status="no_show" if p % 9 == 0 and visit == 2 else "completed", **where))
            if p % 9 == 0 and visit == 2:
                continue
            sessions.append(session(session_id, patient, f"{day} 10:00", treatment=treatments[visit % 2],
                                    body_area=("face", "neck", "chest")[p % 3], booking_id=booking_id,
                                    needle_depth_mm="0.5", price="150", **where))
            consumables.append(consumable(session_id, f"Sterile tip {h[4]}", lot=h[p % 3], unit_cost="4"))
            consumables.append(consumable(session_id, f"Numbing {h[5]}", category="numbing", quantity="2",
                                          unit="ml", lot=f"N-{h[0]}", unit_cost="1.5"))
            if p % 4 == 0:
                complaints.append(complaint(f"C{p}-{visit} {h[1]}", patient, f"{day} 18:00", session_id=session_id,
                                            severity="mild"))
    return write_export(folder, bookings=bookings, sessions=sessions, consumables=consumables, complaints=complaints)


# Downloads: AppTest does not click, so the tests read what each button registered with the media manager.
@pytest.fixture
def downloads(monkeypatch):
    """What every download button of a run would send: {file name: bytes}, workbooks built as a click would."""
    made = {}
    add_deferred, add = MediaFileManager.add_deferred, MediaFileManager.add

    def record_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        made[file_name] = data_callable
        return add_deferred(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    def record(self, content, mimetype, coordinates, file_name=None, **kwargs):
        made[file_name] = content
        return add(self, content, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", record_deferred)
    monkeypatch.setattr(MediaFileManager, "add", record)
    return made
