"""Small cells (SPEC 2.14, queries/privacy.py) on hand-made tables: what is hidden at k−1 and k patients, the
companions that stop a hidden figure being worked out from a total or the rest of its row, and an
independent exact check (fractions, not the module's floating-point algebra) that no hidden figure of a
suppressed table can be solved for."""

from __future__ import annotations

import random
from datetime import date
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest
from conftest import booking, session

from queries import overview, privacy
from queries.api import METRICS_DIR, Filters, run_query

K = 11
H = "<11"
ALL = None  # a total row's dimension value


def table(rows: list[tuple], columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(columns))


def shown(frame: pd.DataFrame, *columns: str) -> list[tuple]:
    return [tuple(None if not isinstance(v, str) and pd.isna(v) else v for v in row)
            for row in frame[list(columns)].itertuples(index=False)]


# ---------------------------------------------------------------- primary suppression: decided on patients

@pytest.mark.parametrize("bookings, patients, expected", [
    pytest.param(30, 10, H, id="k-1 patients: hidden, however many bookings"),
    pytest.param(30, 11, 30, id="k patients: shown"),
    pytest.param(11, 11, 11, id="k patients, k bookings: shown"),
    pytest.param(1, 1, H, id="one patient"),
    pytest.param(0, 0, 0, id="nothing counted: a 0 is shown"),
])
def test_a_cell_is_hidden_below_k_patients(bookings, patients, expected):
    frame = table([("acne_scars", bookings, patients)], ("concern", "count_bookings", "count_patients"))
    out = privacy.suppress(frame, K, dimensions=("concern",), counts={"count_bookings": "count_patients"})
    assert shown(out, "concern", "count_bookings") == [("acne_scars", expected)]
    assert "count_patients" not in out.columns


@pytest.mark.parametrize("k, patients, expected", [
    pytest.param(5, 4, "<5", id="k=5 (the floor): 4 patients hidden"),
    pytest.param(5, 5, 20, id="k=5: 5 patients shown"),
    pytest.param(20, 19, "<20", id="k=20: 19 patients hidden, labelled <20"),
])
def test_k_is_the_setting(k, patients, expected):
    frame = table([("acne_scars", 20, patients)], ("concern", "count_bookings", "count_patients"))
    out = privacy.suppress(frame, k, dimensions=("concern",), counts={"count_bookings": "count_patients"})
    assert out["count_bookings"].tolist() == [expected]


@pytest.mark.parametrize("k", [4, 0, -1, 2.5, True])
def test_k_below_five_is_refused(k):
    frame = table([("acne_scars", 20, 20)], ("concern", "count_bookings", "count_patients"))
    with pytest.raises(ValueError, match="at least 5"):
        privacy.suppress(frame, k, dimensions=("concern",), counts={"count_bookings": "count_patients"})


# ---------------------------------------------------------------- complementary suppression

ONE_WAY = ("concern", "count_bookings", "count_patients")


@pytest.mark.parametrize("rows, expected", [
    pytest.param([("acne_scars", 5, 4), ("fine_lines", 20, 15), ("wrinkles", 30, 25), (ALL, 55, 44)],
                 [H, H, 30, 55],
                 id="a total would give a hidden cell away: the smallest other cell is hidden too"),
    pytest.param([("acne_scars", 5, 4), ("fine_lines", 6, 5), ("wrinkles", 30, 25), (ALL, 41, 34)],
                 [H, H, 30, 41], id="two hidden cells protect each other: nothing more"),
    pytest.param([("acne_scars", 5, 4), ("wrinkles", 30, 25), (ALL, 35, 29)], [H, H, 35],
                 id="the only other cell is hidden, however big"),
    pytest.param([("acne_scars", 5, 4), ("wrinkles", 0, 0), (ALL, 5, 4)], [H, 0, H],
                 id="a row with nothing else shown: the total goes (a 0 protects nothing)"),
    pytest.param([("acne_scars", 5, 4), ("fine_lines", 20, 15), ("wrinkles", 30, 25)], [H, 20, 30],
                 id="no total shown: nothing to work it out from"),
    pytest.param([("acne_scars", 40, 15), ("fine_lines", 20, 15), (ALL, 60, 25)], [40, 20, 60],
                 id="patients do not add up (one patient, two concerns); bookings do: nothing hidden"),
])
def test_a_hidden_cell_cannot_be_worked_out_from_its_total(rows, expected):
    out = privacy.suppress(table(rows, ONE_WAY), K, dimensions=("concern",), counts={"count_bookings": "count_patients"})
    assert out["count_bookings"].tolist() == expected


