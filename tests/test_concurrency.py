"""Issue 9, many people at once: one `streamlit run dashboard/app.py -- --data FOLDER` server, ten browser
tabs walking every page three times, while the clinic's export job rewrites FOLDER twice.

Each tab opens its first page of a walk by URL (/, /body_areas, … /data: a new session) and moves on as a
person does, with the sidebar's links (the URL path changes; the same session reruns the script). That
halves Chromium's work against reloading the whole front end for every view, which matters on two cores.

The export job is played twice, both ways a real one may write (the app is meant to cope with both):
first each file written beside its target and renamed over it (os.replace), one file after another;
then each file truncated and written in place, in two halves with a pause between. Either way the folder
is half old, half new for a while; the app loads only files that have been quiet for
source.SETTLE_SECONDS and were not changed while being read.

Three versions of a small generated export differ in their latest day and their row counts. Every page
view is classified by the sidebar ("Figures as of <day>", "Loaded: <n> sessions and <m> bookings") and
must show exactly one version: sidebar figures from one version only, the page itself naming that
version's as-of day, and the same page text as every other view of that page on that version. No view
may show an exception, an error box or a traceback, nor the browser a script error; afterwards a fresh
Overview shows the last version. The figures are printed (run with -s)."""

from __future__ import annotations

import asyncio
import difflib
import os
import re
import shutil
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_browser import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # skips (or, with CI=true, fails) without Chromium

from dashboard import source
from queries.load import load
from sample_data.generate import generate

pytestmark = pytest.mark.browser
async_playwright = pytest.importorskip("playwright.async_api").async_playwright

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
TABS = 10
PASSES = 3
# url path (st.navigation names each page after its file; the default page is at /) -> heading
PAGES = {"": "Overview", "body_areas": "Body areas", "rebooking": "Rebooking", "aftercare": "Aftercare",
         "consumables": "Consumables", "demand": "Demand", "explore": "Explore", "data": "Data"}
# Three exports of one clinic (same size, other seeds): each a quarter later than the one before.
VERSIONS = [dict(seed=11, end="2025-03-31"), dict(seed=12, end="2025-06-30"), dict(seed=13, end="2025-09-30")]
# Background tabs must not be throttled: ten people each look at their own screen.
ARGS = [*CHROMIUM_ARGS, "--disable-renderer-backgrounding", "--disable-background-timer-throttling",
        "--disable-backgrounding-occluded-windows"]
READY = """([heading, path]) => {
    const app = document.querySelector("[data-testid='stApp']");
    const h1 = document.querySelector("[data-testid='stMain'] h1");
    const sidebar = document.querySelector("[data-testid='stSidebar']");
    return location.pathname === path && app && app.getAttribute("data-test-script-state") === "notRunning"
        && h1 && h1.textContent.trim() === heading
        && !document.querySelector("[data-testid='stSkeleton']") && sidebar && sidebar.textContent.includes("Loaded:");
}"""  # textContent, not innerText: polling ten tabs must not force a layout each time
# The sidebar's and the page's text, read at once. Charts are left out: plotly draws them (and their axis
# ticks) after the run has finished, so their text depends on when it is read, not on the data.
SNAPSHOT = """() => {
    const main = document.querySelector("[data-testid='stMain']").cloneNode(true);
    main.querySelectorAll("[data-testid='stPlotlyChart']").forEach(chart => chart.remove());
    main.style.position = "fixed";
    main.style.left = "-10000px";
    document.body.appendChild(main);  // innerText of a detached node has no line breaks
    const text = main.innerText;
    main.remove();
    return [document.querySelector("[data-testid='stSidebar']").innerText, text];
}"""
AS_OF = re.compile(r"Figures as of (\d{2} \w{3} \d{4})")
LOADED = re.compile(r"Loaded: ([\d,]+) sessions and ([\d,]+) bookings")
# Console errors that are not the app's: the page icon comes from Google's font server (offline here),
# Streamlit probes /<page>/_stcore/health before /_stcore/health, and leaving a page aborts its downloads.
BENIGN_CONSOLE = re.compile(r"^Failed to load resource")


@dataclass(frozen=True)
class Version:
    number: int
    folder: Path
    as_of: str  # as the sidebar writes it
    sessions: int
    bookings: int


@dataclass
class View:
    tab: int
    page: str
    first: bool  # the tab's first view: ten browsers starting up at once
    seconds: float
    version: int | None  # None: the sidebar matches no version (a mix)
    sidebar: str
    main: str
    problems: list[str]


