"""Consumables: what the practice uses and what it costs, per item, per month and per session; numbing per
body area; sterile-tip compliance and the sessions without a tip; and the lot trace after a bad batch."""

from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard import charts, export, filters, source, ui
from queries import labels

view = filters.current_view()
st.title("Consumables")

ui.stop_without_export("consumables", "consumables")

symbol = ui.currency()
as_of = f"{view.as_of:%d %b %Y}"
st.caption(f"**{view.period_label}** · items recorded against the sessions performed in the period, as of {as_of}. "
           "A line's cost is its quantity × unit cost.")

grain = "week" if (view.end - view.start).days < 92 else "month"
TIP_GROUPS = {"month": "Month", "location": "Location", "practitioner": "Practitioner"}
# What the page shows before a lot is picked, fetched together; the tip grouping as its control (below) will
# read it: the value this run's widget holds, or its default. The lot trace, the slowest, first: started last
# it ran on after the others had finished (the seven and the lot's two 58-65 -> 53-59 ms at 100k sessions).
source.prefetch(view.filters, view.as_of, ("lot_trace", {}), ("consumable_cost_by_dimension", {"dimension": "treatment"}),
                ("consumables_by_item", {}), ("consumables_by_item_month", {"grain": grain}), ("numbing_by_area", {}),
                ("tip_compliance_by_dimension", {"dimension": st.session_state.get("tip_group") or "month"}),
                ("sessions_missing_tip", {"max_rows": ui.MAX_ROWS_SHOWN}))
sessions = source.query("consumable_cost_by_dimension", view.filters, view.as_of, dimension="treatment")
if not sessions["count_sessions"].sum():
    ui.empty_state("No sessions match these filters.")
    st.stop()


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


shown_symbol = ui.md_plain(symbol)  # for captions


# --- What is used and what it costs ----------------------------------------------------------------------------
items = source.query("consumables_by_item", view.filters, view.as_of)
ui.section("Consumables by item", "Consumables by item",
           f"Cost ({shown_symbol}) of each item over the period's sessions, and the sessions that used it.")
if items.empty:
    st.info("No consumables are recorded for the sessions in this selection.", icon="🔎")
else:
    st.plotly_chart(charts.consumable_cost_by_item(items, "Cost per item", symbol), key="consumables_by_item",
                    config={"displaylogo": False})
    ui.table_with_download(items, "consumables_by_item.csv")
    uncosted = int(items["count_uncosted_lines"].sum())
    st.caption(f"{uncosted:,} line{'s' if uncosted != 1 else ''} without a unit cost add nothing to these costs, so "
               "the totals are that much low." if uncosted else "Every line has a unit cost.")

    ui.section(f"Usage and cost per {grain}", "Usage and cost per month",
               f"Consumable cost ({shown_symbol}) per {grain} of the session, stacked by item; the table holds the "
               "quantities.")
    over_time = source.query("consumables_by_item_month", view.filters, view.as_of, grain=grain)
    ui.chart(charts.consumable_cost_per_period(over_time, f"Consumable cost per {grain}, by item", grain, symbol,
                                               order=items["item"]),
             over_time, f"consumables_by_item_{grain}.csv", key="consumables_over_time")
    partial = []
    if over_time["period_start"].min().date() < view.start:
        partial.append(f"the first {grain} counts only from {view.start:%d %b %Y}, when the period starts")
    ends_a_bucket = view.end.weekday() == 6 if grain == "week" else (view.end + timedelta(days=1)).day == 1
    if not ends_a_bucket:
        partial.append(f"the last {grain} runs only to {view.end:%d %b %Y}")
    if partial:
        st.caption("Partial: " + "; ".join(partial) + ".")

left, right = st.columns(2, gap="large")
with left:
    ui.section("Cost per session by group", "Cost per session by group")
    GROUPS = {"treatment": "Treatment", "body_area": "Body area"}
    group = st.segmented_control("Group by", list(GROUPS), format_func=GROUPS.get, default="treatment",
                                 key="consumable_cost_group", label_visibility="collapsed") or "treatment"
    st.caption(f"Consumable cost ({shown_symbol}) of each {GROUPS[group].lower()}'s sessions ÷ all of them, with or "
               f"without consumables recorded. Click a bar to filter every page to that {GROUPS[group].lower()}.")
    by_group = sessions if group == "treatment" else \
        source.query("consumable_cost_by_dimension", view.filters, view.as_of, dimension=group)
    cost_key = f"consumable_cost_by_{group}"
    ui.chart(charts.consumable_cost_per_session_by_group(by_group, f"Cost per session by {GROUPS[group].lower()}",
                                                         GROUPS[group], symbol),
             by_group, f"consumable_cost_by_{group}.csv", key=cost_key, dimension_title=GROUPS[group],
             on_click=ui.filter_on_click(cost_key, {"treatment": "treatments", "body_area": "body_areas"}[group]))