# concern × channel with every total, as the queries return it (grouping sets).
GRID = [
    # concern,       channel,      bookings, patients
    ("acne_scars", "instagram", 40, 30), ("acne_scars", "website", 5, 3), ("acne_scars", "referral", 25, 20),
    ("fine_lines", "instagram", 30, 22), ("fine_lines", "website", 35, 25), ("fine_lines", "referral", 20, 15),
    ("wrinkles", "instagram", 28, 20), ("wrinkles", "website", 26, 19), ("wrinkles", "referral", 24, 18),
    ("acne_scars", ALL, 70, 50), ("fine_lines", ALL, 85, 60), ("wrinkles", ALL, 78, 55),
    (ALL, "instagram", 98, 70), (ALL, "website", 66, 45), (ALL, "referral", 69, 50),
    (ALL, ALL, 233, 160),
]
GRID_COLUMNS = ("concern", "channel", "count_bookings", "count_patients")


def suppress_grid(rows=GRID, k=K):
    return privacy.suppress(table(rows, GRID_COLUMNS), k, dimensions=("concern", "channel"),
                            counts={"count_bookings": "count_patients"})


def test_a_row_with_a_single_hidden_cell_gets_a_companion_in_its_row_and_column():
    out = suppress_grid().set_index(["concern", "channel"])["count_bookings"]
    # acne × website (3 patients) is the only small cell. Its row would give it away (70 − 40 − 25), so the
    # row's smaller other cell goes; its column too (66 − 35 − 26), so the column's smallest other cell;
    # then the cell that closes the rectangle, so neither companion can be worked out either.
    assert out[("acne_scars", "website")] == H
    assert out[("acne_scars", "referral")] == H
    assert out[("wrinkles", "website")] == H
    assert out[("wrinkles", "referral")] == H
    assert [v for v in out if v == H] == [H] * 4
    assert out[("acne_scars", ALL)] == 70 and out[(ALL, "website")] == 66 and out[(ALL, ALL)] == 233


def test_a_total_below_k_is_hidden_with_all_its_cells():
    rows = [
        ("acne_scars", "instagram", 6, 4), ("acne_scars", "website", 3, 3), ("acne_scars", "referral", 2, 2),
        ("fine_lines", "instagram", 30, 22), ("fine_lines", "website", 35, 25), ("fine_lines", "referral", 20, 15),
        ("wrinkles", "instagram", 28, 20), ("wrinkles", "website", 26, 19), ("wrinkles", "referral", 24, 18),
        ("acne_scars", ALL, 11, 9), ("fine_lines", ALL, 85, 60), ("wrinkles", ALL, 78, 55),
        (ALL, "instagram", 64, 46), (ALL, "website", 64, 47), (ALL, "referral", 46, 35),
        (ALL, ALL, 174, 124),
    ]
    out = suppress_grid(rows).set_index(["concern", "channel"])["count_bookings"]
    assert [out[("acne_scars", ch)] for ch in ("instagram", "website", "referral", ALL)] == [H] * 4
    assert out[(ALL, ALL)] == 174
    assert_nothing_hidden_can_be_solved(table(rows, GRID_COLUMNS), suppress_grid(rows))


