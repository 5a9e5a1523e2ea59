"""The images the Space sends, as PNG files written once and atomically.

Gradio saves a returned PIL image by truncating and rewriting a file named by its content's
hash, so two requests that draw the same picture at once (a class opening the page sees the
same default grids) rewrite the file while a browser is downloading it: the download fails
with "Too little data for declared Content-Length" (found by flooding the sampling endpoints).
A file path, by contrast, is copied into Gradio's cache under a temporary name and renamed,
and an existing copy is reused. So each image is encoded here, written under a temporary name
and renamed into place, and handed to Gradio as a path; the same picture is one file name.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path

from PIL import Image

from dcgan.images import png_bytes

PNG_DIR = Path(
    os.environ.get("DCGAN_SPACE_PNG_DIR", Path(tempfile.gettempdir()) / "dcgan-space-png")
)
# Gradio copies each file into its own cache while answering, so ours need not outlive the
# request for long; a busy class writes about a megabyte a second of them
PNG_MAX_AGE_S = 120
_last_sweep = [0.0]  # monotonic time of the last sweep of PNG_DIR


def png_file(image: Image.Image | bytes) -> str:
    """The image (or PNG bytes already encoded) as a PNG file named by its content, written
    atomically."""
    data = image if isinstance(image, bytes) else png_bytes(image)
    path = PNG_DIR / f"{hashlib.sha1(data).hexdigest()}.png"
    # written every time, under a temporary name then renamed: a reader of the old file keeps
    # reading it whole, and the fresh mtime keeps the sweep off a file Gradio is about to copy
    PNG_DIR.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=PNG_DIR, suffix=".part")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    if time.monotonic() - _last_sweep[0] > PNG_MAX_AGE_S / 2:  # at most twice per max age
        _last_sweep[0] = time.monotonic()
        sweep_pngs()
    return str(path)


def sweep_pngs(max_age_s: float = PNG_MAX_AGE_S) -> int:
    """Remove our PNG files older than max_age_s; returns how many went."""
    removed, now = 0, time.time()
    for p in PNG_DIR.glob("*"):
        try:
            if now - p.stat().st_mtime > max_age_s:
                p.unlink()
                removed += 1
        except OSError:  # another sweep or request got there first
            pass
    return removed