with right:
    ui.section("Numbing per session by body area", "Numbing per session by body area",
               "Sessions that used a numbing item: the amount per such session, in the unit recorded (ml or g, "
               "never added together), and the share of the area's sessions that used any.")
    numbing = source.query("numbing_by_area", view.filters, view.as_of)
    if numbing.empty:
        st.info("No numbing recorded for the sessions in this selection.", icon="🔎")
    else:
        ui.chart(charts.numbing_by_area_chart(numbing, "Numbing per session that used it"), numbing,
                 "numbing_by_area.csv", key="numbing_by_area")

# --- Sterile tips ---------------------------------------------------------------------------------------------
ui.section("Sterile-tip compliance by group", "Sterile-tip compliance by group",
           "Micro-needling sessions with a sterile tip recorded ÷ all micro-needling sessions in the period.")
tip_group = st.segmented_control("Tip compliance by", list(TIP_GROUPS), format_func=TIP_GROUPS.get, default="month",
                                 key="tip_group", label_visibility="collapsed") or "month"
tips = source.query("tip_compliance_by_dimension", view.filters, view.as_of, dimension=tip_group)
if tips.empty:
    st.info("No micro-needling sessions in this selection.", icon="🔎")
elif tip_group == "month":
    ui.chart(charts.tip_compliance_by_month_chart(tips, "Sterile-tip compliance per month"), tips,
             "tip_compliance_by_month.csv", key="tip_compliance_by_month", dimension_title="Month")
else:
    tip_key = f"tip_compliance_by_{tip_group}"
    st.caption(f"Click a bar to filter every page to that {TIP_GROUPS[tip_group].lower()}.")
    ui.chart(charts.tip_compliance_by_group_chart(tips, f"Sterile-tip compliance by {tip_group}",
                                                  TIP_GROUPS[tip_group]),
             tips, f"tip_compliance_by_{tip_group}.csv", key=tip_key, dimension_title=TIP_GROUPS[tip_group],
             on_click=ui.filter_on_click(tip_key, {"location": "locations", "practitioner": "practitioners"}[tip_group]))

ui.section("Micro-needling sessions without a sterile tip", "Micro-needling sessions without a sterile tip")
# The tables' rows only (tens of thousands at a large practice): each CSV fetches them all when clicked.
missing = source.first_rows("sessions_missing_tip", view.filters, view.as_of, ui.MAX_ROWS_SHOWN)
if missing.rows.empty:
    st.success("Every micro-needling session in this selection has a sterile tip recorded.",
               icon=":material/check_circle:")
else:
    st.markdown(f"**{missing.total:,} micro-needling session{'s' if missing.total != 1 else ''}** in the period "
                "have no sterile tip recorded: check each was logged, or follow up.")
    ui.first_rows_with_download(missing.rows, missing.total, "sessions_missing_tip.csv", missing.every_row,
                                height=min(420, 38 + 35 * len(missing.rows)))

export.export_button(view, "consumables")

# --- Lot trace ------------------------------------------------------------------------------------------------
# Without complaints.csv a lot's complaints are unknown, not zero: the trace then shows only who used it.
has_complaints = "complaints" not in source.absent_files()
ui.section("Lot trace", "Lot trace",
           "Pick a lot to see who it was used on and what followed. Complaints are those reported on or before "
           f"{as_of} about the sessions that used it.")
lots = source.query("lot_trace", view.filters, view.as_of)
if lots.empty:
    st.info("No lot numbers are recorded for the sessions in this selection.", icon="🔎")
    st.stop()
if not has_complaints:
    st.info("This export has no **complaints.csv**: the trace shows the sessions and patients each lot was used on, "
            "but no complaint rates.", icon=":material/info:")

flagged = lots[lots["is_flagged"]]
if not flagged.empty:
    named = "; ".join(f"{ui.md_plain(lot)} ({ui.md_plain(items_)}): {c:,} complaints in {n:,} sessions, {r:.2f} per 100 "
                      f"against {o:.2f} for its other lots"
                      for lot, items_, c, n, r, o in zip(flagged["lot"], flagged["items"], flagged["count_complaints"],
                                                        flagged["count_sessions"],
                                                        flagged["complaints_per_100_sessions"],
                                                        flagged["other_lots_complaints_per_100_sessions"], strict=True))
    st.warning(f"**{len(flagged):,} flagged lot{'s' if len(flagged) != 1 else ''}** — more complaints than chance "
               f"explains: {named}.", icon=":material/warning:")

# Flagged lots first (lot_trace's order), so the one to look at is the default.
options = lots["lot"].tolist()
described = dict(zip(lots["lot"], zip(lots["items"], lots["is_flagged"], strict=True), strict=True))
wanted = ui.url_value("lot", options[0], ui.one_of(options))
lot = st.selectbox("Lot", options, index=options.index(wanted),
                   format_func=lambda v: f"{'⚠ ' if described[v][1] else ''}{v} — {described[v][0]}"
                                         f"{' (flagged)' if described[v][1] else ''}")
