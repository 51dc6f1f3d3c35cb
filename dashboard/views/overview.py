"""Owner overview: the period's KPIs against a comparison period, the trend of
sessions and revenue, and the top treatments and locations."""

from datetime import timedelta

import streamlit as st

from dashboard import charts, export, filters, source, ui
from queries.kpis import KPIS, owner_kpis

view = filters.current_view()
st.title("Overview")

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

# Bookings carry no body area, so that filter cannot narrow the booking figures.
bookings_note = " · body-area filter not applied" if view.filters.body_areas else ""
notes = {
    "count_sessions": "treatments performed",
    "revenue": "charged for those sessions",
    "average_price": "per session",
    "count_new_patients": "first session ever",
    "rebooking_rate": f"back within 6 months: {current['count_rebooked']:,} of {current['count_eligible']:,} "
                      f"eligible · {current['count_pending']:,} still pending",
    "no_show_rate": f"{current['count_no_show']:,} no-shows{bookings_note}",
    "cancellation_rate": f"{current['count_cancelled']:,} of {current['count_bookings']:,} bookings{bookings_note}",
    "complaints_per_100_sessions": f"per 100 sessions · {current['count_complaints']:,} complaints",
    "cost_per_session": "consumables per session"
                        + (f" · {current['count_uncosted_lines']:,} lines without a cost"
                           if current["count_uncosted_lines"] else ""),
    "tip_compliance": f"of {current['count_micro_needling_sessions']:,} micro-needling sessions had a sterile tip",
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

# Weeks show the shape of a short period; a month or two would be one or two bars.
grain = "week" if (view.end - view.start).days < 92 else "month"
trend = source.query("sessions_over_time", view.filters, view.as_of, grain=grain)
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

left, right = st.columns(2)
for column, dimension, title in ((left, "treatment", "Treatment"), (right, "location", "Location")):
    with column:
        st.subheader(f"Top 5 by {title.lower()}")
        top = source.query("sessions_by_dimension", view.filters, view.as_of, dimension=dimension).head(5)
        if top.empty:
            st.caption("No sessions.")
        else:
            ui.table_with_download(top, f"top_{dimension}s.csv", dimension_title=title)

export.export_button(view, "overview")
