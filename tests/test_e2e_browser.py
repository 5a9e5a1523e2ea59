"""End to end in a real browser: `streamlit run app.py`, headless Chromium, a training run on
the built-in shapes driven as a teacher would (Start, watch, Pause, Resume, a second tab, a
reload, the server killed and started again while the job trains on, Stop), then every page
drawn with no exception and no request to another host, and a screenshot of each in
artifacts/screenshots/.

Skips with a reason when Chromium or Playwright's Python package is absent. `.ci/run` installs
Debian's chromium; Playwright drives it through executable_path, so no browser download.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from loadtest.browser import CHROMIUM, CHROMIUM_ARGS
from loadtest.net import wait_for
from tests.helpers import settle
from ui import nav

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "artifacts" / "screenshots"
PAGES = tuple(Path(p.path).stem for p in nav.CHAPTER_PAGES)  # the chapter's pages, as listed
LOCAL = ("127.0.0.1", "localhost")

pytestmark = [pytest.mark.browser, pytest.mark.slow]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright."""
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


# every chart has been laid out at its container's current width
CHARTS_FIT = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).every(
    (el) => el._fullLayout && Math.abs(el._fullLayout.width - el.clientWidth) <= 2)"""


def chart_points(page, title: str) -> float:
    """How far the chart whose title contains `title` reaches: its first trace's last x (the
    step), 0 if there is no such chart. Not the point count, which stops growing once a long
    run's series is downsampled to its cap."""
    return page.evaluate(
        """(title) => {
            for (const el of document.querySelectorAll('.js-plotly-plot')) {
                const t = el.layout && el.layout.title;
                const text = typeof t === 'string' ? t : (t && t.text) || '';
                const full = el._fullData || [];
                if (text.includes(title) && full.length) {
                    const x = full[0].x || [];
                    return x.length ? Number(x[x.length - 1]) : 0;
                }
            }
            return 0;
        }""",
        title,
    )


