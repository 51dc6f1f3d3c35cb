"""Demand (marketing): what patients come for, through which channel, when in the year, and whether a
consultation leads to treatment. Aggregates only: every figure passes queries/privacy.py (SPEC 2.14)."""

import pandas as pd
import streamlit as st

from dashboard import charts, definitions, export, filters, source, ui
from queries import labels, privacy
from queries.export import PAGES as EXPORTED_PAGES

view = filters.current_view()
# The page's five queries, fetched together (source.prefetch) before it draws: 41 -> 26 ms at 100k sessions,
# 90 -> 75 ms at 1M, 646 -> 610 ms at 10M on a quiet host (2026-11-30). The ninth session had measured the
# opposite at 10M (983 against 914 ms) on a host that was busy with other work.
QUERIES = ("demand_by_concern_month_channel", "new_patients_by_concern_channel", "consultation_conversion",
           "sessions_by_concern_and_body_area", "demand_seasonality")
k = source.settings().min_patients_per_cell
HIDDEN = privacy.label(k)
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@st.cache_data(show_spinner=False, max_entries=200)
def _protect(name: str, frame: pd.DataFrame, k: int) -> pd.DataFrame:
    return privacy.protect(name, frame, k)


def protected(name: str) -> pd.DataFrame:
    """A marketing query's result as this page may show it: small cells read `<k`, no patient counts."""
    return _protect(name, source.query(name, view.filters, view.as_of), k)


def chart(fig, frame: pd.DataFrame, file_name: str, kinds: dict[str, str], *, key: str) -> None:
    st.plotly_chart(fig, key=key, config={"displaylogo": False})
    with st.popover("Table", icon=":material/table:"):
        ui.suppressed_table(frame, file_name, kinds)


def card(label: str, value: str, definition: str, note: str | None = None) -> None:
    with st.container(border=True, width=ui.CARD_WIDTH):
        st.metric(label, value, help=definitions.text(definition))
        if note:
            st.caption(note)


def is_total(frame: pd.DataFrame, *columns: str) -> pd.Series:
    return frame[list(columns)].isna().all(axis=1)


def wide(frame: pd.DataFrame, rows: str, columns: str, value: str, row_title: str, all_rows: str,
         all_columns: str, row_order: list | None = None, column_order: list | None = None) -> pd.DataFrame:
    """A long suppressed result (totals as null) as a table: `rows` down, `columns` across, in words, in the
    orders given (else as they come), totals last. A combination with no row in the result is 0."""
    grid = frame.assign(**{rows: frame[rows].map(lambda v: all_rows if pd.isna(v) else labels.value(v)),
                           columns: frame[columns].map(lambda v: all_columns if pd.isna(v) else labels.value(v))})
    out = grid.pivot(index=rows, columns=columns, values=value)

    def ordered(present, order, total):
        first = [v for v in (order or []) if v in present and v != total]
        return first + [v for v in present if v not in first and v != total] + ([total] if total in present else [])

    down = ordered(list(grid[rows].drop_duplicates()), row_order, all_rows)
    across = ordered(list(grid[columns].drop_duplicates()), column_order, all_columns)
    out = out.loc[down, across]
    out = out.astype(object).where(out.notna(), 0)
    return out.rename_axis(index=row_title, columns=None).reset_index()


def concern_order(totals: pd.DataFrame, value: str) -> list[str]:
    """Concern codes by their total, largest first; hidden totals after, `unknown` (Not recorded) last."""
    ranked = totals.assign(_size=privacy.numbers(totals[value]).fillna(-1), _unknown=totals["concern"] == "unknown")
    return ranked.sort_values(["_unknown", "_size", "concern"], ascending=[True, False, True])["concern"].tolist()


def heatmap_of(frame: pd.DataFrame, columns: str, value: str, kind: str = "count", colour: str | None = None):
    """(colour values, cell text) of the concern × `columns` cells of a suppressed result; no row is 0."""
    inner = frame[frame["concern"].notna() & frame[columns].notna()]
    colours = inner.assign(v=privacy.numbers(inner[colour or value])).pivot(index="concern", columns=columns,
                                                                             values="v")
    figures = inner.assign(t=inner[value].map(lambda v: ui.figure(v, kind))).pivot(index="concern", columns=columns,
                                                                               values="t")
    return colours, figures.fillna("0")


st.title("Demand")
st.caption(f"**{view.period_label}** · bookings made in the period (by the day they were made), any status, as of "
           f"{view.as_of:%d %b %Y}. What patients come for, through which channel, and whether a consultation "
           "leads to treatment.")

source.prefetch(view.filters, view.as_of, *[(name, {}) for name in QUERIES])
demand = protected("demand_by_concern_month_channel")
overall = demand[is_total(demand, "month", "concern", "channel")].iloc[0]
if overall["count_bookings"] == 0:
    ui.empty_state("No bookings were made in this period with these filters.")
    st.stop()

