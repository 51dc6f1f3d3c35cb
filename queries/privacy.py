"""Small cells (SPEC 2.14): what the marketing views may show of a query result.

A figure that counts fewer than `k` distinct patients is hidden and shown as `<k`; so are the figures
that would let someone work a hidden one out from the totals and cells shown beside it.

    shown = suppress(frame, k, dimensions=("concern", "channel"),
                     counts={"count_bookings": "count_patients"})

`frame` is a query result in long form: one row per cell *and* per total, a total being a row whose
value in one or more `dimensions` is null (SQL `grouping sets`: a null channel means "all channels").
Each count column comes with the column of distinct patients behind it, on which the rule is decided:
a cell of 30 bookings by 4 patients is hidden. The totals give the equations a reader can solve:

- along each dimension, the parts of a total add up to it (the rows equal to the total row except
  in that dimension), for every count column;
- `sums` names columns that add up within a row (`count_eligible` = converted + not converted).

Primary suppression hides every non-zero count of fewer than k patients (a count of 0 counts nobody and
stays shown). Complementary suppression then looks for hidden counts that the shown ones still
determine: with the equations above written as a matrix over the hidden counts, a hidden count is
determined exactly when its unit vector lies in the row space (a linear combination of the equations
isolates it), which covers the single hidden cell of a row and chains across rows and columns. Each
such count gets a companion from the equation that gives it away (where it is the only hidden figure;
else from any equation it is in): a non-zero part rather than a total (a grand total last), and among
them the one that hides least per give-away it stops (its count ÷ the equations left with a single
hidden figure that it is in: a small cell, or one closing a rectangle of hidden cells). The check runs
again until nothing hidden can be worked out.

Figures computed from counts are hidden with them: `derived` (rates, changes: hidden when any of their
counts is), `shares` (a count over its total along a dimension: hidden when either is).

The result has the same rows; the patient columns are dropped (they are figures about patients too);
every hidden figure holds the text `<k` (`label(k)`), so tables and downloads carry it as shown.
`numbers()` turns such a column back into numbers with NaN where hidden, for charts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

FLOOR = 5  # SPEC 2.14: k is never below 5
DEFAULT_K = 11


def label(k: int) -> str:
    """How a hidden figure reads: `<11`."""
    return f"<{k}"


def is_hidden(value) -> bool:
    return isinstance(value, str) and value.startswith("<")


def numbers(values: pd.Series) -> pd.Series:
    """A suppressed column as floats, NaN where hidden (or missing)."""
    return pd.to_numeric(values.map(lambda v: np.nan if is_hidden(v) else v), errors="coerce").astype(float)


def _key(row: Sequence) -> tuple:
    return tuple(None if pd.isna(v) else v for v in row)


def equations(frame: pd.DataFrame, dimensions: Sequence[str], columns: Sequence[str],
              sums: Mapping[str, Sequence[str]]) -> list[tuple[tuple[int, str], list[tuple[int, str]]]]:
    """Every `total = sum of parts` the rows of `frame` (index 0..n-1) show, as (total cell, part cells);
    a cell is (row, column). Cells holding no value (NaN) are in no equation."""
    present = {(i, c) for c in columns for i, v in enumerate(frame[c]) if pd.notna(v)}
    keys = [_key(row) for row in frame[list(dimensions)].itertuples(index=False)] if dimensions else []
    row_of = {key: i for i, key in enumerate(keys)}
    parts_of: dict[tuple[int, tuple], list[int]] = {}
    for i, key in enumerate(keys):
        for d, value in enumerate(key):
            if value is None:
                continue
            total = (*key[:d], None, *key[d + 1:])
            if total in row_of:
                parts_of.setdefault((d, total), []).append(i)
    found = []
    for (_, total), rows in parts_of.items():
        for column in columns:
            total_cell = (row_of[total], column)
            parts = [(i, column) for i in rows if (i, column) in present]
            if total_cell in present and parts:
                found.append((total_cell, parts))
    for total_column, part_columns in sums.items():
        for i in range(len(frame)):
            parts = [(i, c) for c in part_columns if (i, c) in present]
            if (i, total_column) in present and parts:
                found.append(((i, total_column), parts))
    return found


def _worked_out(hidden: list[tuple[int, str]], system: list[tuple[tuple[int, str], list[tuple[int, str]]]]) -> list:
    """The hidden cells the equations determine, given every shown cell."""
    if not hidden:
        return []
    column_of = {cell: j for j, cell in enumerate(hidden)}
    rows = []
    for total, parts in system:
        row = np.zeros(len(hidden))
        for cell, sign in ((total, 1.0), *((p, -1.0) for p in parts)):
            if cell in column_of:
                row[column_of[cell]] += sign
        if row.any():
            rows.append(row)
    if not rows:
        return []
    matrix = np.array(rows)
    # An orthonormal basis of the row space from the (small) Gram matrix: v = Aᵀu / sqrt(λ).
    eigenvalues, eigenvectors = np.linalg.eigh(matrix @ matrix.T)
    kept = eigenvalues > 1e-9 * max(1.0, eigenvalues.max())
    basis = (matrix.T @ eigenvectors[:, kept]) / np.sqrt(eigenvalues[kept])
    # A unit vector in the row space projects onto it whole: its leverage is 1.
    leverage = (basis ** 2).sum(axis=1)
    return [cell for cell, lev in zip(hidden, leverage, strict=True) if lev > 1 - 1e-6]


def hidden_cells(frame: pd.DataFrame, k: int, *, dimensions: Sequence[str] = (), counts: Mapping[str, str],
                 sums: Mapping[str, Sequence[str]] | None = None) -> set[tuple[int, str]]:
    """The (row position, count column) cells to hide: primary, then complementary suppression."""
    if isinstance(k, bool) or not isinstance(k, int) or k < FLOOR:
        raise ValueError(f"k must be a whole number of at least {FLOOR}; got {k!r}")
    frame = frame.reset_index(drop=True)
    value = {(i, c): float(v) for c in counts for i, v in enumerate(frame[c]) if pd.notna(v)}
    patients = {(i, c): float(frame.at[i, counts[c]]) for (i, c) in value}
    hidden = {cell for cell, v in value.items() if v != 0 and patients[cell] < k}
    system = equations(frame, dimensions, list(counts), sums or {})
    totals: dict[tuple[int, str], int] = {}  # how many equations a figure is the total of: a grand total most
    for total, _ in system:
        totals[total] = totals.get(total, 0) + 1

    def lone(member) -> int:  # equations of `member` that have exactly one hidden figure: hiding it fixes them
        return sum(1 for total, parts in system if member == total or member in parts
                   if sum(m in hidden for m in (total, *parts)) == 1)

    def cost(cell):  # a part before a total (a grand total last); then the least hidden per give-away it stops
        return (totals.get(cell, 0), value[cell] == 0, value[cell] / max(1, lone(cell)), value[cell], cell[0], cell[1])

    while True:
        exposed = [c for c in _worked_out(sorted(hidden), system) if value[c] != 0]
        if not exposed:
            return hidden

        def equations_of(cell):
            mine = [n for n, (total, parts) in enumerate(system) if cell == total or cell in parts]
            # Where it is the only hidden figure of an equation, that equation gives it away: break that one.
            return mine, [n for n in mine if sum(m in hidden for m in (system[n][0], *system[n][1])) == 1]

        # Plain give-aways first: a companion there often also stops the ones worked out by combination.
        cell = next((c for c in exposed if equations_of(c)[1]), exposed[0])
        mine, alone = equations_of(cell)
        candidates = [member for n in (alone or mine) for member in (system[n][0], *system[n][1])
                      if member not in hidden]
        if not candidates:  # its own equations are all hidden: it is worked out through others that are not
            candidates = [member for total, parts in system if any(m in hidden for m in (total, *parts))
                          for member in (total, *parts) if member not in hidden]
        if not candidates:  # nothing left to hide; a consistent table never gets here
            raise RuntimeError(f"cannot protect {cell}")
        hidden.add(min(candidates, key=cost))


def suppress(frame: pd.DataFrame, k: int, *, dimensions: Sequence[str] = (), counts: Mapping[str, str],
             sums: Mapping[str, Sequence[str]] | None = None, derived: Mapping[str, Sequence[str]] | None = None,
             shares: Mapping[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """`frame` as a marketing view may show it: hidden figures read `<k`, the patient columns are gone.

    counts: count column -> its distinct-patient column (the same column when the count is of patients).
    sums: within a row, total column -> the columns adding up to it.
    derived: column -> the count columns of the same row it is computed from.
    shares: column -> (count column, dimension): that count over its total along the dimension.
    """
    frame = frame.reset_index(drop=True)
    hidden = hidden_cells(frame, k, dimensions=dimensions, counts=counts, sums=sums)
    shown = frame.drop(columns=[p for c, p in counts.items() if p != c and p in frame.columns])
    mask = {column: pd.Series(False, index=frame.index) for column in shown.columns}
    for i, column in hidden:
        mask[column].iloc[i] = True
    for column, sources in (derived or {}).items():
        mask[column] = (mask[column] | pd.concat([mask[s] for s in sources], axis=1).any(axis=1)) \
            & frame[column].notna()
    keys = [_key(row) for row in frame[list(dimensions)].itertuples(index=False)] if dimensions else []
    row_of = {key: i for i, key in enumerate(keys)}
    for column, (count, dimension) in (shares or {}).items():
        d = list(dimensions).index(dimension)
        for i, key in enumerate(keys):
            if pd.isna(frame.at[i, column]):
                continue
            total = row_of.get((*key[:d], None, *key[d + 1:]))
            if mask[count].iloc[i] or total is None or mask[count].iloc[total]:
                mask[column].iloc[i] = True
    text = label(k)
    for column, hide in mask.items():
        if hide.any():
            shown[column] = shown[column].astype(object).where(~hide, text)
    return shown


# How each marketing query's result is protected: its dimensions (null = total), which count is of whom, and
# what is computed from the counts. A new marketing query gets its line here (tests/test_privacy.py checks).
# "overview" is not one query: it is the Overview's figures as marketing sees them, the cards' totals and the
# trend and top tables in one frame (queries/overview.py), since the cards are the totals of those tables.
RULES: dict[str, dict] = {
    "overview": dict(
        dimensions=("period_start", "treatment", "location"),
        counts={"count_sessions": "count_patients", "count_new_patients": "count_new_patients",
                "count_eligible": "count_patients_eligible", "count_rebooked": "count_patients_rebooked",
                "count_not_rebooked": "count_patients_not_rebooked", "count_pending": "count_patients_pending",
                "count_bookings": "count_patients_booked", "count_completed": "count_patients_completed",
                "count_no_show": "count_patients_no_show", "count_cancelled": "count_patients_cancelled",
                "count_scheduled": "count_patients_scheduled", "count_complaints": "count_patients_complained",
                "count_uncosted_lines": "count_patients_uncosted",
                "count_micro_needling_sessions": "count_patients_micro_needling",
                "count_with_needle_tip": "count_patients_with_needle_tip",
                "count_without_needle_tip": "count_patients_without_needle_tip"},
        sums={"count_sessions": ("count_eligible", "count_pending"),
              "count_eligible": ("count_rebooked", "count_not_rebooked"),
              "count_bookings": ("count_completed", "count_no_show", "count_cancelled", "count_scheduled"),
              "count_micro_needling_sessions": ("count_with_needle_tip", "count_without_needle_tip")},
        derived={"revenue": ("count_sessions",), "average_price": ("count_sessions",),
                 "rebooking_rate": ("count_rebooked", "count_eligible"),
                 "no_show_rate": ("count_no_show", "count_completed"),
                 "cancellation_rate": ("count_cancelled", "count_bookings"),
                 "complaints_per_100_sessions": ("count_complaints", "count_sessions"),
                 "cost_per_session": ("count_sessions",),
                 "tip_compliance": ("count_with_needle_tip", "count_micro_needling_sessions")},
    ),
    "demand_by_concern_month_channel": dict(
        dimensions=("month", "concern", "channel"),
        counts={"count_bookings": "count_patients", "count_bookings_previous": "count_patients_previous"},
        derived={"change_in_bookings": ("count_bookings", "count_bookings_previous"),
                 "change_rate": ("count_bookings", "count_bookings_previous")},
        shares={"share_of_month": ("count_bookings", "concern")},
    ),
    "new_patients_by_concern_channel": dict(
        dimensions=("concern", "channel"),
        counts={"count_new_patients": "count_new_patients"},
    ),
    "consultation_conversion": dict(
        dimensions=("concern", "channel"),
        counts={"count_eligible": "count_patients_eligible", "count_converted": "count_patients_converted",
                "count_not_converted": "count_patients_not_converted", "count_pending": "count_patients_pending"},
        sums={"count_eligible": ("count_converted", "count_not_converted")},
        derived={"conversion_rate": ("count_converted", "count_eligible")},
    ),
    "sessions_by_concern_and_body_area": dict(
        dimensions=("concern", "body_area"),
        counts={"count_sessions": "count_patients"},
        shares={"share_of_concern": ("count_sessions", "body_area")},
    ),
    "demand_seasonality": dict(
        dimensions=("concern", "month_of_year"),
        counts={"count_bookings": "count_patients"},
        derived={"average_per_month": ("count_bookings",)},
        shares={"seasonal_index": ("count_bookings", "month_of_year")},
    ),
}


def columns(name: str) -> tuple[str, ...]:
    """Every column rule `name` speaks of: its dimensions, counts with their patients, and derived figures."""
    rule = RULES[name]
    named = [*rule.get("dimensions", ()), *rule["counts"], *rule["counts"].values(), *rule.get("derived", {}),
             *rule.get("shares", {})]
    return tuple(dict.fromkeys(named))


def protect(name: str, frame: pd.DataFrame, k: int) -> pd.DataFrame:
    """The result of marketing query `name` as its page may show it (RULES)."""
    return suppress(frame, k, **RULES[name])
