"""Words a clinic owner reads instead of column names and enum codes."""

from __future__ import annotations

COLUMNS = {
    "body_area": "Body area",
    "category": "Category",
    "concern": "Concern",
    "count_sessions": "Sessions",
    "count_bookings": "Bookings",
    "count_complaints": "Complaints",
    "count_patients": "Patients",
    "revenue": "Revenue ($)",
    "month": "Month",
    "dimension_value": "",
    "file_name": "File",
    "line": "Line",
    "column_name": "Column",
    "reason": "Reason",
    "check_name": "Check",
    "count_rows": "Rows",
    "count_read": "Read",
    "count_loaded": "Loaded",
    "count_rejected": "Rejected",
    "first_date": "First date",
    "last_date": "Last date",
    "item": "Item",
    "quantity": "Quantity",
    "cost": "Cost ($)",
    "unit": "Unit",
}

# Codes whose plain spelling is not just the code with spaces.
VALUES = {
    "no_show": "No-show",
    "acne_scars": "Acne scars",
    "surgical_scars": "Surgical scars",
    "sun_damage": "Sun damage",
    "needle_tip": "Sterile tip",
    "ppe": "PPE",
    "unknown": "Not recorded",
}


def column(name: str) -> str:
    return COLUMNS.get(name, name.replace("_", " ").capitalize())


def value(code) -> str:
    """`acne_scars` -> `Acne scars`; names the clinic typed (`Micro-needling`) stay as typed."""
    text = str(code)
    if text in VALUES:
        return VALUES[text]
    if text.islower() and " " not in text:
        return text.replace("_", " ").capitalize()
    return text


def frame(df, dimension_title: str | None = None):
    """A copy with readable column headers and enum values, for tables and downloads."""
    out = df.copy()
    for col in out.columns:
        if col in ("body_area", "category", "concern", "dimension_value"):
            out[col] = out[col].map(value)
    renamed = {c: column(c) for c in out.columns}
    if dimension_title and "dimension_value" in renamed:
        renamed["dimension_value"] = dimension_title
    return out.rename(columns=renamed)
