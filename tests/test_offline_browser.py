"""Offline, the app asks no outside host for anything: every request a page makes in headless
Chromium stays on the machine, and the tab icon is the app's own file.

(Before: each page's Material icon became the tab's favicon, fetched from fonts.gstatic.com.)
"""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from loadtest.browser import CHROMIUM, CHROMIUM_ARGS
from loadtest.common import server
from loadtest.net import free_port

ROOT = Path(__file__).resolve().parents[1]
LOCAL = ("127.0.0.1", "localhost")

pytestmark = [pytest.mark.browser, pytest.mark.slow]
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    """`streamlit run app.py` on a free port; stopped after the module."""
    tmp = tmp_path_factory.mktemp("offline")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"]
    cmd += ["--server.port", str(port), "--server.address", "127.0.0.1"]
    env = {"DCGAN_RUNS_DIR": str(tmp / "runs"), "OMP_NUM_THREADS": "1"}
    with server(cmd, env, f"{url}/_stcore/health", tmp / "streamlit.log", timeout=120):
        yield url


@pytest.mark.parametrize("page", ["", "gan_basics"])
def test_a_page_makes_no_outside_request_and_has_a_local_icon(app_url, page):
    outside = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page()

            def route(r):
                if urlsplit(r.request.url).hostname in LOCAL:
                    r.continue_()
                else:  # as with no network: the request fails, and we note that it was made
                    outside.append(r.request.url)
                    r.abort()

            tab.route("**/*", route)
            tab.goto(f"{app_url}/{page}")
            tab.wait_for_selector("h1", timeout=120_000)
            # the first run is over when Streamlit's running indicator is gone
            tab.wait_for_function(
                "!document.querySelector('[data-testid=stStatusWidget]')", timeout=120_000
            )
            icons = tab.evaluate(
                "[...document.querySelectorAll('link[rel*=icon]')].map(l => l.href)"
            )
            # the sidebar's page icons draw from the font bundled with Streamlit's frontend
            tab.wait_for_function(
                "document.querySelectorAll("
                "'[data-testid=stSidebar] [data-testid=stIconMaterial]').length >= 7",
                timeout=60_000,
            )
        finally:
            browser.close()
    assert outside == []
    assert icons and all(urlsplit(u).hostname in LOCAL for u in icons), icons