def test_sums_within_a_row_protect_a_small_remainder():
    """eligible = converted + not converted: 3 patients not converted are hidden, and so is one of the two others
    (the converted count, a part, rather than eligible, the total); the rate with them."""
    frame = pd.DataFrame({
        "concern": ["acne_scars", "fine_lines", None],
        "count_eligible": [28, 40, 68], "count_converted": [25, 30, 55], "count_not_converted": [3, 10, 13],
        "conversion_rate": [25 / 28, 30 / 40, 55 / 68],
        "count_patients_eligible": [28, 40, 68], "count_patients_converted": [25, 30, 55],
        "count_patients_not_converted": [3, 10, 13],
    })
    out = privacy.suppress(frame, K, dimensions=("concern",),
                           counts={"count_eligible": "count_patients_eligible",
                                   "count_converted": "count_patients_converted",
                                   "count_not_converted": "count_patients_not_converted"},
                           sums={"count_eligible": ("count_converted", "count_not_converted")},
                           derived={"conversion_rate": ("count_converted", "count_eligible")})
    assert shown(out, "concern", "count_eligible", "count_converted", "count_not_converted", "conversion_rate") == [
        ("acne_scars", 28, H, H, H),
        ("fine_lines", 40, H, H, H),  # 10 not converted: hidden too, and its converted with it
        (None, 68, 55, 13, 55 / 68),
    ]


def test_derived_figures_and_shares_are_hidden_with_their_counts():
    frame = pd.DataFrame({
        "month": ["2025-05", "2025-05", "2025-05", "2025-06", "2025-06", "2025-06"],
        "concern": ["acne_scars", "wrinkles", None, "acne_scars", "wrinkles", None],
        "count_bookings": [30, 4, 34, 20, 25, 45], "count_patients": [20, 3, 22, 15, 18, 30],
        "share_of_month": [30 / 34, 4 / 34, None, 20 / 45, 25 / 45, None],
    })
    out = privacy.suppress(frame, K, dimensions=("month", "concern"), counts={"count_bookings": "count_patients"},
                           shares={"share_of_month": ("count_bookings", "concern")})
    assert shown(out, "count_bookings", "share_of_month") == [
        (H, H), (H, H), (34, None), (20, 20 / 45), (25, 25 / 45), (45, None)]


# ---------------------------------------------------------------- independent check: nothing hidden can be solved

def _solvable(hidden: list, equations: list[tuple]) -> set:
    """Hidden cells an exact linear solve pins down: reduced row echelon form over the fractions; a cell is
    determined when a row of it is that cell alone."""
    index = {cell: j for j, cell in enumerate(hidden)}
    matrix = []
    for total, parts in equations:
        row = [Fraction(0)] * len(hidden)
        for cell, sign in ((total, 1), *((p, -1) for p in parts)):
            if cell in index:
                row[index[cell]] += sign
        if any(row):
            matrix.append(row)
    pivot_row = 0
    for col in range(len(hidden)):
        found = next((r for r in range(pivot_row, len(matrix)) if matrix[r][col] != 0), None)
        if found is None:
            continue
        matrix[pivot_row], matrix[found] = matrix[found], matrix[pivot_row]
        lead = matrix[pivot_row][col]
        matrix[pivot_row] = [v / lead for v in matrix[pivot_row]]
        for r in range(len(matrix)):
            if r != pivot_row and matrix[r][col] != 0:
                factor = matrix[r][col]
                matrix[r] = [a - factor * b for a, b in zip(matrix[r], matrix[pivot_row], strict=True)]
        pivot_row += 1
    return {hidden[row.index(1)] for row in matrix[:pivot_row] if sum(v != 0 for v in row) == 1}


