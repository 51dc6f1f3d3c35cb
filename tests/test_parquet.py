"""`python -m queries.load DIR --parquet OUT/`: the marts as Hive-partitioned Parquet, opened with the same SQL.

Every named query must give the same answer on the Parquet folder as on the
database it was written from, and the report must print the same JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from queries.api import DIMENSIONS, Filters, query_names, run_query
from queries.load import PARQUET_MANIFEST, LoadError, load, main, open_built, open_database, open_parquet

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data" / "default"
FACTS = ("fct_bookings", "fct_complaints", "fct_consumables", "fct_sessions")
# The sample's planted bad lot, so the lot queries trace something.
EXTRA = {"lot_sessions": {"lot": "HAS-2509-A"}, "lot_complaints": {"lot": "HAS-2509-A"}}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The sample export as a .duckdb file and as a Parquet folder, written by one load."""
    folder = tmp_path_factory.mktemp("built")
    result = load(SAMPLE, folder / "clinic.duckdb", parquet=folder / "marts")
    result.connection.close()
    duck, parquet = open_database(folder / "clinic.duckdb"), open_parquet(folder / "marts")
    yield folder, duck, parquet
    duck.close()
    parquet.close()


def test_facts_are_partitioned_by_year_and_month_of_their_date(built):
    folder, _, _ = built
    manifest = json.loads((folder / "marts" / PARQUET_MANIFEST).read_text())
    assert {name: info["partitioned_by"] for name, info in manifest["tables"].items() if name in FACTS} == {
        "fct_bookings": "booked_date", "fct_complaints": "reported_date",
        "fct_consumables": "session_date", "fct_sessions": "session_date"}
    months = sorted(p.relative_to(folder / "marts" / "fct_sessions").as_posix()
                    for p in (folder / "marts" / "fct_sessions").glob("year=*/month=*"))
    assert months[0].startswith("year=") and "/month=" in months[0]
    assert len(months) > 12  # the sample spans years
    assert (folder / "marts" / "load_rejects.parquet").is_file()  # small tables: one file each


@pytest.mark.parametrize("table", [*FACTS, "load_files", "load_rejects", "load_warnings", "data_quality", "load_meta"])
def test_every_table_reads_back_with_its_rows_and_types(built, table):
    _, duck, parquet = built
    # An ENUM (fct_consumables' few-valued columns) is written as Parquet's text and read back as VARCHAR.
    types = [(name, "VARCHAR" if kind.startswith("ENUM(") else kind, *rest)
             for name, kind, *rest in duck.execute(f"describe {table}").fetchall()]
    assert parquet.execute(f"describe {table}").fetchall() == types
    assert parquet.execute(f"from {table} order by all").fetchall() == duck.execute(f"from {table} order by all").fetchall()


def _same(parquet_frame: pd.DataFrame, duck_frame: pd.DataFrame) -> None:
    # Row order is each query's own ORDER BY; ties may come back in another order from other files.
    key = list(duck_frame.columns)
    pd.testing.assert_frame_equal(
        parquet_frame.sort_values(key, ignore_index=True) if key else parquet_frame,
        duck_frame.sort_values(key, ignore_index=True) if key else duck_frame,
        check_dtype=False)


@pytest.mark.parametrize("name", query_names())
@pytest.mark.parametrize("filters", [Filters(), Filters(locations=("Harbour Street",), body_areas=("face",))],
                         ids=["all", "narrow"])
def test_every_query_answers_the_same_on_parquet(built, name, filters):
    _, duck, parquet = built
    extra = {**EXTRA.get(name, {}), **({"dimension": DIMENSIONS[name][0]} if name in DIMENSIONS else {})}
    _same(run_query(parquet, name, filters, **extra), run_query(duck, name, filters, **extra))


