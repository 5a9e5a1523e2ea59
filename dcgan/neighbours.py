"""Nearest-neighbour search over uint8 image sets, chunked so a large training set never sits in
memory as floats: in pixel space or in a discriminator's feature space.

Distances are RMS differences per value (pixels in [0, 1], features as D computes them), so
images of any size read on the same scale. dcgan.memorisation reads its verdict from them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from .i18n import _

CHUNK = 1024  # training images embedded at once: 1024 x 64x64x3 floats is 50 MB

Embed = Callable[[torch.Tensor], torch.Tensor]  # uint8 (n, C, H, W) -> float (n, d)


def pixel_embed(x: torch.Tensor) -> torch.Tensor:
    """uint8 images -> flat float32 pixels in [0, 1]."""
    return x.flatten(1).float().div_(255.0)


def feature_embed(D: nn.Sequential) -> Embed:
    """An embedding by D's penultimate layer: the output of its last block, flattened."""
    body = D[:-1]  # every D_block; the last layer (the 4x4 conv to one logit) is dropped
    device = next(D.parameters()).device

    @torch.no_grad()
    def embed(x: torch.Tensor) -> torch.Tensor:
        was_training = body.training
        body.eval()  # running statistics: an image's features never depend on its batch
        out = body(x.to(device).float().mul_(2.0 / 255.0).sub_(1.0))
        body.train(was_training)
        return out.flatten(1).float().cpu()

    return embed


@torch.no_grad()
def knn(
    queries: torch.Tensor,
    refs: torch.Tensor,
    embed: Embed = pixel_embed,
    k: int = 1,
    chunk: int = CHUNK,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The k nearest refs of each query image: (RMS distances (Q, k), indices (Q, k)).

    Both are uint8 image batches; refs are embedded `chunk` at a time, so only the queries'
    embeddings and one chunk are ever held as floats.
    """
    if len(refs) == 0:
        raise ValueError(_("no training images to search; load a dataset with images in it."))
    if queries.shape[1:] != refs.shape[1:]:
        raise ValueError(
            _(
                "generated images are {generated} but training images are {train}; load the "
                "data at the generator's image size."
            ).format(generated=tuple(queries.shape[1:]), train=tuple(refs.shape[1:]))
        )
    k = min(k, len(refs))
    q = embed(queries)
    q_sq = (q * q).sum(1, keepdim=True)
    best_d = torch.empty(len(q), 0)
    best_i = torch.empty(len(q), 0, dtype=torch.int64)
    for start in range(0, len(refs), chunk):
        r = embed(refs[start : start + chunk])
        # ||q - r||^2 = ||q||^2 + ||r||^2 - 2 q.r: one matmul per chunk picks the candidates
        d2 = q_sq + (r * r).sum(1)[None, :] - 2.0 * (q @ r.T)
        loc = d2.topk(min(k, len(r)), dim=1, largest=False).indices
        # that expansion loses precision for near-identical pairs (a copy would read as a
        # small positive distance), so the chunk's k candidates are measured exactly
        exact = torch.stack([(r[loc[:, j]] - q).pow(2).sum(1) for j in range(loc.shape[1])], 1)
        cand_d = torch.cat([best_d, exact], 1)
        cand_i = torch.cat([best_i, loc + start], 1)
        best_d, pos = cand_d.topk(min(k, cand_d.shape[1]), dim=1, largest=False, sorted=True)
        best_i = cand_i.gather(1, pos)
        if progress:
            progress(min(start + chunk, len(refs)), len(refs))
    return (best_d / q.shape[1]).sqrt(), best_i


def nearest_distance(
    queries: torch.Tensor,
    refs: torch.Tensor,
    embed: Embed = pixel_embed,
    flips: bool = False,
    chunk: int = CHUNK,
) -> np.ndarray:
    """Each query's distance to its nearest ref; with flips, also to every mirrored ref."""
    d, __ = knn(queries, refs, embed, 1, chunk)
    if flips:
        # mirroring the query instead of the refs: the same distance, half the work
        d_flip, __ = knn(queries.flip(-1), refs, embed, 1, chunk)
        d = torch.minimum(d, d_flip)
    return d[:, 0].numpy()


def duplicate_fraction(images: torch.Tensor) -> float:
    """The fraction of images with an exact (byte-identical) twin elsewhere in the set.

    Duplicates put held-out images at distance 0 from the training set: a real dataset's
    floor, and the reason the flag compares against the held-out rate, not a fixed 5 %.
    """
    import hashlib
    from collections import Counter

    digests = [hashlib.sha1(im.numpy().tobytes()).digest() for im in images.cpu()]
    counts = Counter(digests)
    return sum(counts[d] > 1 for d in digests) / max(1, len(digests))
