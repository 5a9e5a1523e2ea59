"""Sliced Wasserstein distance (SWD) between two image sets on Laplacian pyramids, as defined
in Karras et al. 2018, "Progressive Growing of GANs" (appendix D). It needs no downloaded
network, so it runs offline on the CPU: the model card, the benchmarks and the Train page's
health hints all use it.

How it is computed, per pyramid level (finest detail first, down to a 16x16 Gaussian residual):
  1. a Laplacian pyramid of every image (5x5 binomial filter, mirrored edges, like cv2.pyrDown);
  2. 128 random 7x7 neighbourhoods per image, each a 7*7*C descriptor;
  3. each set's descriptors normalised per colour channel (subtract its mean, divide by its
     standard deviation), each set with its own statistics, as in the paper's reference code;
  4. 512 random unit directions (4 repeats of 128); each set's projections onto a direction are
     sorted, and the Wasserstein-1 distance between the two 1-D distributions is the mean
     absolute difference of the sorted values; SWD is that mean over descriptors and directions.

Convention: reported values are SWD x 10^3, as in the paper's tables. Lower is closer; two
samples of the same distribution score near 0 (not exactly: the patches are random).
Both sets are cut to the same number of images (a seeded random subset of the larger).

    python -m dcgan.metrics --checkpoint PATH --real SOURCE [--n N] [--seed S] [--json]
    python -m dcgan.metrics --baseline heldout --real SOURCE   # real vs disjoint real
    python -m dcgan.metrics --baseline noise --real SOURCE     # real vs uniform noise
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import numpy as np
import torch
import torch.nn.functional as F

SCALE = 1e3  # the paper prints SWD x 10^3; so do we
NHOOD_SIZE = 7  # the paper's 7x7 neighbourhoods
NHOODS_PER_IMAGE = 128  # the paper's descriptors per image per level
DIRS_PER_REPEAT = 128  # the paper's reference code: 4 x 128 = 512 projections
DIR_REPEATS = 4
MIN_RES = 16  # the coarsest level, as in the paper
_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0  # outer product = the paper's 5x5


def resolutions(image_size: int, min_res: int = MIN_RES) -> list[int]:
    """Pyramid level sizes for an image size, finest first: 64 -> [64, 32, 16]."""
    out, res = [], int(image_size)
    while res >= min_res:
        out.append(res)
        res //= 2
    return out


def _as_float255(images: torch.Tensor) -> torch.Tensor:
    """uint8 (0..255) or float in [-1, 1] -> float32 on 0..255, quantised as a user sees it."""
    if not isinstance(images, torch.Tensor):
        images = torch.as_tensor(np.asarray(images))
    if images.dtype != torch.uint8:
        images = ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round()
    return images.float().cpu()


def _taps(x: torch.Tensor, dim: int, weights, step: int, n: int) -> torch.Tensor:
    """sum_k weights[k] * x[k + step*j] along dim, for j < n, accumulated in place."""
    out = None
    for k, w in enumerate(weights):
        if w == 0:
            continue
        index = [slice(None)] * x.dim()
        index[dim] = slice(k, k + step * (n - 1) + 1, step)
        tap = x[tuple(index)]
        out = tap * w if out is None else out.add_(tap, alpha=w)
    return out


def _pyr_down(x: torch.Tensor) -> torch.Tensor:
    """5x5 binomial blur with mirrored edges, keeping every other pixel: (H, W) -> (H/2, W/2).

    Matches cv2.pyrDown and the paper's scipy code (mode 'mirror' = torch 'reflect'), but
    only the kept pixels are computed, one axis at a time.
    """
    w = _BINOMIAL.tolist()
    x = F.pad(x, (2, 2, 2, 2), mode="reflect")
    h, wd = (x.shape[-2] - 4 + 1) // 2, (x.shape[-1] - 4 + 1) // 2
    x = _taps(x, 3, w, 2, wd)  # along W
    return _taps(x, 2, w, 2, h)  # along H


def _up_axis(x: torch.Tensor, dim: int) -> torch.Tensor:
    """Zero-stuff to twice the length along dim and blur with gain 2, in polyphase form.

    Even outputs take taps (1, 6, 1)/8 and odd outputs (4, 4)/8 of the original samples.
    Mirroring the zero-stuffed signal reflects it on the left and repeats the last sample
    on the right, so the padding below reproduces the reference exactly.
    """
    n = x.shape[dim]
    xp = torch.cat([x.narrow(dim, 1, 1), x, x.narrow(dim, n - 1, 1)], dim=dim)
    even = _taps(xp, dim, (0.125, 0.75, 0.125), 1, n)
    odd = _taps(xp, dim, (0.0, 0.5, 0.5), 1, n)
    return torch.stack([even, odd], dim=dim + 1).flatten(dim, dim + 1)  # e0 o0 e1 o1 ...


def _pyr_up(x: torch.Tensor) -> torch.Tensor:
    """Twice the size (cv2.pyrUp): zero-stuff, then blur with 4x gain. (H, W) -> (2H, 2W)."""
    return _up_axis(_up_axis(x, 3), 2)


def _pyr_down_reference(x: torch.Tensor) -> torch.Tensor:
    """The paper's pyr_down written plainly (full blur, then subsample), to test against."""
    k = torch.outer(_BINOMIAL, _BINOMIAL).to(x.dtype).expand(x.shape[1], 1, 5, 5)
    return F.conv2d(F.pad(x, (2,) * 4, mode="reflect"), k, groups=x.shape[1])[..., ::2, ::2]


