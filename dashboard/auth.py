"""Sign-in, roles, throttling and idle expiry (README: "Running it for a practice").

With a users file (dashboard/users.py; `-- --users FILE` or $PRACTICE_USERS) every page first asks for a
user name and password, and nothing of the practice's data is loaded or sent until they are right. Without
one the app is open to whoever can reach it, and says so in the sidebar.

    access = auth.gate()          # app.py, first thing: the sign-in form (and st.stop) until signed in
    auth.pages_for(access.role)   # the pages st.navigation is given: no other page can be opened, by link or URL

The rules are pure and tested on their own (pages_for, Throttle, is_idle, attempt); the Streamlit part below
them only draws and keeps state. Times come from `monotonic()`, which tests replace with a fake clock.
"""

from __future__ import annotations

import math
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from dashboard import audit, source, users
from dashboard.users import User, UsersError
from queries.kpis import TargetsError
from queries.settings import IDLE_MINUTES_DEFAULT, parse_idle_minutes, read_settings

PAGES = ("overview", "body_areas", "rebooking", "aftercare", "consumables", "demand", "explore", "data")
ROLE_PAGES = {
    "owner": PAGES,
    "staff": ("overview", "body_areas", "rebooking", "aftercare", "consumables", "explore"),
    "marketing": ("overview", "demand"),  # aggregates only
}
PATIENT_LEVEL_ROLES = ("owner", "staff")
NOT_PROTECTED = "Not protected: anyone who can open this address sees the data."
WRONG = "Wrong username or password."
IDLE_ENV = "PRACTICE_IDLE_MINUTES"

SIGNED_IN = "auth_signed_in"  # session state: {"user", "role", "hash", "last_seen"}
NOTICE = "auth_notice"  # session state: why the sign-in form is shown again (signed out, expired)
MESSAGE = "auth_message"  # session state: the last attempt's answer
CLIENT = "auth_client"  # session state: this session's stand-in for a client address
PAGE = "auth_page"  # session state: the page this run shows (for the audit log)
WANTED = "auth_wanted_page"  # session state: the page whose address was opened before signing in


@dataclass(frozen=True)
class Access:
    user: str | None  # None: the app runs open (no users file)
    role: str

    @property
    def is_open(self) -> bool:
        return self.user is None


def pages_for(role: str) -> tuple[str, ...]:
    return ROLE_PAGES.get(role, ())


def sees_patients(role: str) -> bool:
    """May this role see and download rows that identify patients (ids, explorer rows, the recall list)?"""
    return role in PATIENT_LEVEL_ROLES


def is_idle(last_seen: float, now: float, idle_minutes: int) -> bool:
    return now - last_seen > idle_minutes * 60


class Throttle:
    """Failed sign-ins per key (a user name, a client). Up to `free` failures within `window` seconds cost
    nothing; each further one locks the key for `base` seconds, doubling, at most `longest`, counted from that
    failure. Failures older than `window` are forgotten. Thread-safe: one instance serves every session."""

    def __init__(self, clock: Callable[[], float], *, free: int = 5, window: float = 900, base: float = 30,
                 longest: float = 900, max_keys: int = 10_000):
        self.clock, self.free, self.window, self.base, self.longest = clock, free, window, base, longest
        self.max_keys = max_keys
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> list[float]:
        kept = [t for t in self._failures.get(key, []) if now - t < self.window]
        if kept:
            self._failures[key] = kept
        else:
            self._failures.pop(key, None)
        return kept

    def wait(self, *keys: str) -> float:
        """Seconds until an attempt for all `keys` may be made (0: now)."""
        with self._lock:
            now = self.clock()
            longest = 0.0
            for key in keys:
                failures = self._recent(key, now)
                if len(failures) >= self.free:
                    lock = min(self.base * 2 ** (len(failures) - self.free), self.longest)
                    longest = max(longest, failures[-1] + lock - now)
            return max(longest, 0.0)

    def failed(self, *keys: str) -> None:
        with self._lock:
            now = self.clock()
            for key in keys:
                self._failures[key] = [*self._recent(key, now), now]
            if len(self._failures) > self.max_keys:  # a flood of made-up names must not fill the memory
                oldest = sorted(self._failures, key=lambda k: self._failures[k][-1])
                for key in oldest[: len(self._failures) - self.max_keys]:
                    del self._failures[key]

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)


@dataclass(frozen=True)
class Attempt:
    outcome: str  # "signed_in", "failed" or "throttled"
    user: User | None = None
    wait: float = 0.0

    @property
    def message(self) -> str | None:
        if self.outcome == "throttled":
            return f"Too many attempts, try again in {math.ceil(self.wait)} s."
        return WRONG if self.outcome == "failed" else None


