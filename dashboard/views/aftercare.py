"""Aftercare: complaints after treatment. A control chart of the monthly complaint rate, the rate per
depth band / body area / practitioner / treatment / location, complaints by category and severity,
when they come, whether they are resolved, and when the phone rang."""

import streamlit as st

from dashboard import charts, export, filters, source, ui

view = filters.current_view()
st.title("Aftercare")

ui.stop_without_export("complaints", "aftercare")

as_of = f"{view.as_of:%d %b %Y}"
st.caption(f"**{view.period_label}** · complaints reported on or before {as_of}. A complaint counts against the "
           "session it follows; rates are per 100 sessions performed, and one session is one body area treated.")

# Every query the page shows, fetched together before it draws, the grouping as its control (below) will read
# it: 20 -> 16 ms at 100k sessions, 44 -> 35 ms at 1M, 246 -> 218 ms at 10M (2026-11-30).
source.prefetch(view.filters, view.as_of, ("complaints_control", {}),
                ("complaint_rate_by_dimension", {"dimension": st.session_state.get("complaint_split") or "depth_band"}),
                ("complaints_by_severity", {}), ("complaint_resolution", {}), ("complaint_timing", {}),
                ("complaints_by_reported_month", {}))
control = source.query("complaints_control", view.filters, view.as_of)
if not control["count_sessions"].sum():
    ui.empty_state("No sessions match these filters.")
    st.stop()

centre = float(control["centre_per_100"].iloc[0])
months_shown = "the one month shown" if len(control) == 1 else f"all {len(control):,} months shown"
ui.section("Complaint control chart", "Complaint control chart",
           f"Complaints per 100 sessions performed in each month of the period. The centre line, {centre:.2f} per "
           f"100, is the rate over {months_shown}; a month above its dashed upper limit has more complaints than "
           "chance explains.")
control_chart = charts.complaint_control_chart(control, "Complaints per 100 sessions, by month of the session")
if len(control) < 3:
    # One or two months draw no lines: mark the centre and the limits at each month instead.
    control_chart.update_traces(mode="lines+markers", marker=dict(symbol="line-ew-open", size=40),
                                selector=dict(mode="lines"))
    st.info(f"A control chart compares months, and this period has only {'one' if len(control) == 1 else 'two'}: "
            "widen the period (for example to the last 12 months) to see whether a month stands out.",
            icon=":material/info:")
ui.chart(control_chart, control, "complaints_control.csv", key="complaints_control")
signals = control[control["is_signal"]]
if signals.empty:
    st.caption("No month is above its upper limit: the ups and downs are within what chance alone gives.")
else:
    named = "; ".join(f"**{m:%b %Y}** ({r:.2f} per 100, limit {u:.2f})" for m, r, u in
                      zip(signals["month"], signals["complaints_per_100"], signals["upper_limit_per_100"], strict=True))
    st.caption(f":red[Signalling] — above the upper limit: {named}. Look at what changed in those months "
               "(a practitioner, a product lot, a technique).")
collecting = control[control["is_collecting"]]
if not collecting.empty:
    months = ", ".join(f"{m:%b %Y}" for m in collecting["month"])
    st.caption(f"Still collecting complaints (hollow markers, shaded): {months}. Their last day is fewer than 14 "
               f"days before {as_of} (or after it), so complaints about their sessions may still come in and their "
               "rates rise.")

ui.section("Complaint rate by group", "Complaint rate by group")
DIMENSIONS = {"depth_band": "Needle depth", "body_area": "Body area", "practitioner": "Practitioner",
              "treatment": "Treatment", "location": "Location"}
# The groups that are also sidebar filters: clicking a bar filters every page to it.
CLICK_FILTERS = {"body_area": "body_areas", "practitioner": "practitioners", "treatment": "treatments",
                 "location": "locations"}
dimension = st.segmented_control("Group by", list(DIMENSIONS), format_func=DIMENSIONS.get, default="depth_band",
                                 key="complaint_split", label_visibility="collapsed") or "depth_band"
