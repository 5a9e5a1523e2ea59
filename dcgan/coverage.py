"""Mode collapse in the DCGAN, measured: how many of the shapes data's shape x colour classes
(3 shapes x 4 colours = 12) a generator draws, read by the attribute classifier.

A collapsed G draws a few classes over and over; a healthy one draws all twelve about equally.
`over_run` reads the fixed-noise grids a shapes run keeps in its timeline, so the count is
available over training for any run, live or finished, without touching the trainer:

    python -m dcgan.coverage RUN_DIR            # covered classes at each kept step
    python -m dcgan.coverage --checkpoint G.safetensors --n 512
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import attributes
from .data import SHAPE_COLOURS, SHAPE_KINDS
from .i18n import N_, _
from .images import png_array, to_uint8
from .latent import generate, sample_z
from .runs.folder import CONFIG, timeline

COLOURS = tuple(SHAPE_COLOURS)
N_CLASSES = len(SHAPE_KINDS) * len(COLOURS)
COVER_SHARE = 0.2  # a class is covered once it holds a fifth of its fair share (at least 1)
GRID_PAD = 2  # images.grid_array's padding between tiles
# The classifier names a colour even for a grey blob (an untrained G, a slow critic), so an
# image also needs coloured pixels to count: every real shape has 3.7 % or more of them
SATURATED = 0.35  # max - min channel above this: a coloured pixel (the shapes' are 0.7-0.8)
MIN_COLOURED = 0.01  # share of coloured pixels an image needs to show a coloured shape


# the attribute words (shapes, colours, sizes, halves), marked for the catalogs: the query
# language stays English (attributes.parse_term), and shown_word() translates a word for a readout
WORDS = (
    *(N_("circle"), N_("square"), N_("triangle")),
    *(N_("red"), N_("green"), N_("blue"), N_("yellow")),
    *(N_("small"), N_("large"), N_("left"), N_("right"), N_("top"), N_("bottom")),
)


def shown_word(word: str) -> str:
    """An attribute word ('red', 'square') in the language of the moment."""
    return _(word)


class CoverageError(ValueError):
    """A run or a checkpoint that cannot be scored; the message says why and what to do."""


@dataclass(frozen=True)
class ClassCoverage:
    """How a batch of images spreads over the shape x colour classes."""

    counts: np.ndarray  # (shapes, colours) readable images per class
    unreadable: int  # no class: the classifier is unsure (two colours) or there is no colour

    @property
    def n(self) -> int:
        """Images scored, readable or not."""
        return int(self.counts.sum()) + self.unreadable

    @property
    def need(self) -> int:
        """Images a class must hold to count as covered."""
        return max(1, math.floor(COVER_SHARE * self.n / N_CLASSES))

    @property
    def covered(self) -> int:
        """Classes G draws at least `need` times."""
        return int((self.counts >= self.need).sum())

    def missing(self) -> list[str]:
        """'colour shape' names of the classes below `need`, for a readout, in the language of
        the moment."""
        return [
            _("{colour} {shape}").format(colour=shown_word(c), shape=shown_word(s))
            for i, s in enumerate(SHAPE_KINDS)
            for j, c in enumerate(COLOURS)
            if self.counts[i, j] < self.need
        ]


def classify(images: torch.Tensor, net: attributes.AttributeNet | None = None) -> ClassCoverage:
    """Count (N, 3, H, W) images in [-1, 1] (or uint8) per shape x colour class."""
    net = net if net is not None else attributes.classifier()[0]
    pred = attributes.predict(net, images)
    (shape, p_shape), (colour, p_colour) = pred["shape"], pred["colour"]
    sure = (p_shape >= attributes.MIN_CONFIDENCE) & (p_colour >= attributes.MIN_CONFIDENCE)
    x = to_uint8(images).float() / 255
    coloured = ((x.amax(1) - x.amin(1)) > SATURATED).float().mean((1, 2)) >= MIN_COLOURED
    sure &= coloured
    counts = np.zeros((len(SHAPE_KINDS), len(COLOURS)), dtype=int)
    np.add.at(counts, (shape[sure].numpy(), colour[sure].numpy()), 1)
    return ClassCoverage(counts=counts, unreadable=int((~sure).sum()))


@torch.no_grad()
def of_generator(
    G: torch.nn.Module, nz: int, n: int = 512, seed: int = 0, net=None
) -> ClassCoverage:
    """Class coverage of n samples of G from seeded noise."""
    return classify(generate(G, sample_z(n, nz, seed)), net)


def grid_tiles(grid: np.ndarray, size: int, n: int) -> torch.Tensor:
    """Cut an (H, W, 3) uint8 grid of n size x size tiles (images.grid_array's layout: a square
    of sqrt(n) columns, GRID_PAD pixels around each) back into (n, 3, size, size) uint8."""
    nrow = int(math.sqrt(n)) or 1
    step = size + GRID_PAD
    rows = math.ceil(n / nrow)
    if grid.shape[0] < rows * step or grid.shape[1] < nrow * step:
        raise CoverageError(
            _(
                "a {w}x{h} grid cannot hold {n} tiles of {size}x{size}; was the run's image "
                "size or sample count changed?"
            ).format(w=grid.shape[1], h=grid.shape[0], n=n, size=size)
        )
    tiles = []
    for i in range(n):
        r, c = divmod(i, nrow)
        y, x = GRID_PAD + r * step, GRID_PAD + c * step
        tiles.append(grid[y : y + size, x : x + size])
    return torch.from_numpy(np.stack(tiles)).permute(0, 3, 1, 2).contiguous()


def _run_layout(run_dir: Path) -> tuple[int, int]:
    """(image size, samples per grid) of a shapes run, from its config."""
    try:
        cfg = json.loads((Path(run_dir) / CONFIG).read_text())
    except (OSError, ValueError) as e:
        raise CoverageError(
            _("{run} has no readable {file}; is it a run folder?").format(run=run_dir, file=CONFIG)
        ) from e
    source = cfg.get("data", {}).get("source")
    if source != "shapes":
        raise CoverageError(
            _(
                "{run} trained on {source}; class coverage needs the shapes data, whose "
                "classes the attribute classifier knows. Train on shapes."
            ).format(run=Path(run_dir).name, source=repr(source))
        )
    return int(cfg["model"]["image_size"]), int(cfg["train"]["n_samples"])


# A grid's reading, by (file, its mtime): a live run adds a grid every few seconds, and a page
# showing its coverage must then classify that one grid, not the ~40 it shows again.
_READ: OrderedDict[tuple[str, int], ClassCoverage] = OrderedDict()
_READ_MAX = 1024
_read_lock = threading.Lock()


def over_run(run_dir: str | Path, net=None, every: int = 1) -> list[tuple[int, ClassCoverage]]:
    """(step, coverage) for every `every`-th kept timeline grid of a shapes run, oldest first;
    the newest grid is always included. Each grid file is classified once per process."""
    run_dir = Path(run_dir)
    size, n = _run_layout(run_dir)
    frames = timeline(run_dir)
    chosen = frames[:: max(1, every)]
    if frames and chosen[-1] != frames[-1]:
        chosen.append(frames[-1])
    out = []
    for step, path in chosen:
        try:
            key = (str(path), path.stat().st_mtime_ns)
            with _read_lock:
                got = _READ.get(key)
            if got is None:
                net = net if net is not None else attributes.classifier()[0]
                got = classify(grid_tiles(png_array(path.read_bytes()), size, n), net)
                with _read_lock:
                    _READ[key] = got
                    while len(_READ) > _READ_MAX:
                        _READ.popitem(last=False)
        except OSError:
            continue  # the job prunes old frames while we read: skip the one that went
        out.append((step, got))
    return out


def after_arm(arm: dict, arm_dir: Path, quality_n: int) -> None:
    """An experiment's after_arm hook: the class coverage of the arm's final generator, from
    quality_n samples of seeded noise, stored in the arm's results."""
    from .checkpoint import load_generator
    from .runs.folder import GENERATOR

    G, mcfg, __ = load_generator(Path(arm_dir) / GENERATOR)
    c = of_generator(G, mcfg.nz, n=quality_n, seed=0)
    arm["coverage"] = {"covered": c.covered, "of": N_CLASSES, "unreadable": c.unreadable, "n": c.n}


