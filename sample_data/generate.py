"""Deterministic generator of synthetic clinic-group exports (SPEC §1).

    python -m sample_data.generate --out DIR --seed 42 --patients 1850 \
        --start 2023-11-01 --end 2026-10-31

writes bookings.csv, sessions.csv, consumables.csv and complaints.csv into DIR,
with the canonical SPEC column names and order. The same arguments always give
byte-identical files: all randomness comes from numpy Generators seeded from
--seed, no wall-clock time is read, and nothing iterates over a set.

Each patient is simulated as a story: an optional consultation, a course of
treatments (or a one-off), drop-outs, cancellations and no-shows with
rescheduling, and maintenance visits months later. Patients are processed in
chunks of CHUNK_PATIENTS, ordered by when they first book; each chunk's rows are
sorted by time, given ids and streamed to disk, so memory stays flat however
many patients are asked for. Ids therefore increase with time within a chunk.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from bisect import bisect
from contextlib import ExitStack
from datetime import date, timedelta
from functools import cache, partial
from itertools import accumulate
from pathlib import Path

import numpy as np

COLUMNS: dict[str, tuple[str, ...]] = {
    "bookings": (
        "booking_id",
        "patient_id",
        "booked_at",
        "appointment_at",
        "treatment",
        "status",
        "location",
        "practitioner",
        "channel",
        "concern",
    ),
    "sessions": (
        "session_id",
        "booking_id",
        "patient_id",
        "performed_at",
        "treatment",
        "body_area",
        "needle_depth_mm",
        "duration_min",
        "practitioner",
        "location",
        "price",
    ),
    "consumables": (
        "session_id",
        "item",
        "category",
        "lot",
        "quantity",
        "unit",
        "unit_cost",
    ),
    "complaints": (
        "complaint_id",
        "session_id",
        "patient_id",
        "reported_at",
        "category",
        "severity",
        "resolved_at",
    ),
}

CHUNK_PATIENTS = 10_000

MICRO = "Micro-needling"
PEEL = "Chemical peel"
FILLER = "Dermal filler"
TOXIN = "Anti-wrinkle injection"
LASER = "Laser resurfacing"
CONSULT = "Consultation"
INJECTABLES = (FILLER, TOXIN)

# --- who and where ---------------------------------------------------------

LOCATIONS = ("Harbour Street", "Northgate", "Riverside")
# Riverside is the newest site and grows fastest: shares at the start, at the end
# of the simulated period.
LOCATION_SHARE = {"Harbour Street": (46, 38), "Northgate": (36, 32), "Riverside": (18, 30)}
DOCTOR = {
    "Harbour Street": "Dr Amelia Hart",
    "Northgate": "Dr James Okafor",
    "Riverside": "Dr Lena Fischer",
}
# Non-injectable work at each site; Priya Nair works at Northgate and Riverside.
STAFF = {
    "Harbour Street": (("Sofia Marin", 65), ("Dr Amelia Hart", 35)),
    "Northgate": (("Priya Nair", 65), ("Dr James Okafor", 35)),
    "Riverside": (("Tom Reilly", 45), ("Priya Nair", 25), ("Dr Lena Fischer", 30)),
}
# Tom Reilly needles a little deeper than colleagues (and so sees more complaints).
DEPTH_BIAS = {"Tom Reilly": 0.2}

CHANNEL_SHARE = {  # start, end: Instagram grows, phone declines
    "website": (30, 26),
    "phone": (16, 9),
    "instagram": (14, 27),
    "google_ads": (18, 14),
    "referral": (14, 18),
    "walk_in": (8, 6),
}
CHANNEL_NO_SHOW = {
    "website": 1.0,
    "phone": 0.9,
    "instagram": 1.5,
    "google_ads": 1.3,
    "referral": 0.6,
    "walk_in": 0.9,
}

# --- what they want --------------------------------------------------------

CONCERNS = (
    ("acne_scars", 20),
    ("fine_lines", 18),
    ("wrinkles", 12),
    ("uneven_tone", 10),
    ("stretch_marks", 9),
    ("discoloration", 8),
    ("sun_damage", 8),
    ("surgical_scars", 6),
    ("other", 9),
)
TREATMENT_BY_CONCERN = {
    "fine_lines": ((MICRO, 35), (PEEL, 10), (TOXIN, 37), (FILLER, 10), (LASER, 8)),
    "wrinkles": ((MICRO, 15), (TOXIN, 50), (FILLER, 27), (LASER, 8)),
    "discoloration": ((MICRO, 25), (PEEL, 42), (LASER, 33)),
    "acne_scars": ((MICRO, 74), (PEEL, 16), (LASER, 10)),
    "surgical_scars": ((MICRO, 90), (LASER, 10)),
    "uneven_tone": ((MICRO, 40), (PEEL, 42), (LASER, 18)),
    "stretch_marks": ((MICRO, 95), (LASER, 5)),
    "sun_damage": ((MICRO, 28), (PEEL, 34), (LASER, 38)),
    "other": ((MICRO, 50), (FILLER, 30), (TOXIN, 20)),
}
AREAS_BY_CONCERN = {
    "fine_lines": ((("face",), 60), (("face", "neck"), 30), (("neck",), 5), (("face", "neck", "chest"), 5)),
    "wrinkles": ((("face",), 75), (("face", "neck"), 18), (("neck",), 7)),
    "discoloration": ((("face",), 60), (("face", "neck"), 10), (("hands",), 15), (("chest",), 10), (("face", "hands"), 5)),
    "acne_scars": ((("face",), 80), (("back",), 10), (("face", "back"), 4), (("chest", "back"), 3), (("face", "neck"), 3)),
    "surgical_scars": ((("abdomen",), 45), (("other",), 15), (("chest",), 10), (("face",), 10), (("legs",), 10), (("arms",), 10)),
    "uneven_tone": ((("face",), 70), (("face", "neck"), 20), (("chest",), 10)),
    "stretch_marks": (
        (("abdomen",), 45),
        (("legs",), 25),
        (("abdomen", "legs"), 10),
        (("arms",), 10),
        (("back",), 5),
        (("chest",), 5),
    ),
    "sun_damage": ((("face",), 50), (("chest",), 20), (("hands",), 15), (("face", "neck", "chest"), 10), (("arms",), 5)),
    "other": ((("scalp",), 40), (("face",), 45), (("other",), 15)),
}
AREAS_FOR = {
    FILLER: ((("face",), 93), (("hands",), 7)),
    TOXIN: ((("face",), 88), (("face", "neck"), 8), (("neck",), 4)),
}
CONSULT_FIRST = {MICRO: 0.35, PEEL: 0.25, LASER: 0.5, FILLER: 0.7, TOXIN: 0.5}

# --- price list (first calendar year; +4 % every 1 January) ------------------

PRICE = {
    MICRO: {
        "face": 300,
        "neck": 250,
        "chest": 280,
        "hands": 250,
        "arms": 320,
        "abdomen": 350,
        "back": 380,
        "legs": 400,
        "scalp": 320,
        "other": 280,
    },
    PEEL: {
        "face": 120,
        "neck": 100,
        "chest": 130,
        "hands": 90,
        "arms": 120,
        "abdomen": 130,
        "back": 150,
        "legs": 140,
        "other": 110,
    },
    LASER: {
        "face": 450,
        "neck": 300,
        "chest": 380,
        "hands": 250,
        "arms": 400,
        "abdomen": 420,
        "back": 480,
        "legs": 500,
        "other": 350,
    },
}
FILLER_PRICE = {1: 350, 2: 620}
TOXIN_PRICE = {1: 220, 2: 290, 3: 350}
PRICE_RISE = 1.04
EXTRA_AREA_DISCOUNT = 0.8  # second and later areas of one visit
COURSE_DISCOUNT = 0.9  # prepaid course

DURATION = {
    MICRO: {
        "face": 60,
        "neck": 30,
        "chest": 40,
        "hands": 30,
        "arms": 45,
        "abdomen": 45,
        "back": 50,
        "legs": 60,
        "scalp": 45,
        "other": 40,
    },
    PEEL: {"face": 45, "neck": 30, "chest": 30, "hands": 30, "back": 40},
    LASER: {"face": 75, "neck": 40, "chest": 50, "hands": 30, "arms": 60, "legs": 75, "abdomen": 60, "back": 60, "other": 45},
    FILLER: {"face": 45, "hands": 45},
    TOXIN: {"face": 30, "neck": 20},
}
DURATION_NOISE = ((-5, 2), (0, 5), (5, 2), (10, 1))

# (first-session depth, deepest depth) in mm; courses step up 0.25 mm a visit.
DEPTH = {
    "face": (0.5, 1.0),
    "neck": (0.5, 1.0),
    "chest": (0.5, 1.0),
    "hands": (0.5, 0.8),
    "scalp": (0.5, 1.0),
    "arms": (1.5, 2.5),
    "abdomen": (1.5, 2.5),
    "back": (1.5, 2.5),
    "legs": (1.5, 2.5),
    "other": (1.5, 2.5),
}
SCAR_FACE_DEPTH = (1.0, 2.0)  # acne or surgical scars on the face
DEPTH_NOISE = ((-0.1, 2), (0.0, 5), (0.1, 2), (0.2, 1))

# --- consumables: item, category, lot code, unit, unit cost (+3 % a year) ---

TIP = ("MicroPen sterile tip (12-needle)", "needle_tip", "TIP", "each", 8.50)
NUMBING = ("Topical numbing gel", "numbing", "NUM", "g", 0.40)
HA_SERUM = ("Hyaluronic serum", "serum", "HAS", "ml", 6.50)
GF_SERUM = ("Growth-factor serum", "serum", "GFS", "ml", 14.00)
GLOVES = ("Nitrile gloves", "ppe", "GLV", "each", 0.15)
PEEL_SOLUTION = ("Peel solution", "other", "PEEL", "ml", 3.20)
NEUTRALISER = ("Peel neutraliser", "other", "NEU", "ml", 0.90)
SYRINGE = ("Filler syringe 1ml", "other", "FIL", "each", 120.00)
CANNULA = ("Cannula 25G", "other", "CAN", "each", 4.50)
TOXIN_VIAL = ("Botulinum toxin vial (100U)", "other", "BTX", "each", 145.00)
INSULIN_SYRINGE = ("Insulin syringe 0.3ml", "other", "SYR", "each", 0.35)
COOLING_GEL = ("Cooling gel", "other", "CGL", "g", 0.05)
EYE_SHIELD = ("Laser eye shield cover", "ppe", "EYE", "each", 1.20)
ITEMS = (
    TIP,
    NUMBING,
    HA_SERUM,
    GF_SERUM,
    GLOVES,
    PEEL_SOLUTION,
    NEUTRALISER,
    SYRINGE,
    CANNULA,
    TOXIN_VIAL,
    INSULIN_SYRINGE,
    COOLING_GEL,
    EYE_SHIELD,
)
COST_RISE = 1.03
TIP_MISSING = 0.02  # micro-needling sessions with no tip recorded
NUMBING_GRAMS = {"face": 3.5, "neck": 2.0, "chest": 3.0, "hands": 2.0, "scalp": 3.0}

# --- aftercare complaints ---------------------------------------------------

COMPLAINT_RISK = {MICRO: 0.02, PEEL: 0.03, FILLER: 0.035, TOXIN: 0.015, LASER: 0.04}
DEEP_MM = 1.5
DEEP_RISK_FACTOR = 3.0
COMPLAINT_CATEGORIES = {
    MICRO: (
        ("prolonged_redness", 42),
        ("swelling", 18),
        ("breakout", 14),
        ("pigmentation", 10),
        ("pain", 6),
        ("bruising", 5),
        ("infection", 2),
        ("allergic_reaction", 1.5),
        ("other", 1.5),
    ),
    PEEL: (
        ("prolonged_redness", 35),
        ("breakout", 20),
        ("pigmentation", 20),
        ("pain", 10),
        ("swelling", 5),
        ("allergic_reaction", 4),
        ("infection", 1),
        ("other", 5),
    ),
    FILLER: (("swelling", 35), ("bruising", 30), ("pain", 15), ("infection", 4), ("allergic_reaction", 4), ("other", 12)),
    TOXIN: (("bruising", 30), ("pain", 20), ("swelling", 20), ("allergic_reaction", 5), ("other", 25)),
    LASER: (
        ("prolonged_redness", 30),
        ("pigmentation", 25),
        ("swelling", 20),
        ("pain", 10),
        ("breakout", 7),
        ("infection", 3),
        ("other", 5),
    ),
}
SEVERITY = (("mild", 65), ("moderate", 28), ("severe", 7))
SEVERITY_SERIOUS = (("mild", 55), ("moderate", 35), ("severe", 10))
RESOLVE_DAYS = {"mild": (2, 10), "moderate": (5, 21), "severe": (10, 45)}
UNKNOWN_SESSION = 0.05  # complaints phoned in without saying which visit
# One bad batch, for the lot trace to find: the hyaluronic serum lot of September 2025. Micro-needling
# sessions that used it are BAD_BATCH_RISK_FACTOR times as likely to be followed by a complaint,
# mostly infection or breakout. The extra complaints come from their own random stream, so every
# other row is what it would be without the bad batch (only later complaint ids move). Exports
# that do not cover that month have no bad batch.
BAD_BATCH_LOT = "HAS-2509-A"
BAD_BATCH_RISK_FACTOR = 6.0
BAD_BATCH_CATEGORIES = (
    ("infection", 40),
    ("breakout", 35),
    ("prolonged_redness", 10),
    ("swelling", 8),
    ("allergic_reaction", 7),
)

# --- booking behaviour -------------------------------------------------------

CANCEL = 0.08
NO_SHOW = 0.042  # before channel / first-visit / December multipliers
RESCHEDULE_AFTER_CANCEL = 0.75
REBOOK_AFTER_NO_SHOW = 0.55
CONCERN_BLANK = 0.05
COVER = 0.04  # another practitioner at the site takes the appointment
# Appointment slots (15 min from 09:00) by weekday; Sunday closed.
SLOTS = (34, 34, 34, 42, 34, 26, 0)
# Seasonality of new patients by month (Jan..Dec) and growth per year.
SEASON = (1.05, 1.10, 1.20, 1.10, 0.95, 0.70, 0.55, 0.45, 1.10, 1.30, 1.25, 0.60)
GROWTH_PER_YEAR = 0.3
WARM_UP_DAYS = 365  # simulated history before --start, not exported


def _table(pairs):
    """(values, cumulative probabilities) for _pick."""
    values = tuple(v for v, _ in pairs)
    total = float(sum(w for _, w in pairs))
    cum = [c / total for c in accumulate(w for _, w in pairs)]
    cum[-1] = 2.0  # guard against rounding: any x in [0, 1) lands in range
    return values, tuple(cum)


def _pick(table, x):
    values, cum = table
    return values[bisect(cum, x)]


def _uniforms(rng, block=1 << 16):
    while True:
        yield from rng.random(block).tolist()


@cache
def _clock():
    """'HH:MM:SS' for every second of a day."""
    return tuple(f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60))


def _money(x):
    return f"{x:.2f}"


class _Calendar:
    """Per-day lookups by day number. Day 0 is a year before --start: patients
    who first came then are the practice's existing patient base; only their
    appointments from --start on are exported."""

    def __init__(self, start, end, warm_up=WARM_UP_DAYS, margin=520):
        base = start - timedelta(warm_up)
        self.begin = warm_up
        self.last = (end - base).days
        self.horizon = self.last + margin
        days = [base + timedelta(i) for i in range(self.horizon + 60)]
        self.text = [d.isoformat() for d in days]
        self.month = [d.month for d in days]
        self.dom = [d.day for d in days]
        self.weekday = [d.weekday() for d in days]
        self.year = [d.year - base.year for d in days]
        self.years_before_start = start.year - base.year
        self.yymm = [f"{d.year % 100:02d}{d.month:02d}" for d in days]
        closed = [d.weekday() == 6 or (d.month, d.day) in ((12, 25), (12, 26), (1, 1)) for d in days]
        self.next_open = [0] * len(days)
        nxt = len(days) - 1
        for i in range(len(days) - 1, -1, -1):
            if not closed[i]:
                nxt = i
            self.next_open[i] = nxt
        self.clock = _clock()

    def stamp(self, day, second):
        return f"{self.text[day]} {self.clock[second]}"

    def new_patient_weights(self):
        """Relative chance that a new patient first books on each day."""
        years = (np.arange(self.last + 1) - self.begin) / 365.25
        season = np.array([SEASON[m - 1] for m in self.month[: self.last + 1]])
        weekday = np.array([0.6 if w == 6 else 1.0 for w in self.weekday[: self.last + 1]])
        weights = season * weekday * (1.0 + GROWTH_PER_YEAR * years)
        return weights / weights.sum()


class _Patient:
    __slots__ = ("pid", "loc", "prac", "channel", "concern", "no_show", "first")


class _Simulation:
    def __init__(self, seed, patients, start, end):
        self.cal = _Calendar(start, end)
        # spawn(3)'s first two children are spawn(2)'s: adding the bad-batch stream changed no other draw.
        day_rng, event_rng, batch_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
        # The day each patient first books, in order: patient ids follow it.
        self.first_days = np.sort(day_rng.choice(self.cal.last + 1, size=patients, p=self.cal.new_patient_weights()))
        self.u = partial(next, _uniforms(event_rng))
        self.batch_u = partial(next, _uniforms(batch_rng, block=256))
        steps = 12  # shares drift linearly over the simulated years in this many steps
        self.location_tables = [
            _table([(k, a + (b - a) * i / (steps - 1)) for k, (a, b) in LOCATION_SHARE.items()]) for i in range(steps)
        ]
        self.channel_tables = [
            _table([(k, a + (b - a) * i / (steps - 1)) for k, (a, b) in CHANNEL_SHARE.items()]) for i in range(steps)
        ]
        self.steps = steps
        self.concerns = _table(CONCERNS)
        self.treatments = {k: _table(v) for k, v in TREATMENT_BY_CONCERN.items()}
        self.areas = {k: _table(v) for k, v in AREAS_BY_CONCERN.items()}
        self.areas_for = {k: _table(v) for k, v in AREAS_FOR.items()}
        self.staff = {k: _table(v) for k, v in STAFF.items()}
        self.staff_names = {k: tuple(n for n, _ in v) for k, v in STAFF.items()}
        self.duration_noise = _table(DURATION_NOISE)
        self.depth_noise = _table(DEPTH_NOISE)
        self.complaint_categories = {k: _table(v) for k, v in COMPLAINT_CATEGORIES.items()}
        self.bad_batch_categories = _table(BAD_BATCH_CATEGORIES)
        self.severity = _table(SEVERITY)
        self.severity_serious = _table(SEVERITY_SERIOUS)
        # Price list and supplier costs go up every 1 January after --start.
        years = [y - self.cal.years_before_start for y in range(max(self.cal.year) + 1)]
        self.price_factor = [PRICE_RISE**y for y in years]
        self.cost_text = {item[0]: [_money(item[4] * COST_RISE**y) for y in years] for item in ITEMS}
        self.bookings: list[list] = []
        self.sessions: list[list] = []
        self.complaints: list[list] = []
        self.next_id = {"B": 1, "S": 1, "C": 1}
        self.stock_by_day: dict[int, dict] = {}
        self.counts = dict.fromkeys(COLUMNS, 0)

    # --- one patient's story -------------------------------------------------

    def patient(self, p, first_day):
        u, cal = self.u, self.cal
        step = min(self.steps - 1, first_day * self.steps // (cal.last + 1))
        pt = _Patient()
        pt.pid, pt.first = f"P{p + 1:05d}", True
        pt.loc = _pick(self.location_tables[step], u())
        pt.channel = _pick(self.channel_tables[step], u())
        pt.no_show = NO_SHOW * CHANNEL_NO_SHOW[pt.channel]
        pt.concern = _pick(self.concerns, u())
        treatment = _pick(self.treatments[pt.concern], u())
        areas = self._areas(treatment, pt.concern)
        pt.prac = DOCTOR[pt.loc] if treatment in INJECTABLES else _pick(self.staff[pt.loc], u())

        not_before, want = first_day - 1, first_day + 1 + int(u() ** 2 * 14)
        if u() < CONSULT_FIRST[treatment]:
            booking = self._attempt(pt, CONSULT, want, not_before, 14)
            if booking is None or u() < 0.2:  # lost, or did not go ahead
                return
            not_before, want = booking[2], booking[2] + 7 + int(u() * 21)

        if treatment == TOXIN:
            self._repeats(pt, treatment, areas, want, not_before, 0.6, (90, 150))
        elif treatment == FILLER:
            self._filler(pt, areas, want, not_before)
        else:
            self._courses(pt, treatment, areas, want, not_before)

    def _areas(self, treatment, concern):
        u = self.u
        if treatment in INJECTABLES:
            return _pick(self.areas_for[treatment], u())
        areas = _pick(self.areas[concern], u())
        if treatment != MICRO and "scalp" in areas:
            areas = ("face",)
        return areas

    def _courses(self, pt, treatment, areas, want, not_before):
        """A course, then maintenance visits 6-12 months apart while they last."""
        u = self.u
        if treatment == MICRO:
            size = 1 if u() < 0.2 else 3 + int(u() * 4)
            gap = (28, 42)
        elif treatment == PEEL:
            size = 1 if u() < 0.3 else 3 + int(u() * 4)
            gap = (21, 35)
        else:
            size = 1 if u() < 0.4 else 2 + int(u() * 2)
            gap = (35, 56)
        package = size >= 3 and u() < 0.35
        level = 0  # how far into the depth progression the patient is
        keep_coming = 0.5
        while True:
            for i in range(size):
                booking = self._attempt(pt, treatment, want, not_before, 30)
                if booking is None:
                    return
                self._perform(pt, booking, treatment, areas, level, package)
                level += 1
                if i < 2 and i < size - 1 and u() < 0.18:  # drops out mid-course
                    return
                not_before = booking[2]
                want = self._seasonal(not_before + gap[0] + int(u() * (gap[1] - gap[0] + 1)))
            if u() >= keep_coming:
                return
            keep_coming = 0.35
            want = self._seasonal(not_before + 182 + int(u() * 184))
            size = 1 if u() < 0.75 else 2 + int(u() * 2)
            package = False
            level = max(level, 2)
            if u() < 0.15:  # tries something else for maintenance
                treatment = {MICRO: PEEL, PEEL: MICRO, LASER: MICRO}[treatment]
                areas = self._areas(treatment, pt.concern)
                level = 0

    def _repeats(self, pt, treatment, areas, want, not_before, again, gap):
        u = self.u
        while True:
            booking = self._attempt(pt, treatment, want, not_before, 30)
            if booking is None:
                return
            self._perform(pt, booking, treatment, areas, 0, False)
            if u() >= again:
                return
            again = 0.55
            not_before = booking[2]
            want = self._seasonal(not_before + gap[0] + int(u() * (gap[1] - gap[0] + 1)))

    def _filler(self, pt, areas, want, not_before):
        u = self.u
        again = 1.0
        while u() < again:
            booking = self._attempt(pt, FILLER, want, not_before, 30)
            if booking is None:
                return
            self._perform(pt, booking, FILLER, areas, 0, False)
            not_before = booking[2]
            if u() < 0.15:  # free top-up two to three weeks later
                top_up = self._attempt(pt, FILLER, not_before + 14 + int(u() * 8), not_before, 14)
                if top_up is None:
                    return
                self._perform(pt, top_up, FILLER, areas, 0, False, top_up=True)
                not_before = top_up[2]
            again = 0.45
            want = self._seasonal(not_before + 270 + int(u() * 150))

    def _seasonal(self, day):
        """Follow-ups falling in high summer or over Christmas are often pushed back."""
        cal, u = self.cal, self.u
        if day >= cal.horizon:
            return day
        month, dom = cal.month[day], cal.dom[day]
        if month == 7 and u() < 0.25:
            return day + 10 + int(u() * 15)
        if month == 8 and u() < 0.45:
            return day + 14 + int(u() * 15)
        if ((month == 12 and dom >= 20) or (month == 1 and dom <= 3)) and u() < 0.6:
            return day + 10 + int(u() * 10)
        return day

    def _attempt(self, pt, treatment, want, not_before, lead_max):
        """Book for around `want` (booked after day `not_before`), rescheduling
        after cancellations and no-shows. Returns the completed booking, or None
        when the story ends: patient lost, or the export date reached."""
        u, cal = self.u, self.cal
        while True:
            if want >= cal.horizon:
                return None
            appt = cal.next_open[max(want, not_before + 2)]
            lead = 1 + int(u() * min(lead_max, appt - not_before - 1))
            booked = appt - lead
            if booked > cal.last:
                return None
            booked_second = 27_000 + int(u() * 54_000)  # 07:30-22:30
            appt_minute = 540 + 15 * int(u() * SLOTS[cal.weekday[appt]])
            if appt > cal.last:
                status = "scheduled"
            else:
                x = u()
                no_show = pt.no_show * (1.4 if pt.first else 1.0)
                if cal.month[appt] == 12:
                    no_show *= 1.3
                if x < CANCEL:
                    status = "cancelled"
                elif x < CANCEL + no_show:
                    status = "no_show"
                else:
                    status = "completed"
            concern = "" if u() < CONCERN_BLANK else pt.concern
            if treatment in INJECTABLES:
                prac = DOCTOR[pt.loc]
            elif u() < COVER:
                names = self.staff_names[pt.loc]
                prac = names[int(u() * len(names))]
            else:
                prac = pt.prac
            booking = [booked, booked_second, appt, appt_minute, pt, treatment, status, prac, concern]
            self.bookings.append(booking)
            if status == "completed":
                pt.first = False
                return booking
            if status == "scheduled":
                return None
            if status == "cancelled":
                if u() >= RESCHEDULE_AFTER_CANCEL:
                    return None
                not_before, want = booked, appt + 3 + int(u() * 19)
            else:
                if u() >= REBOOK_AFTER_NO_SHOW:
                    return None
                not_before, want = appt, appt + 5 + int(u() * 17)
            lead_max = 30

    def _perform(self, pt, booking, treatment, areas, level, package, top_up=False):
        """Session rows (one per body area) and any complaint for a visit."""
        u, cal = self.u, self.cal
        day = booking[2]
        prac = booking[7]
        price_factor = self.price_factor[cal.year[day]]
        amount = 1
        if treatment == FILLER:
            amount = 1 if top_up or u() < 0.7 else 2
        elif treatment == TOXIN:
            amount = 1 + int(u() * 3)  # facial zones treated
        for i, area in enumerate(areas):
            depth_text, deep = "", False
            if treatment == MICRO:
                first, deepest = DEPTH[area]
                if area == "face" and pt.concern in ("acne_scars", "surgical_scars"):
                    first, deepest = SCAR_FACE_DEPTH
                depth = min(deepest, first + 0.25 * level) + _pick(self.depth_noise, u())
                depth += DEPTH_BIAS.get(prac, 0.0)
                depth = round(min(2.5, max(0.5, depth)), 1)
                depth_text, deep = f"{depth:.1f}", depth > DEEP_MM
            minutes = DURATION[treatment].get(area, 30)
            if i:
                minutes = 5 * round(minutes * 0.7 / 5)
            minutes = max(10, minutes + _pick(self.duration_noise, u()))
            if top_up:
                price = 0.0
            elif treatment == FILLER:
                price = 5 * round(FILLER_PRICE[amount] * price_factor / 5)
            elif treatment == TOXIN:
                base = TOXIN_PRICE[amount] if area == "face" else 250
                price = 5 * round(base * price_factor / 5)
            else:
                price = 5 * round(PRICE[treatment].get(area, 150) * price_factor / 5)
                if i:
                    price *= EXTRA_AREA_DISCOUNT
                if package:
                    price *= COURSE_DISCOUNT
            risk = COMPLAINT_RISK[treatment] * (DEEP_RISK_FACTOR if deep else 1.0)
            # [9] and [10]: the complaint risk and whether a complaint followed (for the bad batch).
            session = [day, booking[3], booking, treatment, area, depth_text, minutes, _money(price), amount, risk, False]
            self.sessions.append(session)

            if u() < risk:
                session[10] = True
                self._complaint(pt, session, treatment, deep)

    def _complaint(self, pt, session, treatment, deep, u=None, categories=None):
        """A complaint following `session`, drawn from `u` (default: the main stream)."""
        u, cal = u or self.u, self.cal
        reported = session[0] + 1 + int(u() * 10)
        if reported > cal.last:
            return
        category = _pick(categories or self.complaint_categories[treatment], u())
        serious = deep or category in ("infection", "allergic_reaction")
        severity = _pick(self.severity_serious if serious else self.severity, u())
        low, high = RESOLVE_DAYS[severity]
        resolved = reported + low + int(u() * (high - low + 1))
        resolved_at = "" if resolved > cal.last else cal.stamp(resolved, 32_400 + int(u() * 32_400))
        known = u() >= UNKNOWN_SESSION
        reported_second = 28_800 + int(u() * 43_200)
        self.complaints.append(
            [reported, reported_second, session if known else None, pt.pid, category, severity, resolved_at, session]
        )

    # --- writing -------------------------------------------------------------

    def flush(self, writers):
        """Sort the chunk's rows by time, give them ids and write them out."""
        cal = self.cal
        text, clock, begin = cal.text, cal.clock, cal.begin
        ids = self.next_id

        self.bookings.sort(key=lambda b: (b[0], b[1]))
        rows = []
        n = ids["B"]
        for b in self.bookings:
            if b[2] < begin:  # appointment before --start: not in the export
                continue
            booking_id = f"B{n:06d}"
            n += 1
            b.append(booking_id)
            pt = b[4]
            rows.append(
                (
                    booking_id,
                    pt.pid,
                    f"{text[b[0]]} {clock[b[1]]}",
                    f"{text[b[2]]} {clock[b[3] * 60]}",
                    b[5],
                    b[6],
                    pt.loc,
                    b[7],
                    pt.channel,
                    b[8],
                )
            )
        ids["B"] = n
        writers["bookings"].writerows(rows)
        self.counts["bookings"] += len(rows)

        self.sessions.sort(key=lambda s: (s[0], s[1]))
        rows, used = [], []
        n = ids["S"]
        for s in self.sessions:
            if s[0] < begin:
                continue
            session_id = f"S{n:06d}"
            n += 1
            s.append(session_id)
            b = s[2]
            pt = b[4]
            rows.append(
                (session_id, b[-1], pt.pid, f"{text[s[0]]} {clock[s[1] * 60]}", s[3], s[4], s[5], s[6], b[7], pt.loc, s[7])
            )
            self._consumables(s, used)
        ids["S"] = n
        writers["sessions"].writerows(rows)
        writers["consumables"].writerows(used)
        self.counts["sessions"] += len(rows)
        self.counts["consumables"] += len(used)

        self.complaints.sort(key=lambda c: (c[0], c[1]))
        rows = []
        n = ids["C"]
        for c in self.complaints:
            if c[7][0] < begin:  # follows a session before --start
                continue
            rows.append((f"C{n:05d}", "" if c[2] is None else c[2][-1], c[3], f"{text[c[0]]} {clock[c[1]]}", c[4], c[5], c[6]))
            n += 1
        ids["C"] = n
        writers["complaints"].writerows(rows)
        self.counts["complaints"] += len(rows)
        self.bookings, self.sessions, self.complaints = [], [], []

    def _stock(self, day):
        """item name -> (item, category, lot, unit, unit cost) as used on a day.
        Lots change every month; sterile tips arrive twice a month."""
        stock = self.stock_by_day.get(day)
        if stock is None:
            cal = self.cal
            yymm, year = cal.yymm[day], cal.year[day]
            stock = {}
            for name, category, code, unit, _ in ITEMS:
                letter = "B" if code == "TIP" and cal.dom[day] > 15 else "A"
                stock[name] = (name, category, f"{code}-{yymm}-{letter}", unit, self.cost_text[name][year])
            self.stock_by_day[day] = stock
        return stock

    def _consumables(self, s, out):
        u = self.u
        treatment, area, amount, session_id = s[3], s[4], s[8], s[-1]
        stock = self._stock(s[0])
        used = []
        if treatment == MICRO:
            if u() >= TIP_MISSING:
                used.append((TIP, 1))
            used.append((NUMBING, NUMBING_GRAMS.get(area, 4.5) + 0.5 * int(u() * 3) - 0.5))
            used.append((HA_SERUM if u() < 0.65 else GF_SERUM, 1 + 0.5 * int(u() * 5)))
        elif treatment == PEEL:
            used.append((PEEL_SOLUTION, 2 + 0.5 * int(u() * 7)))
            used.append((NEUTRALISER, 2 + int(u() * 3)))
        elif treatment == FILLER:
            used.append((SYRINGE, amount))
            used.append((NUMBING, 1 + 0.5 * int(u() * 3)))
            if u() < 0.6:
                used.append((CANNULA, 1))
        elif treatment == TOXIN:
            used.append((TOXIN_VIAL, round(0.1 * (1 + amount + int(u() * 2)), 1)))
            used.append((INSULIN_SYRINGE, 1 + amount + int(u() * 2)))
        else:
            used.append((COOLING_GEL, 10 + 5 * int(u() * 4)))
            used.append((NUMBING, 3 + 0.5 * int(u() * 5)))
            used.append((EYE_SHIELD, 1))
        used.append((GLOVES, 2))
        for item, quantity in used:
            name, category, lot, unit, cost = stock[item[0]]
            out.append((session_id, name, category, lot, f"{quantity:g}", unit, cost))
            if lot == BAD_BATCH_LOT:
                self._bad_batch(s)

    def _bad_batch(self, s):
        """Raise the session's chance of a complaint from its risk to BAD_BATCH_RISK_FACTOR times it:
        a session with no complaint yet gets one with the probability that makes up the difference.
        Draws only from the bad-batch stream."""
        if s[10]:
            return
        risk = s[9]
        extra = min(1.0, (BAD_BATCH_RISK_FACTOR - 1) * risk / (1 - risk))
        u = self.batch_u
        if u() < extra:
            s[10] = True
            deep = s[5] != "" and float(s[5]) > DEEP_MM
            self._complaint(s[2][4], s, s[3], deep, u=u, categories=self.bad_batch_categories)