st.info(f"**Aggregates only.** No patient is named here or in the downloads. A figure shown as **\\{HIDDEN}** is "
        f"hidden: it counts fewer than {k} patients, or it would let such a figure be worked out from the totals "
        f"beside it. Fewer than {k} patients could identify someone.", icon=":material/lock:")

new_patients = protected("new_patients_by_concern_channel")
conversion = protected("consultation_conversion")
new_total = new_patients[is_total(new_patients, "concern", "channel")].iloc[0]
conversion_total = conversion[is_total(conversion, "concern", "channel")].iloc[0]

with st.container(horizontal=True, gap="small"):
    card("Bookings made", ui.figure(overall["count_bookings"]), "Bookings made", "any status")
    card("New patients", ui.figure(new_total["count_new_patients"]), "New patients by concern and channel",
         "first booking in the export")
    card("Conversion", ui.figure(conversion_total["conversion_rate"], "rate"), "Consultation conversion",
         f"{ui.figure(conversion_total['count_converted'])} of {ui.figure(conversion_total['count_eligible'])} consultations "
         "treated within 90 days")
    card("Pending", ui.figure(conversion_total["count_pending"]), "Consultation conversion",
         "consultations still inside their 90 days: not counted yet")

# --- Bookings by concern per month
concern_totals = demand[demand["month"].isna() & demand["channel"].isna() & demand["concern"].notna()]
order = concern_order(concern_totals, "count_bookings")
order_words = [labels.value(c) for c in order]
by_month = demand[demand["month"].notna() & demand["channel"].isna()]
cells = by_month[by_month["concern"].notna()].assign(count_bookings=lambda f: privacy.numbers(f["count_bookings"]))
month_totals = by_month[by_month["concern"].isna()].assign(
    count_bookings=lambda f: privacy.numbers(f["count_bookings"]))
partial = [f"{m:%b %Y}" for m in month_totals.loc[month_totals["is_partial_month"], "month"]]
ui.section("Bookings by concern per month", "Bookings by concern per month",
           f"Grey: that month's hidden concerns (fewer than {k} patients each), together."
           + (f" {' and '.join(partial)}: only part of the month is in the period." if partial else ""))
with_totals = demand[demand["channel"].isna()]
months_table = with_totals.assign(month=with_totals["month"].dt.strftime("%b %Y"))
counts_tab, share_tab = st.tabs(["Bookings", "Share of the month"])
with counts_tab:
    counts = wide(months_table, "month", "concern", "count_bookings", "Month", "All months", "All concerns",
                  column_order=order_words)
    chart(charts.demand_by_month(cells, month_totals, "Bookings made per month, by concern", HIDDEN, order), counts,
          "bookings_by_concern_per_month.csv", dict.fromkeys(counts.columns[1:], "count"), key="demand_by_month")
with share_tab:
    monthly_cells = months_table[months_table["concern"].notna() & with_totals["month"].notna()]
    shares = wide(monthly_cells, "month", "concern", "share_of_month", "Month", "All months", "All concerns",
                  column_order=order_words)
    chart(charts.demand_by_month(cells, month_totals, "Each concern's share of the month's bookings", HIDDEN, order,
                                 share=True),
          shares, "share_of_bookings_by_concern_per_month.csv", dict.fromkeys(shares.columns[1:], "rate"),
          key="demand_share_by_month")

# --- Year over year
ui.section("Year over year by concern", "Year over year by concern")
days, days_in_data = int(overall["days_compared"]), int(overall["days_compared_in_data"])
previous = f"{overall['previous_start']:%d %b %Y} – {overall['previous_end']:%d %b %Y}"
if view.preset == "all":
    st.info("All dates has nothing a year earlier to compare with: pick a shorter period.", icon=":material/info:")
elif days_in_data == 0:
    st.info(f"The export starts on {overall['data_starts_on']:%d %b %Y}, after the same dates a year earlier "
            f"({previous}): there is nothing to compare with.", icon=":material/info:")
