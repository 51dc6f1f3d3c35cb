"""Sign-in, roles, throttling, idle expiry and the audit log (dashboard/auth.py, dashboard/audit.py): the rules on
their own, then the app through AppTest with a users file. Times come from a fake clock: nothing sleeps."""

from __future__ import annotations

import io
import json
import os
import re
import stat
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from argon2 import PasswordHasher
from pages import APP, fresh_caches  # noqa: F401
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from dashboard import audit, auth, users

CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PEOPLE = {"olive": ("owner", "olive's passphrase"), "sam": ("staff", "sam's passphrase"),
          "mia": ("marketing", "mia's passphrase")}
BY_ROLE = {role: name for name, (role, _) in PEOPLE.items()}
HEADINGS = {"overview": "Overview", "body_areas": "Body areas", "rebooking": "Rebooking", "aftercare": "Aftercare",
            "consumables": "Consumables", "demand": "Demand", "explore": "Explore", "data": "Data"}
PATIENT_ID = re.compile(r"\bP\d{5}\b")  # the sample data's patient ids


class FakeClock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    fake = FakeClock()
    monkeypatch.setattr(auth, "monotonic", fake)
    return fake


@pytest.fixture
def users_file(tmp_path, monkeypatch, clock) -> Path:
    """Three users, one per role; the app started with them."""
    monkeypatch.setattr(users, "HASHER", CHEAP)
    path = tmp_path / "users.toml"
    for name, (role, password) in PEOPLE.items():
        users.add_user(path, name, role, password)
    monkeypatch.setenv("PRACTICE_USERS", str(path))
    return path


def audit_log() -> list[dict]:
    return [json.loads(line) for line in audit.location().read_text().splitlines()]


def texts(at: AppTest, kind: str) -> str:
    return " ".join(e.value for e in getattr(at, kind))


def start(url_path: str | None = None, **query_params) -> AppTest:
    """A new browser session on the address `/url_path?query_params` (`data` for /data), as a browser opens
    it: before st.navigation runs, the page shows only in st.context.url."""
    at = AppTest.from_file(APP, default_timeout=60)
    if url_path:
        at.context = {"url": f"http://localhost:8501/{url_path}"}
    for key, value in query_params.items():
        at.query_params[key] = value
    return at.run()


def sign_in(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="auth_username").input(name)
    at.text_input(key="auth_password").input(password)
    next(b for b in at.button if b.label == "Sign in").click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def signed_in(role: str, url_path: str | None = None, **query_params) -> AppTest:
    name = BY_ROLE[role]
    return sign_in(start(url_path, **query_params), name, PEOPLE[name][1])


def navigation(at: AppTest) -> list[str]:
    """The pages st.navigation was given on the last run ('' is the default page, Overview)."""
    return [info["url_pathname"] for info in at._registered_pages.values()]


def not_navigating(at: AppTest) -> bool:
    """st.navigation was not called: no page of the app exists for this session yet."""
    return not any("url_pathname" in info for info in at._registered_pages.values())


# --- the rules -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role, pages", [
    ("owner", ["overview", "body_areas", "rebooking", "aftercare", "consumables", "demand", "explore", "data"]),
    ("staff", ["overview", "body_areas", "rebooking", "aftercare", "consumables", "explore"]),
    ("marketing", ["overview", "demand"]),
    ("admin", []),
])
def test_pages_by_role(role, pages):
    assert list(auth.pages_for(role)) == pages
    assert auth.sees_patients(role) == (role in ("owner", "staff"))


def test_the_throttle_slows_failures_down_exponentially():
    clock = FakeClock()
    throttle = auth.Throttle(clock, free=5, window=900, base=30, longest=120)
    for _ in range(5):
        assert throttle.wait("user:sam") == 0
        throttle.failed("user:sam")
        clock.advance(1)
    assert throttle.wait("user:sam") == 30 - 1  # the 5th failure, a second ago, locks for 30 s
    assert throttle.wait("user:kim") == 0, "another name is not locked"
    clock.advance(29)
    assert throttle.wait("user:sam") == 0
    throttle.failed("user:sam")
    assert throttle.wait("user:sam") == 60  # doubles
    clock.advance(60)
    throttle.failed("user:sam")
    assert throttle.wait("user:sam") == 120
    clock.advance(120)
    throttle.failed("user:sam")
    assert throttle.wait("user:sam") == 120, "never longer than `longest`"


