"""Explore (staff): the rows behind the figures. Pick sessions, bookings, complaints, consumables or patients;
filter by column, choose the columns and the sort; page through them 100 at a time (counted, sorted, filtered
and paged in DuckDB by queries/explore.py); select a row for that patient's whole history; download every
matching row as CSV or Excel. The state lives in the link (x_* parameters), so a link reproduces the view."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import auth, charts, filters, source, ui
from queries import explore as x
from queries import labels
from queries.export import XLSX_MIME

ENTITY_LABELS = {"sessions": "Sessions", "bookings": "Bookings", "complaints": "Complaints",
                 "consumables": "Consumables", "patients": "Patients"}
ENTITY_NOTES = {
    "sessions": "One row per session (one body area treated) performed in the period.",
    "bookings": "One row per booking whose appointment day is in the period, as the no-show and cancellation rates "
                "count them. The body-area filter does not apply to bookings.",
    "complaints": "One row per complaint counted in the period: by its session's day, or the day it was reported "
                  "when its session is unknown. A resolution after the as-of date shows as open.",
    "consumables": "One row per consumable line used in a session performed in the period.",
    "patients": "One row per patient with a session in the period. Sessions, spend, treatments and body areas "
                "count those sessions; first and last visit, the to-date figures, concerns, channel, no-shows, "
                "complaints and the next booking read the patient's whole history up to the as-of date.",
}
# Column headers this page needs beyond dashboard/labels.py (COLUMNS wins where it has the name).
HEADERS = {
    "performed_at": "Performed",
    "appointment_at": "Appointment",
    "booked_at": "Booked",
    "booking_id": "Booking",
    "status": "Status",
    "needle_depth_mm": "Needle depth",
    "duration_min": "Duration",
    "price": "Price ({currency})",
    "patient_type": "Patient type",
    "consumable_cost": "Consumables ({currency})",
    "has_needle_tip": "Sterile tip",
    "session_date": "Session day",
    "days_after_session": "Days after session",
    "days_to_resolve": "Days to resolve",
    "line": "Line in file",
    "unit_cost": "Unit cost ({currency})",
    "first_visit_date": "First visit",
    "last_visit_date": "Last visit",
    "days_since_last_visit": "Days since last visit",
    "count_sessions": "Sessions in period",
    "spend": "Spend in period ({currency})",
    "count_sessions_to_date": "Sessions to date",
    "spend_to_date": "Spend to date ({currency})",
    "concerns": "Concern(s)",
    "next_booking_date": "Next booking",
    "count_no_shows": "No-shows",
    "no_show_rate": "No-show rate",
}
# Columns holding contract codes, shown in words (`acne_scars` -> Acne scars); list columns word by word.
CODES = {"body_area", "category", "concern", "channel", "severity", "status", "patient_type", "unit"}
CODE_LISTS = {"body_areas", "concerns"}
PRINTF = {"count": "%,d", "days": "%,d", "minutes": "%d min", "mm": "%.2f mm", "amount": "%,.2f", "rate": "percent"}
KINDS = {"booking": "Booking", "session": "Session", "consumable": "Consumable", "complaint": "Complaint"}
KIND_COLOURS = {"booking": charts.PALETTE[0], "session": charts.PALETTE[2], "consumable": charts.PALETTE[7],
                "complaint": charts.PALETTE[5]}
NOT_RECORDED_LABEL = "(not recorded)"
PATIENT = "x_patient_shown"  # session state: the patient whose history is shown
WRITTEN = "x_link_written"  # session state: the x_* parameters this page last put in the link
SAVED = "x_saved"  # session state: each entity's last state, restored when it is picked again
CLOSED = "x_history_closed"  # session state: how many times the history was closed (a fresh table key each time)


def header(name: str, symbol: str) -> str:
    return HEADERS[name].format(currency=symbol) if name in HEADERS else labels.column(name, symbol)


def words(name: str):
    """How a value of column `name` reads: codes in words, lists of codes word by word; None: as it is."""
    if name in CODES:
        return labels.value
    if name in CODE_LISTS:
        return lambda text: ", ".join(labels.value(code) for code in str(text).split(", "))
    return None


def is_whole(column: x.Column) -> bool:
    return column.unit in ("count", "days", "minutes")


def scale(column: x.Column) -> int:
    """Rates are typed as percentages."""
    return 100 if column.unit == "rate" else 1


def option_label(column: x.Column, value) -> str:
    if value is None or value == x.NOT_RECORDED:
        return NOT_RECORDED_LABEL
    if column.kind == "bool":
        return "Yes" if value else "No"
    return labels.value(value) if column.name in CODES else str(value)


# --- the link ------------------------------------------------------------------------------------------------------

def link_params() -> dict[str, list[str]]:
    """The x_* parameters of the link (filters.PAGE_PARAMS lists them, so the sidebar keeps them)."""
    return {name: st.query_params.get_all(name) for name in x.URL_PARAMS if name in st.query_params}


def write_link(state: x.LinkState) -> None:
    """Keep the view in the link; once it differs from the link opened, that link's problems are history."""
    wanted = x.to_params(state)
    if _signature(wanted) != st.session_state.get("x_link_applied"):
        st.session_state["x_link_problems"] = []
    for name in x.URL_PARAMS:
        if name not in wanted and name in st.query_params:
            del st.query_params[name]
    current = {name: st.query_params.get_all(name) for name in wanted}
    if any(current[name] != ([value] if isinstance(value, str) else value) for name, value in wanted.items()):
        st.query_params.update(wanted)
    st.session_state[WRITTEN] = _signature(wanted)
    st.session_state.setdefault(SAVED, {})[state.query.entity] = state


