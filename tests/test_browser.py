"""The running app in a real browser: `streamlit run` on a free port, Debian's Chromium
driven by Playwright. Figures are checked with AppTest (test_app.py); this checks
that each page renders, navigates and shows no exception, and saves a screenshot
of each to tests/artifacts/ for a person to look at."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]

pytestmark = pytest.mark.browser

if not Path(CHROMIUM).exists():
    if os.environ.get("CI") == "true":
        raise RuntimeError("CI=true but Chromium is not installed: .ci/run must apt-get install chromium")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium); the browser test needs it",
                allow_module_level=True)

sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(*script_args: str, data: Path | None = None, log: Path | None = None):
    """`streamlit run dashboard/app.py -- SCRIPT_ARGS` on a free port, on the sample data or `data`, no users
    file or settings unless given; yields its URL once healthy. Its output goes to `log` when given."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in (
        "PRACTICE_DATA", "PRACTICE_TARGETS", "PRACTICE_SETTINGS", "PRACTICE_USERS", "PRACTICE_IDLE_MINUTES")}
    if data is not None:
        env["PRACTICE_DATA"] = str(data)
    output = log.open("wb") if log is not None else subprocess.PIPE
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "dashboard" / "app.py"),
         "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false", "--", *script_args],
        cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            said = log.read_text(errors="replace") if log is not None else server.stdout.read().decode(errors="replace")
            pytest.fail(f"streamlit did not start:\n{said}")
        time.sleep(0.3)
    try:
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a busy machine: stopping is not what is tested
            server.kill()
            server.wait()
        if log is not None:
            output.close()


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    # Open (no users file); its audit log goes to a temporary folder, not the working folder's .practice/.
    with streamlit_server("--audit", str(tmp_path_factory.mktemp("audit") / "audit.jsonl")) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# Text in a KPI card wider than its box (shown with an ellipsis).
TRUNCATED_IN_METRICS = """() => [...document.querySelectorAll("[data-testid='stMetric'] *")]
    .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"""


def wait_until_rendered(page) -> None:
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=60_000)
    page.wait_for_function("!document.querySelector(\"[data-testid='stSkeleton']\")", timeout=30_000)