def test_the_throttle_forgets_failures_after_the_window():
    clock = FakeClock()
    throttle = auth.Throttle(clock, free=3, window=600, base=30)
    for _ in range(3):
        throttle.failed("client:a")
    assert throttle.wait("client:a") == 30
    clock.advance(600)
    assert throttle.wait("client:a") == 0
    throttle.failed("client:a")
    assert throttle.wait("client:a") == 0, "one fresh failure, not four"


def test_the_longest_lock_of_the_keys_counts():
    clock = FakeClock()
    throttle = auth.Throttle(clock, free=2, base=10)
    throttle.failed("user:sam", "client:a")
    throttle.failed("user:kim", "client:a")  # two names from one client
    assert throttle.wait("user:sam", "client:b") == 0
    assert throttle.wait("user:lee", "client:a") == 10, "a new name from that client waits too"


def test_the_throttle_keeps_at_most_max_keys():
    clock = FakeClock()
    throttle = auth.Throttle(clock, free=1, max_keys=100)
    for i in range(1000):
        clock.advance(0.01)
        throttle.failed(f"user:made-up-{i}")
    assert len(throttle._failures) == 100
    assert throttle.wait("user:made-up-999") > 0, "the latest are kept"


@pytest.fixture
def known(monkeypatch):
    monkeypatch.setattr(users, "HASHER", CHEAP)
    return {"sam": users.User("sam", "staff", CHEAP.hash("right password"))}


def test_an_unknown_name_and_a_wrong_password_get_the_same_answer(known):
    throttle = auth.Throttle(FakeClock())
    wrong = auth.attempt(known, throttle, "sam", "wrong password", "c1")
    unknown = auth.attempt(known, throttle, "nobody", "right password", "c2")
    assert (wrong.outcome, wrong.message) == (unknown.outcome, unknown.message) == ("failed", auth.WRONG)
    assert auth.WRONG == "Wrong username or password."


def test_an_unknown_name_still_costs_a_hash_check(known, monkeypatch):
    checked = []
    real = users.verify
    monkeypatch.setattr(users, "verify", lambda k, n, p: checked.append(n) or real(k, n, p))
    auth.attempt(known, auth.Throttle(FakeClock()), "nobody", "x", "c")
    assert checked == ["nobody"]


def test_while_locked_even_the_right_password_is_refused_unchecked(known, monkeypatch):
    clock = FakeClock()
    throttle = auth.Throttle(clock, free=3, base=30)
    for _ in range(3):
        auth.attempt(known, throttle, "sam", "guess", "c1")
    monkeypatch.setattr(users, "verify", lambda *a: pytest.fail("a locked attempt must not be checked"))
    refused = auth.attempt(known, throttle, "SAM", "right password", "c2")  # any case, any client
    assert refused.outcome == "throttled"
    assert refused.message == "Too many attempts, try again in 30 s."
    monkeypatch.undo()
    monkeypatch.setattr(users, "HASHER", CHEAP)
    clock.advance(30)
    assert auth.attempt(known, throttle, "sam", "right password", "c2").outcome == "signed_in"


def test_a_success_clears_the_name_but_not_the_client(known):
    clock = FakeClock()
    throttle = auth.Throttle(clock, free=4, base=30)
    for name in ("sam", "sam", "kim"):
        auth.attempt(known, throttle, name, "guess", "c1")
    assert auth.attempt(known, throttle, "sam", "right password", "c1").outcome == "signed_in"
    assert throttle.wait("user:sam") == 0
    auth.attempt(known, throttle, "lee", "guess", "c1")  # the client's 4th failure in the window
    assert throttle.wait("client:c1") == 30


@pytest.mark.parametrize("ip, headers, expected", [
    ("203.0.113.9", {"X-Forwarded-For": "198.51.100.1"}, "203.0.113.9"),  # a direct connection: its address
    (None, {"X-Real-Ip": "198.51.100.7", "X-Forwarded-For": "1.2.3.4, 198.51.100.7"}, "198.51.100.7"),
    (None, {"X-Forwarded-For": "1.2.3.4, 198.51.100.7"}, "198.51.100.7"),  # the proxy's entry, not the browser's
    (None, {"X-Forwarded-For": " "}, None),
    (None, {}, None),  # the session stands in
])
def test_the_client_address(ip, headers, expected):
    assert auth.client_address(ip, headers) == expected


@pytest.mark.parametrize("seconds_idle, expired", [(0, False), (30 * 60, False), (30 * 60 + 1, True)])
def test_idle_expiry(seconds_idle, expired):
    assert auth.is_idle(100.0, 100.0 + seconds_idle, 30) == expired


