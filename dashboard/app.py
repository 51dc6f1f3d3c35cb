"""Practice analytics: the entry script declares the pages and the shared sidebar.

    streamlit run dashboard/app.py [-- --data FOLDER_OR_DUCKDB]
"""

import sys
from pathlib import Path

# `streamlit run` puts only this folder on the path; the project root holds `dashboard` and `queries`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import streamlit as st  # noqa: E402

from dashboard import filters, source, ui  # noqa: E402
from queries.load import LoadError  # noqa: E402

st.set_page_config(page_title="Practice analytics", page_icon=":material/spa:", layout="wide")

# Not `pages/`: a folder of that name beside the entry script makes AppTest rerun the page alone.
PAGES_DIR = Path(__file__).parent / "views"
overview = st.Page(PAGES_DIR / "overview.py", title="Overview", icon=":material/dashboard:", default=True)
clinic = [
    st.Page(PAGES_DIR / "body_areas.py", title="Body areas", icon=":material/accessibility_new:"),
    st.Page(PAGES_DIR / "rebooking.py", title="Rebooking", icon=":material/event_repeat:"),
    st.Page(PAGES_DIR / "aftercare.py", title="Aftercare", icon=":material/healing:"),
    st.Page(PAGES_DIR / "consumables.py", title="Consumables", icon=":material/inventory_2:"),
]
demand = st.Page(PAGES_DIR / "demand.py", title="Demand", icon=":material/campaign:")
explore = st.Page(PAGES_DIR / "explore.py", title="Explore", icon=":material/table_view:")
data = st.Page(PAGES_DIR / "data.py", title="Data", icon=":material/upload_file:")

try:
    source.current()
except LoadError as exc:
    # The data the app was started on is unusable: say why, and offer the Data page to upload instead.
    st.error(f"The practice's data could not be loaded: {ui.md_plain(exc)}", icon=":material/error:")
    st.navigation({"Data": [data]}).run()
    st.stop()

page = st.navigation({"Owner": [overview], "Clinic": clinic, "Marketing": [demand], "Staff": [explore],
                      "Data": [data]})
nothing_loaded = source.nothing_loaded()
if nothing_loaded and page.url_path != data.url_path:
    # No booking or session loaded: no export date, so no period to filter and no figure that is not a zero
    # "as of today". Every page says so; the Data page shows why (the rejected rows).
    st.title(page.title)
    st.info("Nothing to show: no booking or session in this export could be loaded. The Data page lists every "
            "rejected row with its reason.", icon=":material/info:")
    st.page_link(data, label="See what was rejected", icon=":material/upload_file:")
    st.stop()
if not nothing_loaded:
    filters.sidebar()
if problem := source.settings_problem():
    st.warning(f"Practice settings not used: {ui.md_plain(problem)}", icon=":material/warning:")
page.run()
