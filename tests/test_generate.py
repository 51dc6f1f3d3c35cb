"""The sample-data generator: deterministic, SPEC §1 shaped, and realistic where it matters."""

from __future__ import annotations

import csv
import re
from bisect import bisect_right
from calendar import monthrange
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

import pytest

from sample_data.generate import generate

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = ROOT / "sample_data" / "default"
START, END = "2023-11-01", "2026-10-31"
END_DATE = date.fromisoformat(END)

SPEC_COLUMNS = {
    "bookings": ["booking_id", "patient_id", "booked_at", "appointment_at", "treatment", "status", "location",
                 "practitioner", "channel", "concern"],
    "sessions": ["session_id", "booking_id", "patient_id", "performed_at", "treatment", "body_area", "needle_depth_mm",
                 "duration_min", "practitioner", "location", "price"],
    "consumables": ["session_id", "item", "category", "lot", "quantity", "unit", "unit_cost"],
    "complaints": ["complaint_id", "session_id", "patient_id", "reported_at", "category", "severity", "resolved_at"],
}
ENUMS = {
    ("bookings", "status"): {"scheduled", "completed", "cancelled", "no_show"},
    ("bookings", "channel"): {"website", "phone", "instagram", "google_ads", "referral", "walk_in"},
    ("bookings", "concern"): {"fine_lines", "wrinkles", "discoloration", "acne_scars", "surgical_scars", "uneven_tone",
                              "stretch_marks", "sun_damage", "other", ""},  # "": about 5% leave it blank
    ("sessions", "body_area"): {"face", "neck", "chest", "hands", "arms", "abdomen", "back", "legs", "scalp", "other"},
    ("consumables", "category"): {"needle_tip", "numbing", "serum", "ppe", "other"},
    ("consumables", "unit"): {"each", "ml", "g"},
    ("complaints", "category"): {"prolonged_redness", "swelling", "pain", "bruising", "breakout", "infection",
                                 "pigmentation", "allergic_reaction", "other"},
    ("complaints", "severity"): {"mild", "moderate", "severe"},
}
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
TIMESTAMP_COLUMNS = [
    ("bookings", "booked_at"),
    ("bookings", "appointment_at"),
    ("sessions", "performed_at"),
    ("complaints", "reported_at"),
    ("complaints", "resolved_at"),
]


def read(folder: Path, name: str) -> list[dict]:
    with (folder / f"{name}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


def plus_six_months(d: date) -> date:
    month = d.month + 6
    year, month = d.year + (month - 1) // 12, (month - 1) % 12 + 1
    return date(year, month, min(d.day, monthrange(year, month)[1]))


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    """A mid-sized export (about 7,000 sessions), large enough for the rates below."""
    folder = tmp_path_factory.mktemp("export")
    counts = generate(folder, seed=11, patients=3000, start=START, end=END)
    assert counts == {name: len(read(folder, name)) for name in SPEC_COLUMNS}
    return folder


@pytest.fixture(scope="module")
def export(export_dir):
    return {name: read(export_dir, name) for name in SPEC_COLUMNS}


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    for folder, seed in [("a", 5), ("b", 5), ("c", 6)]:
        generate(tmp_path / folder, seed=seed, patients=300, start=START, end=END)
    for name in SPEC_COLUMNS:
        a, b, c = ((tmp_path / folder / f"{name}.csv").read_bytes() for folder in "abc")
        assert a == b, name
        assert a != c, name


def test_the_committed_default_is_what_the_readme_command_writes(tmp_path):
    readme = (ROOT / "sample_data" / "README.md").read_text(encoding="utf-8")
    command = re.search(r"python -m sample_data\.generate --out sample_data/default (.+)", readme)
    args = dict(re.findall(r"--(\w+) (\S+)", command.group(1)))
    generate(tmp_path, seed=int(args["seed"]), patients=int(args["patients"]), start=args["start"], end=args["end"])
    for name in SPEC_COLUMNS:
        assert (tmp_path / f"{name}.csv").read_bytes() == (DEFAULT / f"{name}.csv").read_bytes(), (
            f"{name}.csv differs: rerun the command in sample_data/README.md"
        )


@pytest.mark.parametrize("name", list(SPEC_COLUMNS))
def test_header_is_the_spec_columns_and_files_are_plain_utf8_lf(export_dir, name):
    raw = (export_dir / f"{name}.csv").read_bytes()
    assert raw.split(b"\n", 1)[0].decode() == ",".join(SPEC_COLUMNS[name])
    assert b"\r" not in raw and not raw.startswith(b"\xef\xbb\xbf")
    raw.decode("utf-8")


def test_default_dataset_size():
    sessions = read(DEFAULT, "sessions")
    assert 4000 <= len(sessions) <= 6000
    assert sum((DEFAULT / f"{name}.csv").stat().st_size for name in SPEC_COLUMNS) < 2_000_000


@pytest.mark.parametrize("file, column", sorted(ENUMS))
def test_enum_values(export, file, column):
    assert {row[column] for row in export[file]} <= ENUMS[(file, column)]


@pytest.mark.parametrize("file, column", TIMESTAMP_COLUMNS)
def test_timestamps_are_iso_with_seconds(export, file, column):
    values = [row[column] for row in export[file] if row[column]]
    assert values and all(TIMESTAMP.fullmatch(v) for v in values)


@pytest.mark.parametrize(
    "file, column, pattern",
    [
        ("bookings", "booking_id", r"B\d{6,}"),
        ("sessions", "session_id", r"S\d{6,}"),
        ("complaints", "complaint_id", r"C\d{5,}"),
    ],
)
def test_ids_are_unique_and_shaped(export, file, column, pattern):
    ids = [row[column] for row in export[file]]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(pattern, i) for i in ids)
    assert all(re.fullmatch(r"P\d{5,}", row["patient_id"]) for row in export[file])


