"""Practice analytics: the entry script checks who is asking, then declares their pages and the shared sidebar.

    streamlit run dashboard/app.py [-- --data FOLDER_OR_DUCKDB] [--users USERS_FILE] [--audit AUDIT_FILE]
"""

import sys
from pathlib import Path

# `streamlit run` puts only this folder on the path; the project root holds `dashboard` and `queries`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import streamlit as st  # noqa: E402

from dashboard import auth, filters, source, ui  # noqa: E402
from queries.load import LoadError  # noqa: E402

st.set_page_config(page_title="Practice analytics", page_icon=":material/spa:", layout="wide")

# Before anything reads the data: with a users file, the sign-in form until signed in.
access = auth.gate()

# Not `pages/`: a folder of that name beside the entry script makes AppTest rerun the page alone.
PAGES_DIR = Path(__file__).parent / "views"
PAGES = {
    "overview": st.Page(PAGES_DIR / "overview.py", title="Overview", icon=":material/dashboard:", default=True),
    "body_areas": st.Page(PAGES_DIR / "body_areas.py", title="Body areas", icon=":material/accessibility_new:"),
    "rebooking": st.Page(PAGES_DIR / "rebooking.py", title="Rebooking", icon=":material/event_repeat:"),
    "aftercare": st.Page(PAGES_DIR / "aftercare.py", title="Aftercare", icon=":material/healing:"),
    "consumables": st.Page(PAGES_DIR / "consumables.py", title="Consumables", icon=":material/inventory_2:"),
    "demand": st.Page(PAGES_DIR / "demand.py", title="Demand", icon=":material/campaign:"),
    "explore": st.Page(PAGES_DIR / "explore.py", title="Explore", icon=":material/table_view:"),
    "data": st.Page(PAGES_DIR / "data.py", title="Data", icon=":material/upload_file:"),
}
SECTIONS = {"Owner": ["overview"], "Clinic": ["body_areas", "rebooking", "aftercare", "consumables"],
            "Marketing": ["demand"], "Staff": ["explore"], "Data": ["data"]}
# Only the role's pages exist for this session: another page's URL lands on the default page.
allowed = auth.pages_for(access.role)
navigation = {section: [PAGES[name] for name in names if name in allowed] for section, names in SECTIONS.items()}
navigation = {section: pages for section, pages in navigation.items() if pages}
auth.sidebar(access)

try:
    source.begin_run()  # pins this run's dataset: every page query of the run reads the same one
except LoadError as exc:
    # The data the app was started on is unusable: say why, and offer the Data page to upload instead.
    st.error(f"The practice's data could not be loaded: {ui.md_plain(exc)}", icon=":material/error:")
    if "data" in allowed:
        st.session_state[auth.PAGE] = "data"
        st.navigation({"Data": [PAGES["data"]]}).run()
    st.stop()

page = st.navigation(navigation)
# The address opened before signing in (`/rebooking?period=all`): the sign-in's rerun asks for the entry page.
if (wanted := auth.wanted_page()) and PAGES[wanted] is not page:
    if wanted in allowed:
        st.switch_page(PAGES[wanted], query_params=[(k, v) for k in st.query_params for v in st.query_params.get_all(k)])
    st.info(f"The {PAGES[wanted].title} page is not available to your role ({access.role}).", icon=":material/block:")
st.session_state[auth.PAGE] = next(name for name, p in PAGES.items() if p.title == page.title)
nothing_loaded = source.nothing_loaded()
if nothing_loaded and page is not PAGES["data"]:
    # No booking or session loaded: no export date, so no period to filter and no figure that is not a zero
    # "as of today". Every page says so; the Data page shows why (the rejected rows), to those who may see it.
    st.title(page.title)
    st.info("Nothing to show: no booking or session in this export could be loaded."
            + (" The Data page lists every rejected row with its reason." if "data" in allowed else ""),
            icon=":material/info:")
    if "data" in allowed:
        st.page_link(PAGES["data"], label="See what was rejected", icon=":material/upload_file:")
    st.stop()
if not nothing_loaded:
    filters.sidebar()
if problem := source.reload_problem():
    st.warning(f"The data files changed but could not be loaded; showing them as loaded before. {ui.md_plain(problem)}",
               icon=":material/warning:")
if problem := source.settings_problem():
    st.warning(f"Practice settings not used: {ui.md_plain(problem)}", icon=":material/warning:")
page.run()