def screenshot(page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main block, so grow the viewport to fit."""
    height = page.evaluate(
        """() => Math.max(900, ...Array.from(
            document.querySelectorAll('[data-testid^="stMain"]'), (e) => e.scrollHeight))"""
    )
    page.set_viewport_size({"width": 1400, "height": min(int(height) + 40, 8000)})
    page.wait_for_function(CHARTS_FIT)  # plotly redraws at the new size
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": 1400, "height": 900})


def grid_src(page) -> str | None:
    """The media URL of the live sample grid; it changes whenever the grid's pixels do."""
    img = page.locator('img[alt="live sample grid"]')
    return img.first.get_attribute("src") if img.count() else None


T0 = time.time()


def mark(what: str) -> None:
    """Progress line with elapsed seconds (shown with pytest -s)."""
    print(f"[e2e {time.time() - T0:6.1f}s] {what}", flush=True)


def wait_until(pred, timeout: float, what: str) -> None:
    """loadtest.net.wait_for, polling twice a second (each poll asks the browser), then a
    progress line."""
    wait_for(pred, timeout, what, poll=0.5)
    mark(what)


def status_text(page) -> str:
    """The Status metric's value on the Train page."""
    m = page.locator('[data-testid="stMetricValue"]')
    return m.first.inner_text() if m.count() else ""


def job_status(srv) -> dict:
    """The job's own status.json, read as any reader would."""
    from dcgan.runs.handle import current_run

    h = current_run(srv.runs)
    return h.status() if h is not None else {}


def watch_hosts(page, outside: list[str]) -> None:
    """Note every request the page makes to a host other than this machine: offline, in class,
    such a request fails or hangs (before: each page's Material icon became the tab's favicon,
    fetched from fonts.gstatic.com)."""

    def seen(request):
        if urlsplit(request.url).hostname not in LOCAL:
            outside.append(request.url)

    page.on("request", seen)


def local_icons(page) -> bool:
    """The tab's icons are the app's own files."""
    icons = page.evaluate("[...document.querySelectorAll('link[rel*=icon]')].map(l => l.href)")
    return bool(icons) and all(urlsplit(u).hostname in LOCAL for u in icons)


def test_a_teacher_drives_a_run_that_survives_the_server(live_app, browser):
    server = live_app  # the suite's app server (conftest), killed and started again below
    SHOTS.mkdir(parents=True, exist_ok=True)
    outside: list[str] = []
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(60_000)
    watch_hosts(page, outside)

    # Start on the default settings: classroom-cpu on the built-in shapes
    page.goto(f"{server.url}/train")
    settle(page)
    epochs = page.get_by_label("Number of epochs")  # long enough to outlast this test
    epochs.fill("200")
    epochs.press("Enter")
    settle(page)
    page.get_by_role("button", name="Start", exact=True).first.click()
    page.get_by_text("classroom-cpu on shapes").first.wait_for(timeout=30_000)
    wait_until(lambda: chart_points(page, "Losses") > 0, 90, "the loss chart's first points")
    first_points, first_grid = chart_points(page, "Losses"), grid_src(page)
    assert first_grid, "the live sample grid is shown once training starts"
    wait_until(
        lambda: chart_points(page, "Losses") > first_points and grid_src(page) != first_grid,
        90,
        "the loss chart to gain points and the sample grid to change",
    )
    assert page.locator('[data-testid="stException"]').count() == 0
    pid = job_status(server)["pid"]
    assert pid != server.proc.pid, "the job is a process of its own"
    screenshot(page, SHOTS / "train.png")

    # Pause from the page (that a pause holds the step exactly is tests/test_job.py's); the
    # paused job's charts are what a second tab and a reload show
    page.get_by_role("button", name="Pause", exact=True).first.click()
    wait_until(lambda: status_text(page) == "paused", 30, "Pause shown")
    held = job_status(server)["step"]

    # a second session sees the same job, and its Start is refused
    other = browser.new_page(viewport={"width": 1400, "height": 900})
    watch_hosts(other, outside)
    other.goto(f"{server.url}/train")
    settle(other)
    wait_until(lambda: chart_points(other, "Losses") > 0, 30, "the shared job in a new tab")
    assert status_text(other) == "paused"
    other.get_by_role("button", name="Start", exact=True).first.click()
    other.get_by_text("Start refused").wait_for(timeout=30_000)
    other.close()  # closing a tab neither stops the job nor orphans it

    page.reload()  # a reload reattaches to the running job
    settle(page)
    wait_until(lambda: chart_points(page, "Losses") > 0, 30, "the job after a reload")
    page.get_by_role("button", name="Resume", exact=True).first.click()
    wait_until(lambda: status_text(page) == "running", 30, "Resume shown")
    wait_until(lambda: job_status(server)["step"] > held + 5, 60, "training again after Resume")

    # the server dies hard; the job trains on; a new server shows it live again
    server.kill()
    before = job_status(server)["step"]
    wait_until(lambda: job_status(server)["step"] > before + 5, 60, "training with no server")
    assert job_status(server)["status"] == "running" and job_status(server)["pid"] == pid
    server.start()
    page.goto(f"{server.url}/train")
    settle(page)
    wait_until(lambda: status_text(page) == "running", 60, "the new server shows the job")
    seen = chart_points(page, "Losses")
    wait_until(lambda: chart_points(page, "Losses") > seen, 60, "live charts on the new server")
    page.get_by_role("button", name="Stop", exact=True).first.click()
    wait_until(lambda: status_text(page) == "stopped", 60, "Stop from the new server")
    wait_until(lambda: not _alive(pid), 30, "the job's process to end")

    # every page renders without an exception, offline; Latent space uses the stopped job's
    # weights
    for name in PAGES:
        if name == "train":
            continue
        # the 2-D GAN trains 2 epochs, not the default 20 (bound to the URL like any visitor's
        # link): each epoch is a chart sent and drawn live, and two show the same drawing
        page.goto(f"{server.url}/{name}" + ("?gb_epochs=2" if name == "gan_basics" else ""))
        settle(page)
        if name == "home":  # the sidebar's page icons draw from the font Streamlit bundles
            page.wait_for_function(
                "document.querySelectorAll("
                "'[data-testid=stSidebar] [data-testid=stIconMaterial]').length >= 7"
            )
        if name == "data":  # the first 20 shapes, drawn on first use
            page.locator('[data-testid="stImage"] img').first.wait_for(timeout=60_000)
        if name == "gan_basics":  # train the 2-D GAN live, as a visitor would
            page.get_by_role("button", name="Train", exact=True).click()
            wait_until(lambda: chart_points(page, "Losses per example") > 0, 90, "the 2-D GAN")
            settle(page)
        assert page.locator('[data-testid="stException"]').count() == 0, name
        assert local_icons(page), f"{name}: the tab's icon is fetched from elsewhere"
        mark(f"page {name} rendered")
        screenshot(page, SHOTS / f"{name}.png")

    page.close()
    assert outside == [], "pages asked hosts other than this machine"
    for name in PAGES:
        assert (SHOTS / f"{name}.png").stat().st_size > 10_000, f"{name}.png looks empty"


def _alive(pid: int) -> bool:
    from dcgan.runs import pid_alive

    return pid_alive(pid)
