"""Inside the networks: the DCGAN paper's filter figures and feature maps, on the current model.

- D's first-layer filters: its first conv's (ndf, nc, 4, 4) weights, each drawn as a tiny
  RGB picture of the colour-and-edge pattern that unit responds to.
- G's last-layer filters: its last transposed conv's (ngf, nc, 4, 4) weights, each the 4x4
  RGB stamp that one of G's ngf final feature maps paints onto the image.
- Feature maps of one sample, layer by layer: G from a noise vector up to the picture, D from
  a picture down to its logit.
- Dead units: the fraction of D's units that never activate over a batch (the chapter's
  exercise 1 asks what ReLU instead of LeakyReLU does to D).

Everything returns uint8 pictures (H, W, 3) or plain numbers; no UI imports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .i18n import _
from .images import grid_array
from .models import describe

TILE = 32  # pixels per filter or feature-map tile: a 4x4 filter at 8x, readable on a projector


def _layers_of(net: nn.Module, kind: type) -> list[nn.Module]:
    """Every submodule of one type, in forward order."""
    return [m for m in net.modules() if type(m) is kind]


def _upscale(x: torch.Tensor, size: int) -> torch.Tensor:
    """Nearest-neighbour upscale of (N, C, h, w) so the longer side is about `size`."""
    k = max(1, size // max(x.shape[-2:]))
    return x.repeat_interleave(k, -2).repeat_interleave(k, -1)


def filter_tiles(weight: torch.Tensor, tile: int = TILE, nrow: int | None = None) -> np.ndarray:
    """(n, c, kh, kw) filters -> one uint8 grid; 0 is mid-grey, each filter scaled on its own
    largest |weight| so weak filters stay visible (c = 1 is grey, c = 3 is RGB)."""
    w = weight.detach().float().cpu()
    if w.shape[1] not in (1, 3):
        raise ValueError(
            _("filters with {n} input channels cannot be drawn as colours.").format(n=w.shape[1])
        )
    peak = w.abs().flatten(1).amax(1).clamp_min(1e-12).reshape(-1, 1, 1, 1)
    w = w / peak
    if w.shape[1] == 1:
        w = w.expand(-1, 3, -1, -1)
    return grid_array(_upscale(w, tile), nrow=nrow)


def d_first_filters(D: nn.Module, tile: int = TILE) -> np.ndarray:
    """D's first-layer filters as RGB tiles: the paper's 'what D looks for' figure."""
    convs = _layers_of(D, nn.Conv2d)
    if not convs:
        raise ValueError(_("this discriminator has no Conv2d layer to draw."))
    return filter_tiles(convs[0].weight, tile)  # (ndf, nc, 4, 4)


def g_last_filters(G: nn.Module, tile: int = TILE) -> np.ndarray:
    """G's last-layer filters as RGB tiles: the stamps its final feature maps paint with."""
    convs = _layers_of(G, nn.ConvTranspose2d)
    if not convs:
        raise ValueError(_("this generator has no ConvTranspose2d layer to draw."))
    return filter_tiles(convs[-1].weight, tile)  # ConvTranspose2d weight: (ngf, nc, 4, 4)


@dataclass
class FeatureMap:
    """One layer's output for one sample, drawn as tiles of its strongest channels."""

    name: str  # "1: G_block"
    op: str  # "ConvT(k4,s2,p1) + BN + ReLU"
    shape: tuple[int, ...]  # (C, H, W) of the layer's output
    grid: np.ndarray | None  # uint8 (H', W', 3); None for a single number (D's logit)
    channels: list[int]  # which channels the tiles show, strongest first
    value: float | None = None  # the number itself, when the output is one value


@torch.no_grad()
def feature_maps(
    net: nn.Sequential, x: torch.Tensor, max_channels: int = 16, tile: int = TILE
) -> list[FeatureMap]:
    """Run one sample (a (1, ...) batch) through net's top-level layers, in eval mode.

    Each layer shows its `max_channels` channels with the largest mean |activation|, each
    scaled to its own min..max in grey; an RGB output (G's picture) is drawn as itself.
    """
    if x.shape[0] != 1:
        raise ValueError(f"feature_maps draws one sample; got a batch of {x.shape[0]}.")
    was_training = net.training
    net.eval()
    device = next(net.parameters()).device
    x = x.to(device).float()
    out = []
    try:
        for i, layer in enumerate(net):
            x = layer(x)
            a = x[0].float().cpu()
            name, op, shape = f"{i}: {type(layer).__name__}", describe(layer), tuple(a.shape)
            if a.numel() == 1:
                out.append(FeatureMap(name, op, shape, None, [0], float(a.item())))
                continue
            if a.shape[0] == 3 and i == len(net) - 1:  # the generated picture itself
                out.append(FeatureMap(name, op, shape, grid_array(_upscale(a[None], 4 * tile)), []))
                continue
            strength = a.abs().flatten(1).mean(1)
            keep = strength.argsort(descending=True)[:max_channels]
            maps = a[keep]
            lo = maps.flatten(1).amin(1).reshape(-1, 1, 1)
            hi = maps.flatten(1).amax(1).reshape(-1, 1, 1)
            maps = (maps - lo) / (hi - lo).clamp_min(1e-12) * 2 - 1  # each to [-1, 1]
            tiles = _upscale(maps[:, None].expand(-1, 3, -1, -1), tile)
            out.append(FeatureMap(name, op, shape, grid_array(tiles), keep.tolist()))
    finally:
        net.train(was_training)
    return out


@torch.no_grad()
def dead_unit_fractions(
    D: nn.Sequential, images: torch.Tensor, batch_stats: bool = True
) -> dict[str, float]:
    """Per D block, the fraction of its units (channels) that never activate on `images`.

    A unit is dead on a batch when its activation's input is <= 0 at every position of every
    image: under ReLU its output is exactly 0 and no gradient reaches its weights; under
    LeakyReLU the same unit still passes alpha times the gradient, so it can recover.

    batch_stats=True runs BatchNorm on the batch's own statistics, as D sees batches in
    training; D's running statistics, mode and weights are left exactly as they were.
    images: uint8 (N, C, H, W), or floats already in [-1, 1].
    """
    device = next(D.parameters()).device
    x = images.to(device)
    x = x.float().mul(2.0 / 255.0).sub(1.0) if x.dtype == torch.uint8 else x.float()
    active: dict[str, torch.Tensor] = {}
    hooks = []
    for i, block in enumerate(D):
        acts = [m for m in block.modules() if isinstance(m, (nn.ReLU, nn.LeakyReLU))]
        if not acts:
            continue  # the last conv: one logit, no activation

        def hook(_m, inputs, _out, name=f"block{i}"):
            pre = inputs[0]
            # dim 1 is the unit; any position of any image with input > 0 makes it alive
            alive = (pre > 0).transpose(0, 1).flatten(1).any(1)
            active[name] = active[name] | alive if name in active else alive

        hooks.append(acts[-1].register_forward_hook(hook))
    saved = {k: v.clone() for k, v in D.state_dict().items() if "running" in k or "num_b" in k}
    was_training = D.training
    D.train(batch_stats)
    try:
        D(x)
    finally:
        D.train(was_training)
        for h in hooks:
            h.remove()
        if saved:  # a train-mode forward moved BatchNorm's running statistics; put them back
            D.load_state_dict(saved, strict=False)
    return {name: 1.0 - alive.float().mean().item() for name, alive in active.items()}
