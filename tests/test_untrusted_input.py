"""Input nobody checked: the rules, as pure functions, for what the app does with an export that loads
nothing, uploaded file names and contents, and parameters in a link."""

from __future__ import annotations

import pytest

from queries.api import nothing_to_report

# --- an export with nothing to report ----------------------------------------------------------------------------


def _files(bookings: tuple[int, int], sessions: tuple[int, int]) -> dict:
    return {name: {"file": f"{name}.csv", "read": read, "loaded": loaded, "rejected": read - loaded}
            for name, (read, loaded) in (("bookings", bookings), ("sessions", sessions))}


@pytest.mark.parametrize("bookings, sessions, reason", [
    ((0, 0), (0, 0), ["bookings.csv: no rows after the header", "sessions.csv: no rows after the header"]),
    ((3, 0), (0, 0), ["bookings.csv: all 3 rows rejected", "sessions.csv: no rows after the header"]),
    ((1, 0), (2, 0), ["bookings.csv: its one row rejected", "sessions.csv: all 2 rows rejected"]),
    ((3, 1), (0, 0), None),  # one booking: its date is the export's date
    ((0, 0), (2, 1), None),
])
def test_nothing_to_report_when_no_booking_or_session_loaded(bookings, sessions, reason):
    problem = nothing_to_report(_files(bookings, sessions))
    if reason is None:
        assert problem is None
    else:
        assert problem.startswith("nothing to report: no booking or session could be loaded")
        for part in reason:
            assert part in problem
