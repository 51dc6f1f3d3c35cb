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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboard import uploads
from queries.api import LIST_TOTALS, Call, Filters, nothing_to_report, run_queries, run_query
from queries.kpis import Target, TargetsError
from queries.load import PARQUET_MANIFEST, LoadError, LoadResult, Progress, load, open_built
from queries.settings import SETTINGS_NAME, TARGETS_NAME, Settings, read_settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DATA = ROOT / "sample_data" / "default"
DATA_ENV = "PRACTICE_DATA"
SETTINGS_ENV = "PRACTICE_SETTINGS"
TARGETS_ENV = "PRACTICE_TARGETS"  # before practice.toml: a targets file alone
UPLOAD_KEY = "uploaded_dataset"
RUN_KEY = "dataset_this_run"
# A folder whose exports changed less than this long ago is still being written (an export job overwrites
# the files one by one, or in place): keep showing the last complete load until it has been quiet this long.
SETTLE_SECONDS = 2.0


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
        stamps = []
        for p in sorted(path.iterdir()):
            try:
                if p.is_file() and (p.suffix.lower() in (".csv", ".toml") or p.name == PARQUET_MANIFEST):
                    stamps.append((p.name, p.stat().st_size, p.stat().st_mtime_ns))
            except FileNotFoundError:  # removed while we looked (an export job replacing it)
                continue
        return tuple(stamps)
    return (path.stat().st_mtime_ns,) if path.exists() else ()


def _being_written(folder: Path) -> bool:
    """Whether an export in the folder changed within SETTLE_SECONDS. ctime, not mtime: a copy that keeps
    the exporter's mtimes (cp -p, rsync) still sets it, and nothing can set it back."""
    changed = []
    try:
        for p in folder.iterdir():
            if p.is_file() and p.suffix.lower() in (".csv", ".toml"):
                changed.append(p.stat().st_ctime)
    except FileNotFoundError:  # a file (or the folder) went away while we looked: something is at work
        return True
    return bool(changed) and time.time() - max(changed) < SETTLE_SECONDS


def _open(source: Path) -> Dataset:
    """Load the folder (or open the .duckdb): the whole database is built before anyone is given it."""
    with st.spinner("Loading the practice's data…"):
        if (connection := open_built(source)) is not None:  # a .duckdb file or a --parquet folder
            return Dataset(connection, f"{source}:{_modified(source)}", source.name, source)
        result = load(source)
    label = "Sample data (synthetic)" if source == SAMPLE_DATA else source.name
    return Dataset(result.connection, result.version, label, source)


@dataclass(frozen=True)
class _Loaded:
    dataset: Dataset  # the last complete load
    stamp: tuple  # the files' stamp last dealt with: loaded into `dataset`, or failed with `problem`
    problem: str | None = None  # why the files as they now are could not be loaded (`dataset` is older)


@dataclass(eq=False)
class _Latest:
    """The startup data as last loaded, shared by all sessions. `loaded` is replaced whole, never changed
    in place, so a session reading it without the lock sees one consistent state."""

    loading: threading.Lock = field(default_factory=threading.Lock)
    loaded: _Loaded | None = None


@st.cache_resource(show_spinner=False)
def _latest(path: str) -> _Latest:
    return _Latest()


def _shared_dataset(path: Path) -> Dataset:
    """The startup data as last loaded completely. Only one session loads new files; the others keep
    getting the previous dataset meanwhile (a first load, with nothing to show, they wait for).

    A replaced dataset is not closed here: runs, and Export buttons, still holding it keep using it, and
    DuckDB closes it once the last of them lets go of it."""
    latest = _latest(str(path))
    stamp = _modified(path)
    before = latest.loaded
    if before is not None:
        if stamp == before.stamp or (path.is_dir() and _being_written(path)):
            return before.dataset
        if not latest.loading.acquire(blocking=False):
            return before.dataset
    else:
        latest.loading.acquire()
    try:
        before = latest.loaded
        if before is not None and stamp == before.stamp:  # loaded by the session we waited for
            return before.dataset
        for attempt in range(3):
            try:
                dataset = _open(path)
            except LoadError as exc:
                if before is None:
                    raise
                if _modified(path) == stamp:  # not a file caught half-written: say so until the files change
                    latest.loaded = _Loaded(before.dataset, stamp, str(exc))
                return before.dataset
            if _modified(path) == stamp or attempt == 2:
                break
            # The files changed while being read: what was read may be half old, half new.
            if before is not None:
                return before.dataset  # a later run loads them once they are quiet
            stamp = _modified(path)  # nothing to show yet: read them again
        latest.loaded = _Loaded(dataset, stamp)
        return dataset
    finally:
        latest.loading.release()


def _resolve() -> Dataset:
    uploaded = st.session_state.get(UPLOAD_KEY)
    if uploaded is not None:
        return uploaded
    return _shared_dataset(startup_path())


@dataclass(eq=False)
class _Run:
    dataset: Dataset
    settings: tuple[Settings, str | None] | None = None