def _signature(params: dict) -> tuple:
    return tuple(sorted((name, tuple([v] if isinstance(v, str) else v)) for name, v in params.items()))


def _key(entity: str, what: str, column: str = "") -> str:
    return f"x_{entity}_{what}" + (f"_{column}" if column else "")


def apply_link(state: x.LinkState) -> None:
    """Put a link's state into the widgets (their session state), before they are drawn."""
    query = state.query
    spec = query.spec
    e = query.entity
    st.session_state["x_entity_input"] = e
    st.session_state[_key(e, "cols")] = list(query.shown)
    st.session_state[_key(e, "sort")] = query.sort_column
    st.session_state[_key(e, "dir")] = "desc" if query.is_descending else "asc"
    for name in spec.names:
        for what in ("contains", "in", "min", "max"):
            st.session_state.pop(_key(e, what, name), None)
    st.session_state[_key(e, "filter_cols")] = [f.column for f in query.filters]
    for f in query.filters:
        column = spec.column(f.column)
        if f.kind == "contains":
            st.session_state[_key(e, "contains", f.column)] = f.values[0]
        elif f.kind == "in":
            st.session_state[_key(e, "in", f.column)] = [x.NOT_RECORDED if v is None else v for v in f.values]
        else:
            low, high = f.values
            if column.kind == "number":
                low, high = (None if v is None else int(v) if is_whole(column) else float(v) * scale(column)
                             for v in (low, high))
            st.session_state[_key(e, "min", f.column)] = low
            st.session_state[_key(e, "max", f.column)] = high
    st.session_state[_key(e, "page")] = state.page
    st.session_state[_key(e, "page_of")] = None  # the page given belongs to these filters: keep it
    st.session_state[PATIENT] = state.patient


# --- cached queries (per data version; a cursor per call inside queries/explore.py) --------------------------------

@st.cache_data(show_spinner="Counting the matching rows…", max_entries=200)
def count_rows(version: str, query: x.Query, view_filters, as_of, _con) -> int:
    return x.count_rows(_con, query, view_filters, as_of)


@st.cache_data(show_spinner="Fetching the page…", max_entries=200)
def fetch_page(version: str, query: x.Query, view_filters, as_of, page: int, _con) -> pd.DataFrame:
    return x.fetch_page(_con, query, view_filters, as_of, page)


@st.cache_data(show_spinner=False, max_entries=200)
def distinct_values(version: str, query: x.Query, column: str, view_filters, as_of, _con) -> list:
    return x.distinct_values(_con, query, column, view_filters, as_of)


