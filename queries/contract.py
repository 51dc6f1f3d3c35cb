"""The data contract of ../shared/SPEC.md §1, as data the loader and the tests read.

Every identifier that reaches SQL (table and column names) comes from here,
never from an export's header text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalise_name(text: str) -> str:
    """`Needle Depth (mm)` -> `needle_depth_mm`: the rule SPEC §1 gives for headers and enums.

    The same rule is written in SQL as the macro `normalise` (staging/macros.sql).
    """
    return _NON_ALNUM.sub("_", text.strip().lower()).strip("_")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # text | timestamp | decimal | integer | enum
    required: bool = False


@dataclass(frozen=True)
class Entity:
    name: str  # also the file stem: bookings -> bookings.csv
    id_column: str | None
    required: bool
    columns: tuple[Column, ...]
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)


STATUSES = ("scheduled", "completed", "cancelled", "no_show")
BODY_AREAS = ("face", "neck", "chest", "hands", "arms", "abdomen", "back", "legs", "scalp", "other")
CONCERNS = (
    "fine_lines", "wrinkles", "discoloration", "acne_scars", "surgical_scars",
    "uneven_tone", "stretch_marks", "sun_damage", "other",
)
CONSUMABLE_CATEGORIES = ("needle_tip", "numbing", "serum", "ppe", "other")
UNITS = ("each", "ml", "g")
COMPLAINT_CATEGORIES = (
    "prolonged_redness", "swelling", "pain", "bruising", "breakout",
    "infection", "pigmentation", "allergic_reaction", "other",
)
SEVERITIES = ("mild", "moderate", "severe")

BOOKINGS = Entity(
    name="bookings",
    id_column="booking_id",
    required=True,
    columns=(
        Column("booking_id", "text", True),
        Column("patient_id", "text", True),
        Column("booked_at", "timestamp", True),
        Column("appointment_at", "timestamp", True),
        Column("treatment", "text", True),
        Column("status", "enum", True),
        Column("location", "text"),
        Column("practitioner", "text"),
        Column("channel", "text"),
        Column("concern", "enum"),
    ),
    enums={"status": STATUSES, "concern": CONCERNS},
)

SESSIONS = Entity(
    name="sessions",
    id_column="session_id",
    required=True,
    columns=(
        Column("session_id", "text", True),
        Column("booking_id", "text"),
        Column("patient_id", "text", True),
        Column("performed_at", "timestamp", True),
        Column("treatment", "text", True),
        Column("body_area", "enum", True),
        Column("needle_depth_mm", "decimal"),
        Column("duration_min", "integer"),
        Column("practitioner", "text"),
        Column("location", "text"),
        Column("price", "decimal"),
    ),
    enums={"body_area": BODY_AREAS},
)

CONSUMABLES = Entity(
    name="consumables",
    id_column=None,
    required=False,
    columns=(
        Column("session_id", "text", True),
        Column("item", "text", True),
        Column("category", "enum"),
        Column("lot", "text"),
        Column("quantity", "decimal", True),
        Column("unit", "enum", True),
        Column("unit_cost", "decimal"),
    ),
    enums={"category": CONSUMABLE_CATEGORIES, "unit": UNITS},
)

COMPLAINTS = Entity(
    name="complaints",
    id_column="complaint_id",
    required=False,
    columns=(
        Column("complaint_id", "text", True),
        Column("session_id", "text"),
        Column("patient_id", "text", True),
        Column("reported_at", "timestamp", True),
        Column("category", "enum", True),
        Column("severity", "enum"),
        Column("resolved_at", "timestamp"),
    ),
    enums={"category": COMPLAINT_CATEGORIES, "severity": SEVERITIES},
)

ENTITIES: dict[str, Entity] = {e.name: e for e in (BOOKINGS, SESSIONS, CONSUMABLES, COMPLAINTS)}