def grid_equations(frame: pd.DataFrame) -> list[tuple]:
    """Row and column sums of a concern × channel table with totals, written out by hand."""
    at = {(r.concern if pd.notna(r.concern) else ALL, r.channel if pd.notna(r.channel) else ALL): i
          for i, r in enumerate(frame.itertuples())}
    concerns = sorted({c for c, _ in at if c is not ALL})
    channels = sorted({ch for _, ch in at if ch is not ALL})
    equations = []
    for c in concerns:
        equations.append((at[(c, ALL)], [at[(c, ch)] for ch in channels if (c, ch) in at]))
    for ch in channels:
        equations.append((at[(ALL, ch)], [at[(c, ch)] for c in concerns if (c, ch) in at]))
    equations.append((at[(ALL, ALL)], [at[(c, ALL)] for c in concerns]))
    equations.append((at[(ALL, ALL)], [at[(ALL, ch)] for ch in channels]))
    return equations


def assert_nothing_hidden_can_be_solved(raw: pd.DataFrame, out: pd.DataFrame) -> None:
    hidden = [i for i, v in enumerate(out["count_bookings"]) if privacy.is_hidden(v)]
    small = [i for i, (b, p) in enumerate(zip(raw["count_bookings"], raw["count_patients"], strict=True))
             if b and p < K]
    assert set(small) <= set(hidden), "every cell of fewer than k patients is hidden"
    solved = {i for i in _solvable(hidden, grid_equations(raw)) if raw["count_bookings"].iloc[i]}
    assert not solved, f"hidden cells that can be worked out: {raw.iloc[sorted(solved)]}"


def random_grid(seed: int) -> pd.DataFrame:
    """A concern × channel table of random small and large cells, some absent, with every total."""
    rng = random.Random(seed)
    concerns, channels = [f"c{i}" for i in range(rng.randint(2, 7))], [f"h{i}" for i in range(rng.randint(2, 6))]
    cells = {}
    for c in concerns:
        for ch in channels:
            if rng.random() < 0.15:
                continue  # never booked that way: no row
            patients = rng.choice([rng.randint(1, 10), rng.randint(11, 60)])
            cells[(c, ch)] = (patients + rng.randint(0, patients), patients)
    rows = [(c, ch, b, p) for (c, ch), (b, p) in cells.items()]
    for c in concerns:
        mine = [v for (cc, _), v in cells.items() if cc == c]
        rows.append((c, ALL, sum(b for b, _ in mine), sum(p for _, p in mine)))
    for ch in channels:
        mine = [v for (_, hh), v in cells.items() if hh == ch]
        rows.append((ALL, ch, sum(b for b, _ in mine), sum(p for _, p in mine)))
    rows.append((ALL, ALL, sum(b for b, _ in cells.values()), sum(p for _, p in cells.values())))
    return table(rows, GRID_COLUMNS)


def test_the_example_grid_has_nothing_solvable():
    raw = table(GRID, GRID_COLUMNS)
    assert_nothing_hidden_can_be_solved(raw, suppress_grid())


@pytest.mark.parametrize("seed", range(40))
def test_random_tables_have_nothing_solvable(seed):
    raw = random_grid(seed)
    out = privacy.suppress(raw, K, dimensions=("concern", "channel"), counts={"count_bookings": "count_patients"})
    assert_nothing_hidden_can_be_solved(raw, out)
    # Not everything hidden: the large totals survive.
    assert out["count_bookings"].iloc[-1] == raw["count_bookings"].iloc[-1]


# ---------------------------------------------------------------- the marketing queries

def test_every_marketing_query_has_its_rules():
    names = {p.stem for p in (Path(METRICS_DIR) / "marketing").glob("*.sql")}
    assert set(privacy.RULES) == names | {"overview"}  # and the Overview as marketing sees it


# ---------------------------------------------------------------- the Overview as marketing sees it

AS_OF = date(2026, 10, 31)
# Two sites in September 2026 (as of 31 Oct: every session pending): Main, 30 patients with a session each;
# Annex, 3 patients with two sessions each (face and neck on one visit), one of whom did not show once.
OVERVIEW_BOOKINGS = [
    *(booking(f"BM{i}", f"PM{i}", f"2026-09-{1 + i % 28:02d} 10:00", location="Main") for i in range(30)),
    *(booking(f"BA{i}", f"PA{i}", "2026-09-15 10:00", location="Annex") for i in range(3)),
    booking("BA9", "PA0", "2026-09-22 10:00", location="Annex", status="no_show"),
]
OVERVIEW_SESSIONS = [
    *(session(f"SM{i}", f"PM{i}", f"2026-09-{1 + i % 28:02d} 10:00", location="Main", price="100",
              booking_id=f"BM{i}") for i in range(30)),
    *(session(f"SA{i}{area}", f"PA{i}", "2026-09-15 10:00", location="Annex", body_area=area, price="123.45",
              booking_id=f"BA{i}") for i in range(3) for area in ("face", "neck")),
]


