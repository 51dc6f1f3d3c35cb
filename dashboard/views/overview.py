"""Owner overview: the period's KPIs against a comparison period, the trend of
sessions and revenue, and the top treatments and locations. A role that may not see patients (marketing)
sees the same figures through the small-cell rule (SPEC 2.14, queries/overview.py)."""

from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard import auth, charts, export, filters, source, ui
from queries import labels, overview, privacy
from queries.kpis import KPIS, kpi_calls, owner_kpis

view = filters.current_view()
st.title("Overview")
# Weeks show the shape of a short period; a month or two would be one or two bars.
grain = "week" if (view.end - view.start).days < 92 else "month"
marketing = not auth.sees_patients(auth.current_role())
k = source.settings().min_patients_per_cell
# The owner's trend and top-5 tables, as the page asks for them below.
TREND = ("sessions_over_time", {"grain": grain, "patients": False})
TOPS = {dimension: ("sessions_by_dimension", {"dimension": dimension, "patients": False}) for dimension in overview.TOP}


@st.cache_data(show_spinner=False, max_entries=200)
def _protect(frame: pd.DataFrame, k: int) -> pd.DataFrame:
    return overview.protect(frame, k)


def protected(period_filters, with_tables: bool) -> pd.DataFrame:
    """The Overview's figures as marketing may see them: `<k` where hidden, no patient counts."""
    raw = overview.figures(source.query, period_filters, view.as_of, grain if with_tables else None)
    return _protect(raw, k)


def card_figures(shown: pd.DataFrame) -> dict:
    return {key: None if not privacy.is_hidden(v) and pd.isna(v) else v for key, v in overview.kpis(shown).items()}


# Every query the page shows is fetched together before it draws: most of a query's time at 100k sessions is
# planning, which leaves the other core idle (the owner's eight: 58 -> 37 ms at 100k, 83 -> 59 ms at 1M,
# 263 -> 245 ms at 10M).
if marketing:
    previous_filters = view.filters.with_period(*view.previous) if view.previous else None
    source.prefetch(view.filters, view.as_of, *overview.calls(grain))
    if previous_filters is not None:
        source.prefetch(previous_filters, view.as_of, *overview.calls(None))
    shown = protected(view.filters, with_tables=True)
    current = card_figures(shown)
    previous = card_figures(protected(previous_filters, with_tables=False)) if previous_filters is not None else None
else:
    source.prefetch(view.filters, view.as_of, *kpi_calls(view.previous), TREND, *TOPS.values())
    kpis = owner_kpis(source.query, view.filters, view.as_of, view.previous)
    current, previous = kpis["current"], kpis["previous"]
compared = (f" · compared with {view.previous[0]:%d %b %Y} – {view.previous[1]:%d %b %Y}"
            if view.previous else "")
st.caption(f"**{view.period_label}**{compared}. Sessions and revenue count treatments performed; "
           "hover the ? beside a figure for exactly what it counts.")
if view.is_partial:
    st.info(f"This period is still running: it ends on the export's date, {view.as_of:%d %b %Y}, and is "
            "compared with the same dates a year earlier.", icon=":material/schedule:")

if not current["count_sessions"] and not current["count_bookings"]:
    ui.empty_state("No sessions or bookings match these filters.")
    st.stop()
if marketing:
    st.info(f"**Aggregates only.** A figure shown as **\\{privacy.label(k)}** is hidden: it counts fewer than {k} "
            "patients, or it would let such a figure be worked out from the totals beside it.", icon=":material/lock:")

# Bookings carry no body area, so that filter cannot narrow the booking figures.
bookings_note = " · body-area filter not applied" if view.filters.body_areas else ""
n = ui.figure  # a count in a note: 1,234, or <k where hidden
notes = {
    "count_sessions": "treatments performed",
    "revenue": "charged for those sessions",
    "average_price": "per session",
    "count_new_patients": "first session ever",
    "rebooking_rate": f"back within 6 months: {n(current['count_rebooked'])} of {n(current['count_eligible'])} "
                      f"eligible · {n(current['count_pending'])} still pending",
    "no_show_rate": f"{n(current['count_no_show'])} no-shows{bookings_note}",
    "cancellation_rate": f"{n(current['count_cancelled'])} of {n(current['count_bookings'])} bookings{bookings_note}",
    "complaints_per_100_sessions": f"per 100 sessions · {n(current['count_complaints'])} complaints",
    "cost_per_session": "consumables per session"
                        + (f" · {n(current['count_uncosted_lines'])} lines without a cost"
                           if current["count_uncosted_lines"] else ""),
    "tip_compliance": f"of {n(current['count_micro_needling_sessions'])} micro-needling sessions had a sterile tip",
}
targets = source.targets()
absent = source.absent_files()
# Fixed-width cards in a wrapping row: five abreast on a wide screen, fewer (never squeezed) on a narrow one.
with st.container(horizontal=True, gap="small"):
    for kpi in KPIS:
        if kpi.needs in absent:
            ui.kpi_unavailable(kpi, f"No {kpi.needs}.csv in this export.")
        else:
            ui.kpi_card(kpi, current[kpi.key], previous[kpi.key] if previous else None,
                        targets.get(kpi.key), notes.get(kpi.key))

if marketing:
    trend = overview.trend(shown)
    trend = trend.assign(**{c: privacy.numbers(trend[c]) for c in ("count_sessions", "revenue")})
else:
    trend = source.query(TREND[0], view.filters, view.as_of, **TREND[1])
if trend.empty:
    ui.empty_state("No sessions were performed with these filters, so there is no trend to show.")
else:
    st.plotly_chart(charts.sessions_and_revenue(trend, f"Sessions and revenue per {grain}", grain, ui.currency()),
                    key="sessions_trend")
    first_bucket, last_bucket = trend["period_start"].iloc[0].date(), trend["period_start"].iloc[-1].date()
    partial = []
    if first_bucket < view.start:
        partial.append(f"the first {grain} starts on {view.start:%d %b %Y}")
    next_bucket = last_bucket + timedelta(days=7) if grain == "week" else \
        (last_bucket.replace(day=28) + timedelta(days=4)).replace(day=1)
    if view.end < next_bucket - timedelta(days=1):
        partial.append(f"the last {grain} runs only to {view.end:%d %b %Y}")
    if partial:
        st.caption("Partial: " + "; ".join(partial) + ".")
    if marketing and trend["count_sessions"].isna().any():
        st.caption(f"A {grain} with no bar is hidden: fewer than {k} patients, or it would give such a {grain} away.")

left, right = st.columns(2)
for column, dimension, title in ((left, "treatment", "Treatment"), (right, "location", "Location")):
    with column:
        st.subheader(f"Top 5 by {title.lower()}")
        if marketing:
            top = overview.top(shown, dimension).head(5)
        else:
            name, extra = TOPS[dimension]
            top = source.query(name, view.filters, view.as_of, **extra).head(5)
            top = top.drop(columns="count_patients")  # there (null here) for the small-cell rule
        if top.empty:
            st.caption("No sessions.")
        elif marketing:
            symbol = ui.currency()
            ui.suppressed_table(labels.frame(top, title, symbol), f"top_{dimension}s.csv",
                                {labels.column("count_sessions", symbol): "count",
                                 labels.column("revenue", symbol): "money"})
        else:
            ui.table_with_download(top, f"top_{dimension}s.csv", dimension_title=title)

export.export_button(view, "overview")
