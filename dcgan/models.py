"""The chapter's G_block / D_block, the generator and discriminator built from them,
weight initialisation, and a shape tracer for the Shapes page.

Names follow pytorch/examples dcgan: nz (latent size), ngf / ndf (widths), nc (channels).
For a 64x64 image the generator is exactly the d2l chapter's net_G:

    nz x 1 x 1 -> (ngf*8) x 4 x 4 -> (ngf*4) x 8 x 8 -> (ngf*2) x 16 x 16
               -> ngf x 32 x 32 -> nc x 64 x 64 -> tanh

and the discriminator mirrors it down to one logit.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .config import ModelConfig


class G_block(nn.Sequential):
    """ConvTranspose2d (no bias) + BatchNorm + ReLU: doubles H and W with the defaults."""

    def __init__(self, out_channels, in_channels=3, kernel_size=4, strides=2, padding=1):
        super().__init__(
            nn.ConvTranspose2d(
                in_channels, out_channels, kernel_size, strides, padding, bias=False
            ),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
        )


class D_block(nn.Sequential):
    """Conv2d (no bias) + optional norm (BatchNorm, or layer norm for a WGAN-GP critic) +
    LeakyReLU(alpha): halves H and W."""

    def __init__(
        self,
        out_channels,
        in_channels=3,
        kernel_size=4,
        strides=2,
        padding=1,
        alpha=0.2,
        batch_norm=True,
        activation="leaky_relu",
        norm="batch",
    ):
        layers = [nn.Conv2d(in_channels, out_channels, kernel_size, strides, padding, bias=False)]
        if batch_norm and norm == "batch":
            layers.append(nn.BatchNorm2d(out_channels))
        elif batch_norm and norm == "layer":  # per image over (C, H, W): no batch mixing
            layers.append(nn.GroupNorm(1, out_channels))
        # ReLU is the chapter's exercise 1: it shows why D needs a gradient for x < 0
        act = nn.ReLU() if activation == "relu" else nn.LeakyReLU(alpha)
        super().__init__(*layers, act)


def n_blocks(image_size: int) -> int:
    """G_blocks (and D_blocks) for an image size: 64 -> 4 (1->4, 4->8, 8->16, 16->32)."""
    return int(math.log2(image_size)) - 2


def Generator(cfg: ModelConfig) -> nn.Sequential:
    """The chapter's net_G, generalised to 32/64/128 pixels."""
    cfg.validate()
    k = n_blocks(cfg.image_size)
    mult = 2 ** (k - 1)
    # nz x 1 x 1 -> (ngf*mult) x 4 x 4: stride 1, padding 0 turns 1x1 into 4x4
    layers = [G_block(cfg.ngf * mult, in_channels=cfg.nz, strides=1, padding=0)]
    size = 4
    for _ in range(k - 1):
        # (ngf*mult) x size x size -> (ngf*mult/2) x 2size x 2size
        layers.append(G_block(cfg.ngf * mult // 2, in_channels=cfg.ngf * mult))
        mult //= 2
        size *= 2
    # ngf x (image/2) x (image/2) -> nc x image x image, squashed to [-1, 1]
    layers += [
        nn.ConvTranspose2d(cfg.ngf, cfg.nc, kernel_size=4, stride=2, padding=1, bias=False),
        nn.Tanh(),
    ]
    return nn.Sequential(*layers)


def Discriminator(cfg: ModelConfig) -> nn.Sequential:
    """The chapter's net_D, generalised; returns one logit per image as (N, 1, 1, 1)."""
    cfg.validate()
    k = n_blocks(cfg.image_size)
    act = dict(alpha=cfg.leaky_alpha, activation=cfg.d_activation, norm=cfg.d_norm)
    # nc x image x image -> ndf x (image/2) x (image/2); the paper skips BN here
    layers = [D_block(cfg.ndf, in_channels=cfg.nc, batch_norm=cfg.d_first_bn, **act)]
    mult = 1
    for _ in range(k - 1):
        # (ndf*mult) x s x s -> (ndf*2mult) x s/2 x s/2
        layers.append(D_block(cfg.ndf * mult * 2, in_channels=cfg.ndf * mult, **act))
        mult *= 2
    # (ndf*mult) x 4 x 4 -> 1 x 1 x 1: the logit
    layers.append(nn.Conv2d(cfg.ndf * mult, 1, kernel_size=4, bias=False))
    return nn.Sequential(*layers)


@torch.no_grad()
def init_weights(net: nn.Module, scheme: str = "d2l", generator: torch.Generator | None = None):
    """Initialise in place: "d2l" draws every parameter from N(0, 0.02);
    "paper" draws conv weights from N(0, 0.02), BN weights from N(1, 0.02), BN biases 0."""
    for m in net.modules():
        if scheme == "d2l":
            for p in m.parameters(recurse=False):
                p.normal_(0.0, 0.02, generator=generator)
        elif isinstance(m, nn.modules.conv._ConvNd):
            m.weight.normal_(0.0, 0.02, generator=generator)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.weight.normal_(1.0, 0.02, generator=generator)
            m.bias.zero_()
    return net


def build(cfg: ModelConfig, seed: int | None = 0) -> tuple[nn.Sequential, nn.Sequential]:
    """Generator and discriminator, initialised by cfg.init from one seed."""
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    G = init_weights(Generator(cfg), cfg.init, gen)
    D = init_weights(Discriminator(cfg), cfg.init, gen)
    return G, D


def describe(layer: nn.Module) -> str:
    """A short human description of a block, e.g. 'ConvT(k4,s2,p1) + BN + ReLU'."""
    parts = []
    for m in layer.modules() if isinstance(layer, nn.Sequential) else [layer]:
        if isinstance(m, nn.ConvTranspose2d):
            parts.append(f"ConvT(k{m.kernel_size[0]},s{m.stride[0]},p{m.padding[0]})")
        elif isinstance(m, nn.Conv2d):
            parts.append(f"Conv(k{m.kernel_size[0]},s{m.stride[0]},p{m.padding[0]})")
        elif isinstance(m, nn.BatchNorm2d):
            parts.append("BN")
        elif isinstance(m, nn.GroupNorm):
            parts.append("LN")
        elif isinstance(m, nn.LeakyReLU):
            parts.append(f"LeakyReLU({m.negative_slope:g})")
        elif isinstance(m, (nn.ReLU, nn.Tanh)):
            parts.append(type(m).__name__)
    return " + ".join(parts)


@torch.no_grad()
def trace_shapes(net: nn.Sequential, x: torch.Tensor) -> list[dict]:
    """Run x through net's top-level layers and record each output shape and parameter count."""
    was_training = net.training
    net.eval()
    rows = [{"layer": "input", "op": "", "shape": tuple(x.shape), "params": 0}]
    for i, layer in enumerate(net):
        x = layer(x)
        rows.append(
            {
                "layer": f"{i}: {type(layer).__name__}",
                "op": describe(layer),
                "shape": tuple(x.shape),
                "params": sum(p.numel() for p in layer.parameters()),
            }
        )
    net.train(was_training)
    return rows