@pytest.mark.parametrize("path, heading, expects", [
    ("", "Overview", {"stMetric": 10, "stPlotlyChart": 1, "stDataFrame": 2}),
    ("data", "Data", {"stDataFrame": 2, "stDownloadButton": 1}),
    ("?period=all&body_area=face", "Overview", {"stMetric": 10, "stPlotlyChart": 1}),
])
def test_page_renders_in_a_real_browser(app_url, browser, path, heading, expects):
    # 1280 px: a common laptop, where squeezed KPI cards used to cut their figures to "…".
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(f"{app_url}/{path}")
    wait_until_rendered(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator("h1").first.inner_text().strip() == heading
    for test_id, at_least in expects.items():
        assert page.locator(f"[data-testid='{test_id}']").count() >= at_least, test_id
    assert page.evaluate(TRUNCATED_IN_METRICS) == []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = (path.split("?")[0] or "overview") + ("_filtered" if "?" in path else "")
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.close()


def test_sidebar_navigation_reaches_every_page(app_url, browser):
    page = browser.new_page()
    page.goto(app_url)
    wait_until_rendered(page)
    links = page.locator("[data-testid='stSidebarNavLink']")
    # The link text starts with the icon's ligature name (`dashboard`); the title is its last line.
    titles = [links.nth(i).inner_text().strip().splitlines()[-1] for i in range(links.count())]
    assert titles == ["Overview", "Body areas", "Rebooking", "Aftercare", "Consumables", "Demand", "Explore", "Data"]
    links.nth(len(titles) - 1).click()
    page.wait_for_url(f"{app_url}/data")
    wait_until_rendered(page)
    assert page.locator("h1").first.inner_text().strip() == "Data"
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()


def test_uploading_exports_in_the_browser_replaces_the_figures(app_url, browser, tmp_path):
    from conftest import booking, session, write_export

    folder = write_export(tmp_path / "upload",
                          bookings=[booking("B1", "P1", "2025-01-10"), booking("B2", "P2", "2025-01-11",
                                                                               status="Pending")],
                          sessions=[session("S1", "P1", "2025-01-10")])
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{app_url}/data")
    wait_until_rendered(page)
    page.get_by_text("Load your own exports").click()
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
        [str(folder / "bookings.csv"), str(folder / "sessions.csv")])
    page.get_by_role("button", name="Load these files").click()
    page.get_by_text("Loaded 2 rows (1 rejected)").wait_for(timeout=30_000)
    wait_until_rendered(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_text("Rejected rows (1)").count() == 1
    page.screenshot(path=str(ARTIFACTS / "data_after_upload.png"), full_page=True)
    page.close()


CLINIC_PAGES = [("body_areas", "Body areas"), ("rebooking", "Rebooking"), ("aftercare", "Aftercare"),
                ("consumables", "Consumables")]


@pytest.mark.parametrize("width, scheme", [(1280, "light"), (1920, "dark")])
@pytest.mark.parametrize("path, heading", CLINIC_PAGES)
def test_clinic_page_renders_in_a_real_browser(app_url, browser, path, heading, width, scheme):
    # Streamlit follows the browser's colour scheme when no theme is set: dark here means the dark theme.
    page = browser.new_page(viewport={"width": width, "height": 1000}, color_scheme=scheme)
    page.goto(f"{app_url}/{path}?period=all")
    wait_until_rendered(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator("h1").first.inner_text().strip() == heading
    assert page.locator("[data-testid='stPlotlyChart']").count() >= 3
    assert page.evaluate(TRUNCATED_IN_METRICS) == []
    # Streamlit scrolls inside its own container: a tall window shows the whole page in one picture.
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": width, "height": min(max(height, 1000), 9000)})
    page.wait_for_timeout(1500)  # plotly redraws at the new size
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{path}_{width}_{scheme}.png"), full_page=True)
    page.close()


def test_clicking_a_bar_sets_the_body_area_filter_and_the_link(app_url, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(f"{app_url}/body_areas?period=all")
    wait_until_rendered(page)
    chart = page.locator("[data-testid='stPlotlyChart']").first
    chart.scroll_into_view_if_needed()
    bars = chart.locator(".point path")
    bars.first.wait_for(timeout=30_000)
    # The bars are drawn bottom-up, smallest first; click the top (largest) one. A plain click() is
    # intercepted by plotly's drag layer: click at the bar's centre with the mouse.
    box = bars.nth(bars.count() - 1).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url("**body_area=*", timeout=30_000)
    wait_until_rendered(page)
    assert "body_area=face" in page.url  # the sample data's largest area
    body_areas = page.locator("[data-testid='stSidebar'] [data-testid='stMultiSelect']").filter(has_text="Body areas")
    assert "Face" in body_areas.locator("[data-testid='stMultiSelectTagsContainer']").inner_text()
    assert page.locator("[data-testid='stException']").count() == 0
    page.close()


# Demand's tables sit in popovers (drawn when opened); Explore is a table first.
@pytest.mark.parametrize("path, heading, test_id, at_least", [("demand", "Demand", "stPlotlyChart", 5),
                                                              ("explore", "Explore", "stDataFrame", 1)])
def test_marketing_and_staff_pages_render_in_a_real_browser(app_url, browser, path, heading, test_id, at_least):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    page.goto(f"{app_url}/{path}?period=all")
    wait_until_rendered(page)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator("h1").first.inner_text().strip() == heading
    assert page.locator(f"[data-testid='{test_id}']").count() >= at_least
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1280, "height": min(max(height, 1000), 9000)})
    page.wait_for_timeout(1500)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{path}_1280_light.png"), full_page=True)
    page.close()


def test_export_this_view_downloads_a_workbook_that_opens(app_url, browser, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    page = browser.new_page(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    page.goto(f"{app_url}/rebooking?period=last_90_days")
    wait_until_rendered(page)
    button = page.get_by_role("button", name="Export this view")
    button.scroll_into_view_if_needed()
    with page.expect_download(timeout=60_000) as download:
        button.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".xlsx"
    workbook = openpyxl.load_workbook(saved)
    assert workbook.sheetnames[0] == "Summary"
    assert any(name.startswith("Rebooking") for name in workbook.sheetnames)
    summary = " ".join(str(c.value) for row in workbook["Summary"].iter_rows() for c in row if c.value is not None)
    assert "Rebooking" in summary
    page.close()


@pytest.fixture(scope="module")
def hostile_url(tmp_path_factory):
    from conftest import HOSTILE, write_hostile_export

    # The folder's name is shown on the Data page: markup too.
    folder = write_hostile_export(tmp_path_factory.mktemp("hostile") / f"export {HOSTILE[1]} {HOSTILE[2]}")
    with streamlit_server("--audit", str(tmp_path_factory.mktemp("audit") / "audit.jsonl"), data=folder) as url:
        yield url


@pytest.mark.parametrize("path, literal", [
    ("explore?period=all&x_entity=sessions&x_patient=" + urllib.parse.quote("P00 [click](http://x)"),
     "History of patient P00 [click](http://x)"),
    ("consumables?period=all", "Micro-needling [click](http://x)"),  # a tick label of the cost-per-session chart
    ("data", "<img src=x onerror=alert(1)> **bold**"),
])
def test_export_text_that_looks_like_markup_is_text_in_the_browser(hostile_url, browser, path, literal):
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{hostile_url}/{path}")
    wait_until_rendered(page)
    page.wait_for_timeout(1000)  # plotly draws after the script has run
    assert page.locator("[data-testid='stException']").count() == 0
    # No image, link, bold or formula was made of the export's text (SVG anchors included: *|href)...
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("[*|href*='http://x']").count() == 0
    assert page.locator("strong", has_text=re.compile(r"^bold$")).count() == 0
    assert page.locator(".katex").count() == 0
    assert dialogs == []  # no onerror ran
    # ...and it reads as typed (the invisible word joiner that stops autolinks aside).
    assert literal in page.locator("[data-testid='stMain']").inner_text().replace("\u2060", "")
    page.close()


def test_signing_in_as_staff_shows_the_staff_pages_only(browser, tmp_path):
    """With a users file: the sign-in form first and nothing else; a staff member who typed /data signs in and
    lands on the Overview, with neither Data nor Demand in the navigation."""
    from argon2 import PasswordHasher

    from dashboard import users

    path = tmp_path / "users.toml"
    users.add_user(path, "sam", "staff", "sam's passphrase", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    with streamlit_server("--users", str(path), "--audit", str(tmp_path / "audit.jsonl")) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{url}/data")
        wait_until_rendered(page)
        assert page.locator("h1").first.inner_text().strip() == "Sign in"
        for test_id in ("stSidebarNavLink", "stDataFrame", "stMetric", "stPlotlyChart", "stDownloadButton"):
            assert page.locator(f"[data-testid='{test_id}']").count() == 0, test_id
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "sign_in.png"))

        page.get_by_label("Username").fill("sam")
        page.get_by_label("Password", exact=True).fill("sam's passphrase")
        page.get_by_role("button", name="Sign in").click()
        page.locator("h1", has_text="Overview").wait_for(timeout=30_000)
        wait_until_rendered(page)
        links = page.locator("[data-testid='stSidebarNavLink']")
        titles = [links.nth(i).inner_text().strip().splitlines()[-1] for i in range(links.count())]
        assert titles == ["Overview", "Body areas", "Rebooking", "Aftercare", "Consumables", "Explore"]
        assert page.get_by_text("Data", exact=True).count() == 0
        assert page.locator("h1").first.inner_text().strip() != "Data"
        assert page.locator("[data-testid='stException']").count() == 0
        page.screenshot(path=str(ARTIFACTS / "signed_in_staff.png"))
        page.close()
    events = [json.loads(line)["event"] for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert events == ["sign_in"]
