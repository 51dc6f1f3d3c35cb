"""Body areas: where the practice treats. Sessions per area against the comparison period, a body
map, the trend per month, areas by treatment / location / practitioner, and micro-needling depth."""

import streamlit as st

from dashboard import body_map, charts, export, filters, source, ui

view = filters.current_view()
st.title("Body areas")
compared = (f" · compared with {view.previous[0]:%d %b %Y} – {view.previous[1]:%d %b %Y}" if view.previous
            else " · no comparison period for all dates")
st.caption(f"**{view.period_label}**{compared}. One session is one body area treated: a face-and-neck visit "
           "counts once for each.")

previous_start, previous_end = view.previous or (None, None)
volume = source.query("sessions_by_body_area", view.filters, view.as_of,
                      previous_start=previous_start, previous_end=previous_end)
if not volume["count_sessions"].sum():
    ui.empty_state("No sessions match these filters.")
    st.stop()

CLICK_HINT = "Click an area to filter every page to it; clear it in the sidebar."
left, right = st.columns([3, 2], gap="large")
with left:
    ui.section("Sessions by body area", "Sessions by body area", CLICK_HINT)
    ui.chart(charts.area_volume(volume, "Sessions and share of the period", view.previous is not None), volume,
             "sessions_by_body_area.csv", key="area_volume",
             on_click=ui.filter_on_click("area_volume", "body_areas"))
with right:
    ui.section("Body map", "Body map", CLICK_HINT)
    counts = dict(zip(volume["body_area"], volume["count_sessions"], strict=True))
    ui.chart(body_map.body_map(counts, title="Sessions by area"), volume[["body_area", "count_sessions"]],
             "body_map.csv", key="body_map", on_click=ui.filter_on_click("body_map", "body_areas"))
    if counts.get("other"):
        st.caption(f"Not on the map: {counts['other']:,} sessions recorded as body area “other”.")

if view.previous is not None and volume["count_sessions_previous"].notna().any():
    ui.section("Change against the comparison period", "Sessions by body area")
    ui.chart(charts.area_change(volume, f"Sessions now minus {view.previous[0]:%d %b %Y} – {view.previous[1]:%d %b %Y}"),
             volume, "body_area_change.csv", key="area_change")

# Weeks show the shape of a short period; a month or two would be one or two bars.
grain = "week" if (view.end - view.start).days < 92 else "month"
ui.section(f"Sessions per {grain} by body area", "Sessions per month by body area")
over_time = source.query("sessions_by_area_month", view.filters, view.as_of, grain=grain)
stacked, heatmap = st.tabs(["Stacked bars", "Heatmap"])
with stacked:
    ui.chart(charts.stacked_by_area(over_time, f"Sessions per {grain}, by body area", grain), over_time,
             f"sessions_by_area_{grain}.csv", key="area_over_time")
with heatmap:
    monthly = over_time if grain == "month" else source.query("sessions_by_area_month", view.filters, view.as_of)
    ui.chart(charts.area_heatmap(monthly, "Sessions per month: body area × month"), monthly,
             "body_area_heatmap.csv", key="area_heatmap")

ui.section("Body area by treatment, location or practitioner", "Body area by treatment, location or practitioner")
DIMENSIONS = {"treatment": "Treatment", "location": "Location", "practitioner": "Practitioner"}
dimension = st.segmented_control("Split by", list(DIMENSIONS), format_func=DIMENSIONS.get, default="treatment",
                                 key="area_split", label_visibility="collapsed") or "treatment"
split = source.query("sessions_by_area_and_dimension", view.filters, view.as_of, dimension=dimension)
ui.chart(charts.area_by_dimension(split, f"Sessions per body area by {dimension}", DIMENSIONS[dimension]), split,
         f"body_area_by_{dimension}.csv", key="area_split_chart", dimension_title=DIMENSIONS[dimension])

ui.section("Needle depth by body area", "Needle depth by body area",
           "Micro-needling sessions with a depth recorded: the box spans the middle half, the line is the median, "
           "the whiskers the shallowest and deepest.")
depth = source.query("needle_depth_by_area", view.filters, view.as_of)
if not depth["count_sessions"].sum():
    st.info("No micro-needling sessions with a needle depth in this selection.", icon="🔎")
else:
    ui.chart(charts.depth_boxes(depth, "Needle depth (mm) per body area"), depth, "needle_depth_by_area.csv",
             key="depth_boxes")
    missing = int(depth["count_without_depth"].sum())
    if missing:
        st.caption(f"{missing:,} micro-needling sessions have no depth recorded and are not in the boxes.")

export.export_button(view, "body_areas")