@st.cache_data(show_spinner=False, max_entries=50)
def history(version: str, patient_id: str, as_of, _con) -> pd.DataFrame:
    return x.patient_history(_con, patient_id, as_of)


# --- the page ----------------------------------------------------------------------------------------------------

view = filters.current_view()
dataset = source.current()
con, version = dataset.connection, dataset.version
symbol = ui.currency()
st.title("Explore")
st.caption(f"**{view.period_label}** · figures as of {view.as_of:%d %b %Y}. The rows behind the figures: pick what "
           "to look at, filter and sort by any column, select a row to see that patient's history. The sidebar's "
           "period and filters apply.")

link = link_params()
link_signature = _signature(link)
if "x_entity_input" not in st.session_state or (link and link_signature != st.session_state.get(WRITTEN)):
    state, problems = x.from_params(link)
    apply_link(state)
    st.session_state["x_link_problems"] = problems
    st.session_state["x_link_applied"] = _signature(x.to_params(state))
for problem in st.session_state.get("x_link_problems", []):
    st.warning(f"In the link: {ui.md_plain(problem)}", icon=":material/link_off:")


def _entity_changed() -> None:
    """Back to an entity seen before: its choices as they were (Streamlit forgets the state of widgets not drawn)."""
    st.session_state["x_link_problems"] = []
    saved = st.session_state.get(SAVED, {}).get(st.session_state["x_entity_input"])
    if saved is not None:
        apply_link(saved)
    st.session_state[PATIENT] = None


entity = st.segmented_control("Look at", list(x.ENTITIES), format_func=ENTITY_LABELS.get, key="x_entity_input",
                              required=True, on_change=_entity_changed) or "sessions"
spec = x.entity(entity)
st.caption(ENTITY_NOTES[entity])

# Widgets of this entity start from its defaults; each entity keeps its own choices while the session lasts.
st.session_state.setdefault(_key(entity, "cols"), list(spec.default_columns))
st.session_state.setdefault(_key(entity, "sort"), spec.default_sort)
st.session_state.setdefault(_key(entity, "dir"), "desc" if spec.default_descending else "asc")
st.session_state.setdefault(_key(entity, "filter_cols"), [])


def label_of(name: str) -> str:
    return header(name, symbol)


shown = st.multiselect("Columns", spec.names, format_func=label_of, key=_key(entity, "cols"),
                       help="Shown in this order, in the table and in the downloads.")
sort_col, order_col, _ = st.columns([2, 2, 3])
sort = sort_col.selectbox("Sort by", spec.names, format_func=label_of, key=_key(entity, "sort"),
                          help="Orders every matching row, not just this page. Rows with no value go last.")
ORDER_WORDS = {"datetime": ("Newest first", "Oldest first"), "date": ("Newest first", "Oldest first"),
               "number": ("Largest first", "Smallest first"), "bool": ("Yes first", "No first")}
descending_word, ascending_word = ORDER_WORDS.get(spec.column(sort).kind, ("Z → A", "A → Z"))
direction = order_col.segmented_control("Order", ["desc", "asc"], key=_key(entity, "dir"), required=True,
                                        format_func={"desc": descending_word, "asc": ascending_word}.get) or "desc"
if not shown:
    st.warning("Choose at least one column; showing the usual ones meanwhile.", icon=":material/view_column:")

# Column filters: one widget per column picked, of the kind its values call for.
def _is_set(name: str) -> bool:
    values = [st.session_state.get(_key(entity, what, name)) for what in ("contains", "in", "min", "max")]
    return any(v not in (None, "", []) for v in values)