def _as_date(value):
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def generate(
    out_dir: str | Path,
    seed: int = 42,
    patients: int = 1850,
    start: str | date = "2023-11-01",
    end: str | date = "2026-10-31",
) -> dict[str, int]:
    """Write the four CSV files into out_dir; return rows written per file."""
    start, end = _as_date(start), _as_date(end)
    if end <= start:
        raise ValueError(f"--end ({end}) must be after --start ({start})")
    if patients < 0:
        raise ValueError("--patients must be zero or more")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sim = _Simulation(seed, patients, start, end)
    with ExitStack() as stack:
        writers = {}
        for name, columns in COLUMNS.items():
            f = stack.enter_context(open(out / f"{name}.csv", "w", encoding="utf-8", newline=""))
            writers[name] = csv.writer(f, lineterminator="\n")
            writers[name].writerow(columns)
        for chunk in range(0, patients, CHUNK_PATIENTS):
            first_days = sim.first_days[chunk : chunk + CHUNK_PATIENTS].tolist()
            for p, first_day in enumerate(first_days, start=chunk):
                sim.patient(p, first_day)
            sim.flush(writers)
    return dict(sim.counts)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m sample_data.generate",
        description="Write a synthetic, deterministic clinic-group export (SPEC §1).",
    )
    parser.add_argument("--out", required=True, help="directory to write the four CSV files into")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--patients", type=int, default=1850)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2023, 11, 1))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2026, 10, 31))
    args = parser.parse_args(argv)
    began = time.perf_counter()
    try:
        counts = generate(args.out, args.seed, args.patients, args.start, args.end)
    except ValueError as error:
        parser.error(str(error))
    seconds = time.perf_counter() - began
    rows = ", ".join(f"{name} {n:,}" for name, n in counts.items())
    print(f"wrote {args.out}: {rows} rows in {seconds:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