def throttle_keys(name: str, client: str) -> tuple[str, str]:
    return f"user:{users.normalise_name(name)}", f"client:{client}"


def attempt(known: Mapping[str, User], throttle: Throttle, name: str, password: str, client: str) -> Attempt:
    """One sign-in attempt: refused unchecked while the name or the client is locked; else the password is
    checked (against a dummy hash for an unknown name) and the outcome counted."""
    keys = throttle_keys(name, client)
    wait = throttle.wait(*keys)
    if wait > 0:
        return Attempt("throttled", wait=wait)
    user = users.verify(known, name, password)
    if user is None:
        throttle.failed(*keys)
        return Attempt("failed")
    throttle.succeeded(keys[0])  # the client's count stays: one good account must not clear a guessing spree
    return Attempt("signed_in", user)


# --- Streamlit ----------------------------------------------------------------------------------------------------

def monotonic() -> float:
    """The clock for throttling and expiry; tests replace it (monkeypatch.setattr(auth, "monotonic", ...))."""
    return time.monotonic()


@st.cache_resource(show_spinner=False)
def _throttle() -> Throttle:
    """One for the server process: a new browser session must not start with a clean slate."""
    return Throttle(clock=lambda: monotonic())


def client_address(ip_address, headers: Mapping) -> str | None:
    """Who is asking, as well as can be told: the connection's address; when that is this machine (None: a
    reverse proxy in front), the address the proxy saw: X-Real-IP, else the last X-Forwarded-For entry (the
    one the proxy added; earlier ones are whatever the browser sent)."""
    if isinstance(ip_address, str) and ip_address:
        return ip_address
    forwarded = headers.get("X-Real-Ip") or headers.get("X-Forwarded-For") or ""
    return (forwarded.split(",")[-1].strip() or None) if isinstance(forwarded, str) else None


def client() -> str:
    """client_address for this session (AppTest's context is a mock: not a string), else this session alone."""
    address = client_address(st.context.ip_address, st.context.headers)
    return address or st.session_state.setdefault(CLIENT, f"session-{secrets.token_hex(8)}")


def idle_minutes() -> int:
    """$PRACTICE_IDLE_MINUTES, else [security] idle_minutes in the startup data's practice.toml (or
    $PRACTICE_SETTINGS), else 30. A settings file uploaded with exports does not change it."""
    text = os.environ.get(IDLE_ENV)
    if text is not None:
        return parse_idle_minutes(text, text=True)
    named = os.environ.get(source.SETTINGS_ENV)
    path = source.startup_path()
    try:
        return read_settings(path if path.is_dir() else path.parent, Path(named) if named else None).idle_minutes
    except TargetsError:
        return IDLE_MINUTES_DEFAULT  # the pages name the broken file once signed in


def audit_context() -> dict:
    """Who is doing what, for the audit log; read in the script's thread (download threads have no session)."""
    signed_in = st.session_state.get(SIGNED_IN) or {}
    params = {name: (values if len(values := st.query_params.get_all(name)) > 1 else values[0])
              for name in st.query_params}
    return {"user": signed_in.get("user"), "role": signed_in.get("role", "owner"), "client": client(),
            "page": st.session_state.get(PAGE), "filters": params}


def current_role() -> str:
    """The signed-in role; "owner" when the app runs open (everyone sees everything)."""
    return (st.session_state.get(SIGNED_IN) or {}).get("role", "owner")


def _stop_with_error(message: str) -> None:
    st.title("Practice analytics")
    st.error(message, icon=":material/error:")
    st.stop()


def _end_session(event: str, notice: str, **fields) -> None:
    """Forget everything this session held (an upload, filters, the sign-in) and log why."""
    signed_in = st.session_state.get(SIGNED_IN) or {}
    audit.record(event, user=signed_in.get("user"), role=signed_in.get("role"), client=client(), **fields)
    st.session_state.clear()
    st.session_state[NOTICE] = notice


def sign_out() -> None:
    """The sidebar's Sign out button (a callback: the rerun after it shows the sign-in form)."""
    _end_session("sign_out", "You are signed out.")


def _submit(known: Mapping[str, User]) -> None:
    """The form's Sign in button: check, count, log; the password field is emptied whatever the outcome."""
    name, password = st.session_state.get("auth_username", ""), st.session_state.get("auth_password", "")
    st.session_state["auth_password"] = ""
    where = client()
    result = attempt(known, _throttle(), name, password, where)
    if result.outcome == "signed_in":
        user = result.user
        st.session_state.pop(NOTICE, None)
        st.session_state.pop(MESSAGE, None)
        st.session_state[SIGNED_IN] = {"user": user.name, "role": user.role, "hash": user.password_hash,
                                       "last_seen": monotonic()}
        audit.record("sign_in", user=user.name, role=user.role, client=where)
    else:
        st.session_state[MESSAGE] = result.message
        audit.record("sign_in_failed" if result.outcome == "failed" else "sign_in_throttled",
                     user=users.normalise_name(name)[:64], client=where)


