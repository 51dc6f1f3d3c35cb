"""Data: what was loaded, what was rejected and why, and uploading a clinic's own exports."""

import pandas as pd
import streamlit as st

from dashboard import audit, auth, export, filters, source, ui, uploads
from queries.load import LoadError

st.title("Data")
try:
    dataset = source.current()
except LoadError:
    dataset = None  # app.py has said why; uploading is still possible
nothing_loaded = source.nothing_loaded() if dataset is not None else None
if nothing_loaded:
    # load_meta would date this export today: there is no date, and so no figure, to show.
    st.warning(ui.md_plain(nothing_loaded), icon=":material/warning:")
    st.caption(f"Showing {ui.md_plain(dataset.label)}. The other pages have nothing to show until an export with "
               "at least one booking or session is loaded.")
elif dataset is not None:
    meta = source.query("load_meta").iloc[0]
    st.markdown(
        f"Showing **{ui.md_plain(dataset.label)}** · figures as of **{ui.day(source.export_date())}** "
        f"(the latest booking made or session performed) · covers "
        f"{ui.day(meta['data_starts_on'])} – {ui.day(meta['last_appointment_on'])} including booked appointments."
    )
    st.caption("The sidebar filters apply to the other pages; this page always shows the whole export.")

with st.expander("Load your own exports",
                 expanded=dataset is None or dataset.is_upload or "upload_message" in st.session_state):
    st.markdown(
        "Upload `bookings.csv` and `sessions.csv` (required) and, if you have them, `consumables.csv` and "
        "`complaints.csv`, plus `column_map.toml` if your export uses other column names and `practice.toml` "
        "for the practice's settings (targets, recall bounds, currency). "
        "Uploaded data stays in **your browser session only** and is not stored on the server."
    )
    files = st.file_uploader("Export files", type=list(uploads.UPLOADER_TYPES), accept_multiple_files=True,
                             key="upload_files")
    st.caption(f"Up to {st.get_option('server.maxUploadSize'):,} MB per file, CSV as your booking software exports "
               "it. An Excel workbook must be saved as CSV (comma delimited) first. Larger exports: load them once "
               "with `python -m queries.load` (see the README).")
    if st.button("Load these files", type="primary", disabled=not files):
        bar = st.progress(0.0, text="Loading…")
        try:
            result = source.load_upload(files, progress=lambda f, msg: bar.progress(f, text=msg))
        except uploads.UploadRefused as exc:
            st.session_state["upload_message"] = (
                "error", "Nothing was changed. " + ("These files cannot be loaded:" if len(exc.problems) > 1 else
                                                    "This file cannot be loaded:") + "\n\n"
                         + "\n".join(f"- {ui.md_plain(problem)}" for problem in exc.problems))
        except LoadError as exc:
            # The loader's message names files and columns as the export spelled them.
            st.session_state["upload_message"] = ("error", f"Nothing was changed: {ui.md_plain(exc)}")
        else:
            st.session_state["upload_message"] = (
                "success", f"Loaded {sum(f['loaded'] for f in result.files.values()):,} rows "
                           f"({result.rejected_total:,} rejected) in {result.seconds:.1f} s.")
        bar.empty()
        st.rerun()
    kind, message = st.session_state.get("upload_message", (None, None))
    if kind == "error":
        st.error(message, icon=":material/error:")
    elif kind == "success":
        st.success(message, icon=":material/check_circle:")
    if dataset is not None and dataset.is_upload and st.button("Go back to the data the app was started with"):
        source.forget_upload()
        st.session_state.pop("upload_message", None)
        st.rerun()

if dataset is None:
    st.stop()

st.subheader("Files")
summary = source.query("load_summary")
st.dataframe(
    # Dates as text so a file with no rows shows "—", not "None".
    summary.drop(columns=["entity"]).assign(first_date=summary["first_date"].map(ui.day),
                                             last_date=summary["last_date"].map(ui.day)),
    hide_index=True,
    width="stretch",
    column_config={
        "file_name": "File",
        "is_present": st.column_config.CheckboxColumn("In the export"),
        "count_read": st.column_config.NumberColumn("Rows read", format="%,d"),
        "count_loaded": st.column_config.NumberColumn("Loaded", format="%,d"),
        "count_rejected": st.column_config.NumberColumn("Rejected", format="%,d"),
        "first_date": "From",
        "last_date": "To",
    },
)
absent = summary.loc[~summary["is_present"], "file_name"].tolist()
if absent:
    st.caption(f"Not in this export: {', '.join(absent)}. Pages that need them say so.")

rejects = source.query("load_rejects")
st.subheader(f"Rejected rows ({len(rejects):,})")
if rejects.empty:
    st.success("Every row was loaded.", icon=":material/check_circle:")
else:
    st.caption("These rows were not loaded. Line numbers count the header as line 1; fix the rows in the "
               "export and load it again.")
    ui.table_with_download(rejects, "rejected_rows.csv")

warnings = source.query("load_warnings")
if not warnings.empty:
    st.subheader(f"Loaded with a warning ({len(warnings):,})")
    st.caption("These rows were loaded, but a value the contract does not know was read as “other”.")
    ui.table_with_download(warnings, "load_warnings.csv")

st.subheader("Links between files")
quality = source.query("data_quality")
st.caption("Rows that point at a booking or session not in the export (orphans). They are loaded and "
           "counted where they can be; complaints without a known session are left out of complaint rates.")
ui.table_with_download(quality, "data_quality.csv")

if auth.current_role() == "owner":
    st.subheader("Audit log", help="Sign-ins, failed sign-ins, sign-outs, expiries and every download: who, when, "
                                   "from where, on which page, with which filters and how many rows.")
    entries = audit.read(limit=500)
    st.caption(f"The latest {len(entries):,} entries, newest first, from `{audit.location()}` (append-only; the "
               "whole file is on the server).")
    if entries:
        log = pd.DataFrame(audit.flat(entries), columns=audit.COLUMNS)
        st.dataframe(log, hide_index=True, width="stretch", height=min(38 + 35 * len(log), 420),
                     column_config={"at": "When (UTC)", "event": "Event", "user": "User", "role": "Role",
                                    "page": "Page", "filters": "Filters", "rows": st.column_config.NumberColumn(
                                        "Rows", format="%,d"), "client": "Client", "file": "File",
                                    "patient_level": st.column_config.CheckboxColumn("Names patients")})
        ui.download(log, "audit_log.csv", label="Download the audit log")
    else:
        st.info("Nothing recorded yet.", icon=":material/history:")

if not nothing_loaded:  # no sidebar, no period: nothing to export
    export.export_button(filters.current_view(), "data")
