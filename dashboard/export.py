"""The "Export this view" button: the page's workbook (queries/export.py) for the sidebar's filters and as-of.

    export_button(view, "rebooking")        # last thing on the page

The workbook is built only when the button is clicked (st.download_button runs a callable then, on its own
thread), not on every rerun of the page. What each page exports is queries.export.PAGES; a marketing page
registers there with audience "marketing", and its button then follows the marketing rules.
"""

from __future__ import annotations

import streamlit as st

from dashboard import auth, source
from dashboard.filters import View
from queries import export

LABEL = "Export this view"


def _recall_days(default: tuple[int, int]) -> tuple[int, int]:
    """The recall bounds the Rebooking page shows: its link's (ui.url_value keeps them there), else the settings'."""
    bounds = []
    for name, fallback in zip(("recall_min", "recall_max"), default, strict=True):
        try:
            bounds.append(int(st.query_params.get(name, fallback)))
        except ValueError:
            bounds.append(fallback)
    return bounds[0], bounds[1]


def export_view(view: View) -> export.ExportView:
    settings = source.settings()
    return export.ExportView(
        filters=view.filters.with_period(view.start, view.end), as_of=view.as_of, previous=view.previous,
        currency=settings.currency,
        recall_days=_recall_days((settings.recall_min_days, settings.recall_max_days)),
        min_patients_per_cell=settings.min_patients_per_cell, data_label=source.current().label)


def export_button(view: View, page: str) -> None:
    """A download button for the Summary and `page`'s sheets, built when clicked."""
    wanted = export_view(view)  # read here: the click's thread has no session state
    connection = source.current().connection
    # A role that may not see patients (marketing) gets the page's marketing version: small cells suppressed,
    # no patient named (export.FOR_MARKETING for the Overview). Owner pages show the recall list on screen to
    # the same person, so their workbook may hold it.
    for_marketing = not auth.sees_patients(auth.current_role())
    marketing = export.page_export(page, for_marketing).audience == "marketing"
    patient_ids = not marketing
    context, name = auth.audit_context(), export.file_name((page,), wanted)

    def build() -> bytes:
        # Runs on Streamlit's download thread: no st.* here, only what was captured above. Logged when built
        # (whoever asks for the file), before it is handed over: no log, no file.
        rows: dict[str, int] = {}
        data = export.build_workbook(connection, wanted, (page,), patient_ids=patient_ids, rows=rows,
                                     for_marketing=for_marketing)
        identifying = {s.name for s in export.page_export(page, for_marketing).sheets if s.identifies_patients}
        auth.log_download(context, name, sum(rows.values()), patient_level=bool(identifying & set(rows)))
        return data

    st.download_button(
        LABEL, build, file_name=name, mime=export.XLSX_MIME, key=f"export_{page}",
        on_click="ignore", icon=":material/table_view:",
        help="An Excel workbook of this page's tables for the filters in the sidebar, with a Summary sheet of "
             "the period, the as-of date and every KPI with its definition."
             + (" Small cells are suppressed and no patient is named." if marketing else ""))
