"""Words a clinic owner reads instead of column names and enum codes: one wording for the dashboard's
tables and the workbooks the report and the pages export (queries/export.py)."""

from __future__ import annotations

import pandas as pd

COLUMNS = {
    "body_area": "Body area",
    "category": "Category",
    "concern": "Concern",
    "count_sessions": "Sessions",
    "count_bookings": "Bookings",
    "count_complaints": "Complaints",
    "count_patients": "Patients",
    "revenue": "Revenue ({currency})",
    "month": "Month",
    "period_start": "Period starting",
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
    "cost": "Cost ({currency})",
    "unit": "Unit",
    "share_of_sessions": "Share of sessions",
    "count_sessions_previous": "Sessions, comparison period",
    "change_in_sessions": "Change",
    "count_eligible": "Eligible",
    "count_rebooked": "Rebooked",
    "count_pending": "Pending",
    "rebooking_rate": "Rebooking rate",
    "window_status": "Windows",
    "patient_id": "Patient",
    "last_session_date": "Last session",
    "days_since": "Days since",
    "treatments": "Treatment(s)",
    "body_areas": "Body area(s)",
    "locations": "Location(s)",
    "practitioners": "Practitioner(s)",
    "count_sessions_to_date": "Sessions to date",
    "channel": "Channel",
    "complaints_per_100": "Complaints per 100 sessions",
    "complaints_per_100_sessions": "Complaints per 100 sessions",
    "centre_per_100": "Centre line",
    "upper_limit_per_100": "Upper limit",
    "lower_limit_per_100": "Lower limit",
    "is_signal": "Signals",
    "is_collecting": "Still collecting",
    "severity": "Severity",
    "days_after_session": "Days after session",
    "is_after_normal_healing": "After day 4",
    "count_open": "Open",
    "count_resolved": "Resolved",
    "median_days_to_resolve": "Median days to resolve",
    "max_days_to_resolve": "Longest days to resolve",
    "count_uncosted_lines": "Lines without a cost",
    "count_lots": "Lots",
    "cost_per_session": "Cost per session ({currency})",
    "count_sessions_with_numbing": "Sessions with numbing",
    "quantity_per_session": "Amount per session",
    "count_micro_needling_sessions": "Micro-needling sessions",
    "count_with_needle_tip": "With a sterile tip",
    "count_without_needle_tip": "Without",
    "tip_compliance": "Sterile-tip compliance",
    "session_id": "Session",
    "performed_at": "Performed",
    "treatment": "Treatment",
    "location": "Location",
    "practitioner": "Practitioner",
    "count_consumable_lines": "Consumable lines",
    "lot": "Lot",
    "items": "Item(s)",
    "count_items": "Items",
    "first_used_on": "First used",
    "last_used_on": "Last used",
    "count_sessions_other_lots": "Sessions, other lots",
    "count_complaints_other_lots": "Complaints, other lots",
    "other_lots_complaints_per_100_sessions": "Other lots per 100",
    "chance_if_like_other_lots": "Chance if like other lots",
    "is_flagged": "Flagged",
    "complaint_id": "Complaint",
    "session_date": "Session day",
    "reported_at": "Reported",
    "resolved_at": "Resolved",
    "count_without_depth": "Without a depth",
    "depth_min_mm": "Lowest (mm)",
    "depth_q1_mm": "Lower quartile (mm)",
    "depth_median_mm": "Median (mm)",
    "depth_q3_mm": "Upper quartile (mm)",
    "depth_max_mm": "Deepest (mm)",
    "depth_mean_mm": "Mean (mm)",
    "group_value": "Group",
    "day": "Day after session",
    "count_at_risk": "Sessions followed",
    "count_rebooked_on_day": "Rebooked that day",
    "cumulative_rebooking_rate": "Rebooked by then",
    "count_new_patients": "New patients",
    "count_not_rebooked": "Not rebooked",
    "count_completed": "Attended",
    "count_no_show": "No-shows",
    "count_cancelled": "Cancelled",
    "count_scheduled": "Still scheduled",
    "no_show_rate": "No-show rate",
    "cancellation_rate": "Cancellation rate",
    "count_converted": "Converted",
    "count_not_converted": "Not converted",
    "conversion_rate": "Conversion rate",
    "count_bookings_previous": "Bookings, a year earlier",
    "change_in_bookings": "Change",
    "change_rate": "Change (%)",
    "share_of_month": "Share of the month",
    "share_of_concern": "Share of the concern",
    "average_per_month": "Average per month",
    "seasonal_index": "Seasonal index",
    "month_of_year": "Month of the year",
}

