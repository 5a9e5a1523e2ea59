"""The Space in a real browser, from the folder `make space` builds: headless Chromium presses
Train and sees the fixed-noise grid change as the generator learns, then the run's generator
become the visitor's ("yours") with a download button.

Skips with a reason when Chromium or Playwright's Python package is absent; Playwright drives
Debian's chromium through executable_path, so no browser download.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from loadtest.browser import CHROMIUM, CHROMIUM_ARGS
from loadtest.common import server
from loadtest.net import free_port, wait_for
from tests.helpers import tiny_generators

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "artifacts" / "screenshots"

TRAIN_STEPS = 20  # grids at step 1, every second after, and the end: it changes, in seconds

pytestmark = [pytest.mark.browser, pytest.mark.slow]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def space_url(tmp_path_factory):
    """`python app.py` in a freshly built Space folder (two tiny generators), on a free port."""
    tmp = tmp_path_factory.mktemp("space-e2e")
    checkpoints = tiny_generators(tmp / "checkpoints")
    spec = importlib.util.spec_from_file_location("space_build", ROOT / "space" / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    folder = build.build(tmp / "space", checkpoints)
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k != "PYTHONPATH"},  # only the folder itself
        "GRADIO_SERVER_NAME": "127.0.0.1",
        "GRADIO_SERVER_PORT": str(port),
        "GRADIO_ANALYTICS_ENABLED": "False",
        "DCGAN_SPACE_TRAIN_STEPS": str(TRAIN_STEPS),
        "DCGAN_SPACE_SESSIONS": str(tmp / "sessions"),
        "OMP_NUM_THREADS": "1",  # Chromium, the server and the trainer share 2 cores
    }
    url = f"http://127.0.0.1:{port}/"
    cmd = [sys.executable, "app.py"]
    with server(cmd, env, url, tmp / "space.log", 120, cwd=folder, inherit_env=False):
        yield url, tmp / "sessions"


def test_pressing_train_streams_a_changing_grid_and_gives_the_visitor_a_generator(space_url):
    """Train in the browser: the grid appears and changes, the run ends with a download, and
    the Generator menu now holds the visitor's own model; closing the tab removes it."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.goto(space_url[0])
            page.get_by_role("tab", name="Train").click()
            page.get_by_role("button", name="Train", exact=True).click()
            first = page.locator("#live-grid img")
            first.wait_for(state="visible", timeout=120_000)
            src = first.get_attribute("src")
            # a later grid replaces the first: G changed (each grid is a new file)
            page.wait_for_function(
                "s => { const i = document.querySelector('#live-grid img');"
                " return i && i.getAttribute('src') !== s; }",
                arg=src,
                timeout=120_000,
            )
            page.get_by_text("Done.").wait_for(timeout=120_000)
            page.locator("#download").wait_for(state="visible", timeout=30_000)
            generator = page.get_by_label("Generator")
            page.wait_for_function(
                "() => [...document.querySelectorAll('input')]"
                ".some(i => i.value === 'yours (Train tab)')",
                timeout=30_000,
            )
            assert generator.input_value() == "yours (Train tab)"
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "space-train.png"), full_page=True)
            sessions = space_url[1]
            assert [p.name for p in sessions.iterdir()] != []  # the visitor's folder
            page.close(run_before_unload=True)  # the visitor closes the tab
        finally:
            browser.close()
    wait_for(lambda: not any(sessions.iterdir()), 60, "the closed tab's folder to be removed")