def _remember_wanted_page() -> None:
    """The page in the address opened (`/rebooking?period=all`): shown once signed in, if the role has it.
    Before st.navigation has run in a session, st.context.url still ends with the page's path."""
    url = st.context.url
    if isinstance(url, str):
        last = url.rstrip("/").rsplit("/", 1)[-1]
        if last in PAGES:
            st.session_state[WANTED] = last


def wanted_page() -> str | None:
    """The page asked for by address before signing in (once; app.py switches to it or says it is not
    available). Only names in PAGES: nothing typed in the address is echoed."""
    return st.session_state.pop(WANTED, None)


def _sign_in_form(known: Mapping[str, User]) -> None:
    _remember_wanted_page()
    st.title("Sign in")
    if notice := st.session_state.get(NOTICE):
        st.info(notice, icon=":material/logout:")
    with st.form("auth_sign_in", width=420):
        st.text_input("Username", key="auth_username", autocomplete="username", max_chars=64)
        st.text_input("Password", type="password", key="auth_password", autocomplete="current-password",
                      max_chars=1024)
        st.form_submit_button("Sign in", type="primary", on_click=_submit, args=(known,))
    if message := st.session_state.get(MESSAGE):
        st.error(message, icon=":material/lock:")


def gate() -> Access:
    """The first call of every run: returns who may see what, or draws the sign-in form (or why the app
    cannot start protected) and stops the run. Nothing of the data is touched before it returns."""
    path = users.startup_path()
    if path is None:
        return Access(None, "owner")
    try:
        known = users.read_users(path)
        if not known:
            raise UsersError(f"{path}: no users yet; add one with python -m dashboard.users add {path} NAME "
                             "--role owner")
        minutes = idle_minutes()
        audit.check()
    except UsersError as exc:
        _stop_with_error(f"The users file cannot be used, so nobody can sign in: {exc}")
    except ValueError as exc:
        _stop_with_error(f"${IDLE_ENV}: {exc}")
    except OSError as exc:
        _stop_with_error(f"The audit log {audit.location()} cannot be written, so nobody can sign in: "
                         f"{exc.strerror or exc}")

    signed_in = st.session_state.get(SIGNED_IN)
    if signed_in:
        user = known.get(signed_in["user"])
        now = monotonic()
        if user is None or user.password_hash != signed_in["hash"]:
            _end_session("account_changed", "Your account was changed or removed: sign in again.")
        elif is_idle(signed_in["last_seen"], now, minutes):
            _end_session("expired", f"You were signed out after {minutes} minute{'s' * (minutes != 1)} without "
                                    "activity.",
                         idle_minutes=minutes)
        else:
            signed_in["last_seen"] = now
            signed_in["role"] = user.role  # a role changed in the file applies at the next click
            _watch_idle(minutes)
            return Access(user.name, user.role)
    _sign_in_form(known)
    st.stop()


@st.fragment(run_every=30)
def _watch_idle(minutes: int) -> None:
    """Every 30 s, without counting as activity: once idle too long, rerun the app so the page is replaced by
    the sign-in form, rather than staying on screen until someone clicks."""
    signed_in = st.session_state.get(SIGNED_IN)
    if signed_in and is_idle(signed_in["last_seen"], monotonic(), minutes):
        st.rerun(scope="app")


def sidebar(access: Access) -> None:
    """Who is signed in and the Sign out button; or, open, that the data is not protected."""
    with st.sidebar:
        if access.is_open:
            st.caption(f":orange[:material/lock_open: **{NOT_PROTECTED.split(':')[0]}:**"
                       f"{NOT_PROTECTED.split(':', 1)[1]}]")
        else:
            st.caption(f"Signed in as **{access.user}** ({access.role})")
            st.button("Sign out", icon=":material/logout:", on_click=sign_out, key="auth_sign_out")


def log_download(context: Mapping, file_name: str, rows: int | None, patient_level: bool) -> None:
    """Record a download. Raises OSError when the log cannot be written: then the file is not given."""
    audit.record("download", **context, rows=rows, file=file_name, patient_level=patient_level)


def download_callback(file_name: str, rows: int, patient_level: bool) -> Callable[[], None]:
    """An st.download_button on_click for a file already made (a table's CSV): logs the click."""
    context = audit_context()
    return lambda: log_download(context, file_name, rows, patient_level)