def test_the_report_opens_a_parquet_folder_with_the_same_answers(built):
    folder, _, _ = built
    command = [sys.executable, "-m", "queries.report", "--format", "json", "--data"]
    from_csv = subprocess.run([*command, str(SAMPLE)], capture_output=True, text=True, cwd=ROOT, check=True)
    from_parquet = subprocess.run([*command, str(folder / "marts")], capture_output=True, text=True, cwd=ROOT,
                                  check=True)
    assert _rounded(json.loads(from_parquet.stdout)) == _rounded(json.loads(from_csv.stdout))


def _rounded(value):
    """Sums of money in another order differ in the last bits: compare to 9 significant digits."""
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, float):
        return float(f"{value:.9g}")
    return value


def test_open_built_tells_a_database_a_parquet_folder_and_a_folder_of_exports_apart(built):
    folder, _, _ = built
    assert open_built(SAMPLE) is None
    for path in (folder / "clinic.duckdb", folder / "marts"):
        con = open_built(path)
        assert con.execute("select count(*) from fct_sessions").fetchone()[0] > 0
        con.close()


def test_writing_again_replaces_the_folder_whole(tmp_path, built):
    _, duck, _ = built
    out = tmp_path / "marts"
    (out / "fct_sessions" / "year=1999" / "month=1").mkdir(parents=True)
    (out / PARQUET_MANIFEST).write_text(json.dumps({"schema_version": "0", "tables": {}}))
    (out / "fct_sessions" / "year=1999" / "month=1" / "stale.parquet").write_text("old")
    load(SAMPLE, parquet=out).connection.close()
    assert not (out / "fct_sessions" / "year=1999").exists()
    assert not list(tmp_path.glob(".marts.*"))  # nothing left beside it
    con = open_parquet(out)
    assert con.execute("select count(*) from fct_sessions").fetchone() == duck.execute(
        "select count(*) from fct_sessions").fetchone()
    con.close()


@pytest.mark.parametrize("prepare, message", [
    (lambda out: (out.mkdir(), (out / "notes.txt").write_text("mine")), "is not a folder written by --parquet"),
    (lambda out: out.write_text("a file"), "is not a folder written by --parquet"),
])
def test_a_folder_that_is_not_ours_is_not_replaced(tmp_path, prepare, message):
    out = tmp_path / "out"
    prepare(out)
    with pytest.raises(LoadError, match=message):
        load(SAMPLE, parquet=out)


def test_a_folder_from_another_schema_version_is_refused(tmp_path):
    (tmp_path / PARQUET_MANIFEST).write_text(json.dumps({"schema_version": "0", "tables": {}}))
    with pytest.raises(LoadError, match="another version"):
        open_parquet(tmp_path)


def test_the_command_writes_parquet_without_a_database(tmp_path, capsys):
    assert main([str(SAMPLE), "--parquet", str(tmp_path / "marts")]) == 0
    assert "(Parquet)" in capsys.readouterr().out
    assert open_built(tmp_path / "marts") is not None
    assert not list(tmp_path.glob("*.duckdb"))


def test_the_command_needs_somewhere_to_write(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([str(SAMPLE)])
    assert exit_info.value.code == 2
    assert "--db FILE, --parquet OUT, or both" in capsys.readouterr().err


@pytest.mark.parametrize("limit, ok", [("300MB", True), ("1GB", True), ("lots", False)])
def test_a_memory_limit_is_set_for_the_build_or_refused_clearly(tmp_path, limit, ok):
    if ok:
        result = load(SAMPLE, tmp_path / "clinic.duckdb", memory_limit=limit)
        assert result.files["sessions"]["loaded"] > 0
        result.connection.close()
        assert not list(tmp_path.glob(".practice-spill-*"))  # the spill folder goes with the build
    else:
        with pytest.raises(LoadError, match="memory limit 'lots' not understood"):
            load(SAMPLE, tmp_path / "clinic.duckdb", memory_limit=limit)
        assert not (tmp_path / "clinic.duckdb").exists()