def main(argv: list[str] | None = None) -> int:
    """CLI: class coverage of a shapes run over training, or of one checkpoint."""
    ap = argparse.ArgumentParser(
        prog="python -m dcgan.coverage", description=__doc__.split("\n")[0]
    )
    ap.add_argument("run", nargs="?", help="a shapes run folder (its timeline grids are read)")
    ap.add_argument("--checkpoint", help="score a generator checkpoint instead")
    ap.add_argument("--n", type=int, default=512, help="samples for --checkpoint")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--every", type=int, default=1, help="read every k-th timeline grid")
    a = ap.parse_args(argv)
    try:
        if a.checkpoint:
            from .checkpoint import CheckpointError, load_generator

            try:
                G, mcfg, __ = load_generator(a.checkpoint)
            except CheckpointError as e:
                raise CoverageError(str(e)) from e
            rows = [("final", of_generator(G, mcfg.nz, a.n, a.seed))]
        elif a.run:
            rows = over_run(a.run, every=a.every)
        else:
            ap.error("name a run folder or --checkpoint")
    except CoverageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"{'step':>8}  covered  unreadable  missing")
    for step, c in rows:
        missing = ", ".join(c.missing()) or "-"
        print(f"{step!s:>8}  {c.covered:>3}/{N_CLASSES}  {c.unreadable:>4}/{c.n:<5}  {missing}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
