"""Owner overview: the period's KPIs against the period before, the monthly
trend, and the top treatments and locations."""

from datetime import timedelta

import streamlit as st

from dashboard import charts, filters, source, ui
from queries.kpis import KPIS, owner_kpis

view = filters.current_view()
st.title("Overview")

kpis = owner_kpis(source.query, view.filters, view.as_of, compare=view.preset != "all")
current, previous = kpis["current"], kpis["previous"]
compared = (f" · compared with {kpis['previous_period'][0]:%d %b %Y} – {kpis['previous_period'][1]:%d %b %Y}"
            if kpis["previous_period"] else "")
st.caption(f"**{view.period_label}**{compared}. Sessions and revenue count treatments performed; "
           "hover the ? beside a figure for exactly what it counts.")
if view.is_partial:
    st.info(f"This period is still running: it ends on the export's date, {view.as_of:%d %b %Y}. "
            "The comparison is with the same number of days just before it.", icon=":material/schedule:")

if not current["count_sessions"] and not current["count_bookings"]:
    ui.empty_state("No sessions or bookings match these filters.")
    st.stop()

targets = source.targets()
notes = {
    "rebooking_rate": f"{current['count_rebooked']:,} of {current['count_eligible']:,} eligible sessions · "
                      f"{current['count_pending']:,} still pending",
    "no_show_rate": f"{current['count_no_show']:,} no-shows",
    "cancellation_rate": f"{current['count_cancelled']:,} of {current['count_bookings']:,} bookings",
    "complaints_per_100_sessions": f"per 100 sessions · {current['count_complaints']:,} complaints",
    "cost_per_session": "consumables cost per session"
                        + (f" · {current['count_uncosted_lines']:,} lines without a cost"
                           if current["count_uncosted_lines"] else ""),
    "tip_compliance": f"of {current['count_micro_needling_sessions']:,} micro-needling sessions had a sterile tip",
}
absent = source.absent_files()
for row in (KPIS[:5], KPIS[5:]):
    for kpi, column in zip(row, st.columns(len(row)), strict=True):
        with column:
            if kpi.needs in absent:
                ui.kpi_unavailable(kpi, f"No {kpi.needs}.csv in this export.")
            else:
                ui.kpi_card(kpi, current[kpi.key], previous[kpi.key] if previous else None,
                            targets.get(kpi.key), notes.get(kpi.key))

monthly = source.query("monthly_summary", view.filters, view.as_of)
if monthly.empty:
    ui.empty_state("No sessions were performed with these filters, so there is no monthly trend.")
else:
    st.plotly_chart(charts.sessions_and_revenue(monthly, "Sessions and revenue per month"), key="monthly_trend")
    if (view.as_of + timedelta(days=1)).day != 1 and monthly["month"].iloc[-1].month == view.as_of.month:
        st.caption(f"The last month runs only to {view.as_of:%d %b %Y}.")

left, right = st.columns(2)
for column, dimension, title in ((left, "treatment", "Treatment"), (right, "location", "Location")):
    with column:
        st.subheader(f"Top 5 by {title.lower()}")
        top = source.query("sessions_by_dimension", view.filters, view.as_of, dimension=dimension).head(5)
        if top.empty:
            st.caption("No sessions.")
        else:
            ui.table_with_download(top, f"top_{dimension}s.csv", dimension_title=title)