else:
    if days_in_data < days:
        st.warning(f"Only {days_in_data} of the {days} days of {previous} are in the export, which starts on "
                   f"{overall['data_starts_on']:%d %b %Y}: a year earlier is short of {days - days_in_data} days, "
                   "so its counts are low and the change looks better than it was.", icon=":material/warning:")
    else:
        st.caption(f"Compared with the same dates a year earlier, {previous}.")
    yoy = demand[demand["month"].isna() & demand["channel"].isna()]
    yoy_rows = yoy[yoy["concern"].notna()]
    yoy_rows = yoy_rows.assign(**{c: privacy.numbers(yoy_rows[c]) for c in
                                  ("count_bookings", "count_bookings_previous", "change_rate")})
    yoy_by_concern = yoy.set_index(yoy["concern"].map(lambda v: "All concerns" if pd.isna(v) else labels.value(v)))
    listed = [c for c in [*order_words, "All concerns"] if c in yoy_by_concern.index]
    yoy_table = pd.DataFrame({
        "Concern": listed,
        **{title: yoy_by_concern.loc[listed, column].to_numpy() for title, column in (
            ("This period", "count_bookings"), ("Same dates a year earlier", "count_bookings_previous"),
            ("Change", "change_in_bookings"), ("Change (%)", "change_rate"))},
    })
    chart(charts.year_over_year(yoy_rows, "Bookings made: this period and the same dates a year earlier",
                                "This period", "A year earlier", HIDDEN, order),
          yoy_table, "bookings_year_over_year.csv",
          {"This period": "count", "Same dates a year earlier": "count", "Change": "change", "Change (%)": "change_rate"},
          key="demand_year_over_year")

# --- Concern × channel
bookings_tab, new_tab = st.tabs(["Bookings by concern and channel", "New patients by concern and channel"])
with bookings_tab:
    ui.section("Bookings by concern and channel", "Bookings by concern and channel")
    z, cell_text = heatmap_of(demand[demand["month"].isna()], "channel", "count_bookings")
    by_channel = wide(demand[demand["month"].isna()], "concern", "channel", "count_bookings", "Concern",
                      "All concerns", "All channels", order_words)
    chart(charts.demand_heatmap(z, cell_text, "Bookings made: concern × channel", "Bookings", HIDDEN, rows=order),
          by_channel, "bookings_by_concern_and_channel.csv", dict.fromkeys(by_channel.columns[1:], "count"),
          key="demand_concern_channel")
with new_tab:
    ui.section("New patients by concern and channel", "New patients by concern and channel",
               "Patients whose first booking in the export was made in the period, by that booking's concern and "
               "channel.")
    if new_total["count_new_patients"] == 0:
        st.info("No patient made their first booking in this period.", icon="🔎")
    else:
        z, cell_text = heatmap_of(new_patients, "channel", "count_new_patients")
        new_table = wide(new_patients, "concern", "channel", "count_new_patients", "Concern", "All concerns",
                         "All channels", order_words)
        chart(charts.demand_heatmap(z, cell_text, "New patients: concern × channel of their first booking",
                                    "New patients", HIDDEN, rows=order, colorscale="Greens"), new_table,
              "new_patients_by_concern_and_channel.csv", dict.fromkeys(new_table.columns[1:], "count"),
              key="demand_new_patients")

# --- Consultation conversion
ui.section("Consultation conversion", "Consultation conversion",
           "Consultations whose 90 days are over: the share followed by a treatment within them. Pending ones (still "
           "inside their 90 days) are counted apart, never as lost.")
if conversion_total["count_eligible"] == 0 and conversion_total["count_pending"] == 0:
    st.info("No completed consultation (a booking whose treatment contains “consult”) in this period.", icon="🔎")
else:
    overall_rate = None if privacy.is_hidden(conversion_total["conversion_rate"]) else conversion_total["conversion_rate"]
    rank = {c: i for i, c in enumerate(order)}
    left, right = st.columns(2, gap="large")
    for column, dimension, title in ((left, "concern", "Concern"), (right, "channel", "Channel")):
        other = "channel" if dimension == "concern" else "concern"
        rows = conversion[conversion[dimension].notna() & conversion[other].isna()]
        if dimension == "concern":
            rows = rows.iloc[rows["concern"].map(lambda c: rank.get(c, len(rank))).argsort(kind="stable")]
        else:
            rows = rows.assign(_n=privacy.numbers(rows["count_eligible"]).fillna(-1)).sort_values(
                ["_n", "channel"], ascending=[False, True]).drop(columns="_n")
        bars = pd.DataFrame({
            "dimension_value": rows[dimension].to_numpy(),
            "conversion_rate": privacy.numbers(rows["conversion_rate"]).to_numpy(),
            "label": [("hidden" if privacy.is_hidden(r) else "none over 90 days yet" if pd.isna(r)
                       else f"{r:.0%} · {ui.figure(c)} of {ui.figure(e)}") + f" · {ui.figure(p)} pending"
                      for r, c, e, p in zip(rows["conversion_rate"], rows["count_converted"], rows["count_eligible"],
                                            rows["count_pending"], strict=True)],
        })
        full = pd.concat([rows, conversion_total.to_frame().T])
        conversion_table = pd.DataFrame({
            title: [labels.value(v) if pd.notna(v) else "All consultations" for v in full[dimension]],
            "Eligible": full["count_eligible"].to_numpy(), "Converted": full["count_converted"].to_numpy(),
            "Not converted": full["count_not_converted"].to_numpy(), "Rate": full["conversion_rate"].to_numpy(),
            "Pending": full["count_pending"].to_numpy(),
        })
        kinds = {"Eligible": "count", "Converted": "count", "Not converted": "count", "Rate": "rate", "Pending": "count"}
        with column:
            if bars["conversion_rate"].notna().any():
                chart(charts.conversion_by_group(bars, f"Converted within 90 days, by {title.lower()}", overall_rate,
                                                 HIDDEN),
                      conversion_table, f"consultation_conversion_by_{dimension}.csv", kinds,
                      key=f"conversion_by_{dimension}")
            else:
                st.markdown(f"**Converted within 90 days, by {title.lower()}**")
                st.info(f"No {title.lower()}'s rate can be shown for this period: in each, fewer than {k} patients "
                        "converted or did not, or none has had its 90 days yet. A longer period shows more.",
                        icon=":material/lock:")
                with st.popover("Table", icon=":material/table:"):
                    ui.suppressed_table(conversion_table, f"consultation_conversion_by_{dimension}.csv", kinds)
    if conversion["conversion_rate"].map(privacy.is_hidden).any():
        st.caption(f"A rate is hidden where fewer than {k} patients converted, or did not: it would tell who they are. "
                   "A longer period (the sidebar) shows more groups.")

