"""DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training").

The same random colour, translation and cutout are applied to real and generated images
before D sees them, in D's update and in G's. Every operation is differentiable in the
images, so G still gets a gradient through the augmentation. D then cannot memorise a small
dataset (6,768 Pokemon sprites) pixel for pixel, and G is not pushed to copy the
augmentations, since they are applied to its images too.

The operations follow the paper's reference code (mit-han-lab/data-efficient-gans) on images
in [-1, 1]; every random draw comes from the torch.Generator passed in, so runs repeat.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .config import ConfigError

POLICIES = ("color", "translation", "cutout")
TRANSLATION_RATIO = 0.125  # the paper's: shift by up to 1/8 of the image (8 px at 64 px)
CUTOUT_RATIO = 0.5  # the paper's: zero one square half the image's side


def parse_policy(policy: str) -> tuple[str, ...]:
    """'color,translation' -> ('color', 'translation'); raise ConfigError on an unknown name."""
    if not isinstance(policy, str):
        raise ConfigError(f"train.diffaugment={policy!r} must be a string such as 'color,cutout'.")
    names = tuple(p.strip() for p in policy.split(",") if p.strip())
    bad = [p for p in names if p not in POLICIES]
    if bad:
        raise ConfigError(
            f"train.diffaugment has unknown augmentation {', '.join(map(repr, bad))}; "
            f"use a comma list of {', '.join(POLICIES)} (or '' for none)."
        )
    return names


def _rand(x: torch.Tensor, gen: torch.Generator | None) -> torch.Tensor:
    """One uniform draw per image, shaped (N, 1, 1, 1), in x's dtype."""
    return torch.rand(x.shape[0], 1, 1, 1, generator=gen, device=x.device).to(x.dtype)


def rand_color(x: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
    """Random brightness (+-0.5), saturation (x0 to x2) and contrast (x0.5 to x1.5) per image."""
    x = x + (_rand(x, gen) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand(x, gen) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(x, gen) + 0.5) + mean


def _grid(n: int, h: int, w: int, device) -> tuple[torch.Tensor, ...]:
    """Batch, row and column index grids, each (n, h, w)."""
    return torch.meshgrid(
        torch.arange(n, device=device),
        torch.arange(h, device=device),
        torch.arange(w, device=device),
        indexing="ij",
    )


def rand_translation(
    x: torch.Tensor, gen: torch.Generator | None = None, ratio: float = TRANSLATION_RATIO
) -> torch.Tensor:
    """Shift each image by up to ratio of its size, filling with zeros (mid-grey)."""
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sh, sh + 1, (n, 1, 1), generator=gen, device=x.device)
    dx = torch.randint(-sw, sw + 1, (n, 1, 1), generator=gen, device=x.device)
    gb, gy, gx = _grid(n, h, w, x.device)
    # index into a one-pixel zero border: shifts past the edge read the border
    gy = torch.clamp(gy + dy + 1, 0, h + 1)
    gx = torch.clamp(gx + dx + 1, 0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1]).permute(0, 2, 3, 1)  # N x (H+2) x (W+2) x C
    return padded[gb, gy, gx].permute(0, 3, 1, 2)


def rand_cutout(
    x: torch.Tensor, gen: torch.Generator | None = None, ratio: float = CUTOUT_RATIO
) -> torch.Tensor:
    """Zero one square of side ratio x the image at a random place in each image."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    oy = torch.randint(0, h + (1 - ch % 2), (n, 1, 1), generator=gen, device=x.device)
    ox = torch.randint(0, w + (1 - cw % 2), (n, 1, 1), generator=gen, device=x.device)
    gb, gy, gx = _grid(n, ch, cw, x.device)
    gy = torch.clamp(gy + oy - ch // 2, 0, h - 1)
    gx = torch.clamp(gx + ox - cw // 2, 0, w - 1)
    mask = torch.ones(n, h, w, dtype=x.dtype, device=x.device)
    mask[gb, gy, gx] = 0
    return x * mask.unsqueeze(1)


OPS = {"color": rand_color, "translation": rand_translation, "cutout": rand_cutout}


def diff_augment(
    x: torch.Tensor, policy: str | tuple[str, ...], gen: torch.Generator | None = None
) -> torch.Tensor:
    """Apply the policy's augmentations in the paper's order (colour, translation, cutout).

    x: images (N, C, H, W) in [-1, 1]; the result keeps x's memory format and is
    differentiable in x. An empty policy returns x itself.
    """
    names = parse_policy(policy) if isinstance(policy, str) else policy
    if not names:
        return x
    fmt = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else None
    for name in POLICIES:  # a fixed order, whatever order the user wrote
        if name in names:
            x = OPS[name](x, gen)
    return x.contiguous(memory_format=fmt) if fmt is not None else x.contiguous()