@pytest.fixture
def two_sites(build_db):
    return build_db(bookings=OVERVIEW_BOOKINGS, sessions=OVERVIEW_SESSIONS)


def overview_shown(con, filters: Filters | None = None, k: int = K):
    filters = filters or Filters()

    def run(name, filters, as_of, **extra):
        return run_query(con, name, filters, as_of=as_of, **extra)
    return overview.protect(overview.figures(run, filters, AS_OF, grain="month"), k)


@pytest.mark.parametrize("figure, where, expected", [
    pytest.param("count_sessions", "location=Annex", H, id="3 patients' 6 sessions: hidden"),
    pytest.param("count_sessions", "location=Main", H, id="30 patients, but Main = all − Annex: hidden too"),
    pytest.param("revenue", "location=Annex", H, id="revenue hidden with its sessions"),
    pytest.param("revenue", "location=Main", H, id="and its companion's"),
    pytest.param("count_sessions", "total", 36, id="the card: 33 patients, shown"),
    pytest.param("revenue", "total", 3740.7, id="the card's revenue, shown"),
    pytest.param("count_sessions", "treatment=Micro-needling", 36, id="one treatment: the total again, shown"),
    pytest.param("count_sessions", "month=2026-09", 36, id="one month: the total again, shown"),
    pytest.param("count_no_show", "total", H, id="one patient's no-show: hidden"),
    pytest.param("no_show_rate", "total", H, id="and the rate that would give it away"),
    pytest.param("count_cancelled", "total", 0, id="nothing counted: 0 shown"),
    pytest.param("count_pending", "total", 36, id="every session pending: shown"),
])
def test_the_overview_hides_a_small_site_and_its_companion(two_sites, figure, where, expected):
    shown = overview_shown(two_sites)
    if where == "total":
        value = overview.kpis(shown)[figure]
    else:
        dimension, name = where.split("=")
        column = "period_start" if dimension == "month" else dimension
        rows = shown[shown[column].notna()]
        if dimension == "month":
            rows = rows[pd.to_datetime(rows[column]).dt.strftime("%Y-%m") == name]
        else:
            rows = rows[rows[column] == name]
        value = rows[figure].iloc[0]
    assert value == (pytest.approx(expected) if isinstance(expected, float) else expected)


def test_the_overview_holds_no_patient_count_and_narrows_to_nothing_shown(two_sites):
    shown = overview_shown(two_sites, Filters(locations=("Annex",)))
    assert not [c for c in shown.columns if c.startswith("count_patients")]
    figures = shown.drop(columns=list(overview.DIMENSIONS)).to_numpy().ravel()
    assert {v for v in figures if not privacy.is_hidden(v) and pd.notna(v)} <= {0}, "only <11 or 0 is left"


@pytest.mark.parametrize("k, annex, everyone", [
    pytest.param(5, "<5", 36, id="k=5 (the floor): Annex's 3 patients hidden as <5"),
    pytest.param(11, H, 36, id="k=11 (the default)"),
    pytest.param(34, "<34", "<34", id="k=34: the 33 patients of the whole practice hidden too"),
])
def test_the_overview_takes_k_from_the_caller(two_sites, k, annex, everyone):
    assert overview.kpis(overview_shown(two_sites, Filters(locations=("Annex",)), k=k))["count_sessions"] == annex
    assert overview.kpis(overview_shown(two_sites, k=k))["count_sessions"] == everyone
