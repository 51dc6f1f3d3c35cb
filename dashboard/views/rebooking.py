"""Rebooking: who comes back within the six-month window, by cohort month and by group, the
censoring-aware rebooking curve, and the recall list of patients to call."""

import streamlit as st

from dashboard import charts, definitions, export, filters, source, ui
from queries import labels
from queries.kpis import KPI_BY_KEY

view = filters.current_view()
st.title("Rebooking")
st.caption(f"**{view.period_label}** · sessions performed in the period, as of {view.as_of:%d %b %Y}. "
           "Micro-needling results build up over about six months, so the practice wants each patient back "
           "inside that window.")

totals = source.query("rebooking_6m", view.filters, view.as_of, patients=False).iloc[0]
if not totals["count_eligible"] + totals["count_pending"]:
    ui.empty_state("No sessions match these filters.")
    st.stop()

with st.container(horizontal=True, gap="small"):
    ui.kpi_card(KPI_BY_KEY["rebooking_rate"], None if totals["count_eligible"] == 0 else float(totals["rebooking_rate"]),
                target=source.targets().get("rebooking_rate"),
                note=f"{int(totals['count_rebooked']):,} of {int(totals['count_eligible']):,} eligible")
    for label, value, note in (("Eligible", totals["count_eligible"], "windows closed by the as-of date"),
                               ("Pending", totals["count_pending"], "windows still open: not counted")):
        ui.card(label, f"{int(value):,}", ui.CARD_WIDTH, note, help=definitions.text(label))

ui.section("Rebooking by cohort month", "Rebooking by cohort month",
           "Each month's sessions: solid bars once every window has closed, hatched while some are open; "
           "months with none closed are pending, not 0%.")
cohorts = source.query("rebooking_by_cohort_month", view.filters, view.as_of)
ui.chart(charts.rebooking_by_month(cohorts, "Rebooked within 6 months, by month of the session"), cohorts,
         "rebooking_by_cohort_month.csv", key="rebooking_cohorts")

ui.section("Rebooking by group", "Rebooking by group")
GROUPS = {"body_area": "Body area", "treatment": "Treatment", "practitioner": "Practitioner", "location": "Location",
          "patient_type": "First visit or returning"}
# Groups that are also sidebar filters: a click on a bar sets that filter.
SIDEBAR = {"body_area": "body_areas", "treatment": "treatments", "practitioner": "practitioners", "location": "locations"}
group = st.segmented_control("Group by", list(GROUPS), format_func=GROUPS.get, default="body_area",
                             key="rebooking_group", label_visibility="collapsed") or "body_area"
by_group = source.query("rebooking_by_dimension", view.filters, view.as_of, dimension=group)
chart_key = f"rebooking_by_{group}"
ui.chart(charts.rebooking_by_group(by_group, f"Rebooked within 6 months, by {GROUPS[group].lower()}"), by_group,
         f"rebooking_by_{group}.csv", key=chart_key, dimension_title=GROUPS[group],
         on_click=ui.filter_on_click(chart_key, SIDEBAR[group]) if group in SIDEBAR else None)
if group in SIDEBAR:
    st.caption(f"Click a bar to filter every page to that {GROUPS[group].lower()}.")

ui.section("Cumulative rebooking curve", "Cumulative rebooking curve",
           "Recent sessions count only for the days since they were performed, so they do not pull the curve down.")
curve_by = ui.url_value("curve_by", "all", ui.one_of(("all", *GROUPS)))
curve_by = st.selectbox("Compare", ["all", *GROUPS], index=["all", *GROUPS].index(curve_by),
                        format_func=lambda g: "All sessions" if g == "all" else f"Two {GROUPS[g].lower()} groups",
                        key="curve_by")
ui.set_url_value("curve_by", curve_by, "all")
groups = None
if curve_by != "all":
    options = by_group["dimension_value"].tolist() if curve_by == group else \
        source.query("rebooking_by_dimension", view.filters, view.as_of, dimension=curve_by)["dimension_value"].tolist()
    key = f"curve_groups_{curve_by}"
    # Keep only what these filters still offer; start with the two largest groups.
    st.session_state[key] = [v for v in st.session_state.get(key, options[:2]) if v in options]
    picked = st.multiselect(f"{GROUPS[curve_by]}s to compare", options, max_selections=2,
                            format_func=labels.value, key=key)
    groups = tuple(picked) or None
curve = source.query("rebooking_curve", view.filters, view.as_of, dimension=curve_by, groups=groups)
ui.chart(charts.rebooking_curve(curve, "Share of sessions rebooked, by day after the session"), curve,
         "rebooking_curve.csv", key="rebooking_curve")

ui.section("Recall list", "Recall list")
settings = source.settings()
default_low, default_high = settings.recall_min_days, settings.recall_max_days
low_col, high_col, _ = st.columns([1, 1, 3])
low = low_col.number_input("Last session at least … days ago", min_value=0, max_value=filters.RECALL_MAX_DAYS, step=1,
                           value=ui.url_value("recall_min", default_low, int), key="recall_min_input")
high = high_col.number_input("… and at most … days ago", min_value=0, max_value=filters.RECALL_MAX_DAYS, step=1,
                             value=ui.url_value("recall_max", default_high, int), key="recall_max_input")
ui.set_url_value("recall_min", low, default_low)
ui.set_url_value("recall_max", high, default_high)
st.caption("Patients whose latest session was in that range and who have nothing booked ahead. Results of "
           "micro-needling build up over about six months, so a call inside the window brings them back "
           "while it still counts. The sidebar's location, practitioner, treatment, body area and concern pick "
           "patients by that latest visit; the period does not apply.")
if low > high:
    st.warning("The lower bound is after the upper bound: no patient can be in between.", icon=":material/warning:")
else:
    # The table's rows only (tens of thousands at a large practice): the CSV fetches them all when clicked.
    recall = source.first_rows("recall_list", view.filters, view.as_of, ui.MAX_ROWS_SHOWN,
                               min_days=int(low), max_days=int(high))
    st.markdown(f"**{recall.total:,} patients** to call back as of {view.as_of:%d %b %Y}.")
    if recall.rows.empty:
        st.info("Nobody is due for a call back with these bounds and filters.", icon="🔎")
    else:
        ui.first_rows_with_download(recall.rows, recall.total, "recall_list.csv", recall.every_row, height=420)

export.export_button(view, "rebooking")