# --- the audit log ---------------------------------------------------------------------------------------------------

def test_records_are_appended_one_json_object_a_line(tmp_path):
    path = tmp_path / "log" / "audit.jsonl"
    audit.record("sign_in", path=path, user="sam", role="staff", client="203.0.113.9")
    first = path.read_bytes()
    inode = path.stat().st_ino
    audit.record("download", path=path, user="sam", role="staff", page="explore", filters={"period": "all"},
                 rows=12, client="203.0.113.9", file="sessions.csv", patient_level=True)
    assert path.read_bytes().startswith(first) and path.stat().st_ino == inode, "appended, never rewritten"
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    entry = json.loads(lines[1])
    assert list(entry)[:8] == list(audit.FIELDS)
    assert entry["at"].endswith("+00:00")
    assert (entry["event"], entry["rows"], entry["filters"], entry["file"]) == ("download", 12, {"period": "all"},
                                                                                 "sessions.csv")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_read_gives_the_latest_first_and_skips_a_torn_line(tmp_path):
    path = tmp_path / "audit.jsonl"
    for i in range(5):
        audit.record("sign_in", path=path, user=f"u{i}")
    with path.open("a") as log:
        log.write('{"at": "cut sho')
    assert [e["user"] for e in audit.read(limit=3, path=path)] == ["u4", "u3"]  # the torn last line is one of 3
    assert [e["user"] for e in audit.read(path=path)] == ["u4", "u3", "u2", "u1", "u0"]
    assert audit.read(path=tmp_path / "none.jsonl") == []


def test_where_the_audit_log_goes(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["app.py"])
    monkeypatch.delenv("PRACTICE_AUDIT")
    monkeypatch.chdir(tmp_path)
    assert audit.location() == tmp_path / ".practice" / "audit.jsonl"
    monkeypatch.setenv("PRACTICE_USERS", str(tmp_path / "etc" / "users.toml"))
    assert audit.location() == tmp_path / "etc" / "audit.jsonl"
    monkeypatch.setenv("PRACTICE_AUDIT", str(tmp_path / "var" / "log.jsonl"))
    assert audit.location() == tmp_path / "var" / "log.jsonl"
    monkeypatch.setattr(sys, "argv", ["app.py", "--audit", str(tmp_path / "cli.jsonl"), "--users", "u.toml"])
    assert audit.location() == tmp_path / "cli.jsonl"
    assert users.startup_path() == tmp_path / "u.toml"


# --- the app: before signing in --------------------------------------------------------------------------------------

def test_the_sign_in_form_comes_before_any_data(users_file, monkeypatch):
    from dashboard import source

    loaded = []
    real_current = source.current
    monkeypatch.setattr(source, "current", lambda: loaded.append(1) or real_current())
    at = start()
    assert [t.value for t in at.title] == ["Sign in"]
    assert [w.label for w in at.text_input] == ["Username", "Password"]
    assert at.text_input(key="auth_password").proto.type == at.text_input(key="auth_password").proto.PASSWORD
    assert [b.label for b in at.button] == ["Sign in"]
    assert not at.dataframe and not at.metric and not at.get("plotly_chart") and not at.get("download_button")
    assert not at.sidebar.children
    assert loaded == [], "the data was not loaded"
    assert not_navigating(at)

    sign_in(at, "sam", "sam's passphrase")
    assert loaded and at.title[0].value == "Overview" and at.metric


@pytest.mark.parametrize("name, password", [("sam", "wrong passphrase"), ("nobody", "sam's passphrase"),
                                            ("", "")])
def test_a_wrong_password_and_an_unknown_user_get_the_same_message(users_file, name, password):
    at = sign_in(start(), name, password)
    assert texts(at, "error") == "Wrong username or password."
    assert at.title[0].value == "Sign in" and not at.metric
    assert at.text_input(key="auth_password").value == "", "the password is not kept"
    assert at.text_input(key="auth_username").value == name