def begin_run() -> Dataset:
    """Choose the dataset this run shows (app.py calls it first, on every run). Every current() and
    query() until the next run gets this same one, even if the files are reloaded meanwhile, so no page
    mixes figures from two versions of the data. Raises LoadError if there is none."""
    st.session_state.pop(RUN_KEY, None)
    dataset = _resolve()
    # Kept in the session until its next run: an idle tab's Export button still builds from what it shows.
    st.session_state[RUN_KEY] = _Run(dataset)
    return dataset


def _run() -> _Run | None:
    return st.session_state.get(RUN_KEY)


def current() -> Dataset:
    """The dataset this browser session is looking at on this run. Raises LoadError if there is none."""
    run = _run()
    return run.dataset if run is not None else _resolve()


def reload_problem() -> str | None:
    """Why the startup data's files, changed since, could not be loaded again (the older data is shown)."""
    dataset = current()
    if dataset.is_upload or dataset.path is None:
        return None
    loaded = _latest(str(dataset.path)).loaded
    return loaded.problem if loaded is not None and loaded.dataset is dataset else None


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
    dataset = Dataset(result.connection, result.version, f"Uploaded: {names}", None, True, uploaded_settings)
    st.session_state[UPLOAD_KEY] = dataset
    st.session_state[RUN_KEY] = _Run(dataset)  # the rest of this run (it reruns next) shows the upload
    return result


def forget_upload() -> None:
    st.session_state.pop(UPLOAD_KEY, None)
    st.session_state.pop(RUN_KEY, None)


class _NotCached(Exception):
    """_cached_query's answer to _ASK: the query is not cached (an exception, so Streamlit caches nothing)."""


_ASK = object()


@st.cache_data(show_spinner=False, max_entries=500)
def _cached_query(version: str, name: str, filters: Filters | None, as_of: date | None,
                  extra: tuple, _connection, _fetched=None) -> pd.DataFrame:
    # _fetched (not part of the key): prefetch's _ASK, or the frame it fetched, cached as if run here.
    if _fetched is _ASK:
        raise _NotCached
    if _fetched is not None:
        return _fetched
    return run_query(_connection, name, filters, as_of=as_of, **dict(extra))


def _key(dataset: Dataset, name: str, filters: Filters | None, as_of: date | None, extra: dict) -> tuple:
    """_cached_query's arguments that make its key: query() and prefetch() must build the same ones."""
    return dataset.version, name, filters, as_of, tuple(sorted(extra.items()))


def query(name: str, filters: Filters | None = None, as_of: date | None = None, **extra) -> pd.DataFrame:
    """Run a named metric query on the current dataset, cached per data version."""
    dataset = current()
    return _cached_query(*_key(dataset, name, filters, as_of, extra), dataset.connection)


def prefetch(filters: Filters | None, as_of: date | None, *calls: tuple[str, dict]) -> None:
    """Fetch together (queries.api.run_queries) those of a page's queries, (name, extra) with the page's
    filters and as_of, that are not cached yet, and cache them: the page's query() calls then find them.
    A page lists here the queries it runs whatever its widgets say, before it draws anything."""
    dataset = current()
    keys = [_key(dataset, name, filters, as_of, extra) for name, extra in calls]
    missing = []
    for key in keys:
        try:
            _cached_query(*key, dataset.connection, _ASK)
        except _NotCached:
            missing.append(key)
    frames = run_queries(dataset.connection, [Call(name, f, a, dict(extra)) for _, name, f, a, extra in missing],
                         run=run_query)  # this module's, as query() runs it (a test may stand in for it)
    for key, frame in zip(missing, frames, strict=True):
        _cached_query(*key, dataset.connection, frame)


@dataclass(frozen=True)
class FirstRows:
    """A list query's first rows (those a table shows), how many it has in all, and how to fetch them all."""

    rows: pd.DataFrame
    total: int
    every_row: Callable[[], pd.DataFrame]


def first_rows(name: str, filters: Filters | None, as_of: date | None, max_rows: int, **extra) -> FirstRows:
    """The first `max_rows` rows of the list query `name` (queries.api.LIST_TOTALS), cached as query() is,
    and their total. `every_row` runs the query again for all of them, on Streamlit's download thread: it
    holds the connection and the bound values, not st.* (see dashboard.ui.first_rows_with_download)."""
    count = LIST_TOTALS[name]
    first = query(name, filters, as_of, max_rows=max_rows, **extra)
    total = int(first[count].iloc[0]) if len(first) else 0
    connection = current().connection

    def every_row() -> pd.DataFrame:
        return run_query(connection, name, filters, as_of=as_of, **extra).drop(columns=count)

    return FirstRows(first.drop(columns=count), total, every_row)


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
    """Read once per run, like the dataset: a settings file saved mid-run does not change half a page."""
    run = _run()
    if run is not None and run.settings is not None:
        return run.settings
    found = _find_settings(current())
    if run is not None:
        run.settings = found
    return found


def _find_settings(dataset: Dataset) -> tuple[Settings, str | None]:
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


__all__ = ["Dataset", "LoadError", "begin_run", "current",
           "export_date", "forget_upload", "load_upload", "query", "reload_problem", "settings"]
