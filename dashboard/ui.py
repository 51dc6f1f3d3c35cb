"""Small pieces every page uses: number formats, KPI cards, empty states, downloads."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import labels
from queries.kpis import Kpi, Target

CARD_WIDTH = 185  # px: the widest card content ("$302.97", "Supplies cost ?") fits without "…"


def day(value) -> str:
    """`31 Oct 2026`, or a dash where there is no date (a file with no loadable rows)."""
    return "—" if value is None or pd.isna(value) else f"{value:%d %b %Y}"


def fmt(value, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "money":
        # Short enough for a card at 1280 px; the card's help gives the exact figure.
        if abs(value) >= 1_000_000:
            return f"${value / 1_000_000:,.2f}M"
        if abs(value) >= 100_000:
            return f"${value / 1000:,.0f}k"
        if abs(value) >= 10_000:
            return f"${value / 1000:,.1f}k"
        return f"${value:,.2f}" if abs(value) < 1000 else f"${value:,.0f}"
    if unit == "rate":
        return f"{value:.1%}"
    if unit == "per_100":
        return f"{value:.2f}"
    return f"{value:,.0f}"


def fmt_change(current, previous, unit: str) -> str | None:
    """The change since the previous period, in the KPI's own terms (points for rates)."""
    if current is None or previous is None:
        return None
    change = current - previous
    if unit == "rate":
        return f"{change * 100:+.1f} pts"
    if unit == "money":
        return f"{'+' if change >= 0 else '-'}${abs(change):,.2f}" if abs(change) < 1000 else \
            f"{'+' if change >= 0 else '-'}${abs(change):,.0f}"
    if unit == "per_100":
        return f"{change:+.2f}"
    return f"{change:+,.0f}"


def kpi_card(kpi: Kpi, value, previous=None, target: Target | None = None, note: str | None = None) -> None:
    help_text = kpi.help
    if kpi.unit == "money" and value is not None:
        help_text += f"\n\nThis period: ${value:,.2f}."
    if previous is not None:
        help_text += f"\n\nComparison period: {fmt(previous, kpi.unit)}."
    caption = note or ""
    if target is not None:
        met = target.is_met(value)
        bound = " and ".join(p for p in (
            f"≥ {fmt(target.minimum, kpi.unit)}" if target.minimum is not None else "",
            f"≤ {fmt(target.maximum, kpi.unit)}" if target.maximum is not None else "") if p)
        verdict = {True: ":material/check_circle: on target", False: ":material/warning: off target",
                   None: "target"}[met]
        caption = f"{verdict} ({bound})" + (f" · {caption}" if caption else "")
    with st.container(border=True, width=CARD_WIDTH):
        st.metric(kpi.label, fmt(value, kpi.unit), delta=fmt_change(value, previous, kpi.unit),
                  delta_color="normal" if kpi.higher_is_better else "inverse", help=help_text)
        if caption:
            st.caption(caption)


def kpi_unavailable(kpi: Kpi, reason: str) -> None:
    with st.container(border=True, width=CARD_WIDTH):
        st.metric(kpi.label, "—", help=kpi.help)
        st.caption(reason)


def empty_state(message: str) -> None:
    st.info(f"{message} Widen the period or clear some filters in the sidebar.", icon="🔎")


# Number formats by the readable column name (labels.COLUMNS) a table shows.
NUMBER_FORMATS = {
    "Revenue ($)": "$%,.0f",
    "Cost ($)": "$%,.2f",
    "Sessions": "%,d",
    "Bookings": "%,d",
    "Complaints": "%,d",
    "Rows": "%,d",
}


def table_with_download(df, file_name: str, *, dimension_title: str | None = None) -> None:
    """A readable table and, beside it, the same rows as CSV."""
    shown = labels.frame(df, dimension_title)
    config = {name: st.column_config.NumberColumn(name, format=fmt_)
              for name, fmt_ in NUMBER_FORMATS.items() if name in shown.columns}
    st.dataframe(shown, hide_index=True, width="stretch", column_config=config or None)
    st.download_button("Download CSV", shown.to_csv(index=False).encode("utf-8"), file_name=file_name,
                       mime="text/csv", key=f"download_{file_name}", icon=":material/download:")