active = [name for name in st.session_state[_key(entity, "filter_cols")] if _is_set(name)]
with st.expander(f"Column filters ({len(active)} set)" if active else "Column filters",
                 expanded=bool(st.session_state[_key(entity, "filter_cols")]), icon=":material/filter_alt:"):
    picked = st.multiselect("Filter on", spec.names, format_func=label_of, key=_key(entity, "filter_cols"),
                            placeholder="Choose columns to filter on")
    column_filters, invalid = [], []
    grid = st.columns(2) if picked else []
    base_query = x.Query(entity)
    for i, name in enumerate(picked):
        column = spec.column(name)
        title = label_of(name)
        with grid[i % 2]:
            if column.filter_kind == "contains":
                text = st.text_input(f"{title} contains", key=_key(entity, "contains", name), max_chars=x.MAX_TEXT,
                                     help="Any case; % and _ match themselves.")
                candidate = x.contains(name, text) if text else None
            elif column.filter_kind == "in":
                if column.kind == "bool":
                    options = [True, False]
                else:
                    values = distinct_values(version, base_query, name, view.filters, view.as_of, con)
                    options = [x.NOT_RECORDED if v is None else v for v in values]
                key = _key(entity, "in", name)
                # A value the data no longer offers (another period, an upload) would make the widget raise.
                st.session_state[key] = [v for v in st.session_state.get(key, []) if v in options]
                chosen = st.multiselect(title, options, key=key, format_func=lambda v, c=column: option_label(c, v),
                                        placeholder="Any")
                if len(options) >= x.MAX_VALUES:
                    st.caption(f"The {x.MAX_VALUES} most frequent values are offered.")
                candidate = x.one_of(name, [None if v == x.NOT_RECORDED else v for v in chosen]) if chosen else None
            else:
                low_col, high_col = st.columns(2)
                if column.kind == "number":
                    step, number_format = (1, "%d") if is_whole(column) else (0.1 if column.unit == "mm" else 1.0, "%.2f")
                    unit = " (%)" if column.unit == "rate" else ""
                    low = low_col.number_input(f"{title}{unit} from", value=None, step=step, format=number_format,
                                               key=_key(entity, "min", name), placeholder="lowest")
                    high = high_col.number_input("to", value=None, step=step, format=number_format,
                                                 key=_key(entity, "max", name), placeholder="highest")
                else:
                    low = low_col.date_input(f"{title} from", value=None, key=_key(entity, "min", name),
                                             format="YYYY-MM-DD")
                    high = high_col.date_input("to", value=None, key=_key(entity, "max", name), format="YYYY-MM-DD")
                if column.kind == "number" and column.unit == "rate":
                    low, high = (None if v is None else v / 100 for v in (low, high))
                candidate = x.between(name, low, high) if low is not None or high is not None else None
            if candidate is not None:
                try:
                    x.validate(x.Query(entity, filters=(candidate,)))
                    column_filters.append(candidate)
                except (x.InvalidFilter, x.UnknownColumn) as exc:
                    invalid.append(str(exc))
                    st.error(f"Not applied: {ui.md_plain(exc)}", icon=":material/error:")
    if picked:
        st.caption("Rows must pass every filter set. Empty filters are ignored.")

query = x.Query(entity, tuple(column_filters), tuple(shown) or None, sort, direction == "desc")
query = x.validate(query)

total = count_rows(version, query, view.filters, view.as_of, con)
pages = x.page_count(total)
# A new selection (filters, sort, period ...) starts at page 1; a link's page is kept for the filters it came with.
selection_signature = (query.entity, query.filters, query.sort_column, query.is_descending, view.filters, view.as_of)
page_key, page_of = _key(entity, "page"), _key(entity, "page_of")
if st.session_state.get(page_of) not in (None, selection_signature):
    st.session_state[page_key] = 1
st.session_state[page_of] = selection_signature
page = min(max(int(st.session_state.get(page_key) or 1), 1), pages)
st.session_state[page_key] = page

if total == 0:
    if column_filters:
        st.info("No rows match these column filters. Loosen or clear one above, or widen the period in the sidebar.",
                icon=":material/filter_alt_off:")
    else:
        ui.empty_state(f"No {ENTITY_LABELS[entity].lower()} in this period with these filters.")
    write_link(x.LinkState(query, 1, None))
    st.stop()

frame = fetch_page(version, query, view.filters, view.as_of, page, con)
first_row = (page - 1) * x.PAGE_SIZE + 1
st.markdown(f"**{total:,} {ENTITY_LABELS[entity].lower()}** match · rows {first_row:,}–{first_row + len(frame) - 1:,}"
            f" · page {page:,} of {pages:,}")