def make_versions(folder: Path) -> list[Version]:
    versions = []
    for number, spec in enumerate(VERSIONS, start=1):
        out = folder / f"v{number}"
        generate(out, seed=spec["seed"], patients=300, start="2024-01-01", end=spec["end"])
        result = load(out)
        with result.connection.cursor() as cursor:
            as_of = cursor.execute("select default_as_of from load_meta").fetchone()[0]
            counts = dict(cursor.execute("select entity, count_loaded from load_files").fetchall())
        result.connection.close()
        versions.append(Version(number, out, f"{as_of:%d %b %Y}", counts["sessions"], counts["bookings"]))
    assert len({v.as_of for v in versions}) == len({(v.sessions, v.bookings) for v in versions}) == len(versions)
    return versions


def rewrite_atomically(live: Path, version: Version) -> None:
    """Each file written beside its target, then renamed over it: one at a time, as an export job would."""
    for source_file in sorted(version.folder.glob("*.csv")):
        temporary = live / f".{source_file.name}.part"
        shutil.copyfile(source_file, temporary)
        os.replace(temporary, live / source_file.name)
        time.sleep(0.3)


def rewrite_in_place(live: Path, version: Version) -> None:
    """Each file truncated and written in two halves, with a pause between: readers can catch it cut off."""
    for source_file in sorted(version.folder.glob("*.csv")):
        text = source_file.read_bytes()
        with (live / source_file.name).open("wb") as handle:
            handle.write(text[:len(text) // 2])
            handle.flush()
            time.sleep(0.3)
            handle.write(text[len(text) // 2:])


def classify(sidebar: str, versions: list[Version]) -> int | None:
    as_of, loaded = AS_OF.search(sidebar), LOADED.search(sidebar)
    if not as_of or not loaded:
        return None
    shown = (as_of.group(1), int(loaded.group(1).replace(",", "")), int(loaded.group(2).replace(",", "")))
    matches = [v.number for v in versions if (v.as_of, v.sessions, v.bookings) == shown]
    return matches[0] if matches else None


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crowd")
    versions = make_versions(folder)
    live = folder / "live"
    shutil.copytree(versions[0].folder, live)
    return live, versions


@pytest.fixture(scope="module")
def server(exports):
    live, _ = exports
    log = live.parent / "server.log"
    with streamlit_server("--data", str(live), log=log) as url:
        yield url, log


async def open_view(page, url: str, path: str, versions: list[Version], tab: int, by_link: bool,
                    first: bool = False) -> View:
    """Open `path` by its URL (a new session) or with the sidebar's link to it (a rerun in the same session),
    wait until the run has finished and the page is drawn, and read it."""
    began = time.monotonic()
    try:
        if by_link:
            await page.locator("[data-testid='stSidebarNavLink']").nth(list(PAGES).index(path)).click()
        else:
            await page.goto(f"{url}/{path}")
        await page.wait_for_function(READY, arg=[PAGES[path], f"/{path}"], timeout=90_000, polling=100)
        seconds = time.monotonic() - began
        # One snapshot of both, taken at once: the page as the person sees it.
        sidebar, main = await page.evaluate(SNAPSHOT)
    except Exception as exc:  # noqa: BLE001 - a view that never rendered is reported with the others
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        picture = ARTIFACTS / f"crowd_tab{tab}_{path or 'overview'}.png"
        await page.screenshot(path=str(picture), full_page=True)
        text = await page.locator("body").inner_text()
        return View(tab, path, first, time.monotonic() - began, None, "", text,
                    [f"did not render: {str(exc).splitlines()[0]} (see {picture.name}); page: {text[:300]!r}"])
    problems = []
    for test_id in ("stException", "stAlertContentError"):
        if count := await page.locator(f"[data-testid='{test_id}']").count():
            problems.append(f"{count} {test_id}")
    if "Traceback" in main or "Traceback" in sidebar:
        problems.append("a traceback in the page")
    return View(tab, path, first, seconds, classify(sidebar, versions), sidebar, main, problems)


async def walk(browser, url: str, tab: int, versions: list[Version], views: list[View], console: list[str]):
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: console.append(f"page error: {error}"))
    order = list(PAGES)
    order = order[tab % len(order):] + order[:tab % len(order)]  # the tabs start on different pages
    views_of_tab = 0
    for _ in range(PASSES):
        for step, path in enumerate(order):
            views.append(await open_view(page, url, path, versions, tab, by_link=step > 0, first=not views_of_tab))
            views_of_tab += 1
    await context.close()


async def export_job(live: Path, versions: list[Version], views: list[View], total: int, log: list[str]):
    """Rewrites the folder to version 2 a third of the way through the walk, to version 3 two thirds in."""
    started = time.monotonic()
    for version, write, after in ((versions[1], rewrite_atomically, total // 3),
                                  (versions[2], rewrite_in_place, 2 * total // 3)):
        while len(views) < after:
            await asyncio.sleep(0.2)
        await asyncio.to_thread(write, live, version)
        log.append(f"{time.monotonic() - started:5.1f} s: rewrote to version {version.number} ({write.__name__}) "
                   f"after {len(views)} page views")


async def crowd(url: str, live: Path, versions: list[Version]):
    views: list[View] = []
    console: list[str] = []
    job_log: list[str] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            job = asyncio.create_task(export_job(live, versions, views, TABS * PASSES * len(PAGES), job_log))
            await asyncio.gather(*(walk(browser, url, tab, versions, views, console) for tab in range(TABS)))
            await job
            # Afterwards: once the files are quiet, a fresh Overview shows the last version.
            await asyncio.sleep(source.SETTLE_SECONDS + 0.5)
            context = await browser.new_context(viewport={"width": 1280, "height": 900})
            final = await open_view(await context.new_page(), url, "", versions, TABS, by_link=False)
            await context.close()
        finally:
            await browser.close()
    return views, console, job_log, final


def test_ten_tabs_while_the_export_is_rewritten_twice_each_see_one_whole_version(exports, server, capsys):
    live, versions = exports
    url, log = server
    began = time.monotonic()
    views, console, job_log, final = asyncio.run(crowd(url, live, versions))
    seconds = time.monotonic() - began

    by_version = Counter(v.version for v in views)
    waits = [v.seconds for v in views]
    warm = [v.seconds for v in views if not v.first]
    worst = defaultdict(float)
    for view in views:
        worst[view.page] = max(worst[view.page], view.seconds)
    benign = [m for m in console if BENIGN_CONSOLE.match(m)]
    of_note = [m for m in console if not BENIGN_CONSOLE.match(m)]
    problems = [f"tab {v.tab} /{v.page}: {', '.join(v.problems)}" for v in views if v.problems]
    with capsys.disabled():  # the figures are the test's report: shown on a pass too, not only on a failure
        print(f"\n{TABS} tabs × {PASSES} passes × {len(PAGES)} pages = {len(views)} page views in {seconds:.0f} s")
        for line in job_log:
            print("  export job at", line)
        for version in versions:
            print(f"  version {version.number}: as of {version.as_of}, {version.sessions} sessions, "
                  f"{version.bookings} bookings: {by_version[version.number]} page views")
        print(f"  views matching no version (a mix): {by_version[None]}")
        print(f"  wait per page view: median {statistics.median(waits):.1f} s, worst {max(waits):.1f} s, worst after each "
              f"tab's first view {max(warm):.1f} s; worst by page: " + ", ".join(f"/{p} {s:.1f} s" for p, s in worst.items()))
        print(f"  views with an error: {len(problems)}; console errors: {len(of_note)} of note, {len(benign)} "
              f"failed resource loads (offline icon font, Streamlit's health probe, downloads left)")
        print(f"  after the rewrites, a fresh Overview shows version {final.version} ({final.seconds:.1f} s)")

    assert len(views) == TABS * PASSES * len(PAGES)
    assert not problems, problems
    assert not of_note, of_note
    server_log = log.read_text(errors="replace")
    assert "Traceback" not in server_log, server_log[-5000:]
    mixed = [(v.tab, v.page, v.sidebar) for v in views if v.version is None]
    assert not mixed, f"sidebars matching no version: {mixed[:3]}"
    # The page body agrees with the sidebar: it names the same as-of day, and reads as every other view of
    # that page on that version does (the same filters in every tab give the same page).
    texts = defaultdict(set)
    for view in views:
        as_of = versions[view.version - 1].as_of
        assert as_of in view.main, f"tab {view.tab} /{view.page}: sidebar says version {view.version}, page does not"
        texts[view.page, view.version].add(view.main)
    for (page, version), found in texts.items():
        if len(found) > 1:
            first, second = sorted(found)[:2]
            diff = "\n".join(difflib.unified_diff(first.splitlines(), second.splitlines(), lineterm="", n=1))
            pytest.fail(f"/{page} on version {version} read {len(found)} ways, e.g.:\n{diff[:3000]}")
    assert by_version[1] and by_version[3], "the walk saw the first and the last version"
    assert final.version == 3 and not final.problems
    assert texts.get(("", 3), {final.main}) == {final.main}
