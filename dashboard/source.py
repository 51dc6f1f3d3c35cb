"""Where the figures come from: the data the app was started on, or an upload.

The data the app starts on (sample data, `--data PATH` or $PRACTICE_DATA) is
shared by every browser session. An upload is kept in the uploading session
only and dropped when it ends: patient data is not shown to other users.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import uploads
from queries.api import Filters, nothing_to_report, run_query
from queries.kpis import Target, TargetsError
from queries.load import PARQUET_MANIFEST, LoadError, LoadResult, Progress, load, open_built
from queries.settings import SETTINGS_NAME, TARGETS_NAME, Settings, read_settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = ROOT / "sample_data" / "default"
DATA_ENV = "PRACTICE_DATA"
SETTINGS_ENV = "PRACTICE_SETTINGS"
TARGETS_ENV = "PRACTICE_TARGETS"  # before practice.toml: a targets file alone
UPLOAD_KEY = "uploaded_dataset"


@dataclass(frozen=True)
class Dataset:
    connection: object
    version: str  # new for every load: the key every cached figure hangs on
    label: str
    path: Path | None  # folder or .duckdb file it came from; None for an upload
    is_upload: bool = False
    upload_settings: Settings | None = None  # from a practice.toml (or targets.toml) uploaded with the exports


def startup_path() -> Path:
    """`streamlit run dashboard/app.py -- --data PATH`, else $PRACTICE_DATA, else the sample data."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--data")
    args, _ = parser.parse_known_args(sys.argv[1:])
    chosen = args.data or os.environ.get(DATA_ENV)
    return Path(chosen).expanduser().resolve() if chosen else SAMPLE_DATA


def _modified(path: Path) -> tuple:
    """Changes when an export (or map) in the folder is added, removed or edited; or the .duckdb or the
    Parquet folder (its manifest, written last) is rebuilt."""
    if path.is_dir():
        return tuple(sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in path.iterdir()
                            if p.is_file() and (p.suffix.lower() in (".csv", ".toml") or p.name == PARQUET_MANIFEST)))
    return (path.stat().st_mtime_ns,) if path.exists() else ()


@st.cache_resource(show_spinner="Loading the practice's data…", max_entries=2)
def _shared_dataset(path: str, modified: tuple) -> Dataset:
    """One load per data version, shared by all sessions (read through a cursor per thread)."""
    source = Path(path)
    if (connection := open_built(source)) is not None:  # a .duckdb file or a --parquet folder
        return Dataset(connection, f"{source}:{modified}", source.name, source)
    result = load(source)
    label = "Sample data (synthetic)" if source == SAMPLE_DATA else source.name
    return Dataset(result.connection, result.version, label, source)


def current() -> Dataset:
    """The dataset this browser session is looking at. Raises LoadError if there is none."""
    uploaded = st.session_state.get(UPLOAD_KEY)
    if uploaded is not None:
        return uploaded
    path = startup_path()
    return _shared_dataset(str(path), _modified(path))


def load_upload(files: list, progress: Progress | None = None) -> LoadResult:
    """Load uploaded exports into this session only; on error (uploads.UploadRefused when a file cannot be
    used: a name leaving the folder, a workbook, binary data) the previous data stays."""
    checked = uploads.check(files)
    if checked.problems:
        raise uploads.UploadRefused(checked.problems)
    folder = Path(tempfile.mkdtemp(prefix="practice-upload-"))
    try:
        for name, uploaded in checked.accepted.items():
            (folder / name).write_bytes(uploaded.getvalue())
        result = load(folder, progress=progress)
        uploaded_settings = read_settings(folder)
    except TargetsError as exc:
        raise LoadError(str(exc)) from exc
    except LoadError as exc:
        # The temporary folder's name means nothing to the person who uploaded.
        raise LoadError(str(exc).replace(f" in {folder}", " among the uploaded files")
                        .replace(str(folder), "the upload")) from exc
    finally:
        # The exports hold patient data: nothing of them stays on disk.
        shutil.rmtree(folder, ignore_errors=True)
    names = ", ".join(sorted(checked.accepted))
    st.session_state[UPLOAD_KEY] = Dataset(result.connection, result.version, f"Uploaded: {names}", None, True,
                                           uploaded_settings)
    return result


def forget_upload() -> None:
    st.session_state.pop(UPLOAD_KEY, None)


@st.cache_data(show_spinner=False, max_entries=500)
def _cached_query(version: str, name: str, filters: Filters | None, as_of: date | None,
                  extra: tuple, _connection) -> pd.DataFrame:
    return run_query(_connection, name, filters, as_of=as_of, **dict(extra))


def query(name: str, filters: Filters | None = None, as_of: date | None = None, **extra) -> pd.DataFrame:
    """Run a named metric query on the current dataset, cached per data version."""
    dataset = current()
    return _cached_query(dataset.version, name, filters, as_of, tuple(sorted(extra.items())), dataset.connection)


def absent_files() -> set[str]:
    """Optional exports (complaints, consumables) this dataset does not have."""
    summary = query("load_summary")
    return set(summary.loc[~summary["is_present"], "entity"])


def nothing_loaded() -> str | None:
    """Why this dataset has no figures (no booking or session loaded), or None: see queries.api.nothing_to_report."""
    summary = query("load_summary")
    files = {row.entity: {"file": row.file_name, "read": row.count_read, "loaded": row.count_loaded}
             for row in summary.itertuples()}
    problem = nothing_to_report(files)
    return problem[0].upper() + problem[1:] if problem else None


def export_date() -> date:
    """The default as-of date: the latest booking made or session performed (load_meta)."""
    return query("load_meta").iloc[0]["default_as_of"].date()


def _stamp(path: Path | None) -> tuple:
    return (str(path), path.stat().st_mtime_ns) if path is not None and path.is_file() else (str(path), None)


@st.cache_data(show_spinner=False, max_entries=8)
def _read_settings(folder: str, settings_file: str | None, targets_file: str | None,
                   stamps: tuple) -> tuple[Settings, str | None]:
    """(settings, what is wrong with the files or None), read again only when a file changes (`stamps`)."""
    try:
        return read_settings(Path(folder), Path(settings_file) if settings_file else None,
                             Path(targets_file) if targets_file else None), None
    except TargetsError as exc:
        return Settings(), str(exc)


def _settings_and_problem() -> tuple[Settings, str | None]:
    dataset = current()
    settings_file, targets_file = os.environ.get(SETTINGS_ENV), os.environ.get(TARGETS_ENV)
    if dataset.is_upload and not (settings_file or targets_file):
        return dataset.upload_settings or Settings(), None
    path = startup_path()
    folder = path if path.is_dir() else path.parent
    candidates = (Path(settings_file) if settings_file else folder / SETTINGS_NAME,
                  Path(targets_file) if targets_file else folder / TARGETS_NAME)
    return _read_settings(str(folder), settings_file, targets_file, tuple(_stamp(c) for c in candidates))


def settings() -> Settings:
    """The practice's settings: uploaded with the exports, else $PRACTICE_SETTINGS, else practice.toml
    beside the startup data ($PRACTICE_TARGETS, when set, names the targets); the defaults when the file
    cannot be used (settings_problem says why; app.py shows it once above the page)."""
    return _settings_and_problem()[0]


def settings_problem() -> str | None:
    """Why the practice's settings file cannot be used, or None."""
    return _settings_and_problem()[1]


def targets() -> dict[str, Target]:
    return settings().targets


__all__ = ["Dataset", "LoadError", "current", "export_date", "forget_upload", "load_upload", "query", "settings"]