ui.set_url_value("lot", lot, options[0])
row = lots.set_index("lot").loc[lot]

with st.container(horizontal=True, gap="small"):
    ui.card("Sessions", f"{row['count_sessions']:,}", 140)
    ui.card("Patients", f"{row['count_patients']:,}", 140)
    ui.card("First used", ui.day(row["first_used_on"]), 240)
    ui.card("Last used", ui.day(row["last_used_on"]), 240)
ui.card("Locations", ui.md_plain(row["locations"]) if isinstance(row["locations"], str) else "—", "stretch")
source.prefetch(view.filters, view.as_of, *[(name, {"lot": lot, "max_rows": ui.MAX_ROWS_SHOWN}) for name in
                                           ("lot_sessions", "lot_complaints")[:2 if has_complaints else 1]])
lot_sessions = source.first_rows("lot_sessions", view.filters, view.as_of, ui.MAX_ROWS_SHOWN, lot=lot)
# The complaints column beside the date, not behind the table's scroll.
first = ["session_id", "patient_id", "performed_at", "count_complaints"] if has_complaints else \
    ["session_id", "patient_id", "performed_at"]


def in_order(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[first + [c for c in frame.columns if c not in first and c != "count_complaints"]]


def lot_sessions_table() -> None:
    ui.first_rows_with_download(in_order(lot_sessions.rows), lot_sessions.total, "lot_sessions.csv",
                                lambda: in_order(lot_sessions.every_row()),
                                height=min(420, 38 + 35 * max(len(lot_sessions.rows), 1)))


if not has_complaints:
    st.markdown(f"**Sessions that used it ({lot_sessions.total:,})**")
    lot_sessions_table()
    st.subheader("All lots")
    COLUMNS = ["lot", "items", "count_sessions", "count_patients", "first_used_on", "last_used_on", "locations"]
    ui.table_with_download(lots[COLUMNS].sort_values(["count_sessions", "lot"], ascending=[False, True]),
                           "lot_trace.csv", height=420)
    st.stop()

with st.container(horizontal=True, gap="small"):
    other_rate, chance = row["other_lots_complaints_per_100_sessions"], row["chance_if_like_other_lots"]
    ui.card("Complaints per 100 sessions", f"{row['complaints_per_100_sessions']:.2f}", 250,
         f"{plural(row['count_complaints'], 'complaint')} after {plural(row['count_sessions'], 'session')}")
    ui.card("Other lots of the same item(s)", "n/a" if other_rate != other_rate else f"{other_rate:.2f}", 250,
         f"{plural(row['count_complaints_other_lots'], 'complaint')} after "
         f"{plural(row['count_sessions_other_lots'], 'session')}")
    ui.card("Chance if like other lots", "n/a" if chance != chance else ("< 0.001" if chance < 0.001 else f"{chance:.3f}"),
         280, "flagged: 3+ complaints and below 0.001" if row["is_flagged"] else "flagged only below 0.001")

same_items = lots[lots["items"] == row["items"]]
ui.chart(charts.lot_comparison_chart(same_items, lot, f"Complaints per 100 sessions: {charts.plain(lot)} "
                                                      f"and the other lots of {charts.plain(row['items'])}"),
         same_items, "lots_of_the_same_items.csv", key="lot_comparison")

lot_complaints = source.first_rows("lot_complaints", view.filters, view.as_of, ui.MAX_ROWS_SHOWN, lot=lot)
used, followed = st.tabs([f"Sessions that used it ({lot_sessions.total:,})",
                          f"Complaints that followed ({lot_complaints.total:,})"])
with used:
    lot_sessions_table()
with followed:
    if lot_complaints.rows.empty:
        st.info("No complaints followed the sessions that used this lot.", icon="🔎")
    else:
        ui.first_rows_with_download(lot_complaints.rows, lot_complaints.total, "lot_complaints.csv",
                                    lot_complaints.every_row, height=min(420, 38 + 35 * len(lot_complaints.rows)))

st.subheader("All lots, by complaint rate", help=labels.column("is_flagged") + ": at least 3 complaints, and so many "
             "would come by chance less than once in 1,000 if the lot were like its other lots.")
st.caption("Flagged lots first, then the highest rate. A lot with few sessions can have a high rate by chance: "
           "compare its sessions and the chance column.")
# What a clinic reads first: the lot, its items, whether it is flagged and its rate against its other lots.
FIRST = ["lot", "items", "is_flagged", "count_sessions", "count_complaints", "complaints_per_100_sessions",
         "other_lots_complaints_per_100_sessions", "chance_if_like_other_lots"]
ui.table_with_download(lots[FIRST + [c for c in lots.columns if c not in FIRST]], "lot_trace.csv", height=420)