# --- Concern × body area
ui.section("Concern by body area treated", "Concern by body area treated",
           "Sessions performed in the period, by the concern of the booking they fulfilled: what people come for "
           "against what gets treated. Each cell: sessions · the area's share of the concern's sessions.")
areas = protected("sessions_by_concern_and_body_area")
if areas.loc[is_total(areas, "concern", "body_area"), "count_sessions"].iloc[0] == 0:
    st.info("No sessions were performed in this period with these filters.", icon="🔎")
else:
    z, cell_text = heatmap_of(areas, "body_area", "count_sessions", colour="share_of_concern")
    share_text = z.map(lambda v: "" if pd.isna(v) else f" · {v:.0%}")
    cell_text = cell_text.where((cell_text == HIDDEN) | (cell_text == "0"), cell_text + share_text)
    areas_table = wide(areas, "concern", "body_area", "count_sessions", "Concern", "All concerns", "All areas",
                       order_words)
    chart(charts.demand_heatmap(z, cell_text, "Sessions: concern of the booking × body area treated",
                                "Share of the concern", HIDDEN, rows=[*order, *sorted(set(z.index) - set(order))],
                                colorscale="Purples", colour_format=".0%"),
          areas_table, "sessions_by_concern_and_body_area.csv", dict.fromkeys(areas_table.columns[1:], "count"),
          key="demand_concern_area")

# --- Seasonality
season = protected("demand_seasonality")
season_total = season[is_total(season, "concern", "month_of_year")]
ui.section("Seasonality by concern", "Seasonality by concern")
if season_total.empty or not season_total["months_covered"].iloc[0]:
    st.info("The export does not yet cover a complete calendar month up to the as-of date.", icon="🔎")
else:
    first, last = season_total["first_month"].iloc[0], season_total["last_month"].iloc[0]
    covered = season[season["concern"].isna() & season["month_of_year"].notna()]
    missing = 12 - len(covered)
    st.caption(f"Bookings made in the {int(season_total['months_covered'].iloc[0])} complete months from "
               f"{first:%b %Y} to {last:%b %Y}, whatever the period above. Each cell: the month's average against the "
               "concern's average month (1.00 = an ordinary month; 1.30 = 30% busier)."
               + (f" {missing} months of the year are not covered yet." if missing else ""))
    named = season.assign(month_of_year=season["month_of_year"].map(
        lambda m: None if pd.isna(m) else MONTHS[int(m) - 1]))
    z, cell_text = heatmap_of(named, "month_of_year", "seasonal_index", kind="index")
    present = [m for m in MONTHS if m in z.columns]
    season_table = wide(named, "concern", "month_of_year", "average_per_month", "Concern", "All concerns",
                        "Average month", order_words)
    season_table = season_table[["Concern", *present, "Average month"]]
    chart(charts.demand_heatmap(z[present], cell_text[present], "Seasonal index: each month against the concern's "
                                "average month", "Index", HIDDEN, rows=[*order, *sorted(set(z.index) - set(order))],
                                colorscale="RdBu_r", zmid=1.0, colour_format=".1f"),
          season_table, "seasonality_by_concern.csv", dict.fromkeys(season_table.columns[1:], "average"),
          key="demand_seasonality")

if "demand" in EXPORTED_PAGES:  # the marketing workbook (queries/export.py), once it lists this page
    export.export_button(view, "demand")