def test_failed_sign_ins_are_throttled_then_allowed_again(users_file, clock):
    at = start()
    for _ in range(5):
        sign_in(at, "sam", "a guess")
        clock.advance(1)
    sign_in(at, "sam", "sam's passphrase")
    assert texts(at, "error") == "Too many attempts, try again in 29 s."
    assert at.title[0].value == "Sign in"
    # Another browser session (another client) is refused for that name too; other names are not.
    other = sign_in(start(), "sam", "sam's passphrase")
    assert "Too many attempts" in texts(other, "error")
    assert sign_in(start(), "mia", "mia's passphrase").title[0].value == "Overview"
    clock.advance(29)
    sign_in(at, "sam", "sam's passphrase")
    assert at.title[0].value == "Overview"
    events = [(e["event"], e["user"]) for e in audit_log()]
    assert events.count(("sign_in_failed", "sam")) == 5
    assert events.count(("sign_in_throttled", "sam")) == 2


def test_a_users_file_that_is_missing_stops_the_app_with_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PRACTICE_USERS", str(tmp_path / "typo.toml"))
    at = start()
    assert not at.exception
    assert "users file cannot be used, so nobody can sign in" in at.error[0].value
    assert "typo.toml: users file not found" in at.error[0].value
    assert not at.text_input and not at.metric and not_navigating(at)


@pytest.mark.parametrize("text, message", [("", "no users yet"), ("[users.x\n", "not valid TOML")])
def test_an_unusable_users_file_is_an_error_not_open_access(tmp_path, monkeypatch, text, message):
    path = tmp_path / "users.toml"
    path.write_text(text)
    monkeypatch.setenv("PRACTICE_USERS", str(path))
    at = start()
    assert message in at.error[0].value and not at.text_input and not at.metric


def test_an_audit_log_that_cannot_be_written_stops_the_app(users_file, tmp_path, monkeypatch):
    (tmp_path / "a_file").write_text("")
    monkeypatch.setenv("PRACTICE_AUDIT", str(tmp_path / "a_file" / "audit.jsonl"))  # under a file: cannot exist
    at = start()
    assert "cannot be written, so nobody can sign in" in at.error[0].value and not at.text_input


def test_without_a_users_file_every_page_says_it_is_not_protected():
    for page in ("overview", "data"):
        at = start()
        if page != "overview":
            at.switch_page(f"views/{page}.py").run()
        notice = " ".join(c.value for c in at.sidebar.caption)
        assert "Not protected:" in notice and "anyone who can open this address sees the data." in notice
        assert len(navigation(at)) == 8, "open: every page"


# --- the app: roles ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["owner", "staff", "marketing"])
def test_the_navigation_lists_exactly_the_roles_pages(users_file, role):
    at = signed_in(role)
    assert navigation(at) == [""] + [page for page, allowed in zip(list(HEADINGS)[1:], ALLOWED[role], strict=True)
                                     if allowed]
    assert f"Signed in as **{BY_ROLE[role]}** ({role})" in " ".join(c.value for c in at.sidebar.caption)
    assert "Not protected" not in " ".join(c.value for c in at.sidebar.caption)


# The brief's table, written out (not read from auth.ROLE_PAGES: a wrong table there must fail here).
ALLOWED = {
    #              body_areas rebooking aftercare consumables demand explore data
    "owner":     (True,      True,     True,     True,       True,  True,   True),
    "staff":     (True,      True,     True,     True,       False, True,   False),
    "marketing": (False,     False,    False,    False,      True,  False,  False),
}
ROLE_PAGE = [(role, page, allowed) for role, row in ALLOWED.items()
             for page, allowed in zip(list(HEADINGS)[1:], row, strict=True)]


@pytest.mark.parametrize("role, page, allowed", ROLE_PAGE, ids=[f"{r}-{p}-{'yes' if a else 'no'}" for r, p, a in ROLE_PAGE])
def test_a_page_by_role_by_navigation_and_by_url(users_file, role, page, allowed):
    # By URL: the address opened before signing in is where signing in leads, if the role has that page.
    at = signed_in(role, url_path=page)
    assert not at.exception
    titles = [t.value for t in at.title]
    if allowed:
        assert titles[0] == HEADINGS[page]
        return
    assert HEADINGS[page] not in titles and titles[0] == "Overview"
    assert f"The {HEADINGS[page]} page is not available to your role ({role})." in texts(at, "info")
    # By navigation: the page is not among the session's pages at all.
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(f"views/{page}.py")
    # Asked for once signed in (the hash st.Page gives /page, as a link inside the app would ask): the default page.
    at._page_hash = calc_hash(page)
    at.run()
    assert [t.value for t in at.title][0] == "Overview"
    assert not at.exception


def test_a_link_opened_before_signing_in_keeps_its_filters(users_file):
    at = signed_in("staff", url_path="rebooking", period="all", body_area="face")
    assert at.title[0].value == "Rebooking"
    assert at.sidebar.selectbox[0].value == "all"
    assert at.query_params["body_area"] in ("face", ["face"])