shown_frame = frame.copy()
config = {}
for name in query.shown:
    column = spec.column(name)
    title = label_of(name)
    transform = words(name)
    if transform is not None:
        shown_frame[name] = shown_frame[name].map(transform, na_action="ignore")
    if column.kind == "datetime":
        config[name] = st.column_config.DatetimeColumn(title, format="D MMM YYYY, HH:mm")
    elif column.kind == "date":
        config[name] = st.column_config.DateColumn(title, format="D MMM YYYY")
    elif column.kind == "bool":
        config[name] = st.column_config.CheckboxColumn(title)
    elif column.kind == "number":
        printf = f"{symbol}%,.2f" if column.unit == "money" else PRINTF.get(column.unit or "", "%g")
        config[name] = st.column_config.NumberColumn(title, format=printf)
    else:
        config[name] = st.column_config.TextColumn(title)

patients = frame[spec.patient_column].tolist() if spec.patient_column else []
# A new key for each page and selection (and after the history is closed): no row stays ticked that is not shown.
table_key = f"x_table_{abs(hash((version, query, view.filters, view.as_of, page, st.session_state.get(CLOSED, 0))))}"


def _select_row() -> None:
    rows = st.session_state[table_key]["selection"]["rows"]
    st.session_state[PATIENT] = patients[rows[0]] if rows and rows[0] < len(patients) else None


st.dataframe(shown_frame, hide_index=True, width="stretch", height=min(38 + 35 * len(frame), 460),
             column_order=list(query.shown), column_config=config, key=table_key, on_select=_select_row,
             selection_mode="single-row", placeholder="—")
st.caption("Select a row (the box at its left) to see that patient's history below. A click on a column header "
           "reorders only this page; **Sort by** orders every matching row.")


def _close_history() -> None:
    st.session_state[PATIENT] = None
    st.session_state[CLOSED] = st.session_state.get(CLOSED, 0) + 1


def _go(to: int) -> None:
    st.session_state[page_key] = to


with st.container(horizontal=True, vertical_alignment="center"):
    st.button("First", icon=":material/first_page:", disabled=page <= 1, on_click=_go, args=(1,), key="x_first")
    st.button("Previous", icon=":material/chevron_left:", disabled=page <= 1, on_click=_go, args=(page - 1,),
              key="x_previous")
    st.markdown(f"Page **{page:,}** of **{pages:,}**")
    st.button("Next", icon=":material/chevron_right:", disabled=page >= pages, on_click=_go, args=(page + 1,),
              key="x_next")
    st.button("Last", icon=":material/last_page:", disabled=page >= pages, on_click=_go, args=(pages,), key="x_last")

# Downloads: every matching row, streamed from DuckDB batch by batch when the button is clicked.
columns = x.export_columns(query, label_of, words)
wanted_filters, as_of, file_stem = view.filters, view.as_of, f"{entity}_{view.start:%Y-%m-%d}_to_{view.end:%Y-%m-%d}"
audit_context = auth.audit_context()


def csv_file() -> bytes:
    # Runs on Streamlit's download thread: only what was captured above, no st.* calls. Patient-level rows:
    # logged when the file is made, whoever asks for it; no log, no file.
    data = x.export_csv(con, query, wanted_filters, as_of, columns)
    auth.log_download(audit_context, f"{file_stem}.csv", total, patient_level=True)
    return data


def xlsx_file() -> bytes:
    data = x.export_xlsx(con, query, wanted_filters, as_of, columns, currency=symbol)
    auth.log_download(audit_context, f"{file_stem}.xlsx", total, patient_level=True)
    return data


too_many = total > x.EXCEL_MAX_ROWS
with st.container(horizontal=True, vertical_alignment="center"):
    st.download_button(f"CSV · all {total:,} rows", csv_file, file_name=f"{file_stem}.csv", mime="text/csv",
                       key="x_download_csv", on_click="ignore", icon=":material/download:")
    st.download_button(f"Excel · all {total:,} rows", xlsx_file, file_name=f"{file_stem}.xlsx", mime=XLSX_MIME,
                       key="x_download_xlsx", on_click="ignore", icon=":material/table_view:", disabled=too_many)
