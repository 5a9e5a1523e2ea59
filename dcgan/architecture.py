"""Layer-by-layer tables of the generator and discriminator, where every output size comes
from a real forward pass and is checked against the chapter's conv arithmetic.

The Home page draws these rows; the Shapes page shows them as tables with a check column.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import ModelConfig
from .explain import conv_out, conv_transpose_out
from .i18n import _
from .models import Discriminator, Generator, trace_shapes


def predicted_size(layer: nn.Module, n: int) -> tuple[int, str]:
    """The spatial size the formulas give for `layer` on an n x n input, and the working."""
    convs = [m for m in layer.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    if not convs:
        return n, _("size unchanged")
    working = []
    for m in convs:
        k, s, p, d = m.kernel_size[0], m.stride[0], m.padding[0], m.dilation[0]
        if isinstance(m, nn.ConvTranspose2d):
            r = conv_transpose_out(n, k, s, p, m.output_padding[0], d)
            working.append(r.alt_substituted or r.substituted)
        else:
            r = conv_out(n, k, s, p, d)
            working.append(r.alt_substituted or r.substituted)
        n = r.out
    return n, "; ".join(working)


@torch.no_grad()
def layer_table(net: nn.Sequential, x: torch.Tensor) -> list[dict]:
    """trace_shapes rows plus the formula's size, its working and whether the two agree."""
    rows = trace_shapes(net, x)
    n = x.shape[-1]
    for row, layer in zip(rows[1:], net, strict=True):
        pred, working = predicted_size(layer, n)
        row["formula"] = working
        row["predicted"] = pred
        row["agrees"] = pred == row["shape"][-1]
        n = row["shape"][-1]
    rows[0].update(formula="", predicted=x.shape[-1], agrees=True)
    return rows


def tables(cfg: ModelConfig) -> tuple[list[dict], list[dict]]:
    """(generator rows, discriminator rows) for a model config, batch of one."""
    G, D = Generator(cfg), Discriminator(cfg)
    g_rows = layer_table(G, torch.zeros(1, cfg.nz, 1, 1))
    d_rows = layer_table(D, torch.zeros(1, cfg.nc, cfg.image_size, cfg.image_size))
    return g_rows, d_rows
