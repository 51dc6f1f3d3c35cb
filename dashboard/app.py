"""Practice analytics: the entry script declares the pages and the shared sidebar.

    streamlit run dashboard/app.py [-- --data FOLDER_OR_DUCKDB]
"""

import sys
from pathlib import Path

# `streamlit run` puts only this folder on the path; the project root holds `dashboard` and `queries`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import streamlit as st  # noqa: E402

from dashboard import filters, source  # noqa: E402
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
    source.begin_run()  # pins this run's dataset: every page query of the run reads the same one
except LoadError as exc:
    # The data the app was started on is unusable: say why, and offer the Data page to upload instead.
    st.error(f"The practice's data could not be loaded: {exc}", icon=":material/error:")
    st.navigation({"Data": [data]}).run()
    st.stop()

page = st.navigation({"Owner": [overview], "Clinic": clinic, "Marketing": [demand], "Staff": [explore],
                      "Data": [data]})
filters.sidebar()
if problem := source.reload_problem():
    st.warning(f"The data files changed but could not be loaded; showing them as loaded before. {problem}",
               icon=":material/warning:")
if problem := source.settings_problem():
    st.warning(f"Practice settings not used: {problem}", icon=":material/warning:")
page.run()
