"""The audit log: who signed in, who failed to, who signed out or was signed out, and every download.

One JSON object per line (JSON Lines), appended and never rewritten:

    {"at": "2026-05-04T09:12:03.123456+00:00", "event": "download", "user": "sam", "role": "staff",
     "page": "explore", "filters": {"period": "all", "x_entity": "sessions"}, "rows": 1234,
     "client": "203.0.113.9", "file": "sessions_2025-11-01_to_2026-10-31.csv", "patient_level": true}

Events: sign_in, sign_in_failed (with the name tried), sign_in_throttled, sign_out, expired (idle too long),
account_changed (removed or password changed while signed in), download.

Where: `streamlit run dashboard/app.py -- --audit FILE`, else $PRACTICE_AUDIT (the command line wins, as for
--data). Without either, `audit.jsonl` beside the users file when the app has one (the two belong together and
are backed up together), else `.practice/audit.jsonl` under the working folder (gitignored).

Each record is one os.write on a file opened with O_APPEND, so records written at once by several sessions
(threads) or processes never interleave within a line.
"""

from __future__ import annotations

import json
import os
import threading
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

from dashboard.users import startup_argument, startup_path

AUDIT_ENV = "PRACTICE_AUDIT"
FILE_NAME = "audit.jsonl"
OPEN_FOLDER = ".practice"
FIELDS = ("at", "event", "user", "role", "page", "filters", "rows", "client")
COLUMNS = (*FIELDS, "file", "patient_level")  # the Data page's table

_lock = threading.Lock()


def location() -> Path:
    """`-- --audit FILE`, else $PRACTICE_AUDIT, else beside the users file, else .practice/ in the working folder."""
    chosen = startup_argument("audit") or os.environ.get(AUDIT_ENV)
    if chosen:
        return Path(chosen).expanduser().resolve()
    users = startup_path()
    if users is not None:
        return users.parent / FILE_NAME
    return Path.cwd() / OPEN_FOLDER / FILE_NAME


def _open(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)


def check(path: Path | None = None) -> None:
    """Raise OSError now if the log cannot be appended to (the app refuses to start protected without it)."""
    os.close(_open(path or location()))


def record(event: str, *, path: Path | None = None, **fields) -> dict:
    """Append one record; returns it. Fields beyond FIELDS (file, patient_level, reason...) are kept too.
    Raises OSError when the log cannot be written: a download that cannot be logged is not given."""
    entry = {"at": datetime.now(UTC).isoformat(), "event": event}
    entry |= {name: fields.pop(name, None) for name in FIELDS[2:]}
    entry |= fields
    line = (json.dumps(entry, ensure_ascii=False, default=str, separators=(", ", ": ")) + "\n").encode("utf-8")
    with _lock:
        handle = _open(path or location())
        try:
            written = os.write(handle, line)
            if written != len(line):  # never seen on a regular file; say so rather than leave half a line unnoticed
                raise OSError(f"audit log: wrote {written} of {len(line)} bytes")
        finally:
            os.close(handle)
    return entry


def read(limit: int = 200, path: Path | None = None) -> list[dict]:
    """The latest `limit` records, newest first. A line that is not JSON (cut short by a full disk) is skipped."""
    path = path or location()
    if not path.exists():
        return []
    latest: deque[str] = deque(maxlen=limit)
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if line.strip():
                latest.append(line)
    entries = []
    for line in reversed(latest):
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return entries


def flat(entries: list[dict]) -> list[dict]:
    """Records as table rows: COLUMNS only, the filters as the link's query string."""
    rows = []
    for entry in entries:
        row = {name: entry.get(name) for name in COLUMNS}
        if isinstance(row["filters"], dict):
            row["filters"] = urlencode(row["filters"], doseq=True)
        rows.append(row)
    return rows