def test_bookings_timeline(export):
    for row in export["bookings"]:
        booked, appointment = ts(row["booked_at"]), ts(row["appointment_at"])
        assert 1 <= (appointment.date() - booked.date()).days <= 30
        assert booked.date() <= END_DATE
        assert (row["status"] == "scheduled") == (appointment.date() > END_DATE)
        assert appointment.weekday() != 6  # closed on Sundays


def test_every_session_fulfils_a_completed_booking_of_the_same_patient(export):
    bookings = {row["booking_id"]: row for row in export["bookings"]}
    for s in export["sessions"]:
        b = bookings[s["booking_id"]]
        assert b["status"] == "completed"
        assert (b["patient_id"], b["treatment"], b["appointment_at"], b["location"], b["practitioner"]) == (
            s["patient_id"],
            s["treatment"],
            s["performed_at"],
            s["location"],
            s["practitioner"],
        )
        assert ts(s["performed_at"]).date() <= END_DATE


def test_completed_treatments_have_sessions_consultations_never(export):
    with_sessions = {s["booking_id"] for s in export["sessions"]}
    for b in export["bookings"]:
        expected = b["status"] == "completed" and b["treatment"] != "Consultation"
        assert (b["booking_id"] in with_sessions) == expected, b


def test_visits_treating_several_areas_are_several_rows(export):
    areas = defaultdict(list)
    for s in export["sessions"]:
        areas[s["booking_id"]].append(s["body_area"])
    multi = [a for a in areas.values() if len(a) > 1]
    assert len(multi) > 0.05 * len(areas)
    assert all(len(a) == len(set(a)) for a in multi)


def test_needle_depth_only_for_micro_needling_and_in_range(export):
    for s in export["sessions"]:
        if s["treatment"] == "Micro-needling":
            assert 0.1 <= float(s["needle_depth_mm"]) <= 3.0
            assert re.fullmatch(r"\d\.\d", s["needle_depth_mm"])
        else:
            assert s["needle_depth_mm"] == ""


def test_prices_and_durations(export):
    for s in export["sessions"]:
        assert re.fullmatch(r"\d+\.\d\d", s["price"]) and float(s["price"]) >= 0
        assert 10 <= int(s["duration_min"]) <= 120


def test_consumables_belong_to_sessions_and_are_positive(export):
    session_ids = {s["session_id"] for s in export["sessions"]}
    for c in export["consumables"]:
        assert c["session_id"] in session_ids
        assert float(c["quantity"]) > 0 and float(c["unit_cost"]) >= 0
        assert re.fullmatch(r"[A-Z]+-\d{4}-[A-Z]", c["lot"])


