"""The headless Chromium every browser check uses (tests, bench/ui_overhead, the load tests):
where it is and the flags that keep it from phoning home, so a check sees only the app's own
requests. Playwright adds --headless itself."""

from __future__ import annotations

import os
import shutil

CHROMIUM = os.environ.get("DCGAN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # root in a container has no user namespace to sandbox with
    "--disable-gpu",  # headless on a server: software rendering is the honest baseline
    "--no-first-run",
    "--disable-background-networking",  # no update, safe-browsing or variations fetches
    "--disable-quic",
    "--disable-component-update",
    "--disable-sync",
]