if too_many:
    st.warning(f"Excel takes at most {x.EXCEL_MAX_ROWS:,} rows on a sheet and these filters match {total:,}: "
               "narrow them (a shorter period, a column filter) or download the CSV.", icon=":material/block:")
else:
    st.caption(f"These downloads hold every matching row, in this order and these columns (the table's own download "
               f"icon saves only the page shown). Excel takes at most {x.EXCEL_MAX_ROWS:,} rows.")

# The selected row's patient: everything known about them on the as-of date.
patient = st.session_state.get(PATIENT)
if patient:
    st.subheader(f"History of patient {ui.md_plain(patient)}")
    events = history(version, patient, view.as_of, con)
    if events.empty:
        st.info("Nothing is known about this patient on the as-of date.", icon=":material/person_off:")
    else:
        st.caption(f"Every booking, session, consumable and complaint of this patient known on {view.as_of:%d %b %Y}; "
                   "the sidebar's period and filters do not apply here.")
        fig = go.Figure()
        for kind, title in KINDS.items():
            rows = events[events["kind"] == kind]
            if rows.empty:
                continue
            hover = [charts.plain(" · ".join(str(v) for v in parts if v is not None and not pd.isna(v)))
                     for parts in zip(rows["what"].map(lambda v, k=kind: labels.value(v) if k == "complaint" else v),
                                      rows["body_area"].map(labels.value, na_action="ignore"),
                                      rows["detail"].map(labels.value if kind == "booking" else str, na_action="ignore"),
                                      rows["location"], strict=True)]
            fig.add_scatter(x=rows["event_at"], y=[title] * len(rows), mode="markers", name=title,
                            marker=dict(size=12 if kind != "consumable" else 8, color=KIND_COLOURS[kind],
                                        symbol="diamond" if kind == "complaint" else "circle"),
                            hovertext=hover, hovertemplate="%{x|%d %b %Y %H:%M}<br>%{hovertext}<extra></extra>")
        # The end of the as-of day: everything on that day is known.
        end_of_day = (pd.Timestamp(view.as_of) + pd.Timedelta(days=1, seconds=-1)).timestamp() * 1000
        fig.add_vline(x=end_of_day, line_dash="dot", line_color="grey", annotation_text=f"as of {view.as_of:%d %b %Y}",
                      annotation_position="top left")
        fig.update_layout(title=dict(text=charts.plain(f"Patient {patient}: timeline")),
                          height=300, hovermode="closest", showlegend=False, yaxis=dict(categoryorder="array",
                          categoryarray=list(reversed(KINDS.values())), title=""),
                          xaxis=dict(title="", type="date"), **charts.BACKGROUND)
        st.plotly_chart(fig, key="x_history_chart", config={"displaylogo": False})
        table = events.assign(
            kind=events["kind"].map(KINDS),
            what=[labels.value(v) if k == "complaint" else v for k, v in zip(events["kind"], events["what"], strict=True)],
            body_area=events["body_area"].map(labels.value, na_action="ignore"),
            detail=[labels.value(v) if k == "booking" and v is not None else v
                    for k, v in zip(events["kind"], events["detail"], strict=True)])
        st.dataframe(table, hide_index=True, width="stretch", height=min(38 + 35 * len(table), 420),
                     column_config={
                         "kind": st.column_config.TextColumn("What"),
                         "event_at": st.column_config.DatetimeColumn("When", format="D MMM YYYY, HH:mm"),
                         "record_id": st.column_config.TextColumn("Booking / session / complaint"),
                         "what": st.column_config.TextColumn("Treatment, item or category"),
                         "body_area": st.column_config.TextColumn("Body area"),
                         "detail": st.column_config.TextColumn("Detail"),
                         "location": st.column_config.TextColumn("Location"),
                         "practitioner": st.column_config.TextColumn("Practitioner"),
                         "amount": st.column_config.NumberColumn(f"Price / cost ({symbol})", format=f"{symbol}%,.2f"),
                     }, placeholder="")
    st.button("Close the history", icon=":material/close:", key="x_close_history", on_click=_close_history)

write_link(x.LinkState(query, page, patient))