def test_about_two_percent_of_micro_needling_sessions_have_no_sterile_tip(export):
    tipped = {c["session_id"] for c in export["consumables"] if c["category"] == "needle_tip"}
    micro = [s["session_id"] for s in export["sessions"] if s["treatment"] == "Micro-needling"]
    missing = sum(sid not in tipped for sid in micro) / len(micro)
    assert 0.01 <= missing <= 0.035


def test_complaints_follow_their_session(export):
    sessions = {s["session_id"]: s for s in export["sessions"]}
    unknown = 0
    for c in export["complaints"]:
        reported = ts(c["reported_at"])
        assert reported.date() <= END_DATE
        if c["resolved_at"]:
            assert reported < ts(c["resolved_at"]) and ts(c["resolved_at"]).date() <= END_DATE
        if not c["session_id"]:
            unknown += 1
            continue
        s = sessions[c["session_id"]]
        assert s["patient_id"] == c["patient_id"]
        assert 1 <= (reported.date() - ts(s["performed_at"]).date()).days <= 10
    assert 0.01 <= unknown / len(export["complaints"]) <= 0.12


def test_deeper_needling_means_more_complaints(export):
    complained = {c["session_id"] for c in export["complaints"]}
    groups = defaultdict(lambda: [0, 0])
    for s in export["sessions"]:
        if s["treatment"] == "Micro-needling":
            group = groups[float(s["needle_depth_mm"]) > 1.5]
            group[0] += 1
            group[1] += s["session_id"] in complained
    deep, shallow = (groups[k][1] / groups[k][0] for k in (True, False))
    assert deep > 2 * shallow


def test_headline_rates_are_realistic(export):
    bookings, sessions = export["bookings"], export["sessions"]
    past = [b for b in bookings if b["status"] != "scheduled"]
    share = lambda rows, pred: sum(map(pred, rows)) / len(rows)  # noqa: E731
    assert 0.06 <= share(past, lambda b: b["status"] == "cancelled") <= 0.10
    attended = [b for b in past if b["status"] in ("completed", "no_show")]
    assert 0.03 <= share(attended, lambda b: b["status"] == "no_show") <= 0.08
    assert 0.50 <= share(sessions, lambda s: s["treatment"] == "Micro-needling") <= 0.62
    assert 0.40 <= share(sessions, lambda s: s["body_area"] == "face") <= 0.75
    assert 0.02 <= len(export["complaints"]) / len(sessions) <= 0.04
    assert 0.03 <= share(bookings, lambda b: b["concern"] == "") <= 0.07
    assert {s["location"] for s in sessions} == {"Harbour Street", "Northgate", "Riverside"}
    assert len({s["practitioner"] for s in sessions}) == 6


def test_practitioners_are_tied_to_sites_one_works_at_two(export):
    sites = defaultdict(set)
    for s in export["sessions"]:
        sites[s["practitioner"]].add(s["location"])
    assert sorted(len(v) for v in sites.values()) == [1, 1, 1, 1, 1, 2]


def test_six_month_rebooking_rate_is_realistic(export):
    """SPEC 2.3 computed directly: rebooked / eligible sessions, as of --end."""
    live = defaultdict(list)
    for b in export["bookings"]:
        if b["status"] != "cancelled":
            live[b["patient_id"]].append(ts(b["appointment_at"]).date())
    for dates in live.values():
        dates.sort()
    eligible = rebooked = 0
    for s in export["sessions"]:
        d = ts(s["performed_at"]).date()
        window_end = plus_six_months(d)
        if window_end > END_DATE:
            continue
        eligible += 1
        dates = live[s["patient_id"]]
        i = bisect_right(dates, d)
        rebooked += i < len(dates) and dates[i] <= window_end
    assert 0.40 <= rebooked / eligible <= 0.65


def test_seasonality_and_growth(export):
    by_month = defaultdict(int)
    for s in export["sessions"]:
        by_month[s["performed_at"][:7]] += 1
    year1 = sum(n for m, n in by_month.items() if "2023-11" <= m <= "2024-10")
    year3 = sum(n for m, n in by_month.items() if "2025-11" <= m <= "2026-10")
    assert year3 > 1.3 * year1
    august = sum(n for m, n in by_month.items() if m.endswith("-08"))
    october = sum(n for m, n in by_month.items() if m.endswith("-10"))
    assert august < 0.8 * october
