"""The sidebar's periods and what the Overview and Body areas compare them with (docs/metrics.md, "Dates").

A change that makes a period or its comparison one day longer or shorter fails here.
"""

from __future__ import annotations

from datetime import date

import pytest

from dashboard.filters import comparison_period, preset_period

FIRST = date(2023, 11, 1)  # the export's first day


def d(text: str) -> date:
    return date.fromisoformat(text)


@pytest.mark.parametrize("preset, as_of, period, compared_with", [
    pytest.param("last_30_days", "2026-10-31", ("2026-10-02", "2026-10-31"), ("2026-09-02", "2026-10-01"),
                 id="30 days, then the 30 before"),
    pytest.param("last_90_days", "2026-10-31", ("2026-08-03", "2026-10-31"), ("2026-05-05", "2026-08-02"),
                 id="90 days, then the 90 before"),
    pytest.param("last_12_months", "2026-10-31", ("2025-11-01", "2026-10-31"), ("2024-11-01", "2025-10-31"),
                 id="365 days, then the 365 before"),
    pytest.param("last_12_months", "2024-02-29", ("2023-03-02", "2024-02-29"), ("2022-03-02", "2023-03-01"),
                 id="12 months over a leap day: still 365 days"),
    pytest.param("this_year", "2026-10-31", ("2026-01-01", "2026-10-31"), ("2025-01-01", "2025-10-31"),
                 id="this year vs the same dates last year"),
    pytest.param("this_year", "2024-02-29", ("2024-01-01", "2024-02-29"), ("2023-01-01", "2023-02-28"),
                 id="this year to a leap day vs 28 Feb"),
    pytest.param("all", "2026-10-31", ("2023-11-01", "2026-10-31"), None, id="all dates: no comparison"),
])
def test_preset_periods_and_their_comparison(preset, as_of, period, compared_with):
    start, end, _ = preset_period(preset, d(as_of), FIRST)
    assert (start, end) == (d(period[0]), d(period[1]))
    expected = None if compared_with is None else (d(compared_with[0]), d(compared_with[1]))
    assert comparison_period(preset, start, end) == expected
    if expected and preset != "this_year":
        assert (expected[1] - expected[0]) == (end - start), "the comparison is as long as the period"


@pytest.mark.parametrize("start, end, compared_with", [
    pytest.param("2025-01-01", "2025-03-31", ("2024-10-03", "2024-12-31"), id="a quarter: 90 days before"),
    pytest.param("2025-06-15", "2025-06-15", ("2025-06-14", "2025-06-14"), id="one day: the day before"),
])
def test_a_custom_range_is_compared_with_as_many_days_just_before(start, end, compared_with):
    assert comparison_period("custom", d(start), d(end)) == (d(compared_with[0]), d(compared_with[1]))


@pytest.mark.parametrize("as_of, is_partial", [("2026-10-31", True), ("2026-12-31", False)])
def test_this_year_is_partial_until_new_years_eve(as_of, is_partial):
    assert preset_period("this_year", d(as_of), FIRST)[2] is is_partial