# How a table shows each column: raw column name -> kind (ui.table_with_download formats it).
FORMATS = {
    **{name: "count" for name in (
        "count_sessions", "count_bookings", "count_complaints", "count_patients", "count_rows", "count_read",
        "count_loaded", "count_rejected", "count_sessions_previous", "count_eligible", "count_rebooked",
        "count_pending", "count_sessions_to_date", "count_open", "count_resolved", "count_uncosted_lines",
        "count_lots", "count_sessions_with_numbing", "count_micro_needling_sessions", "count_with_needle_tip",
        "count_without_needle_tip", "count_consumable_lines", "count_sessions_other_lots",
        "count_complaints_other_lots", "count_without_depth", "count_at_risk", "count_rebooked_on_day",
        "days_since", "days_after_session", "max_days_to_resolve", "count_new_patients", "count_not_rebooked",
        "count_completed", "count_no_show", "count_cancelled", "count_scheduled")},
    "change_in_sessions": "change",
    **{name: "rate" for name in ("share_of_sessions", "rebooking_rate", "tip_compliance", "cumulative_rebooking_rate",
                                 "no_show_rate", "cancellation_rate")},
    **{name: "per_100" for name in (
        "complaints_per_100", "complaints_per_100_sessions", "centre_per_100", "upper_limit_per_100",
        "lower_limit_per_100", "other_lots_complaints_per_100_sessions")},
    "revenue": "money_whole",
    "cost": "money",
    "cost_per_session": "money",
    "average_price": "money",
    **{name: "mm" for name in ("depth_min_mm", "depth_q1_mm", "depth_median_mm", "depth_q3_mm", "depth_max_mm",
                               "depth_mean_mm")},
    **{name: "amount" for name in ("quantity", "quantity_per_session", "median_days_to_resolve")},
    "chance_if_like_other_lots": "probability",
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
    "not_recorded": "Not recorded",
    "first_visit": "First visit",
    "closing": "Some still open",
    "open": "Pending",
}


# Columns holding a contract code (shown in words) rather than text the clinic typed.
CODE_COLUMNS = ("body_area", "category", "concern", "dimension_value", "severity", "window_status", "group_value",
                "channel")


def column(name: str, currency: str = "$") -> str:
    return COLUMNS.get(name, name.replace("_", " ").capitalize()).format(currency=currency)


def value(code):
    """`acne_scars` -> `Acne scars`; names the clinic typed (`Micro-needling`) stay as typed; a missing
    value stays missing."""
    if code is None or (not isinstance(code, str) and pd.isna(code)):
        return code
    text = str(code)
    if text in VALUES:
        return VALUES[text]
    if text.islower() and " " not in text:
        return text.replace("_", " ").capitalize()
    return text


def words(df):
    """A copy with contract codes in words (column names kept)."""
    out = df.copy()
    for col in out.columns:
        if col in CODE_COLUMNS:
            out[col] = out[col].map(value).astype(object)
        elif col == "body_areas":  # a patient's areas of one visit, `face, neck`
            out[col] = out[col].map(lambda codes: ", ".join(value(c) for c in str(codes).split(", ")),
                                    na_action="ignore")
    return out


def frame(df, dimension_title: str | None = None, currency: str = "$"):
    """A copy with readable column headers and enum values, for tables and downloads."""
    out = words(df)
    renamed = {c: column(c, currency) for c in out.columns}
    if dimension_title and "dimension_value" in renamed:
        renamed["dimension_value"] = dimension_title
    return out.rename(columns=renamed)