by_group = source.query("complaint_rate_by_dimension", view.filters, view.as_of, dimension=dimension)
note = (" Depth bands count micro-needling sessions only and include their upper edge; micro-needling sessions "
        "with no depth recorded are “(not recorded)”." if dimension == "depth_band"
        else f" Click a bar to filter every page to that {DIMENSIONS[dimension].lower()}; clear it in the sidebar.")
st.caption(f"Complaints per 100 sessions performed in the period, per {DIMENSIONS[dimension].lower()}; the dotted "
           f"line is all sessions together.{note}")
chart_key = f"complaint_rate_by_{dimension}"
group_chart = charts.complaint_rate_by_group(by_group, f"Complaints per 100 sessions by {DIMENSIONS[dimension].lower()}",
                                             DIMENSIONS[dimension], overall=centre, keep_order=dimension == "depth_band")
group_chart.update_shapes(layer="below")  # the "all sessions" line behind the bars' figures, not across them
ui.chart(group_chart, by_group, f"complaint_rate_by_{dimension}.csv", key=chart_key, dimension_title=DIMENSIONS[dimension],
         on_click=ui.filter_on_click(chart_key, CLICK_FILTERS[dimension]) if dimension in CLICK_FILTERS else None)

left, right = st.columns(2, gap="large")
with left:
    ui.section("Complaints by category and severity", "Complaints by category and severity",
               "Complaints following the period's sessions, plus complaints with no known session reported in the "
               "period; count of complaints.")
    severity = source.query("complaints_by_severity", view.filters, view.as_of)
    if severity.empty:
        st.info("No complaints in this selection.", icon="🔎")
    else:
        ui.chart(charts.complaints_by_severity_chart(severity, "Complaints by category, stacked by severity"),
                 severity, "complaints_by_severity.csv", key="complaints_by_severity")
with right:
    ui.section("Open and resolved", "Open and resolved",
               f"The same complaints as they stood on {as_of}: resolved on or before it, else open.")
    resolution = source.query("complaint_resolution", view.filters, view.as_of)
    if resolution.empty:
        st.info("No complaints in this selection.", icon="🔎")
    else:
        ui.chart(charts.complaint_resolution_chart(resolution, "Resolved and open complaints by category"),
                 resolution, "complaint_resolution.csv", key="complaint_resolution")
        still_open = int(resolution["count_open"].sum())
        st.caption(f"{still_open:,} complaint{'s' if still_open != 1 else ''} still open on {as_of}. "
                   "Days to resolve run from the day reported to the day resolved.")

ui.section("Days from session to complaint", "Days from session to complaint",
           "Complaints following the period's sessions, by days between the session and the day the complaint was "
           "reported. The shaded days 2–4 are normal healing: redness then is expected.")
timing = source.query("complaint_timing", view.filters, view.as_of)
if timing.empty:
    st.info("No complaints linked to the period's sessions.", icon="🔎")
else:
    timing_chart = charts.complaint_timing_chart(timing, "Complaints by days after the session")
    # One day wide whatever days have complaints (plotly would widen bars to the gaps between sparse days).
    timing_chart.update_traces(width=0.85, selector=dict(type="bar"))
    ui.chart(timing_chart, timing, "complaint_timing.csv", key="complaint_timing")
    redness = timing[timing["category"] == "prolonged_redness"]
    late = int(redness.loc[redness["is_after_normal_healing"], "count_complaints"].sum())
    total = int(redness["count_complaints"].sum())
    st.caption(f"{late:,} of {total:,} redness complaints were reported after day 4, past normal healing: "
               "prolonged redness." if total else "No redness complaints in this selection.")

ui.section("Complaints by month reported", "Complaints by month reported",
           "Complaints per calendar month in which they were reported (whatever the session's month), in the "
           "period and on or before the as-of date: when the phone rang, not the rate.")
reported = source.query("complaints_by_reported_month", view.filters, view.as_of)
if reported.empty:
    st.info("No complaints were reported in this selection.", icon="🔎")
else:
    ui.chart(charts.complaints_by_reported_month_chart(reported, "Complaints reported per month, by category"),
             reported, "complaints_by_reported_month.csv", key="complaints_by_reported_month")

export.export_button(view, "aftercare")
