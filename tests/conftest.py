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