# --- the app: downloads by role --------------------------------------------------------------------------------------



def every_text(data: bytes, file_name: str) -> str:
    if file_name.endswith(".xlsx"):
        book = openpyxl.load_workbook(io.BytesIO(data))
        return "\n".join(str(c) for sheet in book for row in sheet.iter_rows(values_only=True) for c in row)
    return data.decode("utf-8")


@pytest.mark.parametrize("page", ["overview", "demand"])
def test_marketing_gets_no_patient_identifier_on_its_pages_or_in_any_download(users_file, downloads, page):
    at = signed_in("marketing", url_path=None if page == "overview" else page)
    at.sidebar.selectbox[0].set_value("all").run()  # every row of the sample data
    assert at.title[0].value == HEADINGS[page]
    frames = [d.value for d in at.dataframe]
    assert frames
    for frame in frames:
        assert not {"patient_id", "Patient", "session_id", "Session", "booking_id", "Booking"} & set(frame.columns)
        assert not PATIENT_ID.search(frame.astype(str).to_csv())
    assert downloads, "the page offers downloads"
    for file_name, data in downloads.items():
        content = every_text(data() if callable(data) else data, file_name)
        assert not PATIENT_ID.search(content), file_name
    logged = [e for e in audit_log() if e["event"] == "download"]
    assert any(e["file"].endswith(".xlsx") and e["patient_level"] is False and e["role"] == "marketing"
               for e in logged), "the workbook, built, was logged as aggregate"


def test_marketing_is_never_given_a_table_that_names_patients():
    """The backstop in ui.download: a patient-level table is not offered to a role that may not see patients."""
    def script():
        import pandas as pd
        import streamlit as st

        from dashboard import auth, ui
        st.session_state[auth.SIGNED_IN] = {"user": "mia", "role": st.session_state["role"]}
        ui.download(pd.DataFrame({"Patient": ["P00001"], "Sessions": [3]}), "people.csv")
        ui.download(pd.DataFrame({"Treatment": ["Peel"], "Sessions": [3]}), "treatments.csv")

    for role, offered in (("marketing", ["treatments.csv"]), ("staff", ["people.csv", "treatments.csv"])):
        at = AppTest.from_function(script, default_timeout=30)
        at.session_state["role"] = role
        at.run()
        assert not at.exception, [e.message for e in at.exception]
        assert [b.key.removeprefix("download_") for b in at.get("download_button")] == offered


def test_staff_downloads_are_logged_with_who_which_page_filters_and_rows(users_file, downloads):
    at = signed_in("staff", url_path="explore")
    at.sidebar.selectbox[0].set_value("last_90_days").run()
    csv_name = [name for name in downloads if name.endswith(".csv") and name.startswith("sessions_")][-1]  # 90 days
    data = downloads[csv_name]()
    rows = len(pd.read_csv(io.BytesIO(data)))
    assert rows > 0 and PATIENT_ID.search(data.decode())  # staff may: patient-level rows
    entry = audit_log()[-1]
    assert (entry["event"], entry["user"], entry["role"], entry["page"]) == ("download", "sam", "staff", "explore")
    assert (entry["file"], entry["rows"], entry["patient_level"]) == (csv_name, rows, True)
    assert entry["filters"]["period"] == "last_90_days"
    assert entry["client"]


def test_a_table_download_click_is_logged(users_file):
    at = signed_in("owner", url_path="overview")
    button = next(b for b in at.get("download_button") if b.key == "download_top_treatments.csv")
    shown = next(d.value for d in at.dataframe if "Treatment" in d.value.columns)
    button.click().run()
    assert not at.exception
    entry = audit_log()[-1]
    assert (entry["event"], entry["user"], entry["page"], entry["file"]) == ("download", "olive", "overview",
                                                                             "top_treatments.csv")
    assert entry["rows"] == len(shown) and entry["patient_level"] is False


