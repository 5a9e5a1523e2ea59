"""What the latent pages show, computed once per generator and input, shared by every session:
interpolation strips, the images at t, arithmetic pools and results, random walks and GIFs.

A class moving sliders asks for the same few pictures again and again: the same default
seeds, the same t, the same example expressions. Each answer is kept per generator object
(a WeakKeyDictionary: it goes when the generator goes) in a small LRU, and a request that is
already being computed is waited for, not computed again, so thirty students opening a page
at once cost one forward pass. Pictures come back as PNG bytes, encoded once: a UI passes the
same bytes on, and a browser, which gets media by content hash, reuses what it already has.

The Latent page and the Checkable arithmetic page call these, and the Space's interpolation
and arithmetic tabs.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from . import i18n, latent, plots
from .hardware import pick_precision
from .images import gif_bytes, grid_array, numbered_grid_image, png_bytes, to_uint8, upscale

MAX_ENTRIES = 256  # answers kept per generator: a class's worth of seeds and t values, a few MB


def precision(G: torch.nn.Module) -> str:
    """bf16 where G's device runs it natively (AMX, AVX512-BF16, Ampere), else fp32: a class
    waits on these forward passes, and 2/255 of a pixel is not visible in a latent walk."""
    return pick_precision("auto", next(G.parameters()).device)


def _generate(G: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
    return latent.generate(G, z, precision=precision(G))


class _Pending:
    """An answer being computed: later askers wait on it instead of computing it again."""

    def __init__(self):
        self.done = threading.Event()
        self.value = None
        self.error: BaseException | None = None


class Memo:
    """Answers per (generator, key), least recently used first out, computed once at a time."""

    def __init__(self, max_entries: int = MAX_ENTRIES):
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._tables: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def get(self, G: torch.nn.Module, key: tuple, make: Callable[[], object]):
        """The answer for key under G: cached, awaited from another thread, or made now."""
        with self._lock:
            table = self._tables.setdefault(G, OrderedDict())
            found = table.get(key)
            if found is None:
                pending = table[key] = _Pending()
            else:
                table.move_to_end(key)
        if found is not None:
            if not isinstance(found, _Pending):
                return found
            found.done.wait()
            if found.error is not None:
                raise found.error
            return found.value
        try:
            value = make()
        except BaseException as e:
            with self._lock:
                table.pop(key, None)
            pending.error = e
            pending.done.set()
            raise
        with self._lock:
            table[key] = value
            while len(table) > self.max_entries:
                table.popitem(last=False)
        pending.value = value
        pending.done.set()
        return value

    def clear(self) -> None:
        """Forget every answer (tests, or a generator changed in place)."""
        with self._lock:
            self._tables = weakref.WeakKeyDictionary()


MEMO = Memo()


def enlarged(native: int, target: int) -> int:
    """The width to show a `native`-px picture at: the whole multiple nearest below `target`
    (at least 1x), so every generated pixel becomes the same number of screen pixels."""
    return native * max(1, target // native)


def strip_width(n: int, image_size: int, pad: int = 2) -> int:
    """The native width of a one-row grid of n images (grid_array's layout)."""
    return n * (image_size + pad) + pad


def _tile(image: torch.Tensor) -> bytes:
    """One (3, H, W) image at its own size, as PNG: a UI enlarges it (crisp), not the server."""
    return png_bytes(to_uint8(image[None])[0].permute(1, 2, 0).numpy())


def _strip(images: torch.Tensor, nrow: int | None = None) -> bytes:
    """A grid of images at their own size, as PNG."""
    return png_bytes(grid_array(images, nrow=nrow or len(images)))


# ---------------------------------------------------------------- interpolation


def _ends(nz: int, seed_a: int, seed_b: int) -> tuple[torch.Tensor, torch.Tensor]:
    return latent.sample_z(1, nz, seed_a), latent.sample_z(1, nz, seed_b)


@dataclass(frozen=True)
class Strips:
    """Both paths from seed A to seed B: a PNG strip each, and ‖z‖ along each."""

    png: dict[str, bytes]  # "lerp" / "slerp" -> strip
    norms: dict[str, np.ndarray]  # "lerp" / "slerp" -> ‖z‖ at each image


def strips(G, nz: int, seed_a: int, seed_b: int, steps: int) -> Strips:
    """The lerp and slerp strips between two seeds, one batched generator call."""

    def make() -> Strips:
        z0, z1 = _ends(nz, seed_a, seed_b)
        paths = {m: latent.interpolate(z0, z1, steps, m) for m in ("lerp", "slerp")}
        imgs = _generate(G, torch.cat(list(paths.values())))
        n = len(paths["lerp"])
        return Strips(
            {"lerp": _strip(imgs[:n]), "slerp": _strip(imgs[n:])},
            {k: v.flatten(1).norm(dim=1).numpy() for k, v in paths.items()},
        )

    return MEMO.get(G, ("strips", nz, seed_a, seed_b, steps), make)


def at_t(G, nz: int, seed_a: int, seed_b: int, t: float, framed: bool = False):
    """{"lerp"|"slerp": (PNG of the image at t, ‖z‖ there)} between two seeds; `framed` draws
    each as a one-image strip (2 px border), the same cell as in strips' pictures."""

    def make() -> dict[str, tuple[bytes, float]]:
        z0, z1 = _ends(nz, seed_a, seed_b)
        zs = {"lerp": latent.lerp(z0, z1, t), "slerp": latent.slerp(z0, z1, t)}
        imgs = _generate(G, torch.cat(list(zs.values())))
        return {
            k: (_strip(img[None]) if framed else _tile(img), float(z.flatten().norm()))
            for (k, z), img in zip(zs.items(), imgs, strict=True)
        }

    return MEMO.get(G, ("at_t", nz, seed_a, seed_b, round(float(t), 4), framed), make)


# ---------------------------------------------------------------- vector arithmetic


@dataclass(frozen=True)
class Pool:
    """The candidates of the arithmetic grid: their z, and one PNG grid with each numbered."""

    z: torch.Tensor  # (n, nz, 1, 1)
    grid: bytes  # one picture, not n: one request per change, not n


def pool(G, nz: int, seed: int, n: int, nrow: int = 8, scale: int = 2) -> Pool:
    """n candidate samples from a seed, for picking groups A, B and C by number; the grid is
    drawn `scale` times enlarged, so the numbers stay readable."""

    def make() -> Pool:
        z = latent.sample_z(n, nz, seed)
        return Pool(z, png_bytes(numbered_grid_image(_generate(G, z), nrow=nrow, scale=scale)))

    return MEMO.get(G, ("pool", nz, seed, n, nrow, scale), make)


@dataclass(frozen=True)
class Arithmetic:
    """mean(A), mean(B), mean(C) and the result, with a grid of noisy results around it."""

    means: list[bytes]  # mean(A), mean(B), mean(C), the result
    around: bytes  # a 3x3 grid of the result plus noise


def arithmetic(
    G,
    nz: int,
    seed: int,
    n: int,
    groups: Sequence[Sequence[int]],
    coeffs: tuple[float, float, float],
    noise: float,
) -> Arithmetic:
    """The DCGAN paper's coeffs . (mean(A), mean(B), mean(C)) over picks from pool(seed, n)."""
    groups = tuple(tuple(int(i) for i in g) for g in groups)

    def make() -> Arithmetic:
        z = pool(G, nz, seed, n).z
        a, b, c = (z[list(g)] for g in groups)
        result = latent.vector_arithmetic(a, b, c, coeffs)
        means = torch.cat([g.mean(0, keepdim=True) for g in (a, b, c)])
        around = latent.jitter(result, 9, scale=noise, seed=seed)
        out = _generate(G, torch.cat([means, result, around]))
        return Arithmetic([_tile(img) for img in out[:4]], _strip(out[4:], nrow=3))

    key = ("arithmetic", nz, seed, n, groups, tuple(float(c) for c in coeffs), float(noise))
    return MEMO.get(G, key, make)


# ---------------------------------------------------------------- random walks


def _walks(nz: int, seed: int, frames: int, walkers: int) -> torch.Tensor:
    """(frames, walkers, nz, 1, 1): each walker's path, walker i seeded seed + i."""
    walks = torch.stack([latent.random_walk(nz, frames, seed + i) for i in range(walkers)])
    return walks.transpose(0, 1)


def walk_frames(G, nz: int, seed: int, frames: int, walkers: int) -> list[np.ndarray]:
    """`walkers` random walks side by side: one (H, W, 3) grid per frame (not kept: the GIF
    made from them is, at a fraction of their bytes)."""
    imgs = _generate(G, _walks(nz, seed, frames, walkers).reshape(-1, nz, 1, 1))
    per_frame = imgs.reshape(frames, walkers, *imgs.shape[1:])
    return [grid_array(f, nrow=walkers) for f in per_frame]


SHEET_COLUMNS = 8  # frames a walk's still shows: enough to see it morph, a row fits a page


def walk_sheet(
    G, nz: int, seed: int, frames: int, walkers: int, columns: int = SHEET_COLUMNS
) -> bytes:
    """The walks as a still: a row per walker, `columns` frames evenly spaced along it (PNG).
    It decodes walkers x columns images, not walkers x frames, and encodes no animation."""

    def make() -> bytes:
        at = torch.linspace(0, frames - 1, min(columns, frames)).round().long()
        picked = _walks(nz, seed, frames, walkers)[at].transpose(0, 1)  # walker-major rows
        imgs = _generate(G, picked.reshape(-1, nz, 1, 1))
        return png_bytes(grid_array(imgs, nrow=len(at)))

    return MEMO.get(G, ("walk_sheet", nz, seed, frames, walkers, columns), make)


def walk_gif(G, nz: int, seed: int, frames: int, walkers: int, ms: int) -> bytes:
    """The random walks as a looping GIF at their own size, `ms` milliseconds a frame."""

    def make() -> bytes:
        return gif_bytes(walk_frames(G, nz, seed, frames, walkers), ms_per_frame=ms)

    return MEMO.get(G, ("walk_gif", nz, seed, frames, walkers, ms), make)


# ---------------------------------------------------------------- the ‖z‖ chart


def norm_chart(G, nz: int, seed_a: int, seed_b: int, steps: int, t: float):
    """The ‖z‖-along-both-paths figure with t marked; built once per input (plotly is slow)."""

    def make():
        fig = plots.norm_figure(strips(G, nz, seed_a, seed_b, steps).norms, nz)
        fig.add_vline(x=t, line_dash="dash", line_color="grey")
        return fig

    # the figure's annotation is in the reader's language: one figure per language
    key = ("norm_chart", nz, seed_a, seed_b, steps, round(float(t), 4), i18n.current())
    return MEMO.get(G, key, make)


# ---------------------------------------------------------------- checkable arithmetic


def arithmetic_score(G, nz: int, expression: str, seed: int, n_pool: int, trials: int):
    """(ArithmeticScore, PNG grid of its first 32 results): the classifier's verdict on
    'A − B + C' (dcgan.attributes), once per input; a QueryError is raised, not kept."""
    from . import attributes

    def make():
        device = next(G.parameters()).device
        attributes.classifier()  # trained (once per process) in fp32, outside the autocast
        # its 2,048-sample pool is the cost: decoded (and classified) in bf16 where native
        with torch.autocast(device.type, torch.bfloat16, enabled=precision(G) == "bf16"):
            score = attributes.score_arithmetic(
                G, nz, expression, seed=seed, n_pool=n_pool, trials=trials
            )
        return score, png_bytes(upscale(grid_array(_generate(G, score.z[:32]), nrow=8), 800))

    return MEMO.get(G, ("arithmetic_score", nz, expression, seed, n_pool, trials), make)
