"""`python -m dcgan.data SOURCE [--size 64] [--classes ...] [--grid PATH]`: load and summarise.

Prints what was loaded and skipped, and optionally writes the chapter's 4x5 grid of the first 20.
"""

from __future__ import annotations

import argparse
import sys

from ..config import ConfigError
from .imageset import DataError
from .loader import load
from .sources import SOURCES


def main(argv: list[str] | None = None) -> int:
    """Print a dataset summary and optionally write the chapter's 4x5 grid of the first 20."""
    from ..images import grid_image

    p = argparse.ArgumentParser(
        prog="python -m dcgan.data", description="Load a dataset; print what was kept and skipped."
    )
    p.add_argument("source", help=f"one of {', '.join(SOURCES)}, or a folder/zip path")
    p.add_argument("--size", type=int, default=64, help="resize images to SIZE x SIZE")
    p.add_argument(
        "--classes",
        type=int,
        nargs="*",
        help="class filter (a source with classes, e.g. Fashion-MNIST)",
    )
    p.add_argument("--grid", help="write the first 20 images as a 4x5 PNG grid here")
    a = p.parse_args(argv)
    try:
        s = load(a.source, a.size, classes=tuple(a.classes) if a.classes else None)
    except (DataError, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(s.summary())
    if a.grid:
        grid_image(s.images[:20], nrow=5).save(a.grid)
        print(f"grid of the first {min(20, len(s))} images written to {a.grid}")
    return 0