def test_the_recall_list_csv_has_every_row_and_is_logged_when_made(users_file, downloads, monkeypatch):
    """The page queries only the rows its table shows; the CSV fetches them all when clicked, and is logged then."""
    from dashboard import ui
    monkeypatch.setattr(ui, "MAX_ROWS_SHOWN", 5)
    at = signed_in("owner", url_path="rebooking")
    total = int(re.search(r"\*\*([\d,]+) patients\*\*", " ".join(m.value for m in at.markdown)).group(1).replace(",", ""))
    shown = next(d.value for d in at.dataframe if "Patient" in d.value.columns)
    assert len(shown) == 5 < total
    assert f"Showing the first 5 of {total:,} rows; the CSV has them all." in [c.value for c in at.caption]
    logged = len(audit_log())
    data = downloads["recall_list.csv"]()
    every_row = pd.read_csv(io.BytesIO(data))
    assert len(every_row) == total and list(every_row.columns) == list(shown.columns)
    assert list(every_row["Patient"][:5]) == list(shown["Patient"])
    entry = audit_log()[logged]
    assert (entry["event"], entry["user"], entry["page"], entry["file"]) == ("download", "olive", "rebooking",
                                                                             "recall_list.csv")
    assert entry["rows"] == total and entry["patient_level"] is True


def test_the_owner_reads_the_audit_log_on_the_data_page(users_file):
    sign_in(start(), "sam", "not it")
    at = signed_in("owner", url_path="data")
    assert "Audit log" in [s.value for s in at.subheader]
    log = next(d.value for d in at.dataframe if "event" in d.value.columns)
    assert list(log["event"][:2]) == ["sign_in", "sign_in_failed"]  # newest first
    assert list(log["user"][:2]) == ["olive", "sam"]
    assert any(b.proto.label == "Download the audit log" for b in at.get("download_button"))


# --- the app: signing out and expiry ----------------------------------------------------------------------------------

def test_sign_out_is_one_click_and_forgets_the_session(users_file):
    at = signed_in("owner")
    at.session_state["uploaded_dataset"] = "an upload"  # what an upload leaves in the session
    next(b for b in at.button if b.label == "Sign out").click().run()
    assert at.title[0].value == "Sign in" and not at.metric
    assert "You are signed out." in texts(at, "info")
    assert "uploaded_dataset" not in at.session_state
    at.run()
    assert at.title[0].value == "Sign in", "still signed out on the next run"
    assert [(e["event"], e["user"]) for e in audit_log()][-1] == ("sign_out", "olive")


def test_a_session_idle_too_long_expires(users_file, clock):
    at = signed_in("staff")
    clock.advance(29 * 60)
    at.run()  # a click 29 minutes later: still signed in, and the idle time starts again
    assert at.title[0].value == "Overview"
    clock.advance(30 * 60)
    at.run()
    assert at.title[0].value == "Overview"
    clock.advance(30 * 60 + 1)
    at.run()
    assert at.title[0].value == "Sign in" and not at.metric
    assert "signed out after 30 minutes without activity" in texts(at, "info")
    entry = audit_log()[-1]
    assert (entry["event"], entry["user"], entry["idle_minutes"]) == ("expired", "sam", 30)


@pytest.mark.parametrize("how", ["environment", "practice.toml"])
def test_the_idle_time_is_settable(users_file, clock, monkeypatch, tmp_path, how):
    if how == "environment":
        monkeypatch.setenv("PRACTICE_IDLE_MINUTES", "5")
    else:
        (tmp_path / "practice.toml").write_text("[security]\nidle_minutes = 5\n")
        monkeypatch.setenv("PRACTICE_SETTINGS", str(tmp_path / "practice.toml"))
    at = signed_in("staff")
    clock.advance(5 * 60 + 1)
    at.run()
    assert at.title[0].value == "Sign in"


def test_a_bad_idle_time_in_the_environment_stops_the_app(users_file, monkeypatch):
    monkeypatch.setenv("PRACTICE_IDLE_MINUTES", "forever")
    at = start()
    assert "PRACTICE_IDLE_MINUTES" in at.error[0].value and not at.text_input


def test_a_removed_user_is_signed_out_and_a_changed_role_applies(users_file):
    at = signed_in("staff")
    users.add_user(users_file, "sam", "marketing", "sam's passphrase")  # a new hash: a new password
    at.run()
    assert at.title[0].value == "Sign in"
    assert "changed or removed" in texts(at, "info")
    sign_in(at, "sam", "sam's passphrase")
    assert navigation(at) == ["", "demand"]
    users.remove_user(users_file, "sam")
    at.run()
    assert at.title[0].value == "Sign in"
    assert [e["event"] for e in audit_log()].count("account_changed") == 2


def test_the_users_file_holds_no_password(users_file):
    text = users_file.read_text()
    for _, password in PEOPLE.values():
        assert password not in text
    assert stat.S_IMODE(os.stat(users_file).st_mode) == 0o600