def _pyr_up_reference(x: torch.Tensor) -> torch.Tensor:
    """The paper's pyr_up written plainly (zero-stuff, full blur x4), to test against."""
    n, c, h, w = x.shape
    up = x.new_zeros(n, c, 2 * h, 2 * w)
    up[..., ::2, ::2] = x
    k = (4 * torch.outer(_BINOMIAL, _BINOMIAL)).to(x.dtype).expand(c, 1, 5, 5)
    return F.conv2d(F.pad(up, (2,) * 4, mode="reflect"), k, groups=c)


def laplacian_pyramid(x: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """Band-pass levels finest first; the last is the low-pass (Gaussian) residual."""
    return [pyramid_level(x, i, levels) for i in range(levels)]


def pyramid_level(x: torch.Tensor, level: int, levels: int) -> torch.Tensor:
    """One level of a `levels`-deep Laplacian pyramid, computing only what it needs."""
    for _ in range(level):
        x = _pyr_down(x)
    if level == levels - 1:
        return x  # the coarsest level keeps the low-pass image itself
    return x - _pyr_up(_pyr_down(x))


def _descriptors(
    images: torch.Tensor,
    level: int,
    levels: int,
    per_image: int,
    size: int,
    gen: torch.Generator,
    chunk: int = 512,
) -> torch.Tensor:
    """(N*per_image, C*size*size) random neighbourhoods of one pyramid level, normalised."""
    n, c = images.shape[:2]
    h = size // 2
    out = []
    for i in range(0, n, chunk):
        x = pyramid_level(images[i : i + chunk], level, levels)
        m, _, sh, sw = x.shape
        if min(sh, sw) < size:
            raise ValueError(f"level {sh}x{sw} is smaller than the {size}x{size} neighbourhood.")
        # neighbourhood centres, kept whole inside the level (the reference's randint(H, S-H))
        cy = torch.randint(h, sh - h, (m, per_image, 1, 1), generator=gen)
        cx = torch.randint(h, sw - h, (m, per_image, 1, 1), generator=gen)
        # flat pixel index of every tap: one gather per chunk, not four index tensors
        d = torch.arange(-h, h + 1)
        taps = ((cy + d.view(1, 1, -1, 1)) * sw + (cx + d.view(1, 1, 1, -1))).view(m, 1, -1)
        patches = x.reshape(m, c, sh * sw).gather(2, taps.expand(m, c, -1))
        # (m, C, per_image*size*size) -> (m*per_image, C, size, size)
        patches = patches.view(m, c, per_image, size, size).transpose(1, 2)
        out.append(patches.reshape(m * per_image, c, size, size))
    desc = torch.cat(out)
    # per colour channel, over every descriptor of this set and level
    std, mean = torch.std_mean(desc, dim=(0, 2, 3), keepdim=True, correction=0)
    return desc.sub_(mean).div_(std.clamp_min(1e-8)).reshape(len(desc), -1)


def _sort_rows(x: np.ndarray, pool: ThreadPoolExecutor | None, workers: int) -> np.ndarray:
    """Sort each row in place; numpy's SIMD sort releases the GIL, so rows split over threads."""
    if pool is None:
        x.sort(axis=1)
        return x
    bounds = np.linspace(0, len(x), workers + 1).astype(int)
    list(pool.map(lambda lo, hi: x[lo:hi].sort(axis=1), bounds[:-1], bounds[1:]))
    return x


def _sliced_w1(
    a: torch.Tensor, b: torch.Tensor, repeats: int, per_repeat: int, gen: torch.Generator
) -> float:
    """Mean over random unit directions of the 1-D Wasserstein-1 between projections."""
    total = 0.0
    # directions projected at once: each pass reads every descriptor, so take many (fewer
    # passes over memory) but keep one block of projections under 2^26 floats (256 MB) per set
    chunk = max(8, min(per_repeat, 2**26 // max(1, a.shape[0])))
    workers = max(1, torch.get_num_threads())
    with ThreadPoolExecutor(workers) if workers > 1 else nullcontext() as pool:
        for _ in range(repeats):
            dirs = torch.randn(a.shape[1], per_repeat, generator=gen)
            dirs = dirs / dirs.norm(dim=0, keepdim=True)
            acc = 0.0
            for j in range(0, per_repeat, chunk):
                d = dirs[:, j : j + chunk].T.contiguous()  # (k, D)
                pa = _sort_rows((d @ a.T).numpy(), pool, workers)  # (k, N) sorted projections
                pb = _sort_rows((d @ b.T).numpy(), pool, workers)
                acc += float(np.abs(pa - pb, out=pa).sum(dtype=np.float64))
            total += acc / (a.shape[0] * per_repeat)
    return total / repeats


def swd(
    images_a,
    images_b,
    seed: int | torch.Generator = 0,
    nhoods_per_image: int = NHOODS_PER_IMAGE,
    nhood_size: int = NHOOD_SIZE,
    dirs_per_repeat: int = DIRS_PER_REPEAT,
    dir_repeats: int = DIR_REPEATS,
    min_res: int = MIN_RES,
) -> dict:
    """SWD x 10^3 per pyramid level and their mean, between two (N,C,H,W) image sets.

    Images are uint8 (0..255) or float in [-1, 1]. Returns
    {"resolutions": [64, 32, 16], "levels": [...], "mean": float, "n": images per set,
     "scale": 1000.0}. The same seed gives the same figure.
    """
    gen = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(int(seed))
    a, b = _as_float255(images_a), _as_float255(images_b)
    if a.dim() != 4 or b.dim() != 4:
        raise ValueError(
            f"expected (N, C, H, W) image batches, got {tuple(a.shape)} and {tuple(b.shape)}."
        )
    if a.shape[1:] != b.shape[1:]:
        raise ValueError(
            f"the two sets differ in shape: {tuple(a.shape[1:])} vs {tuple(b.shape[1:])}; "
            "compare images of the same size and channels."
        )
    if a.shape[-1] != a.shape[-2] or a.shape[-1] < min_res:
        raise ValueError(f"images must be square and at least {min_res}px, not {tuple(a.shape)}.")
    if len(a) < 2 or len(b) < 2:
        raise ValueError("each set needs at least 2 images (the paper uses 16,384).")
    n = min(len(a), len(b))
    # equal counts, so the sorted projections pair up one to one
    if len(a) > n:
        a = a[torch.randperm(len(a), generator=gen)[:n]]
    if len(b) > n:
        b = b[torch.randperm(len(b), generator=gen)[:n]]
    res = resolutions(a.shape[-1], min_res)
    levels = []
    for lvl in range(len(res)):
        da = _descriptors(a, lvl, len(res), nhoods_per_image, nhood_size, gen)
        db = _descriptors(b, lvl, len(res), nhoods_per_image, nhood_size, gen)
        levels.append(_sliced_w1(da, db, dir_repeats, dirs_per_repeat, gen) * SCALE)
        del da, db
    return {
        "resolutions": res,
        "levels": levels,
        "mean": float(np.mean(levels)),
        "n": n,
        "scale": SCALE,
    }


def format_result(r: dict) -> str:
    """One line: 'SWD x1e3  64px 12.3  32px 8.1  16px 5.0  mean 8.5  (n=2048)'."""
    parts = [f"{res}px {v:.2f}" for res, v in zip(r["resolutions"], r["levels"], strict=True)]
    return f"SWD x1e3  {'  '.join(parts)}  mean {r['mean']:.2f}  (n={r['n']} per set)"


def generated_images(G: torch.nn.Module, nz: int, n: int, seed: int) -> torch.Tensor:
    """n uint8 samples from G, latent noise from the seed, in batches."""
    from .images import to_uint8
    from .latent import generate, sample_z

    with torch.inference_mode():
        return to_uint8(generate(G, sample_z(n, nz, seed)))


def main(argv: list[str] | None = None) -> int:
    """Print the SWD of a generator (or a baseline) against a real image source."""
    from .checkpoint import CheckpointError, load_generator
    from .config import ConfigError
    from .data import DataError, load
    from .models import build

    p = argparse.ArgumentParser(
        prog="python -m dcgan.metrics",
        description="Sliced Wasserstein distance (x1e3, Karras et al. 2018) to real images.",
    )
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--checkpoint", help=".safetensors export or .pt checkpoint to score")
    what.add_argument(
        "--baseline",
        choices=["heldout", "noise"],
        help="score a reference instead: a disjoint real split, or uniform noise",
    )
    p.add_argument("--real", required=True, help="real images: shapes, pokemon, anime-faces, ...")
    p.add_argument(
        "--untrained",
        action="store_true",
        help="score a freshly initialised generator with the checkpoint's architecture",
    )
    p.add_argument("--size", type=int, default=64, help="image size for --baseline (default 64)")
    p.add_argument("--n", type=int, default=2048, help="images per set (the paper: 16384)")
    p.add_argument("--seed", type=int, default=0, help="drives samples, patches and directions")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    a = p.parse_args(argv)
    if not 2 <= a.n <= 65536:
        print(f"error: --n {a.n} must lie between 2 and 65536.", file=sys.stderr)
        return 2
    if a.untrained and not a.checkpoint:
        print("error: --untrained needs --checkpoint (for the architecture).", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        if a.checkpoint:
            G, cfg, _ = load_generator(a.checkpoint)
            if a.untrained:
                G = build(cfg, seed=a.seed)[0].eval()
            size = cfg.image_size
        else:
            size = a.size
        real = load(a.real, size).images
        gen = torch.Generator().manual_seed(a.seed)
        perm = torch.randperm(len(real), generator=gen)
        if a.baseline == "heldout":
            n = min(a.n, len(real) // 2)
            ref, other = real[perm[:n]], real[perm[n : 2 * n]]
            label = f"held-out {a.real}"
        else:
            n = min(a.n, len(real))
            ref = real[perm[:n]]
            if a.baseline == "noise":
                other = torch.randint(0, 256, ref.shape, generator=gen, dtype=torch.uint8)
                label = "uniform noise"
            else:
                other = generated_images(G, cfg.nz, n, a.seed)
                label = ("untrained " if a.untrained else "") + a.checkpoint
        r = swd(other, ref, seed=a.seed)
    except (CheckpointError, DataError, ConfigError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    r.update(fake=label, real=a.real, seed=a.seed, seconds=round(time.perf_counter() - t0, 1))
    if a.json:
        print(json.dumps(r))
    else:
        print(f"{label} vs {a.real}: {format_result(r)}, seed {a.seed}, {r['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
